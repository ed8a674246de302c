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
    """Node -> range (1-based lines, 0-based columns), converted from token indexes on lookup."""

    def __init__(self, module: cst.Module) -> None:
        state = _IndexState(module)
        module._codegen(state)
        tokens = state.tokens
        self._spans = state.spans
        self._offsets = list(accumulate(map(len, tokens), initial=0))
        code = "".join(tokens)
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(code))]
        self._cache: dict[cst.CSTNode, CodeRange] = {}

    def _position(self, token_index: int) -> CodePosition:
        offset = self._offsets[token_index]  # the trailing newline is kept: always in range
        line = bisect_right(self._line_starts, offset)
        return CodePosition(line, offset - self._line_starts[line - 1])

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._cache.get(node)
        if found is None:
            start, end = self._spans[node]
            found = self._cache[node] = CodeRange(self._position(start), self._position(end))
        return found

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def positions(module: cst.Module) -> Positions:
    return Positions(module)
