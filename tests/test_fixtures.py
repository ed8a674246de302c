"""Every fixture script gives exactly the diagnostics written beside it, as a user sees them
(verified against the real model): in process, one test a fixture, and through the real CLI
over the whole folder. Without verification the same script gives a subset of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from freezelint.checking.checker import check_source
from freezelint.model.resolve import Verifier
from tests.fixture_format import FIXTURES, fixture_scripts, format_diagnostic, read_expected

SCRIPTS = fixture_scripts()


def test_every_fixture_has_expectations() -> None:
    assert SCRIPTS, "no fixtures found"
    missing = [s for s in SCRIPTS if not s.with_suffix(".expected").exists()]
    assert not missing, f"fixtures without .expected: {missing}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture(script: Path, verifier: Verifier) -> None:
    text = script.read_text(encoding="utf-8")
    got = [
        format_diagnostic(d.row, d.column, d.code, d.message)
        for d in check_source(text, str(script), None, verifier)
    ]
    assert got == read_expected(script)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_static_findings_are_a_subset(script: Path) -> None:
    """What freezelint says without the model it also says with it (never the other way)."""
    text = script.read_text(encoding="utf-8")
    static = {(d.row, d.column, d.code) for d in check_source(text, str(script))}
    expected = {tuple(line.split(" ", 2)[:2]) for line in read_expected(script)}
    assert {(f"{r}:{c}", code) for r, c, code in static} <= expected


def test_rule_coverage() -> None:
    """Each rule has at least three positive and two negative fixture scripts."""
    from freezelint.rules import RULES

    for code in RULES:
        scripts = sorted((FIXTURES / code).glob("*.py"))
        positives = [s for s in scripts if any(code in line for line in read_expected(s))]
        negatives = [s for s in scripts if not read_expected(s)]
        assert len(positives) >= 3, f"{code}: {len(positives)} positive fixtures"
        assert len(negatives) >= 2, f"{code}: {len(negatives)} negative fixtures"


def test_cli_over_the_fixture_folder(cache_dir: Path) -> None:
    """`freezelint check fixtures/` reports exactly the expected findings and nothing else."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "freezelint",
            "check",
            str(FIXTURES),
            "--output-format",
            "json",
            "--cache-dir",
            str(cache_dir),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    got: dict[str, list[str]] = {}
    for d in json.loads(result.stdout):
        got.setdefault(d["filename"], []).append(
            format_diagnostic(
                d["location"]["row"], d["location"]["column"], d["code"], d["message"]
            )
        )
    expected = {str(s): read_expected(s) for s in SCRIPTS if read_expected(s)}
    assert got == expected
