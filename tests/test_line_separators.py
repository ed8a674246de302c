"""Rows are counted at line endings only (`\\r\\n`, `\\r`, `\\n`), as Python and libcst count
them: a form feed or a Unicode line separator inside a line (a page break in a comment, one in
a string) does not shift the code frame, the fix or the diff of anything below it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.frontends.cli import cli
from freezelint.script.text_lines import split_lines

SCRIPT = """\
import torch.nn as nn
import torchvision
# page one{separator}page two
model = torchvision.models.resnet18(weights="DEFAULT")
for m in model.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.requires_grad = False
"""


def test_split_lines_splits_at_line_endings_only() -> None:
    text = "a\x0cb\r\nc\u2028d\re\x85f\ng"
    assert split_lines(text) == ["a\x0cb", "c\u2028d", "e\x85f", "g"]
    assert "".join(split_lines(text, keepends=True)) == text
    assert split_lines("") == [] and split_lines("x\n") == ["x"]


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\x1c", "\x85"])
def test_frame_fix_and_diff_see_the_lines_python_sees(tmp_path: Path, separator: str) -> None:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT.format(separator=separator), encoding="utf-8")
    run = CliRunner().invoke(cli, ["check", "--no-verify", str(path)], env={"NO_COLOR": "1"})
    assert ":7:9: FRZ004" in run.output
    assert "7 |         m.requires_grad = False" in run.output  # the frame shows line 7
    sarif = CliRunner().invoke(cli, ["check", "--no-verify", "--output-format", "sarif", str(path)])
    (result,) = json.loads(sarif.output)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    diff = CliRunner().invoke(cli, ["check", "--no-verify", "--diff", str(path)]).output
    assert "-        m.requires_grad = False\n+        m.requires_grad_(False)\n" in diff
    fixed = CliRunner().invoke(cli, ["check", "--no-verify", "--fix", str(path)])
    assert "Fixed 1 finding" in fixed.output
    after = path.read_text(encoding="utf-8")
    assert after == SCRIPT.format(separator=separator).replace(
        "m.requires_grad = False", "m.requires_grad_(False)"
    )
