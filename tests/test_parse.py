"""`script.parse.parse_module`: libcst's tree without per-node validation while parsing, and
validation back for every node built afterwards."""

from __future__ import annotations

import threading

import libcst as cst
import pytest

from freezelint.script import parse
from freezelint.script.parse import parse_module
from tests.fixture_format import fixture_scripts

# Syntax the fixtures may not have: every statement and expression form, odd whitespace.
ODD = """\
# -*- coding: utf-8 -*-
from __future__ import annotations
import a.b as c ; from . import (d ,
    e)
@dec(1)
async def f(x, /, y=2, *args, z: int = 3, **kw) -> "T":
    async with a as (b, c), d:
        async for i in g():
            yield [j async for j in h() if j if not j]
    h = lambda q=1, *, r: q @ r ** -1
class K(B, metaclass=M):
    x: int = 1; y = 2 \\
        + 3
    def m(self):
        match self:
            case {"a": 1, **rest} | {"b": 2, **rest} if rest:
                pass
            case K(x=1) as k:
                del k
        try:
            raise E from None
        except* (A, B) as e:
            global q
        else:
            nonlocal_ = f"{x!r:>{w}} {{}}" 'u', rb'\\x00'
        finally:
            assert x, (yield)
while (n := 1) if a else b:
    break
else:
    print(*a, sep="", **k)
t = a[1:2, ::3], {**d}, {1, *s}, (), not a in b is not c
"""


def test_validation_found_what_python_does_not_parse() -> None:
    """Text libcst's parser takes that is not Python, which only validation turned down (a
    bytes literal concatenated to a string): with it off, a tree that prints the text back.
    The checker now checks such a file, where it used to stop with an internal error."""
    text = "x = 'a' b'b'\n"
    with pytest.raises(SyntaxError):
        compile(text, "<test>", "exec")
    with pytest.raises(cst.CSTValidationError):
        cst.parse_module(text)
    assert parse_module(text).code == text


def _sources() -> list[str]:
    return [ODD, "", "\n", "x = 1", "\r\nx = 1\r\n"] + [
        p.read_text(encoding="utf-8") for p in fixture_scripts()
    ]


def test_the_same_tree_as_libcst() -> None:
    for text in _sources():
        try:
            compile(text, "<test>", "exec")
        except SyntaxError:  # (where Python does not parse, libcst may still: see below)
            continue
        ours, theirs = parse_module(text), cst.parse_module(text)
        assert ours.deep_equals(theirs)
        assert ours.code == text


def test_validation_is_back_after_a_parse_and_after_a_syntax_error() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("x = (\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")
    assert parse._parsing == 0


def test_validation_is_off_only_while_a_parse_runs() -> None:
    seen = []
    during = threading.Event()
    release = threading.Event()
    original = cst.parse_module

    def slow_parse(text: str) -> cst.Module:
        seen.append(cst.CSTNode.__post_init__)
        if len(seen) == 1:  # (the first parse waits until the second one is done)
            during.set()
            release.wait(5)
        return original(text)

    try:
        cst.parse_module = slow_parse  # type: ignore[assignment]
        worker = threading.Thread(target=parse_module, args=("x = 1\n",))
        worker.start()
        assert during.wait(5)
        assert cst.CSTNode.__post_init__ is parse._built_by_the_parser
        parse_module("y = 2\n")  # a second parse ending first leaves the first one's off
        assert cst.CSTNode.__post_init__ is parse._built_by_the_parser
        release.set()
        worker.join(5)
    finally:
        cst.parse_module = original  # type: ignore[assignment]
        release.set()
    assert cst.CSTNode.__post_init__ is parse._VALIDATING
    assert seen[0] is parse._built_by_the_parser
