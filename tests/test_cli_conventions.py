"""What a ruff user expects of the command line (issue 25): severities said and counted,
`--quiet`/`--silent`, `--exit-non-zero-on-fix`, `--diff` and `--unsafe-fixes` wording,
`--statistics` as JSON, exit 2 when a command cannot do what it was asked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.frontends.cli import cli

# FRZ004 (error, safe fix) and FRZ010 (warning, unsafe fix only): no model needed.
SCRIPT = """\
import torch, torchvision
model = torchvision.models.resnet18()
model.requires_grad = False
optimizer = torch.optim.SGD([
    {"params": model.layer1.parameters(), "lr": 0.0},
    {"params": [p for n, p in model.named_parameters() if not n.startswith("layer1")]},
], lr=0.1)
"""
UNSAFE_ONLY = SCRIPT.replace("model.requires_grad = False\n", "")


def run(*args: str):
    return CliRunner().invoke(cli, ["check", "--no-verify", *args], catch_exceptions=False)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return path


def test_each_finding_says_its_severity_and_the_summary_counts_both(script: Path) -> None:
    result = run("--output-format", "concise", str(script))
    lines = result.output.splitlines()
    assert ": FRZ004 [*] error: `model.requires_grad = ...`" in lines[0]
    assert ": FRZ010 warning: param group 0" in lines[1]
    assert "Found 1 error and 1 warning." in result.output
    assert "Found 2 errors" not in result.output


def test_quiet_prints_the_findings_only(script: Path) -> None:
    result = run("-q", "--output-format", "concise", str(script))
    assert result.exit_code == 1
    assert [line.split()[1] for line in result.output.splitlines()] == ["FRZ004", "FRZ010"]


def test_silent_prints_nothing_and_the_exit_code_tells(script: Path) -> None:
    result = run("--silent", str(script))
    assert (result.exit_code, result.output) == (1, "")


def test_exit_non_zero_on_fix(tmp_path: Path) -> None:
    source = (
        "import torchvision\nmodel = torchvision.models.resnet18()\nmodel.requires_grad = False\n"
    )
    path = tmp_path / "train.py"
    path.write_text(source)
    assert run("--fix", str(path)).exit_code == 0  # fixed, nothing left: 0, as ruff
    path.write_text(source)
    result = run("--fix", "--exit-non-zero-on-fix", str(path))
    assert result.exit_code == 1
    assert "model.requires_grad_(False)" in path.read_text()


def test_diff_with_only_unsafe_fixes_says_how_to_get_them(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(UNSAFE_ONLY)
    result = run("--diff", str(path))
    assert result.exit_code == 0
    assert "No errors would be fixed (1 fix available with `--unsafe-fixes`)." in result.output
    unsafe = run("--diff", "--unsafe-fixes", str(path))
    assert unsafe.exit_code == 1 and unsafe.output.startswith("---")


def test_unsafe_fixes_count_as_fixable_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(UNSAFE_ONLY)
    plain = run("--output-format", "concise", str(path))
    assert "1 fixable with `--fix --unsafe-fixes`." in plain.output
    asked = run("--unsafe-fixes", "--output-format", "concise", str(path))
    assert ": FRZ010 [*] warning:" in asked.output
    assert "[*] 1 fixable with the `--fix` option." in asked.output
    assert "more with" not in asked.output


def test_statistics_as_json(script: Path) -> None:
    result = run("--statistics", "--output-format", "json", str(script))
    assert json.loads(result.output) == [
        {"code": "FRZ004", "name": "ineffective-freeze", "count": 1, "fixable": True},
        {"code": "FRZ010", "name": "zero-lr-group", "count": 1, "fixable": False},
    ]
    text = run("--statistics", str(script))
    assert text.output.splitlines()[-1] == (
        "[*] 1 fixable with the `--fix` option (1 more with `--unsafe-fixes`)."
    )


def test_inspect_of_an_unknown_model_exits_2(tmp_path: Path) -> None:
    pytest.importorskip("timm")
    result = CliRunner().invoke(
        cli, ["inspect", "timm:efficientnet_b99", "--cache-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "efficientnet_b99" in result.output


def test_rule_all_as_text_and_json() -> None:
    from freezelint.rules import CODES

    text = CliRunner().invoke(cli, ["rule", "--all"])
    assert text.exit_code == 0
    titles = re.findall(r"^# [a-z-]+ \((FRZ\d{3})\)$", text.output, re.MULTILINE)
    assert titles == list(CODES)
    data = json.loads(CliRunner().invoke(cli, ["rule", "--all", "--output-format", "json"]).output)
    assert [r["code"] for r in data] == list(CODES)
    assert data[4]["name"] == "ineffective-freeze" and "## What it does" in data[4]["explanation"]
    one = json.loads(CliRunner().invoke(cli, ["rule", "FRZ004", "--output-format", "json"]).output)
    assert one == data[4]
    assert CliRunner().invoke(cli, ["rule"]).exit_code == 2
    assert CliRunner().invoke(cli, ["rule", "FRZ004", "--all"]).exit_code == 2


def test_clean_removes_the_cached_tables(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    for name in ("timm-a.json", "torchvision-b.json"):
        (tables / name).write_text("{}")
    result = CliRunner().invoke(cli, ["clean", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert f"Removed 2 cached tables from {tmp_path}" in result.output
    assert list(tables.iterdir()) == []
    again = CliRunner().invoke(cli, ["clean", "--cache-dir", str(tmp_path)])
    assert "Removed 0 cached tables" in again.output


def test_force_exclude_applies_the_excludes_to_files_given_by_name(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.freezelint]\nexclude = ["generated/"]\n')
    (tmp_path / "generated").mkdir()
    excluded = tmp_path / "generated" / "train.py"
    excluded.write_text(SCRIPT)
    named = run("--output-format", "concise", str(excluded))
    assert named.exit_code == 1 and "FRZ004" in named.output  # given by name: checked
    forced = run("--force-exclude", "--output-format", "concise", str(excluded))
    assert forced.exit_code == 0 and "FRZ004" not in forced.output
    walked = run("--output-format", "concise", str(tmp_path))
    assert walked.exit_code == 0  # a folder's walk always honours `exclude`


def test_show_fixes_lists_each_finding_s_fix_and_what_fix_applied(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    shown = run("--show-fixes", "--output-format", "concise", str(path)).output.splitlines()
    assert shown[1] == "  = safe fix: Call `model.requires_grad_(False)`"
    assert shown[3].startswith("  = unsafe fix (`--unsafe-fixes`): ")
    # (Here the FRZ004 fix would leave the optimizer nothing to train: not applied. Alone:)
    path.write_text(
        "import torchvision\nmodel = torchvision.models.resnet18()\nmodel.requires_grad = False\n"
    )
    fixed = run("--fix", "--show-fixes", str(path))
    assert "Fixed 1 finding:\n- " in fixed.output
    assert "train.py:\n    1 \N{MULTIPLICATION SIGN} FRZ004 (ineffective-freeze)\n" in fixed.output


def test_watch_checks_again_when_a_file_changes(tmp_path: Path) -> None:
    import queue
    import signal
    import subprocess
    import sys
    import threading

    path = tmp_path / "train.py"
    path.write_text("import torchvision\nmodel = torchvision.models.resnet18()\n")
    command = [sys.executable, "-m", "freezelint", "check", "--watch", "--no-verify"]
    process = subprocess.Popen(
        [*command, "--output-format", "concise", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()

    def next_summary() -> list[str]:
        seen = []
        while True:
            line = lines.get(timeout=60)
            seen.append(line)
            if line.startswith(("Found", "All checks passed!")):
                return seen

    try:
        assert next_summary() == ["All checks passed!\n"]
        path.write_text(path.read_text() + "model.requires_grad = False\n")
        again = next_summary()
        assert any(": FRZ004 [*] error:" in line for line in again), again
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


# A fix the rule could write but not here (the optimizer is used before the head is
# replaced: it cannot just move below it, decided once positions are known), and a rule that
# never fixes (FRZ017: how to rebuild the scheduler is the script's choice).
NO_FIX = """\
import torch, torchvision
model = torchvision.models.resnet18()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
print(optimizer)
model.fc = torch.nn.Linear(512, 10)
"""
WARMUP = Path(__file__).parent.parent / "fixtures/FRZ017/effnet_pytorch_linearlr_warmup.py"


def test_a_finding_without_a_fix_says_why(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(NO_FIX)
    shown = run("--show-fixes", "--output-format", "concise", str(path)).output.splitlines()
    assert shown[1] == (
        "  = no fix: the optimizer is used before, or by, the replacement: it cannot simply "
        "move below it (`freezelint rule FRZ002` explains the rule)"
    )
    found = json.loads(run("--output-format", "json", str(path), str(WARMUP)).output)
    reasons = {d["code"]: (d["fix"], d["no_fix_reason"]) for d in found}
    assert reasons["FRZ002"][0] is None
    assert reasons["FRZ002"][1].startswith("the optimizer is used before, or by,")
    assert reasons["FRZ017"][0] is None
    assert reasons["FRZ017"][1].startswith("how to rebuild the scheduler")
    fixable = json.loads(
        run("--output-format", "json", str(WARMUP.parent.parent / "FRZ004")).output
    )
    assert fixable and all(d["fix"] and d["no_fix_reason"] is None for d in fixable)


def test_every_fixture_finding_without_a_fix_has_a_reason_of_its_own() -> None:
    # Over every fixture: where a fix is null, the reason is the check's or the rule's own,
    # never the catch-all (a new `return None` in a rule's fix shows up here).
    from freezelint.rules import RULES

    fixtures = Path(__file__).parent.parent / "fixtures"
    found = json.loads(
        CliRunner()
        .invoke(cli, ["check", "--output-format", "json", str(fixtures)], catch_exceptions=False)
        .output
    )
    catch_all = RULES["FRZ001"].no_fix  # (FRZ001 fixes: it has no NO_FIX of its own)
    without = [d for d in found if d["fix"] is None]
    assert len(without) > 50
    assert all(d["no_fix_reason"] for d in without)
    assert [d for d in without if d["no_fix_reason"] == catch_all] == []
    # The rules that never fix say why in `NO_FIX`.
    assert all(r.no_fix != catch_all for r in RULES.values() if r.fix == "none")
