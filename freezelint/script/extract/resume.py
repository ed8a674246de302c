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

from freezelint.script.extract.snapshots import Snapshot

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
        self._open: ResumePoint | None = None

    def before(self, walker: Any, index: int) -> None:
        self._open = ResumePoint(index, Snapshot(walker), len(walker.forks))

    def after(self, walker: Any) -> None:
        point, self._open = self._open, None
        if point is not None:
            for fork in walker.forks[point.forks :]:
                self.at.setdefault(fork.key, point)

    def finish(self, walker: Any) -> None:
        """The first run is over: the forks it met, in order."""
        self._open = None
        self.order = [fork.key for fork in walker.forks]

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
        stack.extend(node.children)
    return False
