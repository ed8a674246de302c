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
    # (its first line from `ast`): the same ranges, looked up in any order.
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, source)
    for node in reversed(list(expected)):
        assert got[node] == expected[node]


def test_statements_the_parsers_pair_differently_are_placed_from_the_start() -> None:
    source = "x = 1; y = 2\n@a\n\n# c\n@b\ndef f():\n    return (\n  1)\nz = 3"
    module = cst.parse_module(source)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions(module, source)
    assert {node: got[node] for node in expected} == dict(expected)
