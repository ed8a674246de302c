"""Which undecided branches are independent of each other, so that their arms need not be
combined (issue 24): `if args.b3: model3.fc = ...` and `if args.b7: model7.fc = ...` are 1 + 2
paths to explore past the first, not 2 x 2.

Every object the walk tracks (a model, an optimizer, a scheduler, a parameter iterator, an
instance) has an id. A branch whose arms matter *touches* the objects its arms' events name
and the objects its arms bind differently, and the objects its arms create. Objects are
*linked* on a path when one event names them together (an optimizer over two models' parameters,
a composite model, a scheduler on an optimizer). Two branches are independent on a path when
what they touch is not linked: no rule reads them together, so what one branch decides does not
change a finding about what the other touches (`paths._explore` then varies one branch at a
time, `checker._condition` names only the branches a finding depends on).

Anything this cannot account for makes a branch *global* (`None`): an event that names no
object, a constant or a definition bound differently (a later statement may decide on it), an
arm that exits, a branch inside an arm (found in a trial), parameters from somewhere unknown.
A global branch is combined with every other, as all branches were before.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable
from typing import Any

import libcst as cst

from freezelint.script.events import BranchArm, BranchJoin, Event
from freezelint.script.node_kinds import is_a
from freezelint.script.selection import Opaque
from freezelint.script.values import Const

# Fields that hold an object's id, and fields holding (id, path) pairs.
_ID_FIELDS = frozenset(
    {"model", "optimizer", "scheduler", "binding", "ident", "new_module", "iterator"}
)
_PAIR_FIELDS = frozenset({"copy_of", "taken_from", "state_of"})
# An event's place in the walk, not what it acts on.
_PLACE_FIELDS = frozenset(
    {"node", "ctx", "seq", "site", "statement", "block", "scope", "local", "trail", "via", "spec"}
)
_OWN = "freezelint."
_FIELDS: dict[type, tuple[str, ...]] = {}
# `ids_of`'s answers by the id of the object asked about (kept with it: see `forget`).
_KNOWN: dict[int, tuple[Any, set[int] | None]] = {}


class Unaccounted(Exception):
    """A value or event this module cannot attribute to objects (parameters from somewhere
    unknown): whatever touches it is global."""


def _fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in _PLACE_FIELDS
        )
    return names


def collect(value: Any, out: set[int]) -> None:
    """Add the ids of the objects `value` names to `out`; `Unaccounted` for an opaque
    selection."""
    if isinstance(value, tuple | list | frozenset | set):
        for item in value:
            collect(item, out)
        return
    if isinstance(value, Opaque):
        raise Unaccounted
    cls = type(value)
    if not dataclasses.is_dataclass(value) or not cls.__module__.startswith(_OWN):
        return  # (a constant, a string, a syntax node)
    for name in _fields(cls):
        field = getattr(value, name)
        if name in _ID_FIELDS and isinstance(field, int) and not isinstance(field, bool):
            out.add(field)
        elif name in _PAIR_FIELDS and isinstance(field, tuple) and field:
            if isinstance(field[0], int):
                out.add(field[0])
        elif (
            field is not None
            and not isinstance(field, str | int | float)
            and not is_a(field, cst.CSTNode)
        ):
            collect(field, out)


def ids_of(value: Any) -> set[int] | None:
    """The objects an event or a value names; None when it names something unaccounted for.
    Remembered per object until `forget` (events and values are immutable, and the paths of a
    root share the events before their forks): the set returned is shared, not to be changed."""
    known = _KNOWN.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    out: set[int] | None = set()
    try:
        collect(value, out)  # type: ignore[arg-type]
    except Unaccounted:
        out = None
    _KNOWN[id(value)] = (value, out)
    return out


def forget() -> None:
    """Drop what `ids_of` remembers (at the start of each file: it holds the objects asked
    about, and their ids may be reused once they are gone)."""
    _KNOWN.clear()


def objects_named(values: Iterable[Any]) -> set[int]:
    """The ids of the objects some values name (what an opaque one names before its opaque
    part included)."""
    out: set[int] = set()
    for value in values:
        try:
            collect(value, out)
        except Unaccounted:
            continue
    return out


def touched(
    events: Iterable[Event], changes: Iterable[tuple[Any, Any]], owners: Iterable[int]
) -> frozenset[int] | None:
    """What the arms of a branch touch: the objects their events name, the objects bound
    differently (`changes`: (before, after) pairs of differing bindings), and the objects
    whose attributes they set (`owners`); None (global) as the module docstring says."""
    out: set[int] = set(owners)
    for event in events:
        if isinstance(event, BranchArm | BranchJoin):
            continue
        ids = ids_of(event)
        if not ids:
            return None
        out |= ids
    for before, after in changes:
        for value in (before, after):
            if value is None:
                continue
            ids = None if isinstance(value, Const) else ids_of(value)
            if not ids:
                return None
            out |= ids
    return frozenset(out)


class Links:
    """Union-find over a path's objects and branches: an event joins the objects it names; a
    branch joins what it touched before it ran, and what its walked arm created (ids in its
    range) on this path."""

    def __init__(self) -> None:
        self._parent: dict[object, object] = {}
        self.opaque = False  # some event hands over parameters from somewhere unknown
        # Per event of `of`: one object it names (None: a marker, or it names none).
        self.named: list[int | None] = []

    def find(self, item: object) -> object:
        parent = self._parent.setdefault(item, item)
        while parent != item:
            grand = self._parent[parent]
            self._parent[item] = grand
            item, parent = parent, grand
        return item

    def join(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self._parent[ra] = rb

    @classmethod
    def of(
        cls,
        events: Iterable[Event],
        branches: dict[tuple, frozenset[int]],
        ranges: dict[tuple, tuple[tuple[int, int], ...]],
        pairs: Iterable[tuple[int, int]] = (),
    ) -> Links:
        links = cls()
        join = links.join
        for a, b in pairs:
            join(a, b)
        spans = sorted(
            (start, end, key) for key, rs in ranges.items() for start, end in rs if start <= end
        )
        starts = [start for start, _, _ in spans]
        # Per object id: the branch whose walked arm created it (None: none). The same objects
        # come back event after event.
        owners: dict[int, tuple | None] = {}
        for key, ids in branches.items():
            for ident in ids:
                join(("branch", key), ident)
        named = links.named
        markers = (BranchArm, BranchJoin)
        for event in events:
            if isinstance(event, markers):
                named.append(None)
                continue
            ids = ids_of(event)
            if ids is None:
                links.opaque = True
                named.append(None)
                continue
            first = None
            for ident in ids:
                if first is None:
                    first = ident  # (the others join it)
                else:
                    join(first, ident)
                if ident in owners:
                    branch = owners[ident]
                else:
                    at = bisect.bisect_right(starts, ident) - 1  # the last span starting before
                    branch = ("branch", spans[at][2]) if at >= 0 and ident <= spans[at][1] else None
                    owners[ident] = branch
                if branch is not None:
                    join(branch, ident)
            named.append(first)
        return links

    def with_branches(self, branches: dict[tuple, frozenset[int]]) -> Links:
        """These links with `branches` joined to what they touched as well: `Links.of` with
        more branches, without walking the events again (joins are order-free)."""
        out = Links()
        out._parent = dict(self._parent)
        out.opaque = self.opaque
        out.named = self.named  # (the same events: read only)
        for key, ids in branches.items():
            for ident in ids:
                out.join(("branch", key), ident)
        return out

    def linked(self, a: tuple, b: tuple) -> bool:
        """Are branches `a` and `b` linked on this path?"""
        return self.opaque or self.find(("branch", a)) == self.find(("branch", b))
