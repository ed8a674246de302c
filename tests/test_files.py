"""Finding and reading files: the walk, .gitignore, excludes, decoding, the pre-filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from freezelint.files import iter_files, might_freeze, read_source


def names(found, root: Path) -> list[str]:
    return [Path(f.path).resolve().relative_to(root.resolve()).as_posix() for f in found]


def make(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


def test_walk_skips_default_folders_and_venvs(tmp_path: Path) -> None:
    make(
        tmp_path,
        "a.py",
        "pkg/b.py",
        "pkg/c.txt",
        ".git/d.py",
        "build/e.py",
        "node_modules/f.py",
        "x.egg-info/g.py",
        "env/h.py",
        "pkg/__pycache__/i.py",
    )
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    assert names(iter_files([str(tmp_path)]), tmp_path) == ["a.py", "pkg/b.py"]


def test_gitignore_nested_negation_and_anchoring(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(
        tmp_path,
        "keep.py",
        "gen_a.py",
        "gen_keep.py",
        "sub/gen_b.py",
        "sub/local.py",
        "logs/run.py",
        "sub/logs/other.py",
        "top.py",
        "sub/top.py",
        "deep/x/y/z.py",
    )
    (tmp_path / ".gitignore").write_text(
        "# comment\ngen_*.py\n!gen_keep.py\n/top.py\nlogs/\ndeep/**/z.py\n"
    )
    (tmp_path / "sub" / ".gitignore").write_text("local.py\n")
    got = names(iter_files([str(tmp_path)]), tmp_path)
    assert got == ["gen_keep.py", "keep.py", "sub/top.py"]


def test_git_info_exclude_and_parent_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("secret.py\n")
    (tmp_path / ".gitignore").write_text("skipme/\n")
    make(tmp_path, "src/secret.py", "src/ok.py", "src/skipme/a.py")
    assert names(iter_files([str(tmp_path / "src")]), tmp_path) == ["src/ok.py"]


def test_explicit_file_is_checked_even_if_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("*.py\n")
    make(tmp_path, "a.py")
    assert names(iter_files([str(tmp_path / "a.py")]), tmp_path) == ["a.py"]
    assert names(iter_files([str(tmp_path)]), tmp_path) == []


def test_exclude_patterns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, "a.py", "legacy/b.py")
    monkeypatch.chdir(tmp_path)
    assert names(iter_files(["."], exclude=["legacy/"]), tmp_path) == ["a.py"]


def test_missing_path_and_dedupe(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    found = list(iter_files([str(tmp_path / "a.py"), str(tmp_path), str(tmp_path / "no.py")]))
    assert [f.error for f in found] == [None, "No such file or directory"]


def test_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    make(tmp_path, "a/b.py")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert names(iter_files([str(tmp_path)]), tmp_path) == ["a/b.py"]


@pytest.mark.parametrize(
    ("raw", "text", "error"),
    [
        (b"", "", None),
        (b"\xef\xbb\xbfx = 'caf\xc3\xa9'\n", "x = 'café'\n", None),
        (b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", "# -*- coding: latin-1 -*-\nx = 'é'\n", None),
        (b"x = '\xff\xfe'\n", None, "cannot decode"),
        (b"requires_grad\x00", None, "binary file"),
    ],
)
def test_read_source(tmp_path: Path, raw: bytes, text: str | None, error: str | None) -> None:
    path = tmp_path / "f.py"
    path.write_bytes(raw)
    got_text, got_raw, got_error = read_source(path)
    assert got_text == text and got_raw == raw
    assert (got_error is None) if error is None else (error in got_error)


def test_read_source_unreadable(tmp_path: Path) -> None:
    assert read_source(tmp_path / "missing.py")[2] == "No such file or directory"


def test_pre_filter() -> None:
    assert might_freeze(b"p.requires_grad = False")
    assert might_freeze(b"torch.optim.SGD(params)")
    assert might_freeze(b"model.eval()")
    assert not might_freeze(b"def f(x):\n    return x + 1\n")
