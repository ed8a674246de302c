"""Each rule's documented example is tested (as Fixit does): the "Example" code must trigger the
rule and the "Use instead" code must not, so the docs cannot drift from the behaviour."""

from __future__ import annotations

import re

import pytest

from freezelint.checking.checker import check_source
from freezelint.model.resolve import Verifier
from freezelint.rules import RULES


def code_block(doc: str, section: str) -> str:
    part = doc.split(f"## {section}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", part, re.DOTALL)
    assert match, f"no code block under {section}"
    return match.group(1)


@pytest.mark.parametrize("code", sorted(RULES))
def test_example_triggers_the_rule(code: str, verifier: Verifier) -> None:
    source = code_block(RULES[code].doc, "Example")
    found = {d.code for d in check_source(source, "example.py", None, verifier)}
    assert code in found


@pytest.mark.parametrize("code", sorted(RULES))
def test_use_instead_is_clean(code: str, verifier: Verifier) -> None:
    source = code_block(RULES[code].doc, "Use instead")
    assert check_source(source, "fixed.py", None, verifier) == []
