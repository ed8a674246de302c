"""Rules run once on what all paths share and only on what differs (issue 24).

A path that took another arm than the first only of branches independent of the rest
(`script/extract/independence.py`) differs from the first path (every first arm) only in the
objects linked to those branches: its findings about everything else are the first path's. So
the rules run on the first path in full, and on another path only over the events of that
component (its *projection*): its findings are the first path's, less those the same projection
of the first path gives, plus those of its own projection.

Events that name no object (an ineffective freeze) are in every projection, and so are the
markers of joined arms. The projection of the first path is checked against its full run: a
finding it gives that the full run does not (a rule reading beyond the objects linked to what it
reports) means the path is simulated in full, as it is when a branch it varies is global, when
parameters come from somewhere unknown, or when the component is most of the path.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace

from freezelint.findings.diagnostics import Finding
from freezelint.script.events import Event, Timeline
from freezelint.script.extract import RootPaths
from freezelint.script.extract.independence import Links
from freezelint.script.extract.paths import Path

# A projection holding more than this share of a path's events is not worth its bookkeeping.
WORTH = 0.7

# The selected rules' findings on a timeline, with its models' tables.
Rules = Callable[[Timeline, Mapping[int, object]], list[Finding]]


def _key(finding: Finding) -> tuple:
    via = finding.event.via if finding.event is not None else finding.via
    return (finding.code, id(finding.node), finding.message, tuple(map(id, via)))


class _Components:
    """A path's events by component: each event's component (None: in every projection)."""

    def __init__(self, path: Path, touched: Mapping[tuple, frozenset[int]]) -> None:
        timeline = path.timeline
        branches = dict(touched)
        given = path.links  # (worked out exploring the path, over fewer branches, if any)
        if given is not None and all(branches.get(k, ()) == ids for k, ids in given[0].items()):
            more = {k: ids for k, ids in branches.items() if k not in given[0]}
            self.links = given[1].with_branches(more) if more else given[1]
        else:
            self.links = Links.of(timeline.events, branches, path.ranges, timeline.built_from)
        self.of = [None if n is None else self.links.find(n) for n in self.links.named]

    def keep(self, active: list[tuple]) -> list[int] | None:
        """The indexes of the events in the component of the branches in `active`, or None
        when it cannot be told or is most of the path."""
        if self.links.opaque:
            return None
        roots = {self.links.find(("branch", key)) for key in active}
        keep = [i for i, root in enumerate(self.of) if root is None or root in roots]
        return None if len(keep) > WORTH * len(self.of) else keep


def _projected(timeline: Timeline, keep: list[int]) -> Timeline:
    events = [_renumbered(timeline.events[i], n) for n, i in enumerate(keep)]
    return replace(timeline, events=events)


def _renumbered(event: Event, seq: int) -> Event:
    """`replace(event, seq=seq)`, without rebuilding the event field by field: an event class
    whose fields `__init__` only stores (no `__post_init__`) is copied as its attributes."""
    kind = type(event)
    if hasattr(kind, "__post_init__") or not hasattr(event, "__dict__"):
        return replace(event, seq=seq)
    copy = object.__new__(kind)
    copy.__dict__.update(event.__dict__)
    copy.__dict__["seq"] = seq
    return copy


class Projections:
    """The findings of a root's paths past the first, from projections (see the module
    docstring); `found` gives None where the path must be simulated in full."""

    def __init__(self, root: RootPaths, rules: Rules) -> None:
        self._root = root
        self._rules = rules
        self._touched = {k: t for k, t in root.touched.items() if t is not None}
        self._first: list[Finding] | None = None
        self._first_tables: Mapping[int, object] = {}
        self._first_components: _Components | None = None
        # Per set of branches varied: what the first path's projection found (None: unusable).
        self._bases: dict[frozenset[tuple], Counter | None] = {}

    def first(self, found: list[Finding], tables: Mapping[int, object]) -> None:
        """The first path's findings, from its full run."""
        self._first, self._first_tables = found, tables
        if len(self._root.paths) > 1 and self._touched:
            self._first_components = _Components(self._root.paths[0], self._touched)

    def found(self, index: int, tables: Mapping[int, object]) -> list[Finding] | None:
        if index == 0 or self._first is None or self._first_components is None:
            return None
        path = self._root.paths[index]
        active = [key for key, arm in path.decisions if arm]
        if not active or any(self._root.touched.get(key) is None for key in active):
            return None
        base = self._base(frozenset(active))
        if base is None:
            return None
        keep = _Components(path, self._touched).keep(active)
        if keep is None:
            return None
        left = Counter(base)
        out: list[Finding] = []
        for finding in self._first:
            key = _key(finding)
            if left[key]:
                left[key] -= 1
            else:
                out.append(finding)
        return out + self._rules(_projected(path.timeline, keep), tables)

    def _base(self, active: frozenset[tuple]) -> Counter | None:
        if active in self._bases:
            return self._bases[active]
        first = self._root.paths[0]
        assert self._first_components is not None
        keep = self._first_components.keep(list(active))
        base = None
        if keep is not None and self._first is not None:
            projected = self._rules(_projected(first.timeline, keep), self._first_tables)
            found = Counter(_key(f) for f in projected)
            full = Counter(_key(f) for f in self._first)
            if not found - full:
                base = found
        self._bases[active] = base
        return base
