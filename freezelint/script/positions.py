"""Where each CST node is in the source: libcst's syntactic positions (the ranges
`MetadataWrapper(module).resolve(PositionProvider)` gives), computed in one code generation pass.

libcst's provider counts lines and columns token by token and builds two position objects per
node. Here the pass records only token indexes; a range becomes lines and columns when it is
looked up, and only the few nodes a finding or a fix names are ever looked up. Run only for
files with something to report.

With the source text, a node is placed without generating the code before it: the statement
that holds it is found by walking the syntax tree (cheaper than generating code; an event's own
statement is tried first), and that statement alone is generated. Its first line is where its
code stands in the text when it stands there once only; else it is read from CPython's own
parser (`ast`, in C) and the generated text is checked against the source at that line. Where
it differs (or the statements do not pair up) the code is generated from the start, as without
the text.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import accumulate

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

from freezelint.script.extract.syntax import child_nodes
from freezelint.script.node_kinds import is_a

_NEWLINE = re.compile(r"\r\n?|\n")  # as libcst counts lines


class _IndexState(CodegenState):
    """Code generation that remembers, per node, the token indexes where it starts and ends."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(
            default_indent=module.default_indent, default_newline=module.default_newline
        )
        self.spans: dict[cst.CSTNode, tuple[int, int]] = {}
        self._starts: list[int] = []

    def pop_trailing_newline(self) -> None:
        """Kept: libcst's positions count the file's last newline before it is dropped."""

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._starts.append(len(self.tokens))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._starts.pop()
        if node not in self.spans:  # a syntactic range recorded inside wins
            self.spans[node] = (start, len(self.tokens))

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        start = len(self.tokens)
        try:
            yield
        finally:
            end = len(self.tokens)
            if start_node is not None:
                start = self.spans[start_node][0]
            if end_node is not None:
                end = self.spans[end_node][1]
            self.spans[node] = (start, end)


class Positions(Mapping[cst.CSTNode, CodeRange]):
    """Node -> range (1-based lines, 0-based columns), converted from token indexes on lookup.

    The code is generated as far as lookups need, one top-level statement at a time: a file
    whose findings are all early is never generated to its end, and one that is only a
    candidate (an imported file no finding turns out to be in) not at all."""

    def __init__(self, module: cst.Module, text: str | None = None) -> None:
        self._module = module
        self._state: _IndexState | None = None
        self._next = 0  # the next statement of the body to generate
        self._offsets = [0]  # where each token starts in the text, as far as generated
        self._line_starts = [0]
        self._cache: dict[cst.CSTNode, CodeRange] = {}
        self._statements = _Statements(module, text) if text else None

    def _advance(self) -> bool:
        """Generate one more piece of the module; False when it is all generated."""
        module = self._module
        state = self._state
        if state is None:
            state = self._state = _IndexState(module)
            state.before_codegen(module)
            for line in module.header:
                line._codegen(state)
        elif self._next < len(module.body):
            module.body[self._next]._codegen(state)
            self._next += 1
        elif self._next == len(module.body):
            for line in module.footer:
                line._codegen(state)
            if module.has_trailing_newline and not state.tokens:
                state.add_token(state.default_newline)
            state.after_codegen(module)
            self._next += 1
        else:
            return False
        self._extend()
        return True

    def _extend(self) -> None:
        """Token offsets and line starts for the tokens generated since the last call."""
        assert self._state is not None
        tokens = self._state.tokens
        offsets = self._offsets
        done = len(offsets) - 1
        if done == len(tokens):
            return
        base = offsets[-1]
        offsets.extend(accumulate(map(len, tokens[done:]), initial=base))
        offsets.pop(done)  # (`initial` repeats the last offset)
        starts = self._line_starts
        text = "".join(tokens[done:])
        # (A "\r" ending the last piece and a "\n" starting this one are one line break.)
        joined = done > 0 and text.startswith("\n") and tokens[done - 1].endswith("\r")
        for match in _NEWLINE.finditer(text):
            if joined and match.start() == 0:
                starts[-1] = base + 1
                continue
            starts.append(base + match.end())

    def _span(self, node: cst.CSTNode) -> tuple[int, int]:
        while self._state is None or node not in self._state.spans:
            if not self._advance():
                raise KeyError(node)
        return self._state.spans[node]

    def _position(self, token_index: int) -> CodePosition:
        # (The trailing newline is kept: the index is always in range.)
        return _at(self._offsets, self._line_starts, 1, token_index)

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        return self.near(node, None)

    def near(self, node: cst.CSTNode, statement: cst.CSTNode | None) -> CodeRange:
        """`self[node]`, told the statement that most likely holds it (an event's): then the
        statements before it need not be walked to find the node's. A wrong guess costs
        only the walk of that statement; the range is the same either way."""
        found = self._cache.get(node)
        if found is None:
            if self._statements is not None and (
                self._state is None or node not in self._state.spans
            ):
                found = self._statements.range(node, statement)
            if found is None:
                start, end = self._span(node)
                found = CodeRange(self._position(start), self._position(end))
            self._cache[node] = found
        return found

    def __iter__(self) -> Iterator[cst.CSTNode]:
        while self._advance():
            pass
        assert self._state is not None
        return iter(self._state.spans)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Statements:
    """Ranges of nodes found through the innermost statement that holds them (a simple
    statement line, or a compound statement for the nodes of its header), that statement
    alone generated at its indentation (see the module docstring)."""

    def __init__(self, module: cst.Module, text: str) -> None:
        self._module = module
        self._text = text
        self._units: list[_Unit] = []  # every statement, in source order
        self._slots: list[int | None] = []  # per ast statement: its unit (None: not one)
        self._owner: dict[cst.CSTNode, int] = {}  # node -> index in `_units`
        self._owned = 0  # units whose expressions are in `_owner`
        self._firsts: list[int] | None = None  # each unit's first line (None: unknown)
        self._text_lines: list[int] = []  # where each line of the text starts
        self._pieces: dict[int, tuple[_IndexState, list[int], list[int], int] | None] = {}

    def range(self, node: cst.CSTNode, near: cst.CSTNode | None = None) -> CodeRange | None:
        """The node's range, or None when this way cannot place it (`near`: a statement
        that may hold it, `Positions.near`)."""
        index = self._owner.get(node)
        if index is None and near is not None:
            index = self._claim(near, node)
        if index is None:
            index = self._owner_of(node)
        if index is None:
            return None
        piece = self._pieces.get(index, False)
        if piece is False:
            piece = self._pieces[index] = self._generate(index)
        if piece is None or node not in piece[0].spans:
            return None
        state, offsets, starts, first = piece
        start, end = state.spans[node]
        return CodeRange(_at(offsets, starts, first, start), _at(offsets, starts, first, end))

    def _walked(self) -> list[_Unit]:
        if not self._units:
            for statement in self._module.body:
                self._walk(statement, ())
        return self._units

    def _owner_of(self, node: cst.CSTNode) -> int | None:
        self._walked()
        while node not in self._owner and self._owned < len(self._units):
            index = self._owned
            stack = list(self._units[index].parts)  # (no statement inside: in any order)
            while stack:
                cur = stack.pop()
                self._owner[cur] = index
                stack.extend(child_nodes(cur))
            self._owned += 1
        return self._owner.get(node)

    def _claim(self, statement: cst.CSTNode, node: cst.CSTNode) -> int | None:
        """Own every node inside `statement` (a statement of this module, or nothing is
        done), then `node`'s unit if it is among them. A node's unit is that of the nearest
        statement or clause around it (`_walk` has recorded those), as `_owner_of` finds."""
        self._walked()
        owner = self._owner
        index = owner.get(statement)
        if index is None or not is_a(statement, cst.BaseStatement):
            return None
        stack = [(statement, index)]
        while stack:
            cur, at = stack.pop()
            for child in child_nodes(cur):
                mine = owner.get(child)
                if mine is None:
                    mine = owner[child] = at
                stack.append((child, mine))
        return owner.get(node)

    def _walk(self, statement: cst.BaseStatement, indents: tuple[str, ...]) -> None:
        """Record `statement` as a unit, and the statements of its indented blocks as units
        of their own, one indentation deeper; in source order, so that `_slots` lines up with
        `ast`'s statements. Only statements and their clauses are walked here: the other
        parts (expressions) are owned when a lookup needs them."""
        index = len(self._units)
        self._units.append(_Unit(statement, indents, []))
        self._slots.append(index)
        if type(statement) is cst.SimpleStatementLine:
            self._slots.extend([None] * (len(statement.body) - 1))
        self._clause(statement, index, indents)

    def _clause(self, node: cst.CSTNode, index: int, indents: tuple[str, ...]) -> None:
        self._owner[node] = index
        if type(node) is cst.IndentedBlock:
            deeper = (*indents, self._indent(node))
            inner = {id(statement) for statement in node.body}
            for child in child_nodes(node):
                if id(child) in inner:
                    self._walk(child, deeper)  # type: ignore[arg-type]
                else:
                    self._units[index].parts.append(child)
            return
        if type(node) is cst.SimpleStatementSuite:
            self._slots.extend([None] * len(node.body))  # (`if x: a = 1`: no unit of its own)
        elif type(node) is cst.If and self._units[index].statement is not node:
            self._slots.append(None)  # (an `elif`)
        if type(node) is cst.Match:  # (its cases are indented, their blocks deeper)
            indents = (*indents, self._indent(node))
        for child in child_nodes(node):
            if is_a(child, _CLAUSES):
                self._clause(child, index, indents)
            else:
                self._units[index].parts.append(child)

    def _indent(self, node: cst.IndentedBlock | cst.Match) -> str:
        return self._module.default_indent if node.indent is None else node.indent

    def _first_lines(self) -> list[int] | None:
        """Each unit's first line as libcst counts it (its leading empty and comment lines
        included), from `ast`; None when the two parsers' statements do not pair up."""
        try:
            tree = ast.parse(self._text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        # (Statements cannot start where another does: in order of their start, the ast
        # statements come as libcst's do, `_slots`.)
        found = sorted(_ast_statements(tree.body), key=lambda n: (n.lineno, n.col_offset))
        self._walked()
        if len(self._slots) != len(found):
            return None
        out: list[int] = [0] * len(self._units)
        for unit_index, node in zip(self._slots, found, strict=True):
            if unit_index is None:
                continue
            stmt = self._units[unit_index].statement
            line = node.lineno
            leading = len(stmt.leading_lines)
            decorators = getattr(stmt, "decorators", ())
            if decorators:
                line = min(d.lineno for d in node.decorator_list)  # type: ignore[attr-defined]
                leading += len(decorators[0].leading_lines)
            out[unit_index] = line - leading
        return out

    def _generate(self, index: int) -> tuple[_IndexState, list[int], list[int], int] | None:
        """Unit `index` generated alone, with its first line in the text; None when it cannot
        be placed so (the caller then generates the module from its start)."""
        if not self._text_lines:
            self._text_lines = [0] + [m.end() for m in _NEWLINE.finditer(self._text)]
        unit = self._units[index]
        state = _IndexState(self._module)
        state.indent_tokens = list(unit.indents)
        unit.statement._codegen(state)
        code = "".join(state.tokens)
        begin = self._only_place(code)
        if begin is not None:
            first = bisect_right(self._text_lines, begin)  # (a line's start: `_only_place`)
        else:
            first = self._first_line(index)
            if first is None:
                return None
            begin = self._text_lines[first - 1]
            if not self._there(code, begin):
                return None  # (placed wrong: the caller generates from the start)
        offsets = list(accumulate(map(len, state.tokens), initial=0))
        starts = [0] + [m.end() for m in _NEWLINE.finditer(code)]
        return state, offsets, starts, first

    def _only_place(self, code: str) -> int | None:
        """Where a unit's code starts in the text when it is there once only, at the start of
        a line: then that is the unit (libcst generates the text it parsed, and a unit's code
        is its text). None when it is there twice or more (`optimizer.step()`), or elsewhere
        than at a line's start: its first line is then asked of `ast`."""
        body = code.rstrip("\r\n")
        text = self._text
        at = text.find(body) if body else -1
        if at < 0 or text.find(body, at + 1) >= 0:
            return None
        lines = self._text_lines
        if lines[bisect_right(lines, at) - 1] != at:
            return None
        return at if self._there(code, at) else None

    def _there(self, code: str, begin: int) -> bool:
        """Is the text from `begin` the unit's code? (A file's last line may have no newline:
        libcst adds it.)"""
        found = self._text[begin : begin + len(code)]
        return found == code or (
            begin + len(found) == len(self._text) and code == found + self._module.default_newline
        )

    def _first_line(self, index: int) -> int | None:
        """Unit `index`'s first line from `ast` (`_first_lines`), when it is within the text."""
        if self._firsts is None:
            self._firsts = self._first_lines() or []
        if index >= len(self._firsts):
            return None
        first = self._firsts[index]
        return first if 1 <= first <= len(self._text_lines) else None


@dataclass(frozen=True, slots=True)
class _Unit:
    """A statement placed on its own: the indentation its lines start with."""

    statement: cst.BaseStatement
    indents: tuple[str, ...]
    parts: list[cst.CSTNode]  # what holds no statement: owned on demand


def _ast_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement in `body` and in the blocks of its statements, expressions skipped."""
    for node in body:
        yield node
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if type(inner) is list:
                yield from _ast_statements(inner)
        for clause in getattr(node, "handlers", ()) or getattr(node, "cases", ()):
            yield from _ast_statements(clause.body)


# Parts of a compound statement that may hold statements (every other part is an expression).
_CLAUSES = (
    cst.IndentedBlock,
    cst.SimpleStatementSuite,
    cst.If,
    cst.Else,
    cst.ExceptHandler,
    cst.ExceptStarHandler,
    cst.Finally,
    cst.MatchCase,
)


def _at(offsets: list[int], starts: list[int], first: int, token_index: int) -> CodePosition:
    """The position of a token, from where each token starts (`offsets`) and where each line
    starts (`starts`) in a text whose first line is line `first`."""
    offset = offsets[token_index]
    line = bisect_right(starts, offset)
    return CodePosition(first + line - 1, offset - starts[line - 1])


def positions(module: cst.Module, text: str | None = None) -> Positions:
    """Node ranges of `module`; `text` (its source) lets a lookup generate only the
    statement that holds the node."""
    return Positions(module, text)
