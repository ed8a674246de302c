"""Writing diagnostics: the text formats (`full`, with the offending line under each finding, and
`concise`), ruff-shaped JSON, and the summary line."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from freezelint.findings.diagnostics import Diagnostic, Severity
from freezelint.script.text_lines import split_lines

FORMATS = ("full", "concise", "json", "json-lines", "sarif", "github")


def write(
    out: TextIO,
    diagnostics: Sequence[Diagnostic],
    fmt: str,
    sources: Mapping[str, str],
    fixed: int | None = None,
    unsafe_fixes: bool = False,
    summary: bool = True,
    show_fixes: bool = False,
) -> None:
    """Diagnostics in `fmt`; `fixed` is how many fixes `--fix` applied (None without it);
    `summary` False (`--quiet`): the text formats without their closing counts."""
    if fmt == "json":
        json.dump([as_json(d, sources.get(d.path, "")) for d in diagnostics], out, indent=2)
        out.write("\n")
        return
    if fmt == "json-lines":
        for d in diagnostics:
            out.write(json.dumps(as_json(d, sources.get(d.path, ""))) + "\n")
        return
    if fmt == "sarif":
        from freezelint.output.sarif import sarif

        json.dump(sarif(diagnostics, sources), out, indent=2)
        out.write("\n")
        return
    if fmt == "github":
        for d in diagnostics:
            out.write(github(d) + "\n")
        return
    paint = painter(out) if fmt == "full" else plain
    for d in diagnostics:
        marker = "[*] " if _fixable(d, unsafe_fixes) else ""
        cell = f"cell {d.extra['cell']}:" if "cell" in d.extra else ""
        where = paint(f"{d.path}:{cell}{d.row}:{d.column}:", "1")
        code = paint(d.code, "1;31" if d.severity is Severity.ERROR else "1;33")
        out.write(f"{where} {code} {marker}{d.severity.value}: {d.message}\n")
        if show_fixes:
            out.write(f"  = {fix_help(d)}\n")
        if fmt == "full":
            out.write(frame(d, sources.get(d.path)))
    if summary:
        out.write(summary_line(diagnostics, fixed, unsafe_fixes) + "\n")


def plain(text: str, style: str) -> str:
    return text


def painter(out: TextIO):
    """ANSI colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(out, "isatty", None)
    if os.environ.get("NO_COLOR") or not (isatty and isatty()):
        return plain
    return lambda text, style: f"\x1b[{style}m{text}\x1b[0m"


def fix_help(d: Diagnostic) -> str:
    """What `--show-fixes` says of a finding's fix."""
    if d.fix is None:
        return f"no fix: {why_no_fix(d)} (`freezelint rule {d.code}` explains the rule)"
    how = "safe fix" if d.fix.applicability == "safe" else "unsafe fix (`--unsafe-fixes`)"
    return f"{how}: {d.fix.message}"


def why_no_fix(d: Diagnostic) -> str:
    """Why a diagnostic has no fix: what the check found, else what its rule says."""
    from freezelint.rules import RULES

    rule = RULES.get(d.code)
    return d.no_fix or (rule.no_fix if rule is not None else "no fix")


def fixes_applied(by_file: Mapping[str, list[str]]) -> str:
    """`--fix --show-fixes`: the fixes applied, by file and rule, as ruff lists them."""
    from freezelint.rules import RULES

    total = sum(len(codes) for codes in by_file.values())
    lines = [f"Fixed {total} finding{'s' if total != 1 else ''}:"]
    for path in sorted(by_file):
        lines.append(f"- {path}:")
        counts: dict[str, int] = {}
        for code in by_file[path]:
            counts[code] = counts.get(code, 0) + 1
        for code, n in sorted(counts.items()):
            lines.append(f"    {n} \N{MULTIPLICATION SIGN} {code} ({RULES[code].name})")
    return "\n".join(lines) + "\n\n"


def cell_source(source: str, cell: int) -> str | None:
    """The source of cell `cell` (1-based, every cell counted) of a notebook's JSON text."""
    try:
        cells = json.loads(source)["cells"]
        text = cells[cell - 1]["source"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return "".join(text) if isinstance(text, list) else text if isinstance(text, str) else None


def frame(d: Diagnostic, source: str | None) -> str:
    """The reported line with the reported span underlined, as ruff shows it; for a notebook,
    the line of the cell the finding is in."""
    if source and "cell" in d.extra:
        source = cell_source(source, d.extra["cell"])
    if not source:
        return ""
    lines = split_lines(source)
    if not 1 <= d.row <= len(lines):
        return ""
    line = lines[d.row - 1].expandtabs(1)
    start = d.column - 1
    end = d.end_column - 1 if d.end_row == d.row else len(line.rstrip())
    width = max(1, end - start)
    gutter = str(d.row)
    pad = " " * len(gutter)
    return f"{pad} |\n{gutter} | {line}\n{pad} | {' ' * start}{'^' * width} {d.code}\n{pad} |\n\n"


@functools.cache
def _docs():
    """The rule pages JSON `url`s point to (written once per version)."""
    from freezelint.output.rule_docs import RuleDocs

    return RuleDocs()


def _fixable(d: Diagnostic, unsafe_fixes: bool) -> bool:
    """Would `--fix` (with `--unsafe-fixes` when given) fix it?"""
    return d.fix is not None and (d.fix.applicability == "safe" or unsafe_fixes)


def nothing_to_fix(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool) -> str:
    """What `--diff` says when it has no change to show (ruff's words)."""
    unsafe = sum(d.fix is not None and d.fix.applicability == "unsafe" for d in diagnostics)
    if unsafe and not unsafe_fixes:
        fixes = "fix" if unsafe == 1 else "fixes"
        return f"No errors would be fixed ({unsafe} {fixes} available with `--unsafe-fixes`)."
    return "No errors would be fixed."


def summary_line(
    diagnostics: Sequence[Diagnostic], fixed: int | None = None, unsafe_fixes: bool = False
) -> str:
    safe = sum(_fixable(d, unsafe_fixes) for d in diagnostics)
    unsafe = sum(
        d.fix is not None and d.fix.applicability == "unsafe" and not unsafe_fixes
        for d in diagnostics
    )
    if fixed is not None:
        remaining = len(diagnostics)
        text = f"Fixed {fixed} finding{'s' if fixed != 1 else ''} ({remaining} remaining"
        if unsafe and not unsafe_fixes:
            text += f", {unsafe} need{'s' if unsafe == 1 else ''} --unsafe-fixes"
        return text + ")." if remaining or fixed else "All checks passed!"
    if not diagnostics:
        return "All checks passed!"
    warnings = sum(d.severity is Severity.WARNING for d in diagnostics)
    errors = len(diagnostics) - warnings
    counts = [
        f"{n} {word}{'s' if n != 1 else ''}"
        for n, word in ((errors, "error"), (warnings, "warning"))
        if n
    ]
    text = f"Found {' and '.join(counts)}."
    if safe:
        text += f"\n[*] {safe} fixable with the `--fix` option"
        if unsafe:
            text += f" ({unsafe} more with `--unsafe-fixes`)"
        text += "."
    elif unsafe:
        text += f"\n{unsafe} fixable with `--fix --unsafe-fixes`."
    return text


def as_json(d: Diagnostic, text: str = "") -> dict:
    """ruff's JSON shape, plus `severity`, `verified`, `related` and, where `fix` is null,
    `no_fix_reason`: why."""
    return {
        "cell": d.extra.get("cell"),
        "code": d.code,
        "end_location": {"column": d.end_column, "row": d.end_row},
        "filename": os.path.abspath(d.path),
        "fix": d.fix.as_json(text) if d.fix is not None else None,
        "no_fix_reason": why_no_fix(d) if d.fix is None else None,
        "location": {"column": d.column, "row": d.row},
        "message": d.message,
        "noqa_row": d.row,
        "severity": d.severity.value,
        "url": _docs().link(d.code),
        "verified": d.verified,
        "related": [
            {
                "filename": os.path.abspath(r.path),
                "location": {"column": r.column, "row": r.row},
                "end_location": {"column": r.end_column, "row": r.end_row},
                "message": r.message,
            }
            for r in d.related
        ],
    }


def _escape(text: str, properties: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if properties else text


def github(d: Diagnostic) -> str:
    """A GitHub Actions workflow annotation."""
    level = "error" if d.severity is Severity.ERROR else "warning"
    return (
        f"::{level} title={_escape(d.code, True)},file={_escape(d.path, True)},"
        f"line={d.row},col={d.column},endLine={d.end_row},endColumn={d.end_column}"
        f"::{_escape(f'{_cell(d)}{d.code} {d.message}')}"
    )


def _cell(d: Diagnostic) -> str:
    """`cell 3:2:5: ` for a finding in a notebook (its row is the cell's), as ruff words it."""
    if "cell" not in d.extra:
        return ""
    return f"cell {d.extra['cell']}:{d.row}:{d.column}: "


def statistics(diagnostics: Sequence[Diagnostic], fmt: str = "full", quiet: bool = False) -> str:
    """Findings counted by rule (`--statistics`): one line a rule (count, code, fixable
    marker, name) and the summary; with `--output-format json`, ruff's list of
    `{code, name, count, fixable}`."""
    from freezelint.rules import RULES

    counts: dict[str, int] = {}
    fixable: dict[str, bool] = {}
    for d in diagnostics:
        counts[d.code] = counts.get(d.code, 0) + 1
        fixable[d.code] = fixable.get(d.code, False) or _fixable(d, False)
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt in ("json", "json-lines"):
        data = [
            {"code": code, "name": RULES[code].name, "count": n, "fixable": fixable[code]}
            for code, n in rows
        ]
        return json.dumps(data, indent=2) + "\n"
    lines = [
        f"{n:>5}\t{code}\t{'[*]' if fixable[code] else '[ ]'}\t{RULES[code].name}"
        for code, n in rows
    ]
    if not quiet:
        lines.append(summary_line(diagnostics))
    return "\n".join(lines) + "\n"
