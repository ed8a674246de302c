"""Small CST facts the extractor relies on: literal values and children."""

from __future__ import annotations

import libcst as cst
import pytest

from freezelint.script.extract.syntax import child_nodes, literal_value

LITERALS = [
    "1", "0x1F", "1_000", "00", "0o17", "0b101", "1.5", "1e-3", "1_0.5", ".5", "5.", "'a'",
    '"b"', "'''c'''", '"""d"""', "''", '""', "''''''", r"r'x\y'", "b'x'", r"'\n'", "'''a'b'''",
    "u'x'", "'a' 'b'", "'é'",
]  # fmt: skip


@pytest.mark.parametrize("source", LITERALS)
def test_literal_value_is_libcst_evaluated_value(source: str) -> None:
    node = cst.parse_expression(source)
    assert isinstance(node, cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString)
    got = literal_value(node)
    assert got == node.evaluated_value and type(got) is type(node.evaluated_value)


@pytest.mark.parametrize(
    "source",
    ["f(a, *b, k=c)", "x[1:2, ::3]", "a if b else c", "[x for x in y if z]", "lambda q: q + 1"],
)
def test_child_nodes_reach_every_name_libcst_children_reach(source: str) -> None:
    """Same names below a node as libcst's own (slow) `children`, punctuation aside."""

    def names(node: cst.CSTNode, children) -> set[str]:
        out, stack = set(), [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, cst.Name):
                out.add(cur.value)
            stack.extend(children(cur))
        return out

    node = cst.parse_expression(source)
    assert names(node, child_nodes) == names(node, lambda n: n.children)
