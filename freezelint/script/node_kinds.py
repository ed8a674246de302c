"""Whether a syntax node is of a kind, answered once per node type.

libcst's node classes are abstract base classes, so `isinstance(node, cst.If)` goes through
`ABCMeta.__instancecheck__` on every call (about 0.4 us a class, several times that for a tuple
of classes). Which classes a node type is an instance of never changes in a run (libcst
registers no virtual subclasses), so the answer is kept per (type, classes).
"""

from __future__ import annotations

_KNOWN: dict[tuple[type, object], bool] = {}


def is_a(value: object, classes: type | tuple[type, ...]) -> bool:
    """`isinstance(value, classes)`, remembered per type of `value` (`classes`: a class or a
    tuple of classes, held in a constant so that the same object is passed each time)."""
    key = (type(value), classes)
    known = _KNOWN.get(key)
    if known is None:
        known = _KNOWN[key] = isinstance(value, classes)
    return known
