"""Whether a syntax node is of a kind, answered once per node type.

libcst's node classes are abstract base classes, so `isinstance(node, cst.If)` goes through
`ABCMeta.__instancecheck__` on every call (about 0.4 us a class, several times that for a tuple
of classes), and the first such test of a type that is no node walks all ~250 subclasses of
`CSTNode`. libcst registers no virtual subclasses, so a type's bases give the same answer; it
is read from them once per (type, classes).
"""

from __future__ import annotations

_KNOWN: dict[tuple[type, object], bool] = {}


def is_a(value: object, classes: type | tuple[type, ...]) -> bool:
    """`isinstance(value, classes)`, remembered per type of `value` (`classes`: a class or a
    tuple of classes, held in a constant so that the same object is passed each time)."""
    key = (type(value), classes)
    known = _KNOWN.get(key)
    if known is None:
        wanted = classes if isinstance(classes, tuple) else (classes,)
        bases = type(value).__mro__
        known = _KNOWN[key] = any(cls in bases for cls in wanted)
    return known
