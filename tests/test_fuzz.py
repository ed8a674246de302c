"""Fuzzing: mutations of the fixture scripts (lines dropped, duplicated, swapped, re-indented),
arbitrary valid Python from hypothesmith, and fixture scripts with such Python spliced in.
The analyser never raises; whatever parses comes out of `--fix --unsafe-fixes` still parsing,
a second fix changes nothing, and a file with nothing to report is left as it was.
FREEZELINT_FUZZ_EXAMPLES=2000 for a longer run."""

from __future__ import annotations

import os

import hypothesmith
import libcst as cst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freezelint.checking.checker import check_source
from freezelint.findings.fixes import parses
from freezelint.fixing.loop import fix_source
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


def _holds_the_properties(source: str) -> None:
    found = check_source(source, "fuzz.py")  # never raises
    if not parses(source):
        return
    fixed = fix_source(source, "fuzz.py", None, None, unsafe=True)
    assert parses(fixed.text)
    if not [d for d in found if d.fix is not None]:
        assert fixed.text == source  # nothing fixable: not a byte changed
    again = fix_source(fixed.text, "fuzz.py", None, None, unsafe=True)
    assert again.text == fixed.text


FUZZ_SETTINGS = settings(
    max_examples=max(10, EXAMPLES // 2),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@FUZZ_SETTINGS
@given(hypothesmith.from_node())
def test_arbitrary_python_never_breaks_the_analysis(source: str) -> None:
    _holds_the_properties(source)


@st.composite
def spliced(draw: st.DrawFn) -> str:
    """A fixture script with arbitrary statements put in at a statement boundary at module
    level: the freezing code stays, odd syntax lands around it."""
    lines = draw(st.sampled_from(SOURCES)).splitlines()
    boundaries = [i for i, line in enumerate(lines) if line and not line[0].isspace()]
    at = draw(st.sampled_from(boundaries or [0]))
    snippet = draw(hypothesmith.from_node(cst.Module)).rstrip("\n")
    return "\n".join([*lines[:at], *snippet.splitlines(), *lines[at:]]) + "\n"


@FUZZ_SETTINGS
@given(spliced())
def test_fixture_scripts_with_arbitrary_python_spliced_in(source: str) -> None:
    _holds_the_properties(source)


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
