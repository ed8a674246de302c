"""`--add-noqa` (issue 25): a `# noqa: CODE` comment on each reported line, merged into one the
line has, never where a comment cannot go; after it the file checks clean, and a second run adds
nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from freezelint.findings.diagnostics import Diagnostic, Severity
from freezelint.fixing.noqa import add_noqa
from freezelint.frontends.cli import cli

SCRIPT = """\
import torch, torchvision
model = torchvision.models.resnet18()
model.requires_grad = False  # freeze
model.layer1.requires_grad = False  # noqa: E501
optimizer = torch.optim.SGD([
    {"params": model.layer1.parameters(), "lr": 0.0},
    {"params": [p for n, p in model.named_parameters() if not n.startswith("layer1")]},
], lr=0.1)
"""


def at(row: int, code: str = "FRZ004") -> Diagnostic:
    return Diagnostic(code, "m", "x.py", row, 1, row, 2, Severity.ERROR)


def test_comments_added_and_merged() -> None:
    text, added = add_noqa(SCRIPT, [at(3), at(4), at(6, "FRZ010"), at(3, "FRZ001")])
    assert added == 3
    lines = text.splitlines()
    assert lines[2] == "model.requires_grad = False  # freeze  # noqa: FRZ001, FRZ004"
    assert lines[3] == "model.layer1.requires_grad = False  # noqa: E501, FRZ004"
    assert lines[5].endswith('"lr": 0.0},  # noqa: FRZ010')
    assert add_noqa(text, [at(3), at(4), at(6, "FRZ010")]) == (text, 0)


def test_lines_that_cannot_take_a_comment_are_left_alone() -> None:
    source = 'x = 1 + \\\n    2\ns = """\nfree\n"""\ny = 2  # noqa\n'
    assert add_noqa(source, [at(1), at(3), at(4), at(6)]) == (source, 0)


def test_the_command_adds_them_and_the_file_then_checks_clean(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    runner = CliRunner()
    before = runner.invoke(cli, ["check", "--no-verify", "--output-format", "concise", str(path)])
    assert before.exit_code == 1
    added = runner.invoke(cli, ["check", "--no-verify", "--add-noqa", str(path)])
    assert added.exit_code == 0
    assert "Added 3 noqa directives." in added.output
    after = runner.invoke(cli, ["check", "--no-verify", str(path)])
    assert after.exit_code == 0 and "All checks passed!" in after.output
    again = runner.invoke(cli, ["check", "--no-verify", "--add-noqa", str(path)])
    assert "Added 0 noqa directives." in again.output
