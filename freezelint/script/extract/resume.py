"""Runs that start part way down the module body (issue 24): a path that takes another arm
of a branch than the first path did walks, up to the statement holding that branch, exactly
what the first path walked. So the first run of the module body keeps a snapshot of the walker
before each top-level statement in which it met a fork (`Snapshot`), and a later run whose
decisions before that fork are the first run's (every first arm) puts the walker back as it was
there and walks on from that statement with its own decisions (`Extractor.resume`): the
statements before it are walked once for all the paths that branch after them.

Only the module body resumes: a function's own scope is not in a snapshot, and a fork inside a
helper called from the body resumes at the top-level statement that made the call.
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


@dataclass(frozen=True)
class ResumePoint:
    """The walker before top-level statement `index`, and how many forks the run had met."""

    index: int
    snapshot: Snapshot
    forks: int


class ResumePoints:
    """The points the first run of a module body recorded, by the key of each fork it met in
    the statement after the point."""

    def __init__(self) -> None:
        self.at: dict[tuple, ResumePoint] = {}
        self.order: list[tuple] = []  # the keys of the forks the first run met, in order

    def before(self, walker: Any, index: int) -> ResumePoint:
        """The walker before top-level statement `index` (kept by `after` if it forks)."""
        return ResumePoint(index, Snapshot(walker), len(walker.forks))

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
        return self.walker.resume(point, decisions)

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
