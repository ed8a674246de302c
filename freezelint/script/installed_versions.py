"""Which version of a distribution is installed, as `importlib.metadata.version` says, read
without importing `importlib.metadata` where the answer is plain.

Importing `importlib.metadata` (it loads the `email` package) and asking it for torch's and a
model library's versions took 15 ms of a pre-commit check of one file with a cached model, about
0.3 s in all (issue 24). A distribution pip installed from a wheel has one folder
`<name>-<version>.dist-info` on `sys.path` whose `METADATA` says its version in its header, so
that folder is read directly: from the first `sys.path` entry holding metadata for the name, as
`importlib.metadata` searches. Anything else there (an `.egg-info`, an egg, a zipped entry, two
folders for one name in one entry) is left to `importlib.metadata`, and so is a name found
nowhere on the path when an import finder of its own may list distributions.
"""

from __future__ import annotations

import os
import re
import sys

_SEPARATORS = re.compile(r"[-_.]+")
_SUFFIXES = (".dist-info", ".egg-info", ".egg")
_ENTRIES: dict[str, dict[str, list[str]]] = {}


class NotInstalled(Exception):
    """No distribution of that name is installed."""


def _normal(name: str) -> str:
    return _SEPARATORS.sub("_", name).lower()


def _metadata_in(entry: str) -> dict[str, list[str]]:
    """The metadata folders of one `sys.path` entry (`.dist-info`, `.egg-info`, `.egg`) by
    normalised distribution name, cached per entry for the process."""
    found = _ENTRIES.get(entry)
    if found is None:
        found = _ENTRIES[entry] = {}
        try:
            names = os.listdir(entry or ".")
        except OSError:
            names = []
        for name in names:
            if name.lower().endswith(_SUFFIXES):  # (as importlib.metadata matches them)
                found.setdefault(_distribution(name), []).append(os.path.join(entry, name))
        base = os.path.basename(entry.rstrip("/\\"))
        if base.endswith(".egg"):  # (an egg folder on the path holds its own metadata)
            found.setdefault(_distribution(base), []).append(entry)
    return found


def _distribution(name: str) -> str:
    """The normalised distribution name of a metadata folder or an egg."""
    return _normal(name.lower().rpartition(".")[0].partition("-")[0])


def _header_version(folder: str) -> str | None:
    try:
        with open(os.path.join(folder, "METADATA"), encoding="utf-8") as metadata:
            for line in metadata:
                if not line.strip():
                    return None  # (the end of the header)
                if line.startswith("Version:"):
                    return line[len("Version:") :].strip() or None
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _plain_version(dist: str) -> str | None:
    """The version from the first `sys.path` entry holding metadata for `dist`, when that is
    one `.dist-info` folder; None when it is not (left to `importlib.metadata`); `NotInstalled`
    when no entry has any."""
    wanted = _normal(dist)
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        if entry.endswith((".zip", ".egg", ".whl")) and os.path.isfile(entry):
            return None  # (a zipped entry could hold it)
        found = _metadata_in(entry).get(wanted)
        if found:
            if len(found) > 1 or not found[0].lower().endswith(".dist-info"):
                return None
            return _header_version(found[0])
    raise NotInstalled(dist)


def installed_version(dist: str) -> str | None:
    """The installed version of distribution `dist` (None when it is not installed)."""
    try:
        version = _plain_version(dist)
    except NotInstalled:
        if not _other_finders():
            return None
        version = None  # (a finder of its own may know it)
    if version is not None:
        return version
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _other_finders() -> bool:
    """Does an import finder besides the standard path finder list distributions (what
    `importlib.metadata` would ask too: a zip application's, a bundler's)?"""
    return any(
        hasattr(finder, "find_distributions") and getattr(finder, "__name__", "") != "PathFinder"
        for finder in sys.meta_path
    )
