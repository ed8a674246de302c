"""A literal's value read from its syntax node, without compiling it where that is plain to
see: libcst's `evaluated_value` runs `ast.literal_eval` (a compile) for every literal, and the
extractor, the predicate interpreter and the rules ask for thousands of them per run."""

from __future__ import annotations

import libcst as cst


def literal_value(node: cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString):
    """A literal's value. libcst's `evaluated_value` compiles every literal with
    `ast.literal_eval`; the common forms (plain numbers, strings without prefix or escapes) are
    read directly. Raises ValueError or SyntaxError for odd literals, as libcst does."""
    text = getattr(node, "value", None)
    if type(node) is cst.SimpleString and text is not None and "\\" not in text:
        quote = text[0]
        if quote in "'\"":
            width = 3 if text.startswith(quote * 3) and len(text) >= 6 else 1
            return text[width:-width]
    elif type(node) is cst.Integer and text is not None:
        try:
            return int(text, 0)
        except ValueError:
            pass
    elif type(node) is cst.Float and text is not None and text[-1] not in "jJ":
        try:
            return float(text)
        except ValueError:
            pass
    return node.evaluated_value
