"""Where each CST node is in the source: libcst's syntactic positions, computed in one code
generation pass.

The same ranges as `MetadataWrapper(module).resolve(PositionProvider)`, without the wrapper's
second, empty visit of the whole tree, and with a quicker line and column count for tokens
without a newline (most of them). Run only for files with something to report.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst
from libcst.metadata import CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState


class _Sink:
    """Stands in for the metadata provider the codegen state writes its ranges into."""

    __slots__ = ("_computed",)

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


class _State(PositionProvidingCodegenState):
    def _update_position(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            super()._update_position(value)
        else:
            self.column += len(value)


def positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Every node's syntactic range (1-based lines, 0-based columns), as PositionProvider."""
    sink = _Sink()
    state = _State(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=sink,  # type: ignore[arg-type]  # only `_computed` is used
    )
    module._codegen(state)
    return sink._computed
