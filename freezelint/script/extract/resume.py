"""Runs that start part way down the module body (issue 24): a path that takes another arm
of a branch than the first path did walks, up to the statement holding that branch, exactly
what the first path walked. So the first run of the module body keeps a snapshot of the walker
before each top-level statement in which it met a fork (`Snapshot`), and a later run whose
decisions before that fork are the first run's (every first arm) puts the walker back as it was
there and walks on from that statement with its own decisions (`Extractor.resume`): the
statements before it are walked once for all the paths that branch after them.

Only the module body resumes: a function's own scope is not in a snapshot, and a fork inside a
helper called from the body resumes at the top-level statement that made the call.

A resumed run also ends early (`FirstRun.rejoined`): before each later statement the first run
recorded a point at, it compares its state with the first run's there. Where they differ only in
events, models and facts (a flag's truth) that the first run never read or wrote from that
point on (`read_log`), the rest of the walk is the first run's, so the run takes the first run's
final state with its own differing entries and its own forks and arms before the point. So
independent flags (`if args.b3: model3.fc = ...`) cost a walk of their own statements each,
not of the rest of the script.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from freezelint.script.events import Timeline
from freezelint.script.extract.snapshots import Snapshot
from freezelint.script.extract.syntax import child_nodes

Decision = tuple[tuple, int]  # (branch key, arm)
# What a run that took other arms keeps of its own when it rejoins the first (`rejoined`), and
# the containers compared key by key (`read_log`).
_PATH_OWN = frozenset({"decisions", "forks", "arm_ranges"})
_KEYED = frozenset({"models", "assumed"})
_ABSENT = object()


@dataclass(frozen=True)
class ResumePoint:
    """The walker before top-level statement `index`, how many forks the run had met, and the
    clock of the run's `read_log` from there on (None: not logged)."""

    index: int
    snapshot: Snapshot
    forks: int
    clock: int | None = None


class ResumePoints:
    """The points the first run of a module body recorded, by the key of each fork it met in
    the statement after the point."""

    def __init__(self) -> None:
        self.at: dict[tuple, ResumePoint] = {}
        self.order: list[tuple] = []  # the keys of the forks the first run met, in order
        # Every point with a clock, forking or not: where a later run may rejoin this one.
        self.logged: dict[int, ResumePoint] = {}

    def before(self, walker: Any, index: int) -> ResumePoint:
        """The walker before top-level statement `index` (kept by `after` if it forks)."""
        log = walker.read_log
        clock = None if log is None else log.tick()
        point = ResumePoint(index, Snapshot(walker), len(walker.forks), clock)
        if clock is not None:
            self.logged[index] = point
        return point

    def after(self, walker: Any, point: ResumePoint) -> None:
        for fork in walker.forks[point.forks :]:
            self.at.setdefault(fork.key, point)

    def point_for(self, decisions: Sequence[Decision]) -> ResumePoint | None:
        """Where a run with `decisions` can start: the point before the statement of the
        first branch it takes another arm of, when every branch before that is one the first
        run met, in the same order, and took the first arm of (as the first run did)."""
        for index, (key, arm) in enumerate(decisions):
            if index >= len(self.order) or self.order[index] != key:
                return None
            if arm:
                return self.at.get(key)
        return None


class FirstRun:
    """The module body's first run, which later runs resume: its walker, the points it
    recorded, the fuel it started with, and (once a run resumed) its own final state, which
    `settle` puts back (for what the body binds: its globals, functions and classes)."""

    def __init__(self, walker: Any, points: ResumePoints, fuel: int) -> None:
        points.order = [fork.key for fork in walker.forks]
        self.walker = walker
        self.points = points
        self.fuel = fuel
        self._final: Snapshot | None = None

    def point_for(self, decisions: dict[tuple, int], fuel: int) -> ResumePoint | None:
        """Where a run with `decisions`, starting with `fuel`, can resume; None where it
        cannot (with other fuel a new run would follow imports differently)."""
        if fuel != self.fuel:
            return None
        return self.points.point_for(list(decisions.items()))

    def resume(self, point: ResumePoint, decisions: dict[tuple, int]) -> Timeline:
        if self._final is None:
            self._final = Snapshot(self.walker)
        return self.walker.resume(point, decisions, self if self.walker.read_log else None)

    def rejoined(self, walker: Any, index: int) -> bool:
        """Can a resumed run, about to walk top-level statement `index`, take the rest of the
        first run as its own? Where its state differs from the first run's there only in
        events, models and facts the first run never read or wrote from there on, the rest
        walks the same (the walk is a function of the walker's state, `Snapshot`): the walker
        is then put in the first run's final state, with this run's differing entries and its
        own forks, arms and decisions before the point, and True is returned."""
        point = self.points.logged.get(index)  # (asked only by runs `resume` started)
        if point is None:
            return False
        log, final_state = walker.read_log, self._final
        if not walker.decisions.keys() <= walker.arm_ranges.keys():
            return False  # (a branch this run decides that it has not walked yet)
        found = point.snapshot.differences(walker, _PATH_OWN, _KEYED, "events")
        if found is None:
            return False
        clock = point.clock
        for name, keys in found.keys.items():
            if name in found.key_sets and log.keys_since(name, clock):
                return False
            if any(log.since(name, key, clock) for key in keys):
                return False
        if found.indexes:
            low = log.lowest_event_since(clock)
            if low is not None and low <= found.indexes[-1]:
                return False
        final = final_state.content
        later = final("forks")[point.forks :]
        then = point.snapshot.content("arm_ranges")
        ranges = final("arm_ranges")
        later_ranges = {key for key, spans in ranges.items() if then.get(key) != spans}
        if later_ranges & walker.arm_ranges.keys():
            return False  # (a branch this run walked that the rest walks again)
        events = {i: list.__getitem__(walker.events, i) for i in found.indexes}
        entries = {
            name: {key: dict.get(getattr(walker, name), key, _ABSENT) for key in keys}
            for name, keys in found.keys.items()
        }
        decisions = {**walker.decisions, **{fork.key: 0 for fork in later}}
        forks = [*walker.forks, *later]
        arm_ranges = {
            **walker.arm_ranges,
            **{key: spans for key, spans in ranges.items() if key in later_ranges},
        }
        final_state.restore()
        for i, event in events.items():
            list.__setitem__(walker.events, i, event)
        for name, values in entries.items():
            held = getattr(walker, name)
            for key, value in values.items():
                if value is _ABSENT:
                    dict.pop(held, key, None)
                else:
                    dict.__setitem__(held, key, value)
        walker.decisions, walker.forks, walker.arm_ranges = decisions, forks, arm_ranges
        return True

    def settle(self) -> None:
        if self._final is not None:
            self._final.restore()
            self._final = None


def may_fork(stmt: cst.CSTNode, functions: dict, classes: dict) -> bool:
    """Could walking this top-level statement meet a fork? A compound statement (not a
    definition), or a line calling a function or class of the file (whose body may branch).
    (A point before a statement that does not fork is dropped: this only saves snapshots.)"""
    if type(stmt) in (cst.FunctionDef, cst.ClassDef):
        return False
    if type(stmt) is not cst.SimpleStatementLine:
        return True
    if not functions and not classes:
        return False  # (nothing of the file to call yet)
    stack: list[cst.CSTNode] = [stmt]
    while stack:
        node = stack.pop()
        if type(node) is cst.Call:
            func = node.func
            while type(func) is cst.Attribute:
                func = func.value
            if type(func) is cst.Name and (func.value in functions or func.value in classes):
                return True
        stack.extend(child_nodes(node))
    return False
