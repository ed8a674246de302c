"""Queries several rules share: which atoms an optimizer holds in which state, whether a later
event unfreezes them, and how to name a set of atoms in a message."""

from __future__ import annotations

from freezelint.events import Event, ModuleReplaced, RequiresGradSet
from freezelint.rules.base import region_text
from freezelint.selection import Region
from freezelint.simulate import YES, Key, OptimizerState, Simulation


def held_atoms(opt: OptimizerState, status: str) -> list[Key]:
    """Atoms certainly held by the optimizer, certainly non-empty, in `status` when built."""
    out: list[Key] = []
    for group in opt.groups:
        for (model, path, gen), membership in group.items():
            atom = opt.built_state.get((model, path))
            if (
                membership == YES
                and atom is not None
                and atom.gen == gen
                and atom.status == status
                and atom.nonempty
                and (model, path) not in out
            ):
                out.append((model, path))
    return out


def unfrozen_later(sim: Simulation, after: Event, key: Key) -> bool:
    """Can an unfreeze (or a replacement, which brings trainable tensors) reach `key` later?"""
    for other in sim.events:
        if other is after or not sim.may_follow(after, other):
            continue
        if (
            isinstance(other, RequiresGradSet)
            and other.value is not False
            and sim.touches(other.selection, key)
        ):
            return True
        if isinstance(other, ModuleReplaced) and sim.touches(Region(other.model, other.path), key):
            return True
    return False


def atom_text(sim: Simulation, key: Key) -> str:
    model, path = key
    deeper = any(len(p) > len(path) and p[: len(path)] == path for p in sim.paths.get(model, []))
    name = region_text(sim, model, path)
    return f"the rest of `{name}`" if deeper else f"`{name}`"


def atoms_text(sim: Simulation, keys: list[Key], limit: int = 3) -> str:
    parts = [atom_text(sim, k) for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"{len(keys) - limit} more")
    return ", ".join(parts)
