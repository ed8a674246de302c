"""Fuzzing: mutations of the fixture scripts (lines dropped, duplicated, swapped, re-indented).
The analyser never raises; whatever parses comes out of `--fix --unsafe-fixes` still parsing,
and a second fix changes nothing. FREEZELINT_FUZZ_EXAMPLES=2000 for a longer run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freezelint.checker import check_source
from freezelint.fixes import fix_source, parses
from tests.fixture_format import fixture_scripts

SOURCES = [p.read_text(encoding="utf-8") for p in fixture_scripts()]
EXAMPLES = int(os.environ.get("FREEZELINT_FUZZ_EXAMPLES", "60"))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(SOURCES)).splitlines()
    for _ in range(draw(st.integers(0, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "duplicate", "swap", "indent", "dedent"]))
        if action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif action == "indent":
            lines[index] = "    " + lines[index]
        else:
            lines[index] = lines[index].lstrip()
    return "\n".join(lines) + "\n"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_analysis_and_fixes_never_break(source: str) -> None:
    check_source(source, "fuzz.py")  # never raises
    if not parses(source):
        return
    fixed = fix_source(source, "fuzz.py", None, None, unsafe=True)
    assert parses(fixed.text)
    again = fix_source(fixed.text, "fuzz.py", None, None, unsafe=True)
    assert again.text == fixed.text


def test_unimported_optimizer_name_regression() -> None:
    """Found by the fuzzer: an optimizer-looking class that was never imported."""
    source = "def make(net):\n    return Optimizer(net.parameters(), lr=3e-4)\n"
    assert check_source(source, "x.py") == []


def test_fix_is_stable_when_the_optimizer_is_built_inside_the_freeze_loop() -> None:
    """Found by the fuzzer: FRZ003's fix once kept adding the same line."""
    source = (
        "import torch\nfrom torchvision.models import efficientnet_b0\n"
        "model = efficientnet_b0()\nmodel.classifier[1] = torch.nn.Linear(1280, 5)\n"
        "for p in model.parameters():\n    p.requires_grad_(False)\n"
        "    optimizer = torch.optim.SGD(model.classifier.parameters(), lr=0.01)\n"
    )
    fixed = fix_source(source, "x.py", None, None, unsafe=True)
    assert fix_source(fixed.text, "x.py", None, None, unsafe=True).text == fixed.text
