"""Output formats: SARIF (checked against the fields GitHub code scanning requires),
GitHub annotations, JSON lines, statistics, --exit-zero, -o."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from freezelint.frontends.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/finetune_efficientnet.py"

# The parts of SARIF 2.1.0 that GitHub code scanning requires (its upload documentation), plus
# what freezelint promises on top: fingerprints and fixes.
SARIF_REQUIRED = {
    "type": "object",
    "required": ["version", "$schema", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": [
                                                "id",
                                                "shortDescription",
                                                "fullDescription",
                                                "help",
                                            ],
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "message", "locations", "partialFingerprints"],
                            "properties": {
                                "message": {"type": "object", "required": ["text"]},
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {
                                                            "uri": {
                                                                "type": "string",
                                                                "pattern": "^[^/]",
                                                            }
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                                "fixes": {
                                    "type": "array",
                                    "items": {"type": "object", "required": ["artifactChanges"]},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def run(*args: str, cwd: Path = ROOT):
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_sarif_is_valid_and_carries_fingerprints_and_fixes() -> None:
    result = run("check", "--output-format", "sarif", EXAMPLE)
    assert result.exit_code == 1
    data = json.loads(result.output)
    jsonschema.validate(data, SARIF_REQUIRED)
    results = data["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["FRZ004", "FRZ002", "FRZ003"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == EXAMPLE
    assert all(r["fixes"] for r in results)
    assert len({r["partialFingerprints"]["freezelint/v1"] for r in results}) == 3


def test_fingerprints_survive_a_line_shift(tmp_path: Path) -> None:
    source = (ROOT / EXAMPLE).read_text()
    (tmp_path / "a.py").write_text(source)
    (tmp_path / "b.py").write_text(source)
    first = json.loads(run("check", "--output-format", "sarif", "a.py", cwd=tmp_path).output)
    (tmp_path / "a.py").write_text("# a new first line\n" + source)
    second = json.loads(run("check", "--output-format", "sarif", "a.py", cwd=tmp_path).output)

    def prints(data: dict) -> list[str]:
        return [r["partialFingerprints"]["freezelint/v1"] for r in data["runs"][0]["results"]]

    assert prints(first) == prints(second)


def test_github_annotations() -> None:
    lines = run("check", "--output-format", "github", EXAMPLE).output.splitlines()
    assert lines[0].startswith(f"::error title=FRZ004,file={EXAMPLE},line=11,col=1,endLine=11,")
    assert "::FRZ004 `model.requires_grad = ...`" in lines[0]


def test_json_lines() -> None:
    lines = run("check", "--output-format", "json-lines", EXAMPLE).output.splitlines()
    assert [json.loads(line)["code"] for line in lines] == ["FRZ004", "FRZ002", "FRZ003"]


def test_statistics_exit_zero_and_output_file(tmp_path: Path) -> None:
    stats = run("check", "--statistics", EXAMPLE)
    assert stats.exit_code == 1
    assert "1\tFRZ004\t[*]\tineffective-freeze" in stats.output
    quiet = run("check", "--exit-zero", "-o", str(tmp_path / "report.txt"), EXAMPLE)
    assert quiet.exit_code == 0 and quiet.output == ""
    assert "Found 3 errors." in (tmp_path / "report.txt").read_text()
