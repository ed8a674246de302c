"""Configuration: `[tool.freezelint]` in `pyproject.toml`, or a `freezelint.toml`, found from the
checked paths upward (or given with `--config`, or ignored with `--isolated`). A bad file is a
`ConfigError` with a clear message (exit 2), never a silent default."""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freezelint.rules import CODES

KEYS = {
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "cache-dir",
    "model-aliases",
}


class ConfigError(Exception):
    pass


@dataclass
class Config:
    """The project's settings (`freezelint.toml`, or `[tool.freezelint]`), or their defaults."""

    path: Path | None = None
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=list)
    cache_dir: Path | None = None
    # qualified name of a project's model factory -> (library, architecture name)
    model_aliases: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def ignored_for(self, path: str) -> list[str]:
        """Codes `per-file-ignores` switches off for a file."""
        if not self.per_file_ignores:
            return []  # (asked of every file: no path resolved for nothing)
        try:
            relative = Path(os.path.abspath(path)).relative_to(self.root.resolve()).as_posix()
        except ValueError:
            relative = Path(path).as_posix()
        out: list[str] = []
        for pattern, codes in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(Path(relative).name, pattern):
                out.extend(codes)
        return out


def find(start: Path) -> Path | None:
    """The nearest `freezelint.toml`, or `pyproject.toml` with a `[tool.freezelint]` table."""
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        own = candidate / "freezelint.toml"
        if own.is_file():
            return own
        project = candidate / "pyproject.toml"
        if project.is_file():
            try:
                if "freezelint" in tomllib.loads(project.read_text(encoding="utf-8")).get(
                    "tool", {}
                ):
                    return project
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                return project  # reported properly by `load`
    return None


def load(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from error
    table = data.get("tool", {}).get("freezelint", {}) if path.name == "pyproject.toml" else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.freezelint] must be a table")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown option{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} (known: {', '.join(sorted(KEYS))})"
        )
    config = Config(path=path)
    if "select" in table:
        config.select = _codes(path, "select", table["select"])
    config.ignore = _codes(path, "ignore", table.get("ignore", []))
    config.extend_select = _codes(path, "extend-select", table.get("extend-select", []))
    config.exclude = _strings(path, "exclude", table.get("exclude", [])) + _strings(
        path, "extend-exclude", table.get("extend-exclude", [])
    )
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{path}: per-file-ignores must be a table of glob = [codes]")
    config.per_file_ignores = {k: _codes(path, f"per-file-ignores.{k}", v) for k, v in pfi.items()}
    if "cache-dir" in table:
        if not isinstance(table["cache-dir"], str):
            raise ConfigError(f"{path}: cache-dir must be a string")
        config.cache_dir = (path.parent / table["cache-dir"]).resolve()
    aliases = table.get("model-aliases", {})
    if not isinstance(aliases, dict):
        raise ConfigError(f'{path}: model-aliases must be a table of name = "LIBRARY:MODEL"')
    if aliases:
        # (Imported here: `model.spec` brings the extractor's events, which a run that parses
        # nothing, a pre-commit hook over files with no freezing code, never needs.)
        from freezelint.model.spec import LIBRARIES
    for name, target in aliases.items():
        library, sep, model = str(target).partition(":")
        if not sep or library not in LIBRARIES or not model:
            raise ConfigError(
                f"{path}: model-aliases.{name} = {target!r}: expected "
                f"LIBRARY:MODEL with LIBRARY one of {', '.join(LIBRARIES)}"
            )
        config.model_aliases[name] = (library, model)
    return config


def _strings(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key} must be a list of strings")
    return value


def _codes(path: Path, key: str, value: Any) -> list[str]:
    codes = [v.strip().upper() for v in _strings(path, key, value)]
    bad = [c for c in codes if c != "ALL" and not any(code.startswith(c) for code in CODES)]
    if bad:
        selectors = ", ".join(f"`{c}`" for c in bad)
        raise ConfigError(f"{path}: {key}: Unknown rule selector {selectors}")
    return codes
