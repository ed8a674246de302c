"""Queries several rules share: which atoms an optimizer holds in which state, whether a later
event unfreezes them, and how to name a set of atoms in a message."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from freezelint.rules.base import region_text
from freezelint.script import recognize
from freezelint.script.events import Event, ModuleReplaced, RequiresGradSet, SchedulerBuilt
from freezelint.script.imports import dotted
from freezelint.script.selection import Region, Selection
from freezelint.simulation.replay import YES, Atom, Key, OptimizerState, Simulation


def held_atoms(opt: OptimizerState) -> dict[str, list[Key]]:
    """Atoms certainly held by the optimizer, certainly non-empty, by their status when it
    was built ("T", "F", "?"), in the order it was handed them."""
    out: dict[str, dict[Key, None]] = {"T": {}, "F": {}, "?": {}}  # (ordered, no repeats)
    state = opt.built_state
    for group in opt.groups:
        for (model, path, gen), membership in group.items():
            if membership != YES:
                continue
            atom = state.get((model, path))
            if atom is not None and atom.gen == gen and atom.nonempty and atom.status in out:
                out[atom.status][(model, path)] = None
    return {status: list(keys) for status, keys in out.items()}


def held_unknown(sim: Simulation, opt: OptimizerState) -> bool:
    """Does the optimizer surely hold a part of a partial table (a region the table does not
    know: its tensors are not counted)?"""
    return any(
        membership == YES and model in sim.tables and path in sim.tables[model].opaque
        for group in opt.groups
        for (model, path, _), membership in group.items()
    )


def unfrozen_later(
    sim: Simulation, after: Event, keys: Iterable[Key], replaced: bool = True
) -> bool:
    """Can an unfreeze (or, with `replaced`, a replacement, which brings trainable tensors) reach
    one of `keys` later? An optimizer keeps the tensors it was handed, so for what it holds a
    replacement unfreezes nothing (`replaced=False`)."""
    changes: dict[int, list[Selection]] = {}  # (per model: most keys share one)
    for key in keys:
        found = changes.get(key[0])
        if found is None:
            found = changes[key[0]] = changes_after(sim, after, key[0], False, replaced)
        if found and any(sim.touches(sel, key) for sel in found):
            return True
    return False


def changes_after(
    sim: Simulation, after: Event, model: int, ignored: bool, replaced: bool = True
) -> list[Selection]:
    """What the events that may follow `after` (for what they do to `model`) set requires_grad
    on, unless they set it to `ignored`, in order; with `replaced`, the regions replaced too.
    Worked out once per simulation, event and model: asked for every atom of an optimizer."""
    memo = sim.memo()
    ident = ("changes_after", id(after), model, ignored, replaced)
    if ident not in memo:
        found: list[Selection] = []
        for other in sim.events:
            if other is after or not sim.may_follow(after, other, model):
                continue
            if isinstance(other, RequiresGradSet) and other.value is not ignored:
                found.append(other.selection)
            elif replaced and isinstance(other, ModuleReplaced):
                found.append(Region(other.model, other.path))
        memo[ident] = (after, found)
    return memo[ident][1]


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


def tensors(
    sim: Simulation, keys: list[Key], state: dict[Key, Atom]
) -> tuple[int, int | None] | None:
    """(tensor count, element count) of atoms, when every one comes from a parameter table.
    The element count is None when a replaced module (size not in the table) is among them."""
    if not keys or any(
        k[0] not in sim.tables or k[1] not in sim.tables[k[0]].param_paths for k in keys
    ):
        return None  # (a module added under a new name is one atom, not its tensors)
    if any(state.get(k, Atom("?", 0, None)).gen != 0 for k in keys):
        return len(keys), None
    counts = [sim.tables[k[0]].numel(k[1]) for k in keys]
    return len(keys), None if None in counts else sum(counts)  # type: ignore[arg-type]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def count_text(
    part: tuple[int, int | None], whole: tuple[int, int | None], at_least: bool = False
) -> str:
    """`211 of 213 tensors (4.0M of 5.3M elements)`; `at least 108 of 213 tensors` when some
    of the whole are of a state the analysis cannot tell."""
    text = f"{'at least ' if at_least else ''}{part[0]} of {whole[0]} tensors"
    if part[1] is not None and whole[1] is not None:
        return f"{text} ({elements(part[1], whole[1])} of {elements(whole[1], part[1])} elements)"
    if part[1] is not None:
        return f"{text} ({elements(part[1])} elements)"
    return text


def elements(count: int, other: int | None = None) -> str:
    """`4.0M`; exact (`4,007,548`) when the compact form would read the same as `other`'s."""
    compact = _compact(count)
    if other is not None and other != count and _compact(other) == compact:
        return f"{count:,}"
    return compact


def _compact(count: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def modules_text(sim: Simulation, keys: list[Key], limit: int = 3) -> str:
    """Name atoms by module, as a person would: `model.blocks`, `model.conv_stem`, 2 more."""
    if any(k[0] not in sim.tables for k in keys):
        return atoms_text(sim, keys, limit)
    tops: dict[tuple[int, str], None] = {}
    order = {
        (m, path): i for m in {k[0] for k in keys} for i, path in enumerate(sim.tables[m].paths)
    }
    for model, path in sorted(keys, key=lambda k: order.get(k, len(order))):
        tops[(model, path[0])] = None
    parts = [f"`{region_text(sim, m, (top,))}`" for m, top in list(tops)[:limit]]
    if len(tops) > limit:
        parts.append(f"{len(tops) - limit} more")
    return ", ".join(parts)


def module_text(sim: Simulation, model: int, keys: list[Key]) -> str | None:
    """`model.layer4[2]`: the module (by the parameter table's own path) that holds exactly
    these atoms of `model`, if there is one."""
    if not keys or any(k[0] != model for k in keys):
        return None
    common: tuple[str, ...] = ()
    for parts in zip(*(path for _, path in keys), strict=False):
        if len(set(parts)) != 1:
            break
        common = (*common, parts[0])
    if common and {k for k, _ in sim.atoms_under(model, common)} == set(keys):
        return f"`{region_text(sim, model, common)}`"
    return None


def verified(sim: Simulation, keys: list[Key]) -> dict | None:
    """The JSON `verified` object for a finding about these atoms (None if no table backs it)."""
    for model, _ in keys:
        if model in sim.tables:
            return sim.tables[model].table.verified()
    return None


def params_expression(group_node: cst.CSTNode) -> cst.BaseExpression | None:
    """The expression that gives a param group its parameters: the group itself when the
    optimizer is handed an iterable, the `"params"` entry of a dict or `dict(params=...)`."""
    if type(group_node) is cst.Dict:
        for element in group_node.elements:
            if (
                type(element) is cst.DictElement
                and type(element.key) is cst.SimpleString
                and element.key.evaluated_value == "params"
            ):
                return element.value
        return None
    if type(group_node) is cst.Call and dotted(group_node.func) == "dict":
        for arg in group_node.args:
            if arg.keyword is not None and arg.keyword.value == "params":
                return arg.value
        return None
    return group_node if isinstance(group_node, cst.BaseExpression) else None


def breaking_scheduler(sim: Simulation, optimizer: int, before: Event) -> SchedulerBuilt | None:
    """The last scheduler built on `optimizer` before `before`, when a param group added then
    breaks it (it raises at its next step, or over-scales the new group: FRZ017)."""
    for event in reversed(sim.events[: before.seq]):
        if isinstance(event, SchedulerBuilt) and event.optimizer == optimizer:
            return None if event.cls in recognize.SCHEDULERS_COPING else event
    return None
