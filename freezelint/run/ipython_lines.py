"""Scripts exported from Colab or Jupyter (`.py` files) keep IPython lines: `!pip install timm`,
`%matplotlib inline`, `%%time`. Python cannot parse them, so the whole file would be FRZ000.

Where those lines are the file's only syntax errors, each is stood in for by `pass` at its own
indentation (the line count and every other line stay as they are, so positions need no
mapping), the rest is checked, nothing is reported on them, and a fixed text gets them back.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from freezelint.script.text_lines import split_lines

# A line that starts (after indentation) with a shell escape or a magic; not `!=`.
_IPYTHON_LINE = re.compile(r"^[ \t]*(?:![^=]|%)", re.MULTILINE)
_STAND_IN = "pass  # freezelint: IPython line {}"
_STAND_IN_LINE = re.compile(r"^([ \t]*)pass  # freezelint: IPython line (\d+)$")


@dataclass
class IPythonExport:
    """A script's text with its IPython lines stood in for, and those lines."""

    text: str
    lines: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> IPythonExport | None:
        """The masked script, when the original does not parse and the masked one does."""
        if not _IPYTHON_LINE.search(text) or _parses(text):
            return None
        out: list[str] = []
        lines: list[str] = []
        for line in split_lines(text, keepends=True):
            body = line.rstrip("\r\n")
            stripped = body.lstrip(" \t")
            if _IPYTHON_LINE.match(stripped):
                indent = body[: len(body) - len(stripped)]
                out.append(f"{indent}{_STAND_IN.format(len(lines))}{line[len(body) :]}")
                lines.append(stripped)
            else:
                out.append(line)
        masked = "".join(out)
        if not lines or not _parses(masked):
            return None
        return cls(masked, lines)

    def restore(self, text: str) -> str:
        """A (fixed) masked text with its IPython lines back."""
        out = []
        for line in split_lines(text, keepends=True):
            body = line.rstrip("\r\n")
            found = _STAND_IN_LINE.match(body)
            if found is not None and int(found.group(2)) < len(self.lines):
                line = f"{found.group(1)}{self.lines[int(found.group(2))]}{line[len(body) :]}"
            out.append(line)
        return "".join(out)


def _parses(text: str) -> bool:
    """CPython's parser, parsing only (nothing runs)."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
