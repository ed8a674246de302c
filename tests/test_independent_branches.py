"""Independent undecided branches are not combined (issue 24): a path that took another arm of
one branch varies only the branches linked to it (`script/extract/independence.py`), a finding
names only the branches it depends on, and the rules run on such a path only over what differs
(`checking/projection.py`). What is found must not change: every fixture gives the same
diagnostics as exploring every combination with every path simulated in full."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import libcst as cst
import pytest

import freezelint.checking.checker as checker
from freezelint.checking.projection import Projections
from freezelint.model.resolve import Verifier
from freezelint.script.extract import extract_paths
from freezelint.script.extract.independence import Links, touched
from freezelint.script.selection import Opaque, Region
from freezelint.script.values import Const, ModelRef

HEADER = """
import argparse, torch, torchvision
parser = argparse.ArgumentParser()
parser.add_argument("--a", action="store_true")
parser.add_argument("--b", action="store_true")
parser.add_argument("--c", action="store_true")
args = parser.parse_args()
"""


def path_counts(body: str) -> tuple[int, int]:
    """Paths of the module body: branches independent, and every combination."""
    module = cst.parse_module(HEADER + textwrap.dedent(body))
    return len(extract_paths(module)[0].paths), len(extract_paths(module, product=True)[0].paths)


def messages(body: str, verifier: Verifier | None = None) -> list[str]:
    text = HEADER + textwrap.dedent(body)
    return [f"{d.code} {d.message}" for d in checker.check_source(text, "x.py", None, verifier)]


TWO_MODELS = """
m0 = torchvision.models.resnet18()
m1 = torchvision.models.resnet18()
if args.a:
    m0.requires_grad_(False)
if args.b:
    m1.layer1.requires_grad_(False)
opt0 = torch.optim.SGD(m0.parameters(), lr=0.1)
opt1 = torch.optim.SGD(m1.parameters(), lr=0.1)
"""


def test_branches_on_two_models_are_not_combined() -> None:
    assert path_counts(TWO_MODELS) == (3, 4)


def test_a_finding_names_only_the_branch_it_depends_on(verifier: Verifier) -> None:
    found = messages(TWO_MODELS, verifier)
    assert [m.split(" ", 1)[0] for m in found] == ["FRZ011", "FRZ001"]
    assert found[0].endswith("it updates nothing (when `args.a`)")
    assert found[1].endswith("with `requires_grad` (when `args.b`)")


def test_one_optimizer_over_both_models_links_them() -> None:
    body = TWO_MODELS.replace(
        "opt0 = torch.optim.SGD(m0.parameters(), lr=0.1)\n"
        "opt1 = torch.optim.SGD(m1.parameters(), lr=0.1)\n",
        "opt = torch.optim.SGD([*m0.parameters(), *m1.parameters()], lr=0.1)\n",
    )
    assert path_counts(body) == (4, 4)


def test_a_constant_bound_in_an_arm_links_the_branch_to_everything() -> None:
    # `lr` decides the zero-learning-rate group of the other model's optimizer.
    body = """
    m0 = torchvision.models.resnet18()
    m1 = torchvision.models.resnet18()
    if args.a:
        m0.requires_grad_(False)
        lr = 0.0
    else:
        lr = 0.1
    if args.b:
        m1.layer1.requires_grad_(False)
    opt0 = torch.optim.SGD(m0.parameters(), lr=0.1)
    opt1 = torch.optim.SGD(m1.parameters(), lr=lr)
    """
    assert path_counts(body) == (4, 4)


def test_a_branch_with_a_branch_inside_is_combined_with_the_rest() -> None:
    # `if args.a:` holds a branch that matters: what its arms touch is not followed (global),
    # so both of its arms meet both arms of `if args.b:`; the branch inside it and
    # `if args.b:` touch two models and are not combined: 5 paths, not 6.
    body = """
    m0 = torchvision.models.resnet18()
    m1 = torchvision.models.resnet18()
    if args.a:
        if args.c:
            m0.requires_grad_(False)
        else:
            m0.layer1.requires_grad_(False)
    if args.b:
        m1.layer1.requires_grad_(False)
    opt0 = torch.optim.SGD(m0.parameters(), lr=0.1)
    opt1 = torch.optim.SGD(m1.parameters(), lr=0.1)
    """
    assert path_counts(body) == (5, 6)


def test_blocks_with_a_branch_each_grow_linearly() -> None:
    # issue 24's scaling script: 16 blocks, each a model with one undecided if/else; every
    # combination was 2^16 paths, capped at 64 with the rest joined.
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from scaling import blocks

    roots = extract_paths(cst.parse_module(blocks(16, True)))
    assert len(roots[0].paths) == 17
    assert roots[0].complete


def test_a_model_built_from_another_is_linked_to_it(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The branch picks the backbone; the frozen body is a Sequential of its children, which no
    # event names together with it: `Timeline.built_from` links them, so the other arm's
    # numbers are counted (a path past the first is not taken as the first one's).
    body = """
    class Net(torch.nn.Module):
        def __init__(self, small):
            super().__init__()
            if small:
                backbone = torchvision.models.resnet18()
            else:
                backbone = torchvision.models.resnet50()
            self.features = torch.nn.Sequential(*list(backbone.children())[:-1])
            for p in self.features.parameters():
                p.requires_grad = False
            self.head = torch.nn.Linear(512, 2)

    model = Net(args.a)
    other = torchvision.models.resnet18()
    if args.b:
        other.layer1.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters())
    optimizer2 = torch.optim.SGD(other.parameters(), lr=0.1)
    """
    projected = messages(body, verifier)
    assert any("counted when `small`" in m for m in projected), projected
    monkeypatch.setattr(Projections, "found", lambda self, index, tables: None)
    assert messages(body, verifier) == projected


def test_what_a_branch_touches() -> None:
    event = type("E", (), {})  # (not a dataclass: names nothing)
    assert touched([], [(None, ModelRef(3)), (ModelRef(4, ("fc",)), None)], [7]) == {3, 4, 7}
    assert touched([], [(Const(0.1), Const(0.0))], []) is None
    assert touched([event()], [], []) is None
    from freezelint.script.events import RequiresGradSet

    freeze = RequiresGradSet(node=cst.Name("x"), selection=Region(5, ()), value=False)
    opaque = RequiresGradSet(node=cst.Name("x"), selection=Opaque("?"), value=False)
    assert touched([freeze], [], []) == {5}
    assert touched([opaque], [], []) is None
    links = Links.of([freeze], {("a",): frozenset({5}), ("b",): frozenset({6})}, {})
    assert not links.linked(("a",), ("b",))


FIXTURE_SCRIPTS = sorted(
    p for p in (Path(__file__).parent.parent / "fixtures").rglob("*.py") if "FRZ000" not in p.parts
)


def test_every_fixture_finds_what_every_combination_finds(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not combining independent branches, and running the rules on a path past the first only
    # over what differs, must not change a single diagnostic (its message, with the branches
    # it names, included) on any fixture.
    forking = [
        script
        for script in FIXTURE_SCRIPTS
        if any(len(r.paths) > 1 for r in extract_paths(cst.parse_module(script.read_text())))
    ]
    assert len(forking) >= 20

    def diagnostics(product: bool) -> dict[str, list]:
        # (Every combination, each path simulated in full; or independent branches, a path
        # past the first simulated over what differs: `checking/projection.py`.)
        monkeypatch.setattr(
            checker, "extract_paths", functools.partial(extract_paths, product=product)
        )
        if product:
            monkeypatch.setattr(Projections, "found", lambda self, index, tables: None)
        return {
            str(script): [
                (d.code, d.row, d.column, d.message)
                for d in checker.check_source(script.read_text(), str(script), None, verifier)
            ]
            for script in forking
        }

    assert diagnostics(False) == diagnostics(True)


def test_a_projected_event_is_the_event_renumbered() -> None:
    # `_renumbered` copies an event's attributes instead of `dataclasses.replace`: the same
    # event, of the same class, with only its number changed.
    from dataclasses import replace

    from freezelint.checking.projection import _renumbered

    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    seen: set[type] = set()
    for script in sorted(fixtures.rglob("*.py")):
        if "FRZ000" in script.parts:
            continue
        module = cst.parse_module(script.read_text(encoding="utf-8"))
        for root in extract_paths(module, path=script):
            for event in root.paths[0].timeline.events:
                copy = _renumbered(event, event.seq + 7)
                assert type(copy) is type(event) and copy == replace(event, seq=event.seq + 7)
                assert copy.seq == event.seq + 7 and event.seq != copy.seq
                seen.add(type(event))
    assert len(seen) >= 10


def _classes(links: Links, items: set) -> set[frozenset]:
    groups: dict[object, set] = {}
    for item in items:
        groups.setdefault(links.find(item), set()).add(item)
    return {frozenset(group) for group in groups.values()}


def test_projections_reuse_the_links_exploring_worked_out() -> None:
    # A path's links, worked out while exploring it over the branches it met, are extended with
    # the root's other branches for its projection: the same classes as worked out anew.
    import sys

    from freezelint.checking.projection import _Components

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from scaling import blocks

    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    scripts = [(s.read_text(encoding="utf-8"), s) for s in sorted(fixtures.rglob("*.py"))]
    scripts += [(blocks(n, True), None) for n in (2, 5)]
    reused = 0
    for text, script in scripts:
        if script is not None and "FRZ000" in script.parts:
            continue
        for root in extract_paths(cst.parse_module(text), path=script):
            touched = {k: t for k, t in root.touched.items() if t is not None}
            for path in root.paths:
                if path.links is None:
                    continue
                reused += 1
                mine = _Components(path, touched).links
                fresh = Links.of(
                    path.timeline.events, touched, path.ranges, path.timeline.built_from
                )
                items = set(mine._parent) | set(fresh._parent)
                items |= {("branch", key) for key in touched}
                assert _classes(mine, items) == _classes(fresh, items)
                assert (mine.named, mine.opaque) == (fresh.named, fresh.opaque)
    assert reused >= 5
