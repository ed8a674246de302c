"""What optimizers hold: each param group as the tensors (atom and generation) it was handed,
surely or maybe, and the mixin of the simulation that records them (`Holding`).

The atom states the simulation keeps (`Atom`) and the key they are kept by are here too, so
that rules and the simulation share one spelling of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from freezelint.script.events import OptimizerBuilt, ParamGroup, ParamGroupAdded
from freezelint.script.selection import (
    NameWhere,
    Opaque,
    Path,
    Region,
    Selection,
    Trainable,
    leaves,
    regions,
)

Key = tuple[int, Path]  # (model, atom path)
YES, MAYBE = "yes", "maybe"


class Atom(NamedTuple):
    """One atom's state (a named tuple: the replay makes hundreds of thousands of them)."""

    status: str  # "T" | "F" | "?"
    gen: int  # -1 when unknown
    nonempty: bool | None


@dataclass
class OptimizerState:
    """What an optimizer holds: per param group, each atom's tensors it was handed."""

    event: OptimizerBuilt
    # Per param group: (model, path, generation) -> YES / MAYBE; added groups are appended.
    groups: list[dict[tuple[int, Path, int], str]] = field(default_factory=list)
    group_specs: list[ParamGroup] = field(default_factory=list)
    # Per param group, the `add_param_group` that added it (None: given to the constructor).
    added_by: list[ParamGroupAdded | None] = field(default_factory=list)
    opaque: bool = False  # some group draws from where the analysis cannot see
    built_state: dict[Key, Atom] = field(default_factory=dict)

    def holds(self, key: Key, gen: int) -> str | None:
        best = None
        for group in self.groups:
            found = group.get((*key, gen))
            if found == YES:
                return YES
            best = best or found
        return best

    def models(self) -> set[int]:
        return {m for group in self.groups for (m, _, _) in group}


class Replay(Protocol):
    """What `Holding` reads of the simulation it is mixed into (`replay.Simulation`)."""

    consumed: set[int]
    listed: dict[int, tuple[dict[tuple[int, Path, int], str], bool]]

    def atoms_under(self, model: int, path: Path) -> list[tuple[Key, bool]]: ...
    def atom(self, key: Key) -> Atom: ...
    def selected(self, leaf: NameWhere | Trainable) -> dict[Key, bool | None]: ...
    def _hold(self, sel: Selection, held: dict, membership: str) -> bool: ...


class Holding:
    """The part of `Simulation` that records what a param group hands an optimizer."""

    def _add_group(
        self: Replay,
        opt: OptimizerState,
        group: ParamGroup,
        added_by: ParamGroupAdded | None = None,
    ) -> None:
        held: dict[tuple[int, Path, int], str] = {}
        # Drawn from an iterator already used up (FRZ012): it holds nothing, at least when the
        # loop that used it up ran; what it would have held is held "maybe".
        membership = MAYBE if group.iterator in self.consumed else YES
        if group.iterator in self.listed:
            # A list bound earlier: the tensors it held then, not those its expression would
            # name now (a head replaced or unfrozen since is not in it).
            listed, complete = self.listed[group.iterator]
            held.update(listed)
            if not complete or any(_has_opaque(leaf) for leaf in leaves(group.selection)):
                opt.opaque = True
        else:
            for leaf in leaves(group.selection):
                if not self._hold(leaf, held, membership) or _has_opaque(leaf):
                    opt.opaque = True
        if group.new_only:
            held = {k: v for k, v in held.items() if opt.holds(k[:2], k[2]) != YES}
        opt.groups.append(held)
        opt.group_specs.append(group)
        opt.added_by.append(added_by)

    def _hold(self: Replay, sel: Selection, held: dict, membership: str) -> bool:
        """Record what a selection hands an optimizer; False when some of it cannot be told
        (tensors of unknown generation after an uncertain replacement)."""
        complete = True
        if isinstance(sel, Region):
            atom_of = self.atom
            for key, certain in self.atoms_under(sel.model, sel.path):
                gen = atom_of(key).gen
                if gen < 0:
                    complete = False
                    continue
                kept = (key[0], key[1], gen)
                if held.get(kept) != YES:
                    held[kept] = membership if certain else MAYBE
        elif isinstance(sel, Trainable):
            filtered = _has_name_filter(sel.base)
            for region in regions(sel.base):
                for key, certain in self.atoms_under(region.model, region.path):
                    atom = self.atom(key)
                    if atom.gen < 0:
                        complete = False
                        continue
                    if atom.status == "F":
                        continue
                    exact = certain and atom.status == "T" and not filtered
                    kept = (key[0], key[1], atom.gen)
                    if held.get(kept) != YES:
                        held[kept] = membership if exact else MAYBE
        elif isinstance(sel, NameWhere):
            exact = self.selected(sel)
            if not exact:
                for region in regions(sel.base):
                    complete = self._hold(region, held, MAYBE) and complete
                return complete
            for key, chosen in exact.items():
                atom = self.atom(key)
                if chosen is False or atom.gen < 0:
                    complete = complete and atom.gen >= 0
                    continue
                kept = (key[0], key[1], atom.gen)
                if held.get(kept) != YES:
                    held[kept] = membership if chosen else MAYBE
        return complete


def _has_opaque(sel: Selection) -> bool:
    if isinstance(sel, Opaque):
        return True
    if isinstance(sel, NameWhere | Trainable):
        return any(_has_opaque(leaf) for leaf in leaves(sel.base))
    return False


def _has_name_filter(sel: Selection) -> bool:
    return any(
        isinstance(leaf, NameWhere) or (isinstance(leaf, Trainable) and _has_name_filter(leaf.base))
        for leaf in leaves(sel)
    )
