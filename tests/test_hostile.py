"""Hostile and broken input: a clear diagnostic or one-line error, no traceback, the other files
still checked, the exit code per the contract, and `--fix` leaving every such file as it was.
Also: the linted code is never executed, not even by `check --fix --unsafe-fixes`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD_BAD = "import torchvision\nm = torchvision.models.resnet18()\nm.requires_grad = False\n"

HOSTILE = {
    "binary.py": b"requires_grad\x00\xff\xfe\x00",
    "undecodable.py": b"import torch\nx = '\xff\xfe'\n# requires_grad\n",
    "latin1.py": b"# -*- coding: latin-1 -*-\nimport torch\nname = '\xe9'\n"
    b"m.requires_grad_(False)\n",
    "bom_crlf.py": b"\xef\xbb\xbfimport torch\r\nopt = torch.optim.SGD([], lr=0.1)\r\n",
    "empty.py": b"",
    "nested.py": b"import torch\nx = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\noptim = 1\n",
    "syntax.py": b"import torch\nfor p in model.parameters()\n    p.requires_grad = False\n",
    "unterminated.py": b"import torch\nx = '''requires_grad\n",
}


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "freezelint", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "real.py").write_text(GOOD_BAD)
    big = "import torch\n" + "x = 1\n" * 60_000 + "model.requires_grad = False\n"
    (tmp_path / "big.py").write_text(big)
    return tmp_path


def test_every_hostile_file_gets_a_diagnostic_and_the_rest_is_checked(tree: Path) -> None:
    result = run("check", "--no-verify", "--output-format", "concise", str(tree))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout
    for name in ("binary.py", "undecodable.py", "nested.py", "syntax.py", "unterminated.py"):
        assert (
            f"{tree / name}:" in out
            and "FRZ000" in out.split(f"{tree / name}:", 1)[1].split("\n", 1)[0]
        ), name
    assert f"{tree / 'real.py'}:3:1: FRZ004" in out
    assert f"{tree / 'big.py'}:60002:1: FRZ004" in out
    assert f"{tree / 'latin1.py'}" not in out and f"{tree / 'empty.py'}" not in out


def test_fix_leaves_hostile_files_byte_for_byte(tree: Path) -> None:
    run("check", "--no-verify", "--fix", "--unsafe-fixes", str(tree))
    for name, data in HOSTILE.items():
        assert (tree / name).read_bytes() == data, name
    assert "m.requires_grad_(False)" in (tree / "real.py").read_text()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file_is_an_error_line(tree: Path) -> None:
    (tree / "secret.py").write_text(GOOD_BAD)
    (tree / "secret.py").chmod(0)
    result = run("check", "--no-verify", str(tree))
    assert result.returncode == 2 and "secret.py" in result.stderr


def test_the_linted_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed.txt"
    script = tmp_path / "train.py"
    script.write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n"
        "import torch, timm\n"
        "model = timm.create_model('resnet18', pretrained=True)\n"
        "model.requires_grad = False\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0)\n"
        "model.fc = torch.nn.Linear(512, 2)\n"
        "model.train()\n"
        "if __name__ == '__main__':\n"
        f"    open({str(marker)!r}, 'w').write('main')\n"
    )
    for args in (
        ["check"],
        ["check", "--fix", "--unsafe-fixes"],
        ["check", "--diff"],
        ["events", str(script)],
    ):
        run(*args, *([str(script)] if args[0] == "check" else []), cwd=tmp_path)
        assert not marker.exists(), args


def test_a_path_that_vanishes_mid_run_is_an_error_line(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the walk, deleted before it is read: one line on stderr, exit 2, the rest
    checked."""
    from click.testing import CliRunner

    from freezelint.frontends import cli as cli_module

    walk = cli_module.iter_files

    def walk_then_delete(*args, **kwargs):
        found = list(walk(*args, **kwargs))
        (tree / "real.py").unlink()
        return iter(found)

    monkeypatch.setattr(cli_module, "iter_files", walk_then_delete)
    result = CliRunner().invoke(
        cli_module.cli, ["check", "--no-verify", "--output-format", "concise", str(tree)]
    )
    assert result.exit_code == 2
    assert f"error: {tree / 'real.py'}: No such file or directory" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert f"{tree / 'big.py'}:60002:1: FRZ004" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_never_read(tree: Path) -> None:
    """A FIFO named like a script would block a reader forever: the walk skips it, and named
    explicitly it is a one-line error."""
    os.mkfifo(tree / "pipe.py")
    walked = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", "--no-verify", str(tree)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert walked.returncode == 1 and "pipe.py" not in walked.stdout + walked.stderr
    named = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", "--no-verify", str(tree / "pipe.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert named.returncode == 2
    assert named.stderr.strip() == f"error: {tree / 'pipe.py'}: not a regular file"


def test_a_file_that_cannot_be_opened_is_an_error_line_even_as_root(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permission denied, made to happen where the suite runs as root (which reads everything):
    one line on stderr, exit 2, the other files checked."""
    from click.testing import CliRunner

    from freezelint.frontends import cli as cli_module
    from freezelint.script import source as source_module

    opener = source_module._nonblocking

    def refuse(path: str, flags: int) -> int:
        if path.endswith("real.py"):
            raise PermissionError(13, "Permission denied", path)
        return opener(path, flags)

    monkeypatch.setattr(source_module, "_nonblocking", refuse)
    result = CliRunner().invoke(
        cli_module.cli, ["check", "--no-verify", "--output-format", "concise", str(tree)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {tree / 'real.py'}: Permission denied"]
    assert f"{tree / 'big.py'}:60002:1: FRZ004" in result.stdout
