"""Small CST facts the extractor relies on: literal values and children."""

from __future__ import annotations

from pathlib import Path

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


def test_code_of_is_what_libcst_prints() -> None:
    # Dotted names are read from their parts; every other form generated: the same text.
    from freezelint.script.extract.syntax import code_of

    odd = "x = (a).b, a . b, a.b.c, (a.b), a.\\\n    b, f(a).b, a[0].b, (\n  a\n).b, a.b(c)\n"
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    texts = [odd] + [p.read_text(encoding="utf-8") for p in sorted(fixtures.rglob("*.py"))]
    empty = cst.Module([])
    seen = 0
    for text in texts:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue
        stack: list[cst.CSTNode] = [module]
        while stack:
            node = stack.pop()
            stack.extend(child_nodes(node))
            if isinstance(node, cst.BaseExpression):
                assert code_of(node) == empty.code_for_node(node)
                seen += 1
    assert seen > 10_000
