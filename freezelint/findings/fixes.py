"""Fixes as rules build them: text edits with an applicability, the context a fix builder
works in (positions, indentation, quotes, imports), and splicing edits into a text. The loop
that applies them and checks again is `fixing.loop`."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from freezelint.findings.no_fix import NoFix
from freezelint.script.extract.syntax import child_nodes
from freezelint.script.imports import dotted
from freezelint.script.node_kinds import is_a
from freezelint.script.parse import parse_module
from freezelint.script.text_lines import split_lines

SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """Text `content` in place of the source's `start:end`."""

    start: int  # character offsets in the source text
    end: int
    content: str


@dataclass(frozen=True)
class Fix:
    """The edits that fix one finding, and whether they are safe to apply unasked."""

    applicability: str
    message: str
    edits: tuple[Edit, ...]

    def as_json(self, text: str) -> dict[str, Any]:
        """ruff's shape: edits with 1-based rows and columns."""
        lines = Lines(text)
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [
                {
                    "content": e.content,
                    "location": lines.location(e.start),
                    "end_location": lines.location(e.end),
                }
                for e in self.edits
            ],
        }


class Lines:
    """Offsets <-> rows and columns of a text (any line ending)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for line in split_lines(text, keepends=True):
            self.starts.append(self.starts[-1] + len(line))
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def offset(self, row: int, column: int) -> int:
        return self.starts[row - 1] + column

    def location(self, offset: int) -> dict[str, int]:
        row = max(i for i, start in enumerate(self.starts) if start <= offset) + 1
        row = min(row, len(self.starts) - 1) if len(self.starts) > 1 else 1
        return {"row": row, "column": offset - self.starts[row - 1] + 1}

    def line_end(self, offset: int) -> int:
        """Offset just after the end of the line holding `offset` (its newline included)."""
        for start in self.starts:
            if start > offset:
                return start
        return len(self.text)


class FixContext:
    """What a fix builder may use: the source text and the position of any node."""

    def __init__(
        self,
        text: str,
        positions: Any,
        module: cst.Module | None = None,
        line_length: int = 88,
    ) -> None:
        self.text = text
        self.lines = Lines(text)
        self.positions = positions
        self.module = module
        self.line_length = line_length  # the project's (`line_length.py`)

    def add_import(self, statement: str) -> Edit:
        """`import torch` where isort (ruff's `I001`) puts it: among the third-party imports of
        the file's leading import block, sorted, straight imports before `from` ones; a section
        of its own after the standard library's; after the docstring when there are no
        imports. The same edit from several fixes is applied once."""
        name = statement.split()[1].split(".")[0].lower()
        block = self._import_block()
        newline = self.lines.newline
        third = [(node, kind, module) for node, kind, module in block if kind != "stdlib"]
        for node, kind, module in third:
            if kind == "from" or module > name:
                at = self.lines.starts[self.positions[node].start.line - 1]
                return Edit(at, at, f"{statement}{newline}")
        if third:
            at = self.lines.line_end(self.span(third[-1][0])[1])
            return Edit(at, at, f"{statement}{newline}")
        if block:
            at = self.lines.line_end(self.span(block[-1][0])[1])
            return Edit(at, at, f"{newline}{statement}{newline}")
        at = 0
        for node in self.module.body if self.module is not None else ():
            if _docstring(node):
                at = self.lines.line_end(self.span(node)[1])
            break
        return Edit(at, at, f"{statement}{newline}")

    def _import_block(self) -> list[tuple[cst.CSTNode, str, str]]:
        """The file's leading top-level imports (after its docstring): each with its kind
        (`stdlib`: the standard library's or `__future__`; `import` / `from`: others) and its
        first module's top-level name."""
        out: list[tuple[cst.CSTNode, str, str]] = []
        for index, node in enumerate(self.module.body if self.module is not None else ()):
            if index == 0 and _docstring(node):
                continue
            if type(node) is not cst.SimpleStatementLine or len(node.body) != 1:
                break
            small = node.body[0]
            if type(small) is cst.Import:
                module = dotted(small.names[0].name) or ""
                kind = "import"
            elif type(small) is cst.ImportFrom and small.module is not None and not small.relative:
                module = dotted(small.module) or ""
                kind = "from"
            else:
                break
            top = module.split(".")[0]
            out.append((node, "stdlib" if top in _STDLIB else kind, module.lower()))
        return out

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        where = self.positions[node]
        return (
            self.lines.offset(where.start.line, where.start.column),
            self.lines.offset(where.end.line, where.end.column),
        )

    def code(self, node: cst.CSTNode) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def iterable_code(self, node: cst.CSTNode) -> str:
        """The node's code to stand after `for x in` in a comprehension: its positions leave
        its parentheses out, so a parenthesised expression, a generator expression (bare as a
        call's only argument) or a conditional gets them back."""
        code = self.code(node)
        if getattr(node, "lpar", None) or isinstance(
            node, cst.GeneratorExp | cst.IfExp | cst.Lambda | cst.NamedExpr | cst.Yield
        ):
            return f"({code})"
        return code

    def indent(self, node: cst.CSTNode) -> str:
        start, _ = self.span(node)
        line_start = self.lines.starts[self.positions[node].start.line - 1]
        return self.text[line_start:start]

    def fresh_name(self, *candidates: str) -> str:
        """The first candidate the file does not use as a word (else the first, numbered)."""
        words = set(re.findall(r"\w+", self.text))
        for name in candidates:
            if name not in words:
                return name
        number = 1
        while f"{candidates[0]}_{number}" in words:
            number += 1
        return f"{candidates[0]}_{number}"

    @property
    def quote(self) -> str:
        """The file's own string quote."""
        return "'" if self.text.count("'") > self.text.count('"') else '"'

    @property
    def indent_unit(self) -> str:
        """The file's indentation step (four spaces unless it shows another)."""
        for line in split_lines(self.text):
            stripped = line.lstrip(" \t")
            if stripped and line != stripped and not stripped.startswith("#"):
                return line[: len(line) - len(stripped)]
        return "    "

    def insert_lines_after(self, statement: cst.CSTNode, lines: list[str]) -> Edit:
        """Several new lines after a statement; each line's own leading indentation (in units
        of four spaces) is re-expressed in the file's indentation step."""
        base = self.indent(statement)
        _, end = self.span(statement)
        at = self.lines.line_end(end)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else self.lines.newline
        out = []
        for line in lines:
            depth = (len(line) - len(line.lstrip(" "))) // 4
            out.append(f"{base}{self.indent_unit * depth}{line.lstrip(' ')}{self.lines.newline}")
        return Edit(at, at, prefix + "".join(out))

    def insert_lines_before(self, statement: cst.CSTNode, lines: list[str]) -> Edit:
        """New lines, at the statement's indentation, right before it."""
        start, _ = self.span(statement)
        at = self.lines.starts[self.positions[statement].start.line - 1]
        indent = self.text[at:start]
        return Edit(at, at, "".join(f"{indent}{line}{self.lines.newline}" for line in lines))

    def statement_of(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The simple statement line that holds `node` (None: a compound statement's header,
        or not in this file)."""
        if self.module is None:
            return None
        found: cst.SimpleStatementLine | None = None
        stack: list[tuple[cst.CSTNode, cst.SimpleStatementLine | None]] = [(self.module, None)]
        while stack:
            cur, line = stack.pop()
            if cur is node:
                found = line
                break
            if type(cur) is cst.SimpleStatementLine:
                line = cur
            elif is_a(cur, cst.BaseCompoundStatement):
                line = None
            stack.extend((child, line) for child in child_nodes(cur))
        return found

    def too_long(self, edits: tuple[Edit, ...]) -> bool:
        """Would these edits (in one place) make a line longer than the project's line length
        that was not already?"""
        for edit in edits:
            begin = self.text.rfind("\n", 0, edit.start) + 1
            end = self.lines.line_end(edit.end)
            before = self.text[begin:end]
            after = self.text[begin : edit.start] + edit.content + self.text[edit.end : end]
            if _longest(after) > self.line_length >= _longest(before):
                return True
        return False

    def replace(self, node: cst.CSTNode, content: str) -> Edit:
        start, end = self.span(node)
        return Edit(start, end, content)

    def insert_after(self, statement: cst.CSTNode, line: str) -> Edit:
        """A new line, at the statement's indentation, right after the statement."""
        _, end = self.span(statement)
        at = self.lines.line_end(end)
        prefix = "" if at == 0 or self.text[at - 1] == "\n" else self.lines.newline
        return Edit(at, at, f"{prefix}{self.indent(statement)}{line}{self.lines.newline}")


FixBuilder = Callable[[FixContext], Fix | NoFix | None]


_STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


def _longest(text: str) -> int:
    return max((len(line) for line in split_lines(text)), default=0)


def _docstring(node: cst.CSTNode) -> bool:
    return (
        type(node) is cst.SimpleStatementLine
        and len(node.body) == 1
        and type(node.body[0]) is cst.Expr
        and type(node.body[0].value) in (cst.SimpleString, cst.ConcatenatedString)
    )


def apply(text: str, fixes: list[Fix], applied_at: list[int] | None = None) -> tuple[str, int]:
    """Apply non-overlapping fixes (first come, first served); returns the text and how many
    (`applied_at`, when given, gets the index of each fix applied)."""
    taken: list[Edit] = []
    applied = 0
    for index, fix in enumerate(fixes):
        fresh = [e for e in fix.edits if e not in taken]  # an import two fixes need: once
        if any(_overlaps(e, t) for e in fresh for t in taken):
            continue
        taken.extend(fresh)
        applied += 1
        if applied_at is not None:
            applied_at.append(index)
    for edit in sorted(taken, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.content + text[edit.end :]
    return text, applied


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end or b.start == b.end:  # insertions: only the same point clashes
        return a.start == b.start and a.end == b.end and a != b
    return a.start < b.end and b.start < a.end


def parses(text: str) -> bool:
    try:
        parse_module(text)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True
