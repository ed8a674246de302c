"""SARIF 2.1.0 output as GitHub code scanning accepts it: rules with short and full
descriptions and help, results with relative URIs, regions, `partialFingerprints` (stable across
line moves) and the fix as SARIF `fixes`."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from freezelint import __version__
from freezelint.findings.diagnostics import Diagnostic
from freezelint.findings.fixes import Lines
from freezelint.rules import RULES
from freezelint.script.text_lines import split_lines

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return Path(relative).as_posix()


def _level(d: Diagnostic) -> str:
    return "error" if d.severity.value == "error" else "warning"


def _fingerprint(d: Diagnostic, source: str) -> str:
    lines = split_lines(source)
    text = lines[d.row - 1].strip() if 0 < d.row <= len(lines) else ""
    message = re.sub(r"\bline \d+", "line", d.message)  # stable when code above moves
    key = f"{d.code}\0{_uri(d.path)}\0{text}\0{message}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _fixes(d: Diagnostic, source: str) -> list[dict[str, Any]]:
    if d.fix is None:
        return []
    lines = Lines(source)
    replacements = []
    for edit in d.fix.edits:
        start, end = lines.location(edit.start), lines.location(edit.end)
        replacements.append(
            {
                "deletedRegion": {
                    "startLine": start["row"],
                    "startColumn": start["column"],
                    "endLine": end["row"],
                    "endColumn": end["column"],
                },
                "insertedContent": {"text": edit.content},
            }
        )
    return [
        {
            "description": {"text": f"{d.fix.message} ({d.fix.applicability})"},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": _uri(d.path), "uriBaseId": "%SRCROOT%"},
                    "replacements": replacements,
                }
            ],
        }
    ]


def _rule(code: str) -> dict[str, Any]:
    rule = RULES[code]
    what = rule.doc.split("## What it does", 1)[-1].split("##", 1)[0].strip()
    return {
        "id": code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": what or rule.summary},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "defaultConfiguration": {"level": "error" if rule.severity.value == "error" else "warning"},
        "properties": {"fix": rule.fix, "needs-model": rule.needs_model},
    }


def _in_cell(d: Diagnostic) -> str:
    """A notebook finding's cell, in its message (its region's lines are the cell's)."""
    return f"cell {d.extra['cell']}, line {d.row}: " if "cell" in d.extra else ""


def sarif(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str]) -> dict[str, Any]:
    codes = sorted(RULES)
    results = []
    for d in diagnostics:
        source = sources.get(d.path, "")
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": codes.index(d.code),
            "level": _level(d),
            "message": {"text": _in_cell(d) + d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.path), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": d.row,
                            "startColumn": d.column,
                            "endLine": d.end_row,
                            "endColumn": d.end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"freezelint/v1": _fingerprint(d, source)},
        }
        if "cell" in d.extra:
            result["properties"] = {"cell": d.extra["cell"]}
        if d.related:
            result["relatedLocations"] = [
                {
                    "id": index,
                    "message": {"text": r.message},
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(r.path), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": r.row,
                            "startColumn": r.column,
                            "endLine": r.end_row,
                            "endColumn": r.end_column,
                        },
                    },
                }
                for index, r in enumerate(d.related)
            ]
        fixes = _fixes(d, source)
        if fixes:
            result["fixes"] = fixes
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "freezelint",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/freezelint/",
                        "rules": [_rule(c) for c in codes],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
