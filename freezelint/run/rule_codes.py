"""Which rule codes a run checks: `--select`, `--ignore` and `--extend-select` (codes, prefixes
or `ALL`), then a file's `per-file-ignores`. The command line and the language server select
with the same functions."""

from __future__ import annotations

import re

import click

from freezelint.rules import CODES
from freezelint.run.config import Config

_CODE_PREFIX = re.compile(r"^FRZ\d{0,3}$")


def parse_codes(value: str | None) -> list[str]:
    return [v.strip().upper() for v in (value or "").split(",") if v.strip()]


def selected_codes(
    select: list[str], ignore: list[str], extend: list[str] | None = None
) -> set[str]:
    extend = extend or []
    for entry in (*select, *ignore, *extend):
        if entry != "ALL" and not _CODE_PREFIX.match(entry):
            raise click.UsageError(
                f"unknown rule selector `{entry}` (use codes like FRZ003, "
                f"prefixes like FRZ00, or ALL)"
            )
    chosen = {c for c in CODES if not select or any(s == "ALL" or c.startswith(s) for s in select)}
    chosen |= {c for c in CODES if any(s == "ALL" or c.startswith(s) for s in extend)}
    return {c for c in chosen if not any(i == "ALL" or c.startswith(i) for i in ignore)}


def file_codes(codes: set[str], config: Config, path: str) -> set[str]:
    ignored = config.ignored_for(path)
    if not ignored:
        return codes
    return {c for c in codes if not any(i == "ALL" or c.startswith(i) for i in ignored)}
