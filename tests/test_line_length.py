"""Fixes keep to the project's line length (issue 25): read as ruff and black read it, 88 when
nothing sets it; a fix that would pass it names the filtered parameters on a line of their own,
and the fixed file passes the real ruff's E501."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.findings.line_length import line_length_for
from freezelint.frontends.cli import cli

SCRIPT = """\
import torch
import torchvision

model = torchvision.models.resnet18()
model.layer1.requires_grad_(False)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, 88),
        ({"pyproject.toml": "[tool.ruff]\nline-length = 120\n"}, 120),
        ({"pyproject.toml": "[tool.black]\nline-length = 79\n"}, 79),
        (
            {"pyproject.toml": "[tool.ruff]\nline-length = 100\n[tool.black]\nline-length = 79\n"},
            100,
        ),
        (
            {
                "ruff.toml": "line-length = 99\n",
                "pyproject.toml": "[tool.black]\nline-length = 79\n",
            },
            99,
        ),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, 88),  # the project's root sets none
    ],
)
def test_the_project_line_length(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    project = tmp_path / f"p{len(files)}{expected}"
    (project / "src").mkdir(parents=True)
    for name, text in files.items():
        (project / name).write_text(text)
    assert line_length_for(str(project / "src" / "train.py")) == expected


@pytest.mark.parametrize("length", [88, 120])
def test_a_fixed_file_keeps_to_it(tmp_path: Path, length: int) -> None:
    project = tmp_path / str(length)
    project.mkdir()
    if length != 88:
        (project / "pyproject.toml").write_text(f"[tool.ruff]\nline-length = {length}\n")
    path = project / "train.py"
    path.write_text(SCRIPT)
    result = CliRunner().invoke(cli, ["check", "--fix", str(path)])
    assert "Fixed 1 finding" in result.output, result.output
    fixed = path.read_text()
    if length == 88:
        assert "trainable = [p for p in model.parameters() if p.requires_grad]\n" in fixed
        assert "torch.optim.SGD(trainable, lr=0.1" in fixed
    else:
        assert "torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr" in fixed
    assert max(len(line) for line in fixed.splitlines()) <= length
    ruff = shutil.which("ruff")
    if ruff is not None:
        done = subprocess.run(
            [
                ruff,
                "check",
                "--select",
                "E501",
                "--line-length",
                str(length),
                "--isolated",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout
