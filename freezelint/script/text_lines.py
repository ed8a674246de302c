"""How freezelint splits a source into lines: at `\\r\\n`, `\\r` and `\\n` only, as Python's
tokenizer, libcst's positions and LSP do, not also at the form feed, `\\x1c`-`\\x1e`, NEL and
the Unicode separators as `str.splitlines` does (a form feed in a comment would shift every
row after it)."""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of `text` (each with its line ending when `keepends`)."""
    lines = _LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]
