"""File discovery: the walk, `.gitignore` matching, de-duplication, decoding and the pre-filter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import freezelint.script.source as source_module
from freezelint.run.discovery import SKIPPED_DIRS, DiscoveredPath, _parse, iter_files
from freezelint.script.source import might_freeze, read_source


def make(root: Path, *names: str, text: str = "x = 1\n") -> None:
    """Create files (names ending in "/" are directories) under `root`."""
    for name in names:
        target = root / name
        if name.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


def found(root: Path, *paths: str | Path, exclude: tuple[str, ...] = ()) -> list[str]:
    """Walked files, as forward-slash paths relative to `root`."""
    given = [root / p for p in paths] if paths else [root]
    return [
        d.path.relative_to(root).as_posix()
        for d in iter_files(given, exclude=exclude)
        if not d.error
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    return tmp_path


# --- explicit paths --------------------------------------------------------------------------


def test_explicit_file_is_yielded_whatever_its_suffix_or_ignore_status(repo: Path) -> None:
    make(repo, "notes.txt", "stub.pyi", "ignored.py", "build/gen.py")
    (repo / ".gitignore").write_text("ignored.py\n*.txt\n", encoding="utf-8")
    names = ["notes.txt", "stub.pyi", "ignored.py", "build/gen.py"]
    result = list(iter_files([repo / n for n in names], exclude=["*.py"]))
    assert [d.path for d in result] == [repo / n for n in names]
    assert all(d.explicit and d.error is None for d in result)


def test_missing_path_is_reported_not_raised(tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    result = list(iter_files([tmp_path / "nope.py", tmp_path / "a.py", tmp_path / "gone/"]))
    assert result[0] == DiscoveredPath(
        tmp_path / "nope.py", str(tmp_path / "nope.py"), True, "No such file or directory"
    )
    assert result[1].error is None
    assert result[2].error == "No such file or directory"


def test_dangling_symlink_given_explicitly_is_missing(tmp_path: Path) -> None:
    os.symlink(tmp_path / "target.py", tmp_path / "link.py")
    [result] = iter_files([tmp_path / "link.py"])
    assert result.error == "No such file or directory"


def test_display_is_relative_under_cwd_else_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "proj/pkg/a.py", "other/b.py")
    monkeypatch.chdir(tmp_path / "proj")
    result = list(iter_files(["pkg", "pkg/a.py", str(tmp_path / "other" / "b.py")]))
    assert [(d.display, d.explicit) for d in result] == [
        (os.path.join("pkg", "a.py"), False),
        (str(tmp_path / "other" / "b.py"), True),
    ]
    assert result[0].path == tmp_path / "proj" / "pkg" / "a.py"  # absolute
    [missing] = iter_files(["missing.py"])
    assert missing.display == "missing.py"


# --- the walk --------------------------------------------------------------------------------


def test_walk_yields_py_and_notebook_files_only_in_sorted_order(tmp_path: Path) -> None:
    make(tmp_path, "b.py", "a.py", "c.pyi", "d.txt", "z/y.py", "m/n.py", "m/a.py", "e.pyc", "n.py")
    make(tmp_path, "m/t.ipynb")
    # a directory's own files first (by name), then its subdirectories (by name)
    assert found(tmp_path) == ["a.py", "b.py", "n.py", "m/a.py", "m/n.py", "m/t.ipynb", "z/y.py"]
    assert not any(d.explicit for d in iter_files([tmp_path]))


@pytest.mark.parametrize("name", [*sorted(SKIPPED_DIRS), "foo.egg-info"])
def test_default_excluded_directories_are_skipped(tmp_path: Path, name: str) -> None:
    make(tmp_path, "keep.py", f"{name}/skip.py", f"sub/{name}/skip.py")
    assert found(tmp_path) == ["keep.py"]


def test_brief_directory_names_are_all_skipped() -> None:
    brief = ".git .hg .svn __pycache__ .mypy_cache .pytest_cache .ruff_cache .tox .nox"
    brief += " node_modules build dist site-packages .eggs"
    assert set(brief.split()) <= SKIPPED_DIRS


def test_virtual_environment_is_skipped_by_pyvenv_cfg(tmp_path: Path) -> None:
    make(tmp_path, "main.py", "myenv/pyvenv.cfg", "myenv/lib/mod.py", "notenv/mod.py")
    assert found(tmp_path) == ["main.py", "notenv/mod.py"]


def test_explicitly_given_excluded_directory_is_walked(tmp_path: Path) -> None:
    make(tmp_path, "build/gen.py", "build/dist/skip.py")
    assert found(tmp_path, "build") == ["build/gen.py"]


def test_symlink_loop_does_not_hang_and_symlinked_file_is_yielded(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "elsewhere/real.py")
    os.symlink(tmp_path / "pkg", tmp_path / "pkg" / "loop")  # a directory linked to its parent
    os.symlink(tmp_path, tmp_path / "pkg" / "up")
    os.symlink(tmp_path / "elsewhere" / "real.py", tmp_path / "pkg" / "linked.py")
    os.symlink(tmp_path / "nowhere.py", tmp_path / "pkg" / "dangling.py")
    assert found(tmp_path, "pkg") == ["pkg/a.py", "pkg/linked.py"]
    assert found(tmp_path, "pkg/loop/loop/loop") == [
        "pkg/loop/loop/loop/a.py",
        "pkg/loop/loop/loop/linked.py",
    ]


def test_unreadable_directory_is_skipped_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "a.py", "locked/b.py", "open/c.py")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert found(tmp_path) == ["a.py", "open/c.py"]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions"
)
def test_unreadable_directory_by_mode_is_skipped(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "locked/b.py", "locked/.gitignore")
    (tmp_path / "locked").chmod(0)
    try:
        assert found(tmp_path) == ["a.py"]
        assert found(tmp_path, "locked") == []
    finally:
        (tmp_path / "locked").chmod(0o755)


def test_each_file_is_yielded_once(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "pkg/sub/b.py")
    os.symlink(tmp_path / "pkg", tmp_path / "alias")
    given = ["pkg/a.py", "pkg", "pkg/sub", "pkg/a.py", "alias/a.py", "pkg/../pkg/sub/b.py"]
    result = list(iter_files([tmp_path / p for p in given]))
    assert [d.path.relative_to(tmp_path).as_posix() for d in result] == ["pkg/a.py", "pkg/sub/b.py"]
    assert [d.explicit for d in result] == [True, False]


def test_missing_path_given_twice_is_reported_once(tmp_path: Path) -> None:
    assert len(list(iter_files([tmp_path / "x.py", tmp_path / "x.py"]))) == 1


# --- .gitignore ------------------------------------------------------------------------------


def test_nested_gitignore_with_negation_and_anchoring(repo: Path) -> None:
    make(
        repo,
        "gen.py",
        "keep.py",
        "top.py",
        "src/top.py",
        "src/gen.py",
        "src/special_gen.py",
        "src/local.py",
        "src/deep/local.py",
        "src/deep/gen.py",
        "other/local.py",
    )
    (repo / ".gitignore").write_text("# generated\n\n*gen.py\n/top.py\n", encoding="utf-8")
    (repo / "src" / ".gitignore").write_text("!special_gen.py\n/local.py\n", encoding="utf-8")
    assert found(repo) == [
        "keep.py",
        "other/local.py",  # /local.py is anchored to src/
        "src/special_gen.py",  # re-included by the deeper file
        "src/top.py",  # /top.py is anchored to the root
        "src/deep/local.py",
    ]


def test_gitignore_above_the_walked_directory_applies(repo: Path) -> None:
    make(repo, "a/b/keep.py", "a/b/skip.py", "a/b/c/skip.py", "a/b/c/mid.py")
    (repo / ".gitignore").write_text("skip.py\n", encoding="utf-8")
    (repo / "a" / ".gitignore").write_text("b/c/mid.py\n", encoding="utf-8")
    assert found(repo, "a/b") == ["a/b/keep.py"]
    assert found(repo, "a/b/c") == []


def test_gitignore_is_honoured_without_a_repository(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "b.py")
    (tmp_path / ".gitignore").write_text("b.py\n", encoding="utf-8")
    assert found(tmp_path) == ["a.py"]


def test_git_info_exclude_is_honoured_with_lower_precedence(repo: Path) -> None:
    make(repo, "a.py", "b.py", "c.py")
    (repo / ".git" / "info" / "exclude").write_text("b.py\nc.py\n", encoding="utf-8")
    (repo / ".gitignore").write_text("!c.py\n", encoding="utf-8")
    assert found(repo) == ["a.py", "c.py"]


def test_git_file_pointing_at_a_gitdir(tmp_path: Path) -> None:
    make(tmp_path, "work/a.py", "work/b.py")
    (tmp_path / "gitdir" / "info").mkdir(parents=True)
    (tmp_path / "gitdir" / "info" / "exclude").write_text("b.py\n", encoding="utf-8")
    (tmp_path / "work" / ".git").write_text("gitdir: ../gitdir\n", encoding="utf-8")
    assert found(tmp_path, "work") == ["work/a.py"]


def test_nested_repository_does_not_inherit_parent_rules(repo: Path) -> None:
    make(repo, "a.py", "vendor/lib/a.py", "vendor/lib/.git/")
    (repo / ".gitignore").write_text("a.py\n!vendor/\n", encoding="utf-8")
    assert found(repo) == ["vendor/lib/a.py"]


def test_file_in_ignored_directory_cannot_be_reincluded(repo: Path) -> None:
    make(repo, "data/keep.py", "data/x.py", "logs/keep.py", "logs/x.py")
    (repo / ".gitignore").write_text("data/\n!data/keep.py\nlogs/*\n!logs/keep.py\n")
    assert found(repo) == ["logs/keep.py"]


def test_trailing_slash_matches_directories_only(repo: Path) -> None:
    make(repo, "out.py", "out/a.py", "sub/out/b.py", "sub/c.py")
    (repo / ".gitignore").write_text("out/\n", encoding="utf-8")
    assert found(repo) == ["out.py", "sub/c.py"]


def test_double_star_forms(repo: Path) -> None:
    make(
        repo,
        "logs/a.py",
        "x/logs/b.py",
        "keep/a.py",
        "keep/deep/er/b.py",
        "m/a/z/n.py",
        "m/n.py",
        "m/b/n.py",
    )
    (repo / ".gitignore").write_text("**/logs\nkeep/**\n!keep/a.py\nm/**/n.py\n")
    assert found(repo) == ["keep/a.py"]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "matches"),
    [
        ("*.py", "a.py", False, True),
        ("*.py", "deep/er/a.py", False, True),
        ("a*.py", "dir/b.py", False, False),
        ("a/*.py", "a/b/c.py", False, False),  # * does not cross /
        ("a/*.py", "x/a/c.py", False, False),  # a slash anchors the pattern
        ("/a.py", "a.py", False, True),
        ("/a.py", "x/a.py", False, False),
        ("?.py", "a.py", False, True),
        ("?.py", "ab.py", False, False),
        ("x?y", "x/y", False, False),
        ("[ab].py", "b.py", False, True),
        ("[ab].py", "c.py", False, False),
        ("[!ab].py", "c.py", False, True),
        ("[!ab].py", "a.py", False, False),
        ("[^ab].py", "c.py", False, True),
        ("[a-c]x", "bx", False, True),
        ("[]]x", "]x", False, True),
        ("[.py", "[.py", False, True),  # unclosed bracket is literal
        ("\\#x.py", "#x.py", False, True),
        ("\\!x.py", "!x.py", False, True),
        ("a\\*", "a*", False, True),
        ("a\\*", "ab", False, False),
        ("name\\ ", "name ", False, True),
        ("name  ", "name", False, True),  # unescaped trailing spaces are dropped
        ("dir/", "dir", True, True),
        ("dir/", "dir", False, False),
        ("**/foo", "foo", False, True),
        ("**/foo", "a/b/foo", False, True),
        ("**/a/foo", "x/a/foo", False, True),
        ("a/**", "a/b/c", False, True),
        ("a/**", "a", True, False),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**/b", "ab/x/b", False, False),
        ("a**b", "axxb", False, True),
        ("a**b", "ax/xb", False, False),
        ("**", "any/thing", False, True),
        ("*.p[y]", "a.py", False, True),
    ],
)
def test_pattern_matching(pattern: str, path: str, is_dir: bool, matches: bool) -> None:
    parsed = _parse(pattern)
    assert parsed is not None
    ok = (is_dir or not parsed.dir_only) and parsed.regex.fullmatch(path) is not None
    assert ok == matches


@pytest.mark.parametrize("line", ["", "   ", "# comment", "!", "/", "[z-a].py"])
def test_blank_comment_and_empty_lines_are_not_patterns(line: str) -> None:
    assert _parse(line) is None


def test_negation_flag() -> None:
    parsed = _parse("!/keep.py")
    assert parsed is not None and parsed.negate and parsed.anchored
    assert parsed.regex.fullmatch("keep.py")


# --- exclude ---------------------------------------------------------------------------------


def test_exclude_patterns_are_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "a.py", "gen_b.py", "tests/t.py", "src/tests/t.py", "src/c.py")
    monkeypatch.chdir(tmp_path)
    got = [d.display for d in iter_files(["."], exclude=["gen_*.py", "./tests"])]
    assert got == ["a.py", os.path.join("src", "c.py"), os.path.join("src", "tests", "t.py")]


def test_exclude_name_pattern_applies_outside_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "outside/a.py", "outside/skip_me.py", "outside/sub/x.py", "cwd/")
    monkeypatch.chdir(tmp_path / "cwd")
    result = iter_files([tmp_path / "outside"], exclude=["skip_*.py", "/sub"])
    assert [d.path.name for d in result] == ["a.py", "x.py"]


def test_exclude_cannot_be_undone_by_gitignore_negation(repo: Path) -> None:
    make(repo, "a.py", "b.py")
    (repo / ".gitignore").write_text("!b.py\n", encoding="utf-8")
    assert found(repo, exclude=("b.py",)) == ["a.py"]


# --- read_source -----------------------------------------------------------------------------


def test_read_plain_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_bytes("s = 'é'\r\n".encode())
    assert read_source(path) == ("s = 'é'\r\n", "s = 'é'\r\n".encode(), None)


def test_read_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.py").write_bytes(b"")
    assert read_source(tmp_path / "e.py") == ("", b"", None)


def test_read_utf8_bom_is_dropped(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfx = '\xc3\xa9'\n"
    (tmp_path / "b.py").write_bytes(raw)
    assert read_source(tmp_path / "b.py") == ("x = 'é'\n", raw, None)


def test_read_latin1_declaration(tmp_path: Path) -> None:
    raw = b"#!/usr/bin/env python\n# -*- coding: latin-1 -*-\nx = '\xe9'\n"
    (tmp_path / "l.py").write_bytes(raw)
    text, got, error = read_source(tmp_path / "l.py")
    assert error is None and got == raw
    assert text is not None and text.endswith("x = 'é'\n")


def test_read_declaration_on_third_line_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "l.py").write_bytes(b"\n\n# coding: latin-1\nx = '\xe9'\n")
    text, _, error = read_source(tmp_path / "l.py")
    assert text is None and error is not None and error.startswith("cannot decode as utf-8: ")


@pytest.mark.parametrize(
    "raw", [b"x = 1\ny = '\xff'\n", b"x = '\xff'\n", b"a = 1\nb = 2\nc = '\xc3'\n"]
)
def test_read_undecodable_bytes(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "u.py").write_bytes(raw)
    text, got, error = read_source(tmp_path / "u.py")
    assert text is None and got == raw
    assert error is not None and error.startswith("cannot decode as utf-8: ")


def test_read_undecodable_in_declared_encoding(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(b"# coding: ascii\nx = '\xe9'\n")
    _, _, error = read_source(tmp_path / "a.py")
    assert error is not None and error.startswith("cannot decode as ascii: ")


@pytest.mark.parametrize(
    "raw", [b"# coding: no-such-codec\n", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n"]
)
def test_read_bad_declaration_is_an_error(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "d.py").write_bytes(raw)
    text, _, error = read_source(tmp_path / "d.py")
    assert text is None and error


def test_read_nul_bytes(tmp_path: Path) -> None:
    (tmp_path / "n.py").write_bytes(b"x = 1\x00\n")
    assert read_source(tmp_path / "n.py") == (
        None,
        b"x = 1\x00\n",
        "binary file (contains NUL bytes)",
    )


def test_read_os_errors_are_returned(tmp_path: Path) -> None:
    assert read_source(tmp_path / "missing.py") == (None, b"", "No such file or directory")
    text, raw, error = read_source(tmp_path)
    assert text is None and raw == b"" and error


# --- might_freeze ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "needle",
    [
        b"p.requires_grad = False",
        b"m.requires_grad_(False)",
        b"torch.optim.SGD",
        b"from torch import optim",
        b"opt.param_groups",
        b"opt.add_param_group(g)",
        b"freeze(model)",
        b"timm.utils.unfreeze(model)",
        b"bnb.AdamW8bit(params)",
        b"from transformers import Adafactor",
        b"opt = FusedLAMB(params)",
        b"Lion(params)",
        b"create_optimizer_v2(model, 'adamw')",
        b"from timm.optim import optim_factory",
        b"opt = Optimiser(params)",
        b"opt = PagedAdamW32bit(params)",
        b"model._fc.out_features = 200",
        b"model.classifier[1].in_features = 512",
        b"model.num_classes=5",
    ],
)
def test_might_freeze_finds_each_marker(needle: bytes) -> None:
    assert might_freeze(b"import x\n" + needle + b"\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"print('hello')\n",
        b"parameters = 1\n",
        b"train = 2\n",
        # Without a freeze or an optimizer no rule can report anything, whatever else is there.
        b"model = timm.create_model('resnet18')\nmodel.train()\nmodel.eval()\n",
        b"model = nn.DataParallel(torch.compile(m))\nn = sum(p.numel() for p in m.parameters())\n",
        b"m.reset_classifier(10)\nf = lambda x: x\nmillion = 10**6\n",
        # Model code: words that only look like optimizers.
        b'"""An optimized attention; optimal for GPUs. Optimization notes."""\n',
        b"layer = LambdaLayer(dim)\nname = 'Lionel'\n",
        # A class's own size attributes, and comparisons, are not a layer resized.
        b"self.num_classes = num_classes\nself.out_features = n\nif m.out_features == 3: pass\n",
    ],
)
def test_might_freeze_skips_unrelated_code(raw: bytes) -> None:
    assert not might_freeze(raw)


def test_might_freeze_knows_every_optimizer_word_recognize_knows() -> None:
    """The pre-filter may never skip a file holding a class `looks_like_optimizer` accepts."""
    from freezelint.script import recognize

    words = recognize.OPTIMIZER_WORDS
    assert set(words) <= set(source_module.OPTIMIZER_WORDS)
    for word in words:
        name = word.capitalize() + "2"
        assert recognize.looks_like_optimizer(f"lib.{name}")
        assert might_freeze(f"x = lib.{name}(params)\n".encode())


def test_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, freezelint.run.discovery; "
        "bad = {'torch', 'libcst', 'click'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_exclude_patterns_are_relative_to_the_given_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`exclude` from a pyproject.toml is relative to the folder holding that file."""
    make(tmp_path, "legacy/a.py", "src/legacy/b.py", "src/c.py")
    monkeypatch.chdir(tmp_path / "src")
    got = [d.display for d in iter_files(["."], exclude=["/legacy/"], exclude_base=tmp_path)]
    assert got == ["c.py", "legacy/b.py"]
