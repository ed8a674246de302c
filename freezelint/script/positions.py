"""Where each CST node is in the source: libcst's syntactic positions (the ranges
`MetadataWrapper(module).resolve(PositionProvider)` gives), computed in one code generation pass.

libcst's provider counts lines and columns token by token and builds two position objects per
node. Here the pass records only token indexes; a range becomes lines and columns when it is
looked up, and only the few nodes a finding or a fix names are ever looked up. Run only for
files with something to report.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import accumulate

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodePosition, CodeRange

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

    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._state: _IndexState | None = None
        self._next = 0  # the next statement of the body to generate
        self._offsets = [0]  # where each token starts in the text, as far as generated
        self._line_starts = [0]
        self._cache: dict[cst.CSTNode, CodeRange] = {}

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
        offset = self._offsets[token_index]  # the trailing newline is kept: always in range
        line = bisect_right(self._line_starts, offset)
        return CodePosition(line, offset - self._line_starts[line - 1])

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._cache.get(node)
        if found is None:
            start, end = self._span(node)
            found = self._cache[node] = CodeRange(self._position(start), self._position(end))
        return found

    def __iter__(self) -> Iterator[cst.CSTNode]:
        while self._advance():
            pass
        assert self._state is not None
        return iter(self._state.spans)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def positions(module: cst.Module) -> Positions:
    return Positions(module)
