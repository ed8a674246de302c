"""`# noqa` suppressions: `# noqa` or `# noqa: FRZ004, FRZ001` on the reported line, and
`# freezelint: noqa` (optionally `: CODES`) on a line of its own for the whole file. Comments are
found with `tokenize`, so a `# noqa` inside a string does not count."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from freezelint.findings.diagnostics import Diagnostic

LINE_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:\s*,\s*[A-Z]+[0-9]*)*))?", re.IGNORECASE
)
_FILE = re.compile(
    r"^#\s*freezelint\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*"
    r"(?:\s*,\s*[A-Z]+[0-9]*)*))?\s*$",
    re.IGNORECASE,
)
ALL = frozenset({"*"})


@dataclass
class Suppressions:
    """The `# noqa` comments of a file: codes by line, and those for the whole file."""

    lines: dict[int, frozenset[str]] = field(default_factory=dict)  # row -> codes (ALL)
    file: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str) -> Suppressions:
        found = cls()
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError):
            return found
        for token in tokens:
            if token.type != tokenize.COMMENT:
                continue
            comment = token.string.strip()
            whole = _FILE.match(comment)
            if whole and token.line.strip() == comment:
                found.file = found.file | _codes(whole.group("codes"))
                continue
            line = LINE_NOQA.search(comment)
            if line:
                row = token.start[0]
                found.lines[row] = found.lines.get(row, frozenset()) | _codes(line.group("codes"))
        return found

    def suppressed(self, d: Diagnostic) -> bool:
        for codes in (self.file, self.lines.get(d.row, frozenset())):
            if "*" in codes or any(d.code.startswith(c) for c in codes):
                return True
        return False


def _codes(text: str | None) -> frozenset[str]:
    if not text:
        return ALL
    return frozenset(c.strip().upper() for c in text.split(",") if c.strip())


def without_suppressed(text: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    if not diagnostics or "noqa" not in text.lower():
        return diagnostics
    rules = Suppressions.of(text)
    return [d for d in diagnostics if not rules.suppressed(d)]
