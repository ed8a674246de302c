"""What rules ask the simulation about its events once the replay is over (the `Queries` mixin
of `replay.Simulation`): does a selection reach an atom, which events may follow which.

Each answer that does not depend on the atom asked about is worked out once per simulation
(the atoms a selection reaches, each event's loops, each model's builds), so that asking it for
every atom of every optimizer costs each atom a lookup rather than a walk over the model or the
script.
"""

from __future__ import annotations

from typing import Protocol

from freezelint.script.events import Event, ModelBuilt
from freezelint.script.selection import (
    NameWhere,
    Path,
    Region,
    Selection,
    Trainable,
    Union,
    leaves,
    regions,
)
from freezelint.simulation.arms import JoinedArms
from freezelint.simulation.holdings import MAYBE, YES, Key


class Replay(Protocol):
    """What `Queries` reads of the simulation it is mixed into."""

    events: list[Event]
    _arms: JoinedArms | None

    def atoms_under(self, model: int, path: Path) -> list[tuple[Key, bool]]: ...
    def selected(self, leaf: NameWhere | Trainable) -> dict[Key, bool | None]: ...


class Queries:
    """Questions about events and selections, answered from the replay's final tables."""

    def memo(self) -> dict:
        """Answers worked out once per simulation, by a key naming the question (the rules'
        own too: `rules.common.changes_after`)."""
        memo = self.__dict__.get("_queries")
        if memo is None:
            memo = self.__dict__["_queries"] = {}
        return memo

    def touches(self: Replay, sel: Selection, key: Key) -> str | None:
        """Does a selection (of a freeze or unfreeze) reach atom `key`? YES, MAYBE or None."""
        if all(self._excludes(leaf, key) for leaf in leaves(sel)):  # type: ignore[attr-defined]
            return None  # a filter over a model with a table that leaves this atom out
        return self._reach(sel).get(key)  # type: ignore[attr-defined]

    def _reach(self: Replay, sel: Selection) -> dict[Key, str]:
        """The atoms the regions of a selection reach: YES where a region the selection takes
        whole holds the atom certainly, else MAYBE (kept per selection: a region by its value,
        anything else by identity, held so that its id stays its own)."""
        memo = self.memo()  # type: ignore[attr-defined]
        ident = ("reach", sel) if isinstance(sel, Region) else ("reach", id(sel))
        found = memo.get(ident)
        if found is None:
            reach: dict[Key, str] = {}
            for region in regions(sel):
                whole = isinstance(_leaf_holding(sel, region), Region)
                for k, certain in self.atoms_under(region.model, region.path):
                    if certain and whole:
                        reach[k] = YES
                    else:
                        reach.setdefault(k, MAYBE)
            found = memo[ident] = (sel, reach)
        return found[1]

    def _excludes(self: Replay, leaf: Selection, key: Key) -> bool:
        """Does a filter (a name predicate, Lightning's BatchNorm split, under `Trainable` or
        not) certainly leave `key` out?"""
        while isinstance(leaf, Trainable) and not isinstance(leaf.base, Union):
            leaf = leaf.base
        return isinstance(leaf, NameWhere) and self.selected(leaf).get(key) is False

    def exclusive(self: Replay, first: Event, later: Event, renewed: Event | None = None) -> bool:
        """Do the two sit in different arms of one joined branch, which no run takes both of
        (`arms.JoinedArms`)?"""
        if self._arms is None:
            self._arms = JoinedArms(self.events)
        return self._arms.exclusive(first, later, renewed)

    def may_follow(self, first: Event, later: Event, model: int | None = None) -> bool:
        """Can `later` run after `first`? Yes if it comes after it, or shares a loop with it;
        not, for what it does to `model`, when each turn of that loop builds the model anew
        (`for fold in folds: model = build(); ...`: the next turn acts on another model)."""
        if later.seq > first.seq:
            return True
        shared = self._loops(first) & self._loops(later)
        if not shared or model is None:
            return bool(shared)
        return not any(
            built.seq <= later.seq and self._loops(built) & shared
            for built in self._builds().get(model, ())
        )

    def _loops(self, event: Event) -> frozenset[int]:
        """The loops an event sits in."""
        memo = self.memo()
        found = memo.get(("loops", id(event)))
        if found is None:
            loops = frozenset(f.ident for f in event.ctx if f.kind == "loop")
            found = memo[("loops", id(event))] = (event, loops)
        return found[1]

    def _builds(self: Replay) -> dict[int, list[ModelBuilt]]:
        """Each model's builds, in order."""
        memo = self.memo()  # type: ignore[attr-defined]
        if "builds" not in memo:
            builds: dict[int, list[ModelBuilt]] = {}
            for e in self.events:
                if isinstance(e, ModelBuilt):
                    builds.setdefault(e.model, []).append(e)
            memo["builds"] = builds
        return memo["builds"]


def _leaf_holding(sel: Selection, region: Region) -> Selection | None:
    for leaf in leaves(sel):
        if leaf == region:
            return leaf
        if isinstance(leaf, NameWhere | Trainable) and region in set(regions(leaf.base)):
            return leaf
    return None
