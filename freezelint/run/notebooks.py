"""Jupyter notebooks: the code cells, in order, as one program (IPython magics and shell lines
kept out of the parser's way), diagnostics mapped back to (cell, row), and fixed code written
back into the cells with the rest of the notebook JSON left as it was."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from freezelint.findings.diagnostics import Diagnostic

_MARKER = "#freezelint-cell:"
_MAGIC = "#freezelint-magic:"
_MARKER_LINE = re.compile(r"^#freezelint-cell:(\d+)$")
_MAGIC_LINE = re.compile(r"^(\s*)#freezelint-magic:(\d+)$")


class NotebookError(ValueError):
    pass


@dataclass
class Notebook:
    data: dict[str, Any]
    raw: bytes = b""
    text: str = ""
    rows: list[tuple[int, int] | None] = field(default_factory=list)  # text row -> (cell, row)
    magics: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: bytes) -> Notebook:
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise NotebookError(f"not a notebook: {error}") from error
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise NotebookError("not a notebook: no cells")
        notebook = cls(data, raw)
        notebook._build()
        return notebook

    def _build(self) -> None:
        lines: list[str] = []
        self.rows = [None]  # rows are 1-based
        for number, cell in enumerate(self.data["cells"], start=1):
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            lines.append(f"{_MARKER}{number}")
            self.rows.append(None)
            cell_magic = text.lstrip().startswith("%%")
            for row, line in enumerate(text.split("\n"), start=1):
                stripped = line.lstrip()
                if cell_magic or stripped.startswith(("%", "!", "?")) or stripped.endswith("?"):
                    indent = line[: len(line) - len(stripped)]
                    line = f"{indent}{_MAGIC}{len(self.magics)}"
                    self.magics.append(stripped)
                lines.append(line)
                self.rows.append((number, row))
        self.text = "\n".join(lines) + "\n"

    def line_label(self, row: int) -> str:
        """How a message names a line of the program: `2 (cell 4)`."""
        where = self.rows[row] if row < len(self.rows) else None
        return f"{where[1]} (cell {where[0]})" if where else str(row)

    def locate(self, d: Diagnostic) -> Diagnostic:
        """The diagnostic with its row inside its cell, and the cell number in `extra`."""
        start = self.rows[d.row] if d.row < len(self.rows) else None
        end = self.rows[d.end_row] if d.end_row < len(self.rows) else None
        if start is None:
            return d
        end_row = end[1] if end and end[0] == start[0] else start[1]
        return replace(d, row=start[1], end_row=end_row, extra={**d.extra, "cell": start[0]})

    def with_code(self, text: str) -> bytes:
        """The notebook JSON with the code cells taken from a (fixed) program text."""
        cells: dict[int, list[str]] = {}
        current: list[str] | None = None
        for line in text.split("\n"):
            marker = _MARKER_LINE.match(line)
            if marker:
                current = cells.setdefault(int(marker.group(1)), [])
                continue
            magic = _MAGIC_LINE.match(line)
            if magic:
                line = magic.group(1) + self.magics[int(magic.group(2))]
            if current is not None:
                current.append(line)
        data = json.loads(json.dumps(self.data))
        last = max(cells, default=0)
        for number, lines in cells.items():
            cell = data["cells"][number - 1]
            code = "\n".join(lines)
            if number == last and code.endswith("\n"):
                code = code[:-1]  # the program's last newline (no other cell has one of its own)
            original = cell.get("source", "")
            original_text = "".join(original) if isinstance(original, list) else original
            if not original_text.endswith("\n"):
                code = code.rstrip("\n")
            cell["source"] = code.splitlines(keepends=True) if isinstance(original, list) else code
        # Written as it was read: same indentation, same key order, same final newline.
        lines = self.raw.decode("utf-8-sig").splitlines()
        second = lines[1] if len(lines) > 1 else " "
        indent = len(second) - len(second.lstrip(" ")) or None
        text = json.dumps(
            data, indent=indent, ensure_ascii=False, sort_keys=list(self.data) == sorted(self.data)
        )
        return (text + ("\n" if self.raw.endswith(b"\n") else "")).encode("utf-8")
