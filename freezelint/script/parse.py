"""Source text to libcst's syntax tree: `libcst.parse_module`'s tree, built without validating
each node as the parser makes it.

libcst validates every node when it is constructed (`CSTNode.__post_init__` calls the node's
`_validate`): that catches a node built by hand that could not print as valid code (a fix's,
here). A node the parser made from source it accepted is never such a node, and validating it
is a quarter of the parse: 0.12 of 0.50 CPU seconds over the 300 scripts of
benchmarks/speed.py's (b). libcst's own comment on `__post_init__` says the same ("it might make
more sense to move validation work into the visitor, which would allow us to avoid validating
the tree when parsing a file").

So validation is switched off while the parser runs and back on when it returns, for every
thread: a node another thread builds during a parse goes unvalidated too (in freezelint only
one thread touches syntax trees: the language server checks in a thread of its own). Where
libcst no longer validates in `__post_init__`, this is `libcst.parse_module` as it is.
"""

from __future__ import annotations

import threading

import libcst as cst

_VALIDATING = cst.CSTNode.__dict__.get("__post_init__")
_lock = threading.Lock()
_parsing = 0  # parses running now (in any thread): validation is off while there is one


def _built_by_the_parser(self: cst.CSTNode) -> None:
    """`__post_init__` while a parse runs: nothing to check."""


def parse_module(text: str) -> cst.Module:
    """`text` parsed; raises what `libcst.parse_module` raises on text that does not parse."""
    if _VALIDATING is None:
        return cst.parse_module(text)
    global _parsing
    with _lock:
        _parsing += 1
        cst.CSTNode.__post_init__ = _built_by_the_parser  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        with _lock:
            _parsing -= 1
            if _parsing == 0:
                cst.CSTNode.__post_init__ = _VALIDATING  # type: ignore[method-assign]
