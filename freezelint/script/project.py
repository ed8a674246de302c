"""The project around a checked file: which file an `import` names, and that file parsed.

`from models import build_model` in `train.py` names `models.py` (or `models/__init__.py`) when
it is a file of the same project: found from the importing file's folder upwards, up to the
project's root (the first folder holding `.git`, `pyproject.toml`, `setup.py` or `setup.cfg`;
without one, at most `SEARCH_DEPTH` folders up, and never above `site-packages`, where only the
importing package's own modules count). Relative imports (`from .nets import Net`) resolve from
the importing file's package. A file that is small or may matter (`MARKERS`) is parsed (never
imported, never run) once per process and kept while its modification time stays the same;
where an import leads is worked out once per process too. A missing file, one that does not
parse or an import cycle is simply not followed.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from freezelint.script.imports import ImportTable
from freezelint.script.parse import parse_module
from freezelint.script.source import might_freeze

ROOT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")
SEARCH_DEPTH = 3
MAX_BYTES = 1 << 20  # a bigger "module" is data, not training code
# A file is parsed when it is small (a config, a helper module), mentions what freezing code
# is made of or, for a script that defines no network itself, defines one; a big file that
# does none of it is not followed. (Files are read when the code uses a name they define.)
SMALL = 4_000
MARKERS = (
    "requires_grad",
    "freeze",
    "optim",
    "param_group",
    "parameters(",
    "create_model",
    "from_pretrained",
    "from_name",
    "torchvision",
    "efficientnet",
    "Lightning",
)
# A network the project defines (its own copy of a zoo's ResNet), read for a script that builds
# one; not for a file that defines networks itself (a model zoo's file importing its layers).
NETWORK = "nn.Module"


@dataclass(frozen=True)
class ParsedModule:
    """A project file, parsed: its syntax tree and its imports."""

    path: Path
    name: str  # the dotted name it was imported as
    module: cst.Module
    imports: ImportTable
    text: str


# path -> (modification time, the file parsed, why: see `_parse`)
_PARSED: dict[Path, tuple[float, ParsedModule | None, str]] = {}


def parse_file(path: Path, name: str, networks: bool = False) -> ParsedModule | None:
    """`path` parsed (cached per process while unchanged); None when it cannot be read or
    parsed, or is not worth it (`networks`: a file that defines a network is)."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return None
    cached = _PARSED.get(path)
    if cached is None or cached[0] != stamp or (networks and cached[2] == _LATER):
        cached = _PARSED[path] = (stamp, *_parse(path, name, networks))
    _, parsed, worth = cached
    return parsed if worth == _WORTH or networks else None


_WORTH, _NETWORK, _LATER, _NOT = "worth", "network", "later", "not"


def _parse(path: Path, name: str, networks: bool) -> tuple[ParsedModule | None, str]:
    """The file parsed when it may matter, and why: worth it (`_WORTH`), a network read for
    `networks` (`_NETWORK`), a network not read yet (`_LATER`), or not at all."""
    try:
        if path.stat().st_size <= MAX_BYTES:
            text = path.read_text(encoding="utf-8")
            if len(text) <= SMALL or any(marker in text for marker in MARKERS):
                why = _WORTH
            elif NETWORK in text:
                why = _NETWORK if networks else _LATER
            else:
                return None, _NOT
            if why == _LATER:
                return None, why
            module = parse_module(text)
            return ParsedModule(path, name, module, ImportTable.of(module), text), why
    except (OSError, UnicodeDecodeError, cst.ParserSyntaxError, RecursionError):
        pass
    return None, _NOT


def _is_root(folder: Path) -> bool:
    return any((folder / marker).exists() for marker in ROOT_MARKERS)


INSTALLED = ("site-packages", "dist-packages")
# Top-level packages that are libraries wherever they are imported from: not looked for.
LIBRARIES = frozenset(
    {
        "torch",
        "torchvision",
        "timm",
        "efficientnet_pytorch",
        "lightning",
        "pytorch_lightning",
        "numpy",
        "pandas",
        "sklearn",
        "scipy",
        "PIL",
        "cv2",
        "matplotlib",
        "tqdm",
        "transformers",
        "albumentations",
        "wandb",
        "yaml",
    }
)


@functools.lru_cache(maxsize=4096)
def search_folders(importer: Path) -> list[Path]:
    """Where absolute imports of `importer` are looked for, nearest first. Never above an
    installation folder (`site-packages`): above it is the standard library."""
    folder = importer.parent
    out = [folder]
    if _is_root(folder) or folder.name in INSTALLED:
        return out
    for _ in range(SEARCH_DEPTH):
        parent = folder.parent
        if parent == folder:
            break
        folder = parent
        out.append(folder)
        if _is_root(folder) or folder.name in INSTALLED:
            break
    return out


def _file_for(base: Path, parts: list[str]) -> Path | None:
    target = base.joinpath(*parts)
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=16384)
def resolve(module: str, level: int, importer: Path) -> Path | None:
    """The project file an import names (`from ..x.y import z`: `module` "x.y", `level` 2), or
    None when it is not one (a library, a missing file)."""
    parts = [p for p in module.split(".") if p] if module else []
    if level:
        base = importer.parent
        for _ in range(level - 1):
            base = base.parent
        return _file_for(base, parts) if parts else _file_for(base, [])
    if not parts:
        return None
    if (parts[0] in sys.stdlib_module_names or parts[0] in LIBRARIES) and parts[
        0
    ] not in importer.parts[:-1]:
        return None  # a library, not the project (unless the importer is inside it)
    for folder in search_folders(importer):
        if folder.name in INSTALLED and importer.parts[len(folder.parts)] != parts[0]:
            continue  # an installed package's own modules only, not its neighbours (torch)
        found = _file_for(folder, parts)
        if found is not None and found != importer:
            return found
    return None


def display(path: Path) -> str:
    """A path as messages show it: relative to the working directory when under it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


# `from x.y import a, b` / `import x.y, z as w` at the start of a line (a parenthesised list may
# span lines).
_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
    rb"|import[ \t]+([^\n#;]*))",
    re.MULTILINE,
)
_MIGHT_FREEZE: dict[Path, tuple[float, bool]] = {}


def drives_project_code(path: Path, raw: bytes) -> bool:
    """Is the file a script (it acts when run: `if __name__ == "__main__":`) with a project
    module among its imports that may freeze or build an optimizer? Such a script has none of
    that code of its own (the byte pre-filter skips it) but drives it: it builds the model
    and hands it to the project's training loop. A byte-level reading, before any parse."""
    if b"__main__" not in raw or b"import" not in raw:
        return False
    for match in _IMPORT.finditer(raw):
        dots, base, names, plain = match.groups()
        if plain is not None:
            modules = [(name, 0) for name in _names(plain)]
        else:
            level = len(dots)
            module = base.decode("ascii", "replace")
            modules = [(module, level)] + [
                (f"{module}.{name}" if module else name, level) for name in _names(names)
            ]
        for module, level in modules:
            if not module and not level:
                continue
            target = resolve(module, level, path)
            if target is not None and target != path and _file_might_freeze(target):
                return True
    return False


def _names(listed: bytes) -> list[str]:
    """The modules or names an import lists (`a, b as c` -> `a`, `b`)."""
    out = []
    for item in listed.strip(b"() \t\r\n\\").split(b","):
        words = item.split()
        if words and words[0] != b"*":
            out.append(words[0].decode("ascii", "replace"))
    return out


def _file_might_freeze(path: Path) -> bool:
    try:
        stamp = path.stat().st_mtime
        known = _MIGHT_FREEZE.get(path)
        if known is None or known[0] != stamp:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_BYTES)
            known = _MIGHT_FREEZE[path] = (stamp, might_freeze(raw))
    except OSError:
        return False
    return known[1]
