"""A run that took another arm rejoins the first run's rest where its state differs only in what
that rest never reads (`resume.FirstRun.rejoined`, `read_log`): the paths must be exactly those
of runs walked to the end, and a rest that reads what differs must be walked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from freezelint.script.extract import resume
from freezelint.script.extract.paths import extract_paths
from freezelint.script.extract.read_log import (
    LoggedDict,
    LoggedList,
    QuietDict,
    QuietList,
    ReadLog,
    quieten,
)
from freezelint.script.extract.snapshots import Snapshot
from freezelint.script.extract.statements import Extractor
from freezelint.script.imports import ImportTable
from tests.paths_equal import same_paths

FIXTURES = Path(__file__).parent.parent / "fixtures"
HEAD = """\
import argparse, torch, torchvision
parser = argparse.ArgumentParser()
parser.add_argument('--a', action='store_true')
parser.add_argument('--b', action='store_true')
parser.add_argument('--c', action='store_true')
args = parser.parse_args()
"""


def _block(name: str, flag: str) -> str:
    return textwrap.dedent(f"""\
        {name} = torchvision.models.resnet18()
        for pname, p in {name}.named_parameters():
            if not pname.startswith('fc'):
                p.requires_grad = False
        if args.{flag}:
            {name}.fc = torch.nn.Linear(512, 10)
        else:
            {name}.fc = torch.nn.Linear(512, 5)
        """)


def _blocks(count: int, tail: str = "") -> str:
    flags = "abc"
    body = "".join(_block(f"model{i}", flags[i]) for i in range(count))
    return HEAD + body + textwrap.dedent(tail)


def _rejoins(source: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, bool]]:
    """Each try to rejoin while extracting `source`: (the flag whose other arm the run took,
    statement index, whether it did)."""
    module = cst.parse_module(source)
    flags = {
        id(stmt): cst.Module([]).code_for_node(stmt.test)[-1]
        for stmt in module.body
        if type(stmt) is cst.If
    }
    tries: list[tuple[str, int, bool]] = []
    rejoined = resume.FirstRun.rejoined

    def counted(self, walker, index):  # type: ignore[no-untyped-def]
        did = rejoined(self, walker, index)
        (flag,) = [flags[key[0]] for key, arm in walker.decisions.items() if arm]
        tries.append((flag, index, did))
        return did

    monkeypatch.setattr(resume.FirstRun, "rejoined", counted)
    extract_paths(module)
    return tries


TAILS = {
    "independent": "",
    "optimizer over an earlier head": (
        "optimizer = torch.optim.SGD(model0.fc.parameters(), lr=0.1)\n"
    ),
    "the first flag again": "if args.a:\n    model1.layer1.requires_grad_(False)\n",
    "one optimizer over all": (
        "optimizer = torch.optim.SGD([*model0.parameters(), *model1.parameters(), "
        "*model2.parameters()], lr=0.1)\n"
    ),
}


@pytest.mark.parametrize("tail", TAILS.values(), ids=TAILS.keys())
def test_rejoining_gives_the_paths_of_runs_walked_to_the_end(tail: str) -> None:
    same_paths(_blocks(3, tail), rejoin=False)


FIXTURE_SCRIPTS = sorted(p for p in FIXTURES.rglob("*.py") if "FRZ000" not in p.parts)


@pytest.mark.parametrize("script", FIXTURE_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rejoining_changes_no_fixture_path(script: Path) -> None:
    same_paths(script.read_text(encoding="utf-8"), script, rejoin=False)


def test_independent_flags_rejoin_before_the_next_block(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three blocks (a model, a freeze loop, an `if` on the block's flag; statements 6 to 14),
    # each with its own flag: the run that takes the other arm of `args.a` rejoins before the
    # freeze loop of the next block, statement 10 (its state differs only in model0's head,
    # the events of its arm and the fact `args.a`, which nothing after reads); `args.b`'s
    # before statement 13; `args.c`'s has nothing left to walk.
    tries = _rejoins(_blocks(3), monkeypatch)
    assert sorted((flag, index) for flag, index, did in tries if did) == [("a", 10), ("b", 13)]


def test_a_rest_that_reads_the_flag_again_is_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    # The statement after the last block (15) tests `args.a` again: the run that took the other
    # arm of `args.a` reads a fact that differs at every later point, so it walks to the end;
    # `args.b`'s and `args.c`'s runs still rejoin (on their paths `args.a` holds as on the
    # first).
    tries = _rejoins(_blocks(3, TAILS["the first flag again"]), monkeypatch)
    assert not [index for flag, index, did in tries if flag == "a" and did]
    assert sorted((flag, index) for flag, index, did in tries if did) == [("b", 13), ("c", 15)]


def test_the_log_notes_reads_and_writes_with_the_clock() -> None:
    log = ReadLog()
    models = LoggedDict({1: "spec"}, log, "models")
    events = LoggedList(["e0", "e1", "e2"], log)
    clock = log.tick()
    assert models.get(1) == "spec" and log.since("models", 1, clock)
    assert not log.since("models", 2, clock)
    models[2] = "other"
    assert log.since("models", 2, clock) and not log.keys_since("models", clock)
    assert list(models) == [1, 2] and log.keys_since("models", clock)
    assert log.lowest_event_since(clock) is None
    assert next(reversed(events)) == "e2" and log.lowest_event_since(clock) == 2
    assert events[1:] == ["e1", "e2"] and log.lowest_event_since(clock) == 1
    later = log.tick()
    assert not log.since("models", 1, later) and log.lowest_event_since(later) is None


def test_saving_and_putting_back_note_nothing() -> None:
    # A snapshot (and a branch's trial) copies and refills the containers through the base
    # classes: that is no read of what they hold.
    walker = Extractor(cst.parse_module("x = 1\n"), ImportTable())
    walker.start_read_log()
    walker.models[3] = "spec"
    walker.events.append("event")
    log = walker.read_log
    assert log is not None
    clock = log.tick()
    snapshot = Snapshot(walker)
    saved = walker.saved_facts()
    walker.restore_facts(saved)
    snapshot.restore()
    assert not log.since("models", 3, clock) and not log.keys_since("models", clock)
    assert not log.keys_since("assumed", clock) and log.lowest_event_since(clock) is None


def test_a_walked_run_reads_its_containers_at_full_speed() -> None:
    log = ReadLog()
    models, events = LoggedDict({}, log, "models"), LoggedList([], log)
    quieten(models, events)
    assert type(models) is QuietDict and type(events) is QuietList
    models[1] = "spec"
    assert models[1] == "spec" and not log.touched


def test_differences_name_only_keys_of_the_keyed_containers() -> None:
    walker = Extractor(cst.parse_module("x = 1\n"), ImportTable())
    walker.models[1] = "spec"
    snapshot = Snapshot(walker)
    free, keyed = frozenset({"decisions", "forks", "arm_ranges"}), frozenset({"models", "assumed"})
    same = snapshot.differences(walker, free, keyed, "events")
    assert same is not None and not any(same.keys.values()) and not same.indexes
    walker.models[1] = "another spec"
    walker.decisions[("branch", ())] = 1  # (a run's own: not compared)
    changed = snapshot.differences(walker, free, keyed, "events")
    assert changed is not None and changed.keys["models"] == {1}
    walker.here.scope.env["x"] = "bound again"
    assert snapshot.differences(walker, free, keyed, "events") is None
