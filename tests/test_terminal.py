"""What a person sees in a terminal: colour (and NO_COLOR), and progress for many files on
stderr while stdout stays parseable."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from freezelint.checking.checker import check_source
from freezelint.output import report

ROOT = Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "examples" / "finetune_efficientnet.py").read_text()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics = check_source(SOURCE, "train.py")
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = Terminal()
    report.write(out, diagnostics, "full", {})
    assert "\x1b[1;31mFRZ004\x1b[0m" in out.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    out = Terminal()
    report.write(out, diagnostics, "full", {})
    assert "\x1b[" not in out.getvalue()
    piped = io.StringIO()
    monkeypatch.delenv("NO_COLOR")
    report.write(piped, diagnostics, "full", {})
    assert "\x1b[" not in piped.getvalue()


def test_progress_on_a_terminal_goes_to_stderr(tmp_path: Path) -> None:
    for index in range(60):
        (tmp_path / f"train_{index}.py").write_text(
            "import torchvision\nm = torchvision.models.resnet18()\nm.requires_grad_(False)\n"
        )
    code, stdout, seen = stderr_on_a_terminal(
        [sys.executable, "-m", "freezelint", "check", "--no-verify", str(tmp_path)]
    )
    assert code == 0
    assert stdout.decode().strip() == "All checks passed!"
    assert b"Checking 60/60 files" in seen


def stderr_on_a_terminal(command: list[str]) -> tuple[int, bytes, bytes]:
    """Run a command with its standard error on a pseudo-terminal: (exit code, what it wrote
    to standard output, what the terminal saw)."""
    primary, secondary = pty.openpty()
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=secondary, check=False, cwd=ROOT)
    os.close(secondary)
    seen = b""
    try:
        while chunk := os.read(primary, 4096):
            seen += chunk
    except OSError:
        pass
    os.close(primary)
    return done.returncode, done.stdout, seen


def test_a_first_build_is_announced_on_a_terminal(tmp_path: Path) -> None:
    # Building a model's table takes seconds the first time: a terminal is told which; the
    # second run reads the cache and says nothing; stdout stays the report.
    pytest.importorskip("torchvision")
    script = tmp_path / "train.py"
    script.write_text(
        "import torch, torchvision\nm = torchvision.models.resnet34()\nm.requires_grad_(False)\n"
        "optimizer = torch.optim.SGD(m.parameters(), lr=0.1)\n"
    )
    command = [sys.executable, "-m", "freezelint", "check", "--cache-dir", str(tmp_path / "c")]

    _, stdout, stderr = stderr_on_a_terminal([*command, str(script)])
    assert b"building the parameter table of torchvision:resnet34 (first time only)" in stderr
    assert b"FRZ011" in stdout and b"building" not in stdout
    _, _, again = stderr_on_a_terminal([*command, str(script)])
    assert b"building" not in again
