"""Checking a project laid out in a temporary folder through the real CLI: its JSON diagnostics,
and the (file, row, code) each one names, relative to the project's root."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from freezelint.frontends.cli import cli


def check_json(cache_dir: Path, *args: str) -> list[dict]:
    result = CliRunner().invoke(
        cli, ["check", "--output-format", "json", "--cache-dir", str(cache_dir), *args]
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def found_in(diagnostics: list[dict], root: Path) -> set[tuple[str, int, str]]:
    return {
        (
            Path(d["filename"]).resolve().relative_to(root.resolve()).as_posix(),
            d["location"]["row"],
            d["code"],
        )
        for d in diagnostics
    }
