"""freezelint's positions are libcst's PositionProvider ranges, node for node."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from freezelint.script.positions import positions

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p.read_text(encoding="utf-8")
    for p in sorted((ROOT / "fixtures").rglob("*.py"))
    if "FRZ000" not in p.parts
]
EDGES = [
    "",
    "\n\n",
    "x = 1",  # no trailing newline
    "def f():\n    pass",
    "x = 1\r\ny = (2,\r\n     3)\r\n",
    "x = 1\ry = 2\r",
    "if x:\n\tpass\n",
    "a = 1 \\\n  + 2\n",
    "# only a comment\n",
    "s = '''\nmulti\nline'''; t = f'{s!r:>10}'\n",
    "@dec\nclass C:\n    x: int = 1\n\n    async def m(self):\n        await g()\n",
    # Statements inside blocks, each placed through its own line at its indentation:
    "def f():\n    if a:\n        x = 1\n    elif b: y = 2; z = 3\n    elif c:\n\n        # c\n"
    "        w = (1,\n  2)\n    else:\n      v = 4\n",
    "try:\n  a()\nexcept E as e:\n    b(e)\nexcept F:\n\tc()\nelse:\n  d()\nfinally:\n  e()\n",
    "try:\n    a()\nexcept* E:\n    b()\n",
    "for i in x:\n    with a as b, c:\n        while y: z()\n        else:\n"
    "            q = 1\nelse: r = 2\n",
    "match p:\n    case [1, *rest] if rest:\n        m = 1\n    case _:\n        pass\n",
    "class A:\n    @staticmethod\n\n    # x\n    @dec(1)\n    def f():\n        def g():\n"
    "            return lambda: 1\n        return g\n",
    'if x:\n    a = 1 \\\n        + 2\n    s = """\nno indent\n"""\n    t = 3\n',
    "def f():\n  if x:\n          a = 1\n  b = 2\n",
    # The same statement twice (placed through `ast`), and inside another at its start:
    "x = 1\nx = 1\nmodel.train()\nif a:\n    model.train()\n",
    "x = 1\ny = x = 1\n",
    # Mixed line ends: a blank line's "\n" after a "\r\n".
    "x = 1\r\n\ny = 2\r\n\r\n\nz = 3\n",
]


@pytest.mark.parametrize("source", SOURCES + EDGES)
def test_same_ranges_as_libcst(source: str) -> None:
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module)
    assert set(got) == set(expected)
    assert {node: got[node] for node in expected} == dict(expected)


@pytest.mark.parametrize("source", SOURCES + EDGES)
def test_a_lookup_with_the_text_generates_only_its_statement(source: str) -> None:
    # With the source text, each lookup places its node through the statement holding it
    # (its first line found in the text, or from `ast`), inside functions, loops and branches
    # too: the same ranges, looked up in any order, and the module is not generated from the
    # start for them (which the ranges alone would not show). Only what no statement holds (the
    # module, its header and footer) is.
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, source)
    statements = got._statements
    held = [node for node in expected if statements and statements._owner_of(node) is not None]
    for node in reversed(held):
        assert got[node] == expected[node]
    assert got._state is None
    for node in reversed(list(expected)):
        assert got[node] == expected[node]


def test_statements_the_parsers_pair_differently_are_placed_from_the_start() -> None:
    source = "x = 1; y = 2\n@a\n\n# c\n@b\ndef f():\n    return (\n  1)\nz = 3"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, source)
    assert {node: got[node] for node in expected} == dict(expected)


def test_a_statement_written_once_is_placed_without_ast_and_a_repeated_one_with_it() -> None:
    source = "import torch\n\nopt = make(model)\nmodel.train()\nfor b in data:\n    model.train()\n"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    make = module.body[1].body[0].value  # type: ignore[attr-defined]
    got = positions(module, source)
    assert got[make] == expected[make]
    assert got._statements is not None and got._statements._firsts is None  # (no `ast`)
    train = module.body[2].body[0].value  # type: ignore[attr-defined]
    assert got[train] == expected[train]  # ("model.train()" is written twice)
    assert got._statements._firsts  # (`ast` was asked)
    assert got._state is None


def test_a_hint_of_the_statement_gives_the_same_range_right_or_wrong() -> None:
    source = "a = 1\ndef f():\n    b = g(1)\n    if c:\n        d = h(2)\n"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = list(expected)
    statements = [n for n in nodes if isinstance(n, cst.BaseStatement)]
    for hint in [None, *statements, module, nodes[-1]]:
        got = positions(module, source)
        for node in reversed(nodes):
            if node is not module:
                assert got.near(node, hint) == expected[node], (node, hint)
