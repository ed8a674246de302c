"""File discovery: which files a run checks.

This module owns the folder walk (ruff's default excluded directories, virtual environments,
`.gitignore` and `.git/info/exclude` matching done here without calling git, extra `exclude`
globs), the de-duplication of paths and the display form of a path. Reading a file's bytes as
text is `script.source`. Standard library only: it runs on the hot path of a pre-commit hook.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# ruff's default `exclude` directory names; `*.egg-info` and venvs (a `pyvenv.cfg`) are checked
# separately. A directory given explicitly is walked even if its own name is in here.
# fmt: off
SKIPPED_DIRS = frozenset((
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox",
    ".venv", ".vscode", "__pycache__", "__pypackages__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv",
))
# fmt: on

NO_SUCH_FILE = "No such file or directory"


@dataclass(frozen=True)
class DiscoveredPath:
    """One file to check, as found on the command line or in a folder."""

    path: Path  # absolute (symlinks not resolved)
    display: str  # as the user sees it: relative to the working directory if under it
    explicit: bool  # named on the command line rather than found by walking a directory
    error: str | None = None  # set when the path cannot be checked at all (caller exits 2)


# --- gitignore patterns ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    """One line of a `.gitignore` file, compiled."""

    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    anchored: bool  # had a slash before its end: relative to its base, not any-depth


def _class(pat: str, start: int) -> tuple[str, int] | None:
    """Translate the `[...]` at `pat[start]`: (regex, index after `]`), or None if unclosed."""
    j = start + 1
    if j < len(pat) and pat[j] in "!^":
        j += 1
    if j < len(pat) and pat[j] == "]":
        j += 1
    while j < len(pat) and pat[j] != "]":
        j += 2 if pat[j] == "\\" else 1
    if j >= len(pat):
        return None
    body = pat[start + 1 : j]
    negate = body[:1] in ("!", "^")
    chars = re.sub(r"\\(.)|([\\^[\]])", lambda m: "\\" + (m[1] or m[2]), body[negate:])
    return ("[^/" + chars + "]" if negate else "(?!/)[" + chars + "]"), j + 1


def _segment(seg: str) -> str:
    out, i = [], 0
    while i < len(seg):
        c = seg[i]
        if c == "*":
            while i + 1 < len(seg) and seg[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (cls := _class(seg, i)) is not None:
            out.append(cls[0])
            i = cls[1] - 1
        elif c == "\\" and i + 1 < len(seg):
            i += 1
            out.append(re.escape(seg[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _parse(line: str) -> _Pattern | None:
    """One `.gitignore` line as a pattern, or None for blanks and comments."""
    pat = line.rstrip(" ")
    if pat != line and (len(pat) - len(pat.rstrip("\\"))) % 2:
        pat += " "  # "foo\ " keeps its escaped trailing space
    if not pat or pat.startswith("#"):
        return None
    negate = pat.startswith("!")
    pat = pat[1:] if negate else pat
    dir_only = pat.endswith("/")
    pat = pat.rstrip("/")
    anchored = "/" in pat
    pat = pat.removeprefix("/")
    if not pat:
        return None
    segments = pat.split("/")
    parts = []
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == "**":
            parts.append(".*" if last else "(?:.*/)?")
        else:
            parts.append(_segment(seg) + ("" if last else "/"))
    regex = "".join(parts) if anchored else "(?:.*/)?" + "".join(parts)
    try:
        return _Pattern(re.compile(regex, re.DOTALL), negate, dir_only, anchored)
    except re.error:  # e.g. a reversed range "[z-a]": git matches nothing with it either
        return None


@dataclass(frozen=True)
class _Rules:
    """The patterns of one file (or of `exclude`), relative to the directory `base`."""

    base: str
    patterns: tuple[_Pattern, ...]
    anywhere: bool = False  # outside `base`, unanchored patterns still match the name

    def verdict(self, full: str, is_dir: bool) -> bool | None:
        """True ignored, False re-included, None no pattern matches. Last match wins."""
        prefix = self.base if self.base.endswith(os.sep) else self.base + os.sep
        rel: str | None = None
        if full.startswith(prefix):
            rel = full[len(prefix) :].replace(os.sep, "/")
        elif not self.anywhere:
            return None
        for pat in reversed(self.patterns):
            if pat.dir_only and not is_dir:
                continue
            if rel is None and pat.anchored:
                continue
            subject = os.path.basename(full) if rel is None else rel
            if pat.regex.fullmatch(subject):
                return not pat.negate
        return None


def _rules(base: str, lines: Sequence[str], *, anywhere: bool = False) -> _Rules | None:
    patterns = tuple(p for p in map(_parse, lines) if p is not None)
    return _Rules(base, patterns, anywhere) if patterns else None


def _load(base: str, file: str) -> _Rules | None:
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            return _rules(base, handle.read().splitlines())
    except OSError:
        return None


def _repo_rules(root: str) -> list[_Rules]:
    """`.git/info/exclude` of the repository whose work tree is `root` (`.git` may be a file)."""
    git = os.path.join(root, ".git")
    if os.path.isfile(git):
        try:
            with open(git, encoding="utf-8", errors="replace") as handle:
                first = handle.readline().strip()
        except OSError:
            return []
        if not first.startswith("gitdir:"):
            return []
        git = os.path.join(root, first.removeprefix("gitdir:").strip())
    found = _load(root, os.path.join(git, "info", "exclude"))
    return [found] if found else []


def _git_root(directory: str) -> str | None:
    while True:
        if os.path.lexists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _ignored(full: str, is_dir: bool, stack: Sequence[_Rules], extra: _Rules | None) -> bool:
    """Ignored by git (deeper files override shallower ones) or by the `exclude` globs."""
    if extra is not None and extra.verdict(full, is_dir):
        return True
    for rules in reversed(stack):
        verdict = rules.verdict(full, is_dir)
        if verdict is not None:
            return verdict
    return False


# --- the walk --------------------------------------------------------------------------------


def _skipped_dir(name: str, full: str) -> bool:
    return (
        name in SKIPPED_DIRS
        or name.endswith(".egg-info")
        or os.path.isfile(os.path.join(full, "pyvenv.cfg"))
    )


def _forced_out(full: str, is_dir: bool, base: str, extra: _Rules | None) -> bool:
    """Does `exclude`, or a default exclude, cover a path given explicitly, or a folder above
    it (up to `base`)?"""
    if extra is not None and extra.verdict(full, is_dir):
        return True
    folder = os.path.dirname(full)
    while folder.startswith(base) and len(folder) > len(base):
        name = os.path.basename(folder)
        if _skipped_dir(name, folder) or (extra is not None and extra.verdict(folder, True)):
            return True
        folder = os.path.dirname(folder)
    return False


def _walk(top: str, extra: _Rules | None) -> Iterator[str]:
    """`*.py` and `*.ipynb` files under `top`, sorted, minus default excludes, ignored and
    excluded paths."""
    stack: list[_Rules] = []
    git_root = _git_root(top)
    if git_root is not None:
        stack += _repo_rules(git_root)
        rel = os.path.relpath(top, git_root)
        parts = [] if rel == os.curdir else rel.split(os.sep)
        for depth in range(len(parts)):  # .gitignore files above `top`; top's own comes below
            directory = os.path.join(git_root, *parts[:depth])
            stack += filter(None, [_load(directory, os.path.join(directory, ".gitignore"))])
    stacks: dict[str, list[_Rules]] = {top: stack}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        here = stacks.pop(dirpath, [])
        if dirpath != top and os.path.lexists(os.path.join(dirpath, ".git")):
            here = _repo_rules(dirpath)  # a nested repository ignores its parent's rules
        own = _load(dirpath, os.path.join(dirpath, ".gitignore"))
        here = [*here, own] if own else here
        kept = []
        for name in sorted(dirnames):
            full = os.path.join(dirpath, name)
            if not _skipped_dir(name, full) and not _ignored(full, True, here, extra):
                kept.append(name)
                stacks[full] = here
        dirnames[:] = kept
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if (
                name.endswith((".py", ".ipynb"))
                and os.path.isfile(full)  # follows links; not a dangling link, FIFO or socket
                and not _ignored(full, False, here, extra)
            ):
                yield full


def _display(full: str, cwd: str) -> str:
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    return full[len(prefix) :] if full.startswith(prefix) else full


def iter_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    exclude: Sequence[str] = (),
    exclude_base: str | os.PathLike[str] | None = None,
    force_exclude: bool = False,
) -> Iterator[DiscoveredPath]:
    """The files to check, in order, each once. Explicit files are yielded unless
    `force_exclude` (ruff's `--force-exclude`, for pre-commit, which passes files one by one)
    and `exclude` or a default exclude (a virtual environment, `build/`) covers them or a folder
    above them; directories are walked for `*.py` and `*.ipynb` files honouring default
    excludes, `.gitignore` and `exclude` (gitignore syntax, relative to `exclude_base`, default
    the working directory). Missing paths come back with `error` set."""
    cwd = os.getcwd()
    base = os.path.abspath(exclude_base) if exclude_base is not None else cwd
    # "./build" means "/build" (anchored); gitignore itself has no "./".
    extra = _rules(base, [re.sub(r"^(!?)\./", r"\1/", p) for p in exclude], anywhere=True)
    seen: set[str] = set()
    for given in paths:
        full = os.path.abspath(os.fspath(given))
        try:
            is_dir = stat.S_ISDIR(os.stat(full).st_mode)
        except FileNotFoundError:
            error: str | None = NO_SUCH_FILE
        except (OSError, ValueError) as exc:
            error = getattr(exc, "strerror", None) or str(exc)
        else:
            error = None
        if error is not None:
            if full not in seen:
                seen.add(full)
                yield DiscoveredPath(Path(full), _display(full, cwd), True, error)
            continue
        if force_exclude and _forced_out(full, is_dir, base, extra):
            continue
        found = _walk(full, extra) if is_dir else iter([full])
        for file in found:
            key = os.path.realpath(file)  # does not raise on loops (non-strict)
            if key not in seen:
                seen.add(key)
                yield DiscoveredPath(Path(file), _display(file, cwd), not is_dir)
