"""Finding and reading the files to check: the folder walk (default excludes, virtual
environments, `.gitignore`), decoding as Python does, and the byte pre-filter that skips files
with no freezing code before they are parsed. Standard library only: this runs on every commit.
"""

from __future__ import annotations

import os
import re
import tokenize
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "node_modules",
        "build",
        "dist",
        "site-packages",
        ".eggs",
        ".venv",
        "venv",
        ".ipynb_checkpoints",
    }
)

_MIGHT_FREEZE = re.compile(
    rb"requires_grad|optim|param_groups|freeze|parameters\(|\.train\(|\.eval\(|reset_classifier"
    rb"|DataParallel|compile\("
)


def might_freeze(raw: bytes) -> bool:
    """The pre-filter: can this file hold anything freezelint looks at?"""
    return _MIGHT_FREEZE.search(raw) is not None


@dataclass(frozen=True)
class Found:
    path: Path
    display: str  # as the user sees it in output
    error: str | None = None


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)


def iter_files(
    paths: Sequence[str], exclude: Sequence[str] = (), exclude_base: Path | None = None
) -> Iterator[Found]:
    """The files to check: explicit files as given, folders walked for `*.py`, each file once.
    `exclude` patterns are gitignore-style, relative to `exclude_base` (default: the cwd)."""
    seen: set[Path] = set()
    extra = _Patterns.parse(list(exclude), exclude_base or Path.cwd())
    for given in paths:
        path = Path(given)
        if path.is_file():
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield Found(path, given)
        elif path.is_dir():
            for file in _walk(path, extra):
                resolved = file.resolve()
                if resolved not in seen:
                    seen.add(resolved)
                    yield Found(file, _display(file) if not path.is_absolute() else str(file))
        else:
            yield Found(path, given, "No such file or directory")


def _walk(top: Path, extra: _Patterns) -> Iterator[Path]:
    root = _git_root(top.resolve())
    base_rules: list[_Patterns] = [extra]
    if root is not None:
        info = root / ".git" / "info" / "exclude"
        base_rules.append(_Patterns.load(info, root))
        # .gitignore files above the walked folder, from the repository root down.
        cur = top.resolve()
        chain = []
        while True:
            chain.append(cur)
            if cur == root or cur.parent == cur:
                break
            cur = cur.parent
        for folder in reversed(chain[1:]):
            base_rules.append(_Patterns.load(folder / ".gitignore", folder))
    yield from _walk_dir(top, base_rules)


def _walk_dir(folder: Path, rules: list[_Patterns]) -> Iterator[Path]:
    rules = [*rules, _Patterns.load(folder / ".gitignore", folder)]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_file = entry.is_file()
        except OSError:
            continue
        if is_dir:
            if (
                entry.name in SKIPPED_DIRS
                or entry.name.endswith(".egg-info")
                or (path / "pyvenv.cfg").exists()
                or _ignored(rules, path, True)
            ):
                continue
            yield from _walk_dir(path, rules)
        elif (
            is_file and entry.name.endswith((".py", ".ipynb")) and not _ignored(rules, path, False)
        ):
            yield path


def _ignored(rules: list[_Patterns], path: Path, is_dir: bool) -> bool:
    verdict = False
    for patterns in rules:
        result = patterns.match(path, is_dir)
        if result is not None:
            verdict = result
    return verdict


def _git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


@dataclass(frozen=True)
class _Patterns:
    """The patterns of one `.gitignore`, relative to its folder (last match wins)."""

    base: Path
    rules: tuple[_Rule, ...]

    @classmethod
    def load(cls, file: Path, base: Path) -> _Patterns:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        return cls.parse(lines, base)

    @classmethod
    def parse(cls, lines: list[str], base: Path) -> _Patterns:
        rules = []
        for line in lines:
            line = line.rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            line = line.lstrip("/")
            if not line:
                continue
            rules.append(_Rule(re.compile(_glob_regex(line, anchored)), negate, dir_only))
        return cls(base.resolve(), tuple(rules))

    def match(self, path: Path, is_dir: bool) -> bool | None:
        """True ignored, False re-included, None not mentioned."""
        if not self.rules:
            return None
        try:
            rel = path.resolve().relative_to(self.base).as_posix()
        except ValueError:
            return None
        verdict = None
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(rel):
                verdict = not rule.negate
        return verdict


def _glob_regex(pattern: str, anchored: bool) -> str:
    """A gitignore glob as a regex over a path relative to the .gitignore's folder."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out += "/.*"
            i += 3
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape("[")
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out += f"[{body}]"
                i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return f"^{prefix}{out}(?:/.*)?$"


def read_source(path: Path) -> tuple[str | None, bytes, str | None]:
    """(text, raw bytes, error): decoded as Python decodes source (BOM, coding declaration)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, b"", error.strerror or str(error)
    if b"\x00" in raw:
        return None, raw, "binary file (contains NUL bytes)"
    try:
        encoding, _ = tokenize.detect_encoding(iter(raw.splitlines(keepends=True)).__next__)
        return raw.decode(encoding), raw, None
    except (SyntaxError, UnicodeDecodeError, LookupError) as error:
        return None, raw, f"cannot decode: {error}"
