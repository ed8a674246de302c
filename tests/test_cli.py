"""The command line as a user meets it: exit codes, formats, selection, bad input, imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint import __version__
from freezelint.frontends.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "finetune_efficientnet.py"

BAD = """\
import torchvision
model = torchvision.models.resnet18()
model.requires_grad = False
"""
GOOD = """\
import torchvision
model = torchvision.models.resnet18()
model.requires_grad_(False)
"""


def run(*args: str, cwd: Path | None = None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


def test_example_findings_and_summary() -> None:
    result = run("check", str(EXAMPLE))
    assert result.exit_code == 1
    codes = [line.split()[1] for line in result.output.splitlines() if ": FRZ" in line]
    assert codes == ["FRZ004", "FRZ002", "FRZ003"]
    assert "11 | model.requires_grad = False" in result.output
    assert "Found 3 errors.\n[*] 3 fixable with the `--fix` option." in result.output


def test_clean_file_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    result = run("check", str(tmp_path))
    assert result.exit_code == 0
    assert "All checks passed!" in result.output


def test_missing_path_exits_2_and_still_checks_the_rest(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD)
    result = run("check", str(tmp_path / "nope.py"), str(tmp_path / "bad.py"))
    assert result.exit_code == 2
    assert "FRZ004" in result.output


def test_syntax_error_is_reported_and_other_files_checked(tmp_path: Path) -> None:
    (tmp_path / "a_broken.py").write_text(
        "import torch\nfor p in model.parameters()\n    p.requires_grad = False\n"
    )
    (tmp_path / "b_bad.py").write_text(BAD)
    result = run("check", "--output-format", "concise", str(tmp_path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": FRZ" in line]
    assert lines[0].startswith(f"{tmp_path / 'a_broken.py'}:2:")
    assert " FRZ000 error: syntax error" in lines[0]
    assert "b_bad.py:3:1: FRZ004" in lines[1]


def test_binary_file_is_frz000(tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"requires_grad\x00\x01\x02")
    result = run("check", str(tmp_path / "blob.py"))
    assert result.exit_code == 1
    assert "FRZ000" in result.output


def test_json_shape(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(BAD)
    result = run("check", "--output-format", "json", str(tmp_path / "bad.py"))
    assert result.exit_code == 1
    [item] = json.loads(result.output)
    assert item["code"] == "FRZ004"
    assert item["location"] == {"row": 3, "column": 1}
    assert item["end_location"] == {"row": 3, "column": 28}
    assert item["filename"] == str(tmp_path / "bad.py")
    assert item["severity"] == "error"
    assert item["noqa_row"] == 3
    assert item["cell"] is None
    assert item["verified"] is None  # FRZ004 needs no model table
    assert item["fix"] == {
        "applicability": "safe",
        "message": "Call `model.requires_grad_(False)`",
        "edits": [
            {
                "content": "model.requires_grad_(False)",
                "location": {"row": 3, "column": 1},
                "end_location": {"row": 3, "column": 28},
            }
        ],
    }
    assert set(item) >= {"message", "url"}
    # `url`: the rule's documentation, a page written into the cache folder (opens offline).
    assert item["url"].startswith("file://") and item["url"].endswith("/FRZ004.md")
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    page = Path(url2pathname(urlparse(item["url"]).path)).read_text(encoding="utf-8")
    assert page.startswith("# ineffective-freeze (FRZ004)") and "## What it does" in page


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--select", "FRZ004"], 1),
        (["--select", "FRZ00"], 1),
        (["--ignore", "FRZ004"], 0),
        (["--select", "ALL", "--ignore", "FRZ0"], 0),
        (["--select", "FRZ010"], 0),
    ],
)
def test_select_and_ignore(tmp_path: Path, flags: list[str], expected: int) -> None:
    (tmp_path / "bad.py").write_text(BAD)
    assert run("check", *flags, str(tmp_path / "bad.py")).exit_code == expected


@pytest.mark.parametrize(
    ("option", "selector"),
    [
        ("--select", "E501"),
        ("--select", "FRZ099"),  # the shape of a code, but no rule has it
        ("--select", "FRZ5"),  # a prefix of no code
        ("--select", "FRZ20"),
        ("--ignore", "FRZ099"),
        ("--extend-select", "FRZ099"),
    ],
)
def test_unknown_selector_is_a_usage_error(tmp_path: Path, option: str, selector: str) -> None:
    (tmp_path / "bad.py").write_text(BAD)
    result = CliRunner().invoke(cli, ["check", option, selector, str(tmp_path)])
    assert result.exit_code == 2
    assert f"Unknown rule selector `{selector}`" in result.output


def test_a_repeated_select_adds_up(tmp_path: Path) -> None:
    # `--select FRZ001 --select FRZ004` selects both, as ruff takes a repeated option.
    (tmp_path / "bad.py").write_text(
        BAD
        + "import torch\nmodel.layer1.requires_grad_(False)\n"
        + "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        + "model.train()\n"
    )
    every = run("check", "--output-format", "concise", str(tmp_path))
    assert {line.split()[1] for line in every.output.splitlines() if ": FRZ" in line} > {
        "FRZ001",
        "FRZ004",
    }
    both = run("check", "--output-format", "concise", "--select", "FRZ001,FRZ004", str(tmp_path))
    repeated = run(
        "check",
        "--output-format",
        "concise",
        "--select",
        "FRZ001",
        "--select",
        "FRZ004",
        str(tmp_path),
    )
    assert repeated.output == both.output
    assert {line.split()[1] for line in both.output.splitlines() if ": FRZ" in line} == {
        "FRZ001",
        "FRZ004",
    }


def test_rules_and_rule() -> None:
    listing = run("rules")
    assert listing.exit_code == 0
    assert "FRZ003" in listing.output and "freeze-after-head-replacement" in listing.output
    header, *lines = listing.output.splitlines()
    assert "needs the model" in header  # as the command's help says
    frz005 = next(line for line in lines if line.startswith("FRZ005"))
    assert frz005.split()[4] == "yes"
    rows = json.loads(run("rules", "--output-format", "json").output)
    assert {r["code"] for r in rows} >= {"FRZ000", "FRZ002", "FRZ012"}
    doc = run("rule", "FRZ003")
    assert doc.exit_code == 0
    for section in (
        "## What it does",
        "## Why is this bad?",
        "## Example",
        "## Use instead",
        "## Fix safety",
    ):
        assert section in doc.output
    assert run("rule", "ineffective-freeze").exit_code == 0
    assert CliRunner().invoke(cli, ["rule", "FRZ999"]).exit_code == 2


def test_every_rule_documents_every_section() -> None:
    from freezelint.rules import RULES
    from freezelint.rules.base import DOC_SECTIONS

    for rule in RULES.values():
        assert rule.code.startswith("FRZ") and len(rule.code) == 6
        for section in DOC_SECTIONS:
            assert f"## {section}" in rule.doc, (rule.code, section)


def test_files_without_freezing_code_are_not_parsed(tmp_path: Path) -> None:
    # Invalid Python, but nothing in it can be about freezing: skipped before parsing.
    (tmp_path / "other.py").write_text("def broken(:\n    pass\n")
    assert run("check", str(tmp_path)).exit_code == 0


def test_module_entry_point_never_imports_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "freezelint", "check", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "libcst" in imported
    assert not {
        m
        for m in imported
        if m.split(".")[0] in ("torch", "timm", "torchvision", "efficientnet_pytorch")
    }


def test_files_without_freezing_code_need_no_libcst(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_text("def f(x):\n    return x + 1\n")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "freezelint", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "libcst" not in imported and "torch" not in imported


def test_deeply_nested_input_is_frz000_not_a_crash(tmp_path: Path) -> None:
    """libcst's native parser overflows its stack on ~2,000 nested brackets; CPython refuses more
    than 200. freezelint reports FRZ000 as CPython would, and checks the other files."""
    (tmp_path / "deep.py").write_text(
        "import torch\nx = " + "(" * 3000 + "1" + ")" * 3000 + "\nopt = torch.optim.SGD([])\n"
    )
    (tmp_path / "fine.py").write_text(
        "import torch\ns = '" + "(" * 300 + "'\nopt = torch.optim.SGD([], lr=0)\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "freezelint",
            "check",
            "--no-verify",
            "--output-format",
            "concise",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert (
        "deep.py:2:" in result.stdout
        and "FRZ000 error: syntax error: too many nested" in result.stdout
    )
    assert "fine.py:3:" in result.stdout  # brackets in a string are not nesting
