"""The flake8 plugin, through the real flake8: same findings and columns as `freezelint check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_flake8_select_frz() -> None:
    example = "examples/finetune_efficientnet.py"
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "FRZ", example],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{example}:11:1",
        f"{example}:14:13",
        f"{example}:19:5",
    ]
    assert lines[0].split(": ", 1)[1].startswith("FRZ004 `model.requires_grad = ...`")


def test_flake8_clean_file(tmp_path: Path) -> None:
    script = tmp_path / "ok.py"
    script.write_text(
        "import torchvision\nm = torchvision.models.resnet18()\nm.requires_grad_(False)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "FRZ", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == ""
