"""Fixes: each fixture's fixed output as written beside it (`x.fixed`), clean scripts untouched
byte for byte, a second `--fix` a no-op, and the runtime oracle: every fixed fixture runs for
real (loaders patched to build without weights) and its parameters behave as the fix says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.findings.fixes import parses
from freezelint.fixing import loop
from freezelint.fixing.loop import fix_source
from freezelint.frontends.cli import cli
from freezelint.model.resolve import Verifier
from tests.fixture_format import FIXTURES, fixture_scripts, read_expected
from tests.oracle_pool import run_oracle

SCRIPTS = [s for s in fixture_scripts() if parses(s.read_text(encoding="utf-8"))]
# (script, expected output, with unsafe fixes?) for every fixture a fix changes.
FIXED = [
    (s, s.with_suffix(suffix), suffix == ".unsafe-fixed")
    for s in SCRIPTS
    for suffix in (".fixed", ".unsafe-fixed")
    if s.with_suffix(suffix).exists()
]
ROOT = Path(__file__).resolve().parent.parent


def ids(path: Path) -> str:
    return str(path.relative_to(FIXTURES))


def case_id(case: tuple[Path, Path, bool]) -> str:
    return ids(case[1])


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_fixed_output(script: Path, verifier: Verifier) -> None:
    text = script.read_text(encoding="utf-8")
    result = fix_source(text, str(script), None, verifier, unsafe=False)
    expected = script.with_suffix(".fixed")
    if not read_expected(script):
        assert result.text == text  # clean scripts come back byte for byte
    assert result.text == (expected.read_text(encoding="utf-8") if expected.exists() else text)
    assert parses(result.text)
    again = fix_source(result.text, str(script), None, verifier, unsafe=False)
    assert again.text == result.text and again.fixed == 0  # a second --fix changes nothing
    unsafe = fix_source(text, str(script), None, verifier, unsafe=True)
    expected_unsafe = script.with_suffix(".unsafe-fixed")
    assert unsafe.text == (
        expected_unsafe.read_text(encoding="utf-8") if expected_unsafe.exists() else result.text
    )
    assert fix_source(unsafe.text, str(script), None, verifier, unsafe=True).text == unsafe.text


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, dict]]:
    """The oracle's reports on the original and each fixed version of every fixed fixture."""
    folder = tmp_path_factory.mktemp("fixed")
    paths: list[str] = []
    pairs: dict[str, tuple[str, str]] = {}
    for script, expected, _ in FIXED:
        after = folder / f"{script.parent.name}-{expected.name}.py"
        shutil.copy(expected, after)
        paths += [str(script), str(after)]
        pairs[ids(expected)] = (str(script), str(after))
    reports = run_oracle(paths)
    return {key: (reports[a], reports[b]) for key, (a, b) in pairs.items()}


@pytest.mark.parametrize("case", FIXED, ids=case_id)
def test_runtime_oracle(case: tuple[Path, Path, bool], oracle: dict, verifier: Verifier) -> None:
    script, expected, unsafe = case
    before, after = oracle[ids(expected)]
    # FRZ014: the head "resized" by an attribute still gives ImageNet's 1000 outputs; fixed, it
    # gives the size the script assigned.
    resized = any(" FRZ014 " in line for line in read_expected(script))
    if resized:
        assert 1000 in before["outputs"], before
        assert 1000 not in after["outputs"] and after["outputs"] != before["outputs"], after
    # FRZ019: the optimizer that replaced the scheduled one keeps the lr it was built with;
    # fixed, the scheduler built again on it moves it.
    rescheduled = any(" FRZ019 " in line for line in read_expected(script))
    if rescheduled:
        assert before["lr_moved"][-1] is False, before
        assert after["lr_moved"][-1] is True, after
    # FRZ011: an optimizer ends up with nothing trainable (only frozen or replaced tensors).
    if any(" FRZ011 " in line for line in read_expected(script)):
        assert before["untrainable_optimizers"] or before["error"], before
    # FRZ018: a positional freeze splits a module (part of a block's tensors frozen); with the
    # unsafe fix it cuts at a module boundary.
    split = any(" FRZ018 " in line for line in read_expected(script))
    if split:
        assert before["split_modules"], before
        if unsafe:
            assert after["split_modules"] == [], after
    # FRZ020: a hook Lightning never calls; renamed to the hook that replaced it, its code runs
    # (what is frozen when training ends is not the same).
    dead_hook = unsafe and any(" FRZ020 " in line for line in read_expected(script))
    if dead_hook:
        assert before["frozen"] != after["frozen"], (before, after)
    symptom = (
        resized
        or rescheduled
        or split
        or dead_hook
        or (
            before["error"]
            or before["trainable_outside"]
            or before["frozen_inside"]
            or before["trainable_unchanged"]
            or before["frozen_changed"]
            or before["frozen_bn_training"]
            or before["frozen_bn_drifted"]
            or before["empty_groups"]
            # an ineffective freeze: tensors the script meant to freeze were training
            or before["frozen"] < after["frozen"]
        )
    )
    assert symptom, f"no symptom before the fix: {before}"
    assert after["error"] is None
    assert after["frozen_changed"] == 0
    assert after["trainable_unchanged"] == 0
    text = expected.read_text(encoding="utf-8")
    remaining = fix_source(text, str(script), None, verifier, unsafe=unsafe).remaining
    if not remaining and after["optimizers"]:
        assert after["trainable_outside"] == 0, after
        assert after["frozen_inside"] == 0, after
        assert after["empty_groups"] == 0, after
        assert after["untrainable_optimizers"] == 0, after
    if unsafe and any(" FRZ009 " in line for line in read_expected(script)):
        assert after["frozen_bn_training"] == 0, after
        assert after["frozen_bn_drifted"] == 0, after


def test_a_pass_that_breaks_the_whole_script_is_not_written(
    monkeypatch: pytest.MonkeyPatch, verifier: Verifier
) -> None:
    """Each edit may look right alone; the pass is judged on the script it gives. Here the edits
    are made to hand the optimizer an empty list (as a `list(...)` bound before a head swap and
    then filtered by `requires_grad` once did): the re-check finds FRZ011, so nothing is
    written and the original finding stays."""
    script = FIXTURES / "FRZ001" / "freeze_all_but_head_timm.py"
    text = script.read_text(encoding="utf-8")
    real_apply = loop.apply

    def emptying(source: str, wanted: list, applied_at: list | None = None) -> tuple[str, int]:
        fixed, applied = real_apply(source, wanted, applied_at)
        return fixed.replace("[p for p in model.parameters() if p.requires_grad]", "[]"), applied

    monkeypatch.setattr(loop, "apply", emptying)
    result = fix_source(text, str(script), None, verifier, unsafe=True)
    assert result.text == text and result.fixed == 0
    assert [d.code for d in result.remaining] == ["FRZ001"]
    monkeypatch.setattr(loop, "BREAKING", frozenset())  # without the judgement: written
    assert fix_source(text, str(script), None, verifier, unsafe=True).text != text


def test_diff_writes_nothing_and_fix_twice_is_a_no_op(tmp_path: Path, cache_dir: Path) -> None:
    script = tmp_path / "train.py"
    original = (ROOT / "examples" / "finetune_efficientnet.py").read_bytes()
    script.write_bytes(original)
    diff = CliRunner().invoke(cli, ["check", "--diff", "--cache-dir", str(cache_dir), str(script)])
    assert diff.exit_code == 1
    assert "+model.requires_grad_(False)" in diff.output
    assert script.read_bytes() == original
    first = CliRunner().invoke(cli, ["check", "--fix", "--cache-dir", str(cache_dir), str(script)])
    assert first.exit_code == 0, first.output
    assert "Fixed 4 findings (0 remaining)." in first.output
    fixed = script.read_bytes()
    second = CliRunner().invoke(cli, ["check", "--fix", "--cache-dir", str(cache_dir), str(script)])
    assert second.exit_code == 0 and script.read_bytes() == fixed


def test_fix_keeps_encoding_bom_line_endings_and_mode(tmp_path: Path, cache_dir: Path) -> None:
    text = (ROOT / "examples" / "finetune_efficientnet.py").read_text(encoding="utf-8")
    script = tmp_path / "train.py"
    script.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    script.chmod(0o751)
    result = CliRunner().invoke(cli, ["check", "--fix", "--cache-dir", str(cache_dir), str(script)])
    assert result.exit_code == 0, result.output
    data = script.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n")
    assert b"model.requires_grad_(False)\r\n" in data
    assert script.stat().st_mode & 0o777 == 0o751


def test_unparsable_file_is_never_written(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_bytes(b"import torch\nmodel.requires_grad = False\nfor p in x\n")
    before = script.read_bytes()
    result = CliRunner().invoke(cli, ["check", "--fix", str(script)])
    assert result.exit_code == 1 and "FRZ000" in result.output
    assert script.read_bytes() == before


def test_the_readme_codemod_as_written(tmp_path: Path) -> None:
    """The README's codemod steps on a fresh folder: `libcst.tool initialize`, freezelint added
    to `modules`, then the README's command (its config names black, which is not installed:
    the command says `--no-format`)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("as a [libcst codemod]", 1)[1].split("\n## ", 1)[0]
    [command] = re.findall(r"```sh\n(python -m libcst\.tool codemod .*?)\n```", section)
    subprocess.run(
        [sys.executable, "-m", "libcst.tool", "initialize", "."],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    config = tmp_path / ".libcst.codemod.yaml"
    text = config.read_text()
    assert "modules:\n- 'libcst.codemod.commands'\n" in text
    config.write_text(text.replace("modules:\n", "modules:\n- 'freezelint'\n"))
    folder = tmp_path / "path"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "finetune_efficientnet.py", folder / "train.py")
    args = command.split()[1:]  # (`python` is this interpreter)
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "model.requires_grad_(False)" in (folder / "train.py").read_text()


def test_libcst_codemod(tmp_path: Path) -> None:
    """The same fixes through `python -m libcst.tool codemod codemod.FixFreezing`."""
    (tmp_path / ".libcst.codemod.yaml").write_text(
        "generated_code_marker: '@generated'\nformatter: ['cat']\nblacklist_patterns: []\n"
        "modules:\n- 'freezelint'\nrepo_root: '.'\n"
    )
    script = tmp_path / "train.py"
    shutil.copy(ROOT / "examples" / "finetune_efficientnet.py", script)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "libcst.tool",
            "codemod",
            "--no-format",
            "codemod.FixFreezing",
            "train.py",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    text = script.read_text()
    assert "model.requires_grad_(False)" in text
    assert "model.classifier.requires_grad_(True)" in text
