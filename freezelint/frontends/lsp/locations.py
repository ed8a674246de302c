"""Places in a text as LSP wants them: lines split on `\\n`, `\\r\\n` and `\\r` only (the rows
and offsets of `fixes.Lines`), and columns in the code units the client negotiated (UTF-16
unless it chose UTF-8 or UTF-32); and the smallest line-wise edits that turn one text into
another."""

from __future__ import annotations

import difflib
from bisect import bisect_right
from dataclasses import dataclass

from lsprotocol import types

from freezelint.findings.fixes import Lines
from freezelint.script.text_lines import split_lines


def _units(chars: str, encoding: str) -> int:
    if encoding == types.PositionEncodingKind.Utf32:
        return len(chars)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(chars.encode("utf-8"))
    return len(chars.encode("utf-16-le")) // 2


@dataclass
class Located:
    """A text whose offsets and (row, column) places become LSP positions."""

    text: str
    encoding: str = types.PositionEncodingKind.Utf16

    def __post_init__(self) -> None:
        self.starts = Lines(self.text).starts  # offset of each line's start, then the end

    def _line(self, index: int) -> str:
        if index + 1 >= len(self.starts):
            return ""
        return self.text[self.starts[index] : self.starts[index + 1]].rstrip("\r\n")

    def position(self, row: int, column: int) -> types.Position:
        """0-based row, 0-based column in characters -> an LSP position."""
        line = self._line(row)
        return types.Position(row, _units(line[: max(column, 0)], self.encoding))

    def at(self, offset: int) -> types.Position:
        row = max(bisect_right(self.starts, offset) - 1, 0)
        last = len(self.starts) - 2  # the last line's row (-1: no line at all)
        if row > last:  # the very end
            if last < 0 or self.text.endswith(("\n", "\r")):
                return types.Position(last + 1, 0)  # after a final newline: a line of its own
            row = last  # the end of a last line with no newline
        return self.position(row, offset - self.starts[row])

    def edit(self, start: int, end: int, content: str) -> types.TextEdit:
        return types.TextEdit(types.Range(self.at(start), self.at(end)), content)


def changes(before: str, after: str) -> list[tuple[int, int, str]]:
    """Line-wise edits `(start, end, content)` (offsets into `before`) that make `after`."""
    old, new = split_lines(before, keepends=True), split_lines(after, keepends=True)
    starts = Lines(before).starts
    out = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out.append((starts[i1], starts[i2], "".join(new[j1:j2])))
    return out
