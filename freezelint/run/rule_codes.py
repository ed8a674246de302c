"""Which rule codes a run checks: `--select`, `--ignore` and `--extend-select` (codes, prefixes
or `ALL`), then a file's `per-file-ignores`. The command line and the language server select
with the same functions."""

from __future__ import annotations

import click

from freezelint.rules import CODES
from freezelint.run.config import Config


def parse_codes(value: str | tuple[str, ...] | None) -> list[str]:
    """Selectors from an option's value; an option given several times (`--select FRZ001
    --select FRZ009`) is every value, as ruff takes it."""
    values = (value,) if isinstance(value, str) else (value or ())
    return [v.strip().upper() for text in values for v in text.split(",") if v.strip()]


def unknown_selectors(entries: list[str]) -> list[str]:
    """Selectors that name no rule: not `ALL`, and neither a code nor the prefix of one
    (`FRZ099`, `FRZ5`, `FRZ20`)."""
    return [e for e in entries if e != "ALL" and not any(c.startswith(e) for c in CODES)]


def selected_codes(
    select: list[str], ignore: list[str], extend: list[str] | None = None
) -> set[str]:
    extend = extend or []
    for entry in unknown_selectors([*select, *ignore, *extend]):
        raise click.UsageError(
            f"Unknown rule selector `{entry}` (use codes like FRZ003, prefixes like FRZ00, "
            f"or ALL; `freezelint rules` lists them)"
        )
    chosen = {c for c in CODES if not select or any(s == "ALL" or c.startswith(s) for s in select)}
    chosen |= {c for c in CODES if any(s == "ALL" or c.startswith(s) for s in extend)}
    return {c for c in chosen if not any(i == "ALL" or c.startswith(i) for i in ignore)}


def file_codes(codes: set[str], config: Config, path: str) -> set[str]:
    ignored = config.ignored_for(path)
    if not ignored:
        return codes
    return {c for c in codes if not any(i == "ALL" or c.startswith(i) for i in ignored)}
