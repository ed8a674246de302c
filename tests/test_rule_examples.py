"""Each rule's documented example is tested (as Fixit does): the "Example" code must trigger the
rule and the "Use instead" code must not, so the docs cannot drift from the behaviour."""

from __future__ import annotations

import re

import pytest

from freezelint.checker import check_source
from freezelint.rules import RULES


def code_block(doc: str, section: str) -> str:
    part = doc.split(f"## {section}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", part, re.DOTALL)
    assert match, f"no code block under {section}"
    return match.group(1)


@pytest.mark.parametrize("code", sorted(RULES))
def test_example_triggers_the_rule(code: str) -> None:
    found = {d.code for d in check_source(code_block(RULES[code].doc, "Example"), "example.py")}
    assert code in found


@pytest.mark.parametrize("code", sorted(RULES))
def test_use_instead_is_clean(code: str) -> None:
    found = [d for d in check_source(code_block(RULES[code].doc, "Use instead"), "fixed.py")]
    assert found == []
