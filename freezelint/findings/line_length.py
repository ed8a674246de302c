"""The line length fixes keep to: the project's own, as its formatter and linter read it
(`line-length` in `ruff.toml`, `.ruff.toml`, or `pyproject.toml`'s `[tool.ruff]`, else
`[tool.black]`), from the nearest such file above the checked file; 88 (both tools' default)
without one. A fix that would make a line longer than that writes its code otherwise."""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

DEFAULT = 88


def line_length_for(path: str) -> int:
    """The line length for a file (its path as checked; a buffer's stand-in name works)."""
    return _for_folder(os.path.dirname(os.path.abspath(path)))


@functools.lru_cache(maxsize=256)
def _for_folder(folder: str) -> int:
    current = Path(folder)
    for directory in (current, *current.parents):
        for name in ("ruff.toml", ".ruff.toml"):
            found = _read(directory / name)
            if found is not None:
                return _length(found.get("line-length"))
        project = _read(directory / "pyproject.toml")
        if project is not None:
            tools = project.get("tool", {}) if isinstance(project.get("tool"), dict) else {}
            for tool in ("ruff", "black"):
                table = tools.get(tool)
                if isinstance(table, dict) and "line-length" in table:
                    return _length(table["line-length"])
            return DEFAULT  # the project's root, which sets none
    return DEFAULT


def _read(path: Path) -> dict | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return None


def _length(value: object) -> int:
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else DEFAULT
    )
