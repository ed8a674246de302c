"""`--add-noqa`: a `# noqa: CODE` comment on each reported line, as ruff adds them, for adopting
freezelint on code that has findings today (each suppressed finding stays visible in the code).

Codes for one line are merged, and merged into a `# noqa: ...` comment the line has already (a
bare `# noqa` suppresses everything: left as it is). A line that cannot take a comment is left
alone: one ending in a backslash continuation, or whose end is inside a string that spans lines.
The new text must parse, or nothing is written.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable

from freezelint.findings.diagnostics import Diagnostic
from freezelint.findings.suppressions import LINE_NOQA
from freezelint.script.text_lines import split_lines


def add_noqa(text: str, diagnostics: Iterable[Diagnostic]) -> tuple[str, int]:
    """The text with `# noqa` comments for these diagnostics (of this file), and how many
    lines got one or more codes."""
    wanted: dict[int, set[str]] = {}
    for d in diagnostics:
        wanted.setdefault(d.row, set()).add(d.code)
    if not wanted:
        return text, 0
    comments, blocked = _comments(text)
    if comments is None:
        return text, 0
    lines = split_lines(text, keepends=True)
    added = 0
    for row, codes in sorted(wanted.items()):
        if not 1 <= row <= len(lines) or row in blocked:
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.rstrip().endswith("\\"):
            continue
        comment = comments.get(row)
        found = LINE_NOQA.search(comment[1]) if comment is not None else None
        if found is not None:
            if not found.group("codes"):
                continue  # a bare `# noqa` suppresses every code already
            have = {c.strip().upper() for c in found.group("codes").split(",")}
            if codes <= have:
                continue
            start = comment[0] + found.start()
            merged = ", ".join(sorted(have | codes))
            body = f"{body[:start]}# noqa: {merged}{body[comment[0] + found.end() :]}"
        else:
            body = f"{body.rstrip()}  # noqa: {', '.join(sorted(codes))}"
        lines[row - 1] = body + ending
        added += 1
    new = "".join(lines)
    try:
        ast.parse(new)
    except (SyntaxError, ValueError):
        return text, 0
    return new, added


def _comments(text: str) -> tuple[dict[int, tuple[int, str]] | None, set[int]]:
    """Per line, its comment (column, text); and the lines whose end is inside a string that
    spans lines (no comment can go there). None when the text does not tokenize."""
    comments: dict[int, tuple[int, str]] = {}
    blocked: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = (token.start[1], token.string)
            elif token.start[0] != token.end[0] and token.type in (
                tokenize.STRING,
                getattr(tokenize, "FSTRING_MIDDLE", -1),
            ):
                blocked.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError):
        return None, blocked
    return comments, blocked
