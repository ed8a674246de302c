"""The trainability map (`freezelint show`, issue 26): for each optimizer a script builds, the
module tree of each model it draws from, each module in one state (frozen; trainable and in a
param group; trainable and in no optimizer; frozen but handed to the optimizer; not known),
collapsed to the level where the state changes, with tensor and element counts.

The data comes from the simulation the rules run on (the same paths, tables and replay), never
from a second reading of the script: the map and the findings cannot disagree. A part whose
table is unknown is one opaque node, never guessed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path as FilePath
from typing import Any

import libcst as cst

from freezelint.checking.checker import parse_text, run_rule_list
from freezelint.checking.module_tree import (
    FREE,
    FROZEN,
    IDLE,
    OTHER,
    TRAINED,
    UNKNOWN,
    WASTED,
    Node,
    build_tree,
    place,
    set_on,
)
from freezelint.model.resolve import Verifier
from freezelint.rules import RULES
from freezelint.rules.base import region_text
from freezelint.rules.frz009_frozen_batchnorm_updates import frozen_norms_in_training
from freezelint.script.events import OptimizerBuilt, RequiresGradSet
from freezelint.script.extract import extract_paths
from freezelint.script.extract.syntax import code_of
from freezelint.script.positions import positions
from freezelint.script.selection import Path
from freezelint.simulation.holdings import YES, Atom, OptimizerState
from freezelint.simulation.predicate_runs import PredicateRuns
from freezelint.simulation.replay import Simulation


@dataclass
class Group:
    index: int
    lr: str
    weight_decay: str
    line: int | None  # where it was added (`add_param_group`); None: the constructor's


@dataclass
class OptimizerMap:
    """One optimizer, as built (`moment` "built") or as the script leaves it ("end")."""

    name: str  # `optimizer` (Adam)
    line: int
    moment: str
    groups: list[Group]
    models: list[tuple[str, Node]]  # (the model's label, its tree)
    findings: list[tuple[str, int, str]]  # (code, line, message) about this optimizer

    def as_json(self) -> dict[str, Any]:
        return {
            "optimizer": self.name,
            "line": self.line,
            "moment": self.moment,
            "groups": [g.__dict__ for g in self.groups],
            "models": [{"model": label, "tree": tree.as_json()} for label, tree in self.models],
            "findings": [{"code": c, "line": n, "message": m} for c, n, m in self.findings],
        }


@dataclass
class Trainability:
    """The maps of one path of one root; `paths` tells how many the root has."""

    path: int
    paths: int
    conditions: str  # the arms this path takes ("" when the root has one path)
    optimizers: list[OptimizerMap]
    # With `--at`: the models no optimizer built by then draws from, as they are there.
    models: list[tuple[str, Node]] = field(default_factory=list)
    at: int | None = None
    source: dict[int, str] = field(default_factory=dict)  # the text of the lines `set_on` names

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "paths": self.paths,
            "conditions": self.conditions,
            "at": self.at,
            "optimizers": [o.as_json() for o in self.optimizers],
            "models": [{"model": label, "tree": tree.as_json()} for label, tree in self.models],
            "source": {str(line): code for line, code in sorted(self.source.items())},
        }


def trainability(
    text: str,
    file: str,
    verifier: Verifier | None,
    path_index: int = 0,
    at: int | None = None,
    label: Callable[[int], str] = str,
) -> list[Trainability]:
    """The maps of `path_index` (0: the first) of every root of the script that builds an
    optimizer; `at`: as things are right after line `at` first runs (every event the path runs
    before it, and its own), the models no optimizer holds yet shown too. `label` names a line
    in messages (a notebook's: `2 (cell 4)`)."""
    real = FilePath(file).absolute() if file and FilePath(file).is_file() else None
    module, imports = parse_text(text, real)
    where = positions(module, text)
    out = []
    runs = PredicateRuns()
    for root in extract_paths(module, imports, None, real):
        if not root.paths:
            continue
        index = min(path_index, len(root.paths) - 1)
        chosen = root.paths[index]
        timeline = chosen.timeline
        if at is not None:
            cut = _cut(timeline.events, at, where)
            if cut is None:
                continue
            timeline = replace(timeline, events=timeline.events[:cut])
        elif not any(isinstance(e, OptimizerBuilt) for e in timeline.events):
            continue
        tables = verifier.tables_for([timeline]) if verifier is not None else {}
        sim = Simulation(timeline, tables, runs)
        found = run_rule_list(sim, [r for r in RULES.values() if r.code != "FRZ000"])
        labels = [root.labels[key][arm] for key, arm in chosen.decisions if len(root.paths) > 1]
        maps = []
        for opt in sim.optimizers.values():
            line = _line(where, opt.event.anchor)
            about = [
                (
                    f.code,
                    _line(where, f.node),
                    f.message_with_lines(
                        lambda node: f"line {label(_line(where, node))}",
                        lambda node: label(_line(where, node)),
                    ),
                )
                for f in found
                if f.event is opt.event
                or (f.event is None and _line(where, f.node) == line)
                or (f.code == "FRZ009" and getattr(f.event, "model", None) in opt.models())
            ]
            if at is not None:
                maps.append(_optimizer_map(sim, opt, f"at line {at}", line, about, where))
                continue
            maps.append(_optimizer_map(sim, opt, "built", line, about, where))
            if _changes_later(sim, opt):
                maps.append(_optimizer_map(sim, opt, "end", line, about, where))
        found_maps = Trainability(index + 1, len(root.paths), " and ".join(labels), maps, at=at)
        if at is not None:
            held = {m for opt in sim.optimizers.values() for m in opt.models()}
            named = set(sim.timeline.model_vars)  # (not a layer built to be put in one)
            for model in sorted(({key[0] for key in sim.state} - held) & named):
                tree = _model_tree(sim, model, sim.state, partial(_free, sim), None)
                if tree is not None:
                    found_maps.models.append((_model_label(sim, model), tree))
        if maps or found_maps.models:
            lines = text.splitlines()
            trees = [t for o in maps for _, t in o.models] + [t for _, t in found_maps.models]
            for line in sorted({n for tree in trees for n in tree.set_on}):
                if 0 < line <= len(lines):
                    found_maps.source[line] = lines[line - 1].strip()
            out.append(found_maps)
    return out


def _cut(events: list, at: int, where: Any) -> int | None:
    """How many of the path's events run by the time line `at` first has run: through the
    first run of the line's own events, else up to the first event after it."""
    lines = [_line(where, e.anchor) for e in events]
    if at in lines:
        end = lines.index(at)
        while end < len(lines) and lines[end] == at:
            end += 1
        return end
    after = [i for i, line in enumerate(lines) if line > at]
    return after[0] if after else (len(events) if events else None)


def _free(sim: Simulation, key: tuple[int, Path], atom: Atom) -> Node:
    """A parameter of a model no optimizer holds: trainable, frozen or not known."""
    kind = UNKNOWN if atom.status == "?" or atom.nonempty is None else FREE
    if atom.status == "F":
        kind = FROZEN
    return _node(sim, key, atom, kind, None)


def _line(where: Any, node: cst.CSTNode) -> int:
    try:
        return where[node].start.line
    except KeyError:
        return 0


def _setters(sim: Simulation, where: Any, upto: int | None) -> dict[tuple[int, Path], int]:
    """For each atom, the line of the last freeze or unfreeze that changed it before event
    `upto` (each such event's snapshot against the next one's, or the end)."""
    seqs = sorted(sim.before)
    events = {e.seq: e for e in sim.events}
    out: dict[tuple[int, Path], int] = {}
    for index, seq in enumerate(seqs):
        event = events.get(seq)
        if not isinstance(event, RequiresGradSet) or (upto is not None and seq >= upto):
            continue
        after = sim.before[seqs[index + 1]].atoms if index + 1 < len(seqs) else sim.state
        before = sim.before[seq].atoms
        line = _line(where, event.anchor)
        for key, atom in after.items():
            old = before.get(key)
            if old is None or old.status != atom.status:
                out[key] = line
    return out


def _changes_later(sim: Simulation, opt: OptimizerState) -> bool:
    """Does the optimizer get param groups later, or its models' states change after it is
    built?"""
    if any(added is not None for added in opt.added_by):
        return True
    models = opt.models()
    if any(_norms_training(sim, m, None) != _norms_training(sim, m, opt.event.seq) for m in models):
        return True  # (a `.train()` after it puts frozen BatchNorm layers in train mode)
    return any(
        sim.state.get(key) != atom for key, atom in opt.built_state.items() if key[0] in models
    )


def _optimizer_map(
    sim: Simulation,
    opt: OptimizerState,
    moment: str,
    line: int,
    findings: list[tuple[str, int, str]],
    where: Any,
) -> OptimizerMap:
    groups_held = [i for i, added in enumerate(opt.added_by) if moment != "built" or added is None]
    state = opt.built_state if moment == "built" else sim.state
    others = [o for o in sim.optimizers.values() if o is not opt]
    upto = opt.event.seq if moment == "built" else None
    setters = _setters(sim, where, upto)

    def leaf(key: tuple[int, Path], atom: Atom) -> Node:
        return _leaf(sim, key, atom, opt, groups_held, others, state)

    trees = []
    for model in sorted(opt.models()):
        tree = _model_tree(sim, model, state, leaf, upto)
        if tree is None:
            continue
        place(tree, findings)
        set_on(tree, model, setters)
        trees.append((_model_label(sim, model), tree))
    event = opt.event
    name = f"`{event.var}` ({event.cls})" if event.var else f"`{event.cls}`"
    for call in event.via:  # (built in a helper: the call that got there)
        callee = code_of(call.func) if type(call) is cst.Call else code_of(call)
        name += f" through `{callee}(...)` on line {_line(where, call)}"
    groups = [
        Group(
            i,
            _option(opt, i, "lr"),
            _option(opt, i, "weight_decay"),
            _line(where, opt.added_by[i].anchor) if opt.added_by[i] is not None else None,  # type: ignore[union-attr]
        )
        for i in groups_held
    ]
    return OptimizerMap(name, line, moment, groups, trees, findings)


def _norms_training(sim: Simulation, model: int, upto: int | None) -> set[Path]:
    """The parameters of the BatchNorm layers a `.train()` before event `upto` left in train
    mode with all of them frozen (as FRZ009 finds them)."""
    atoms = sim.tables.get(model)
    out: set[Path] = set()
    if atoms is None:
        return out
    for event in sim.events:
        if getattr(event, "model", None) != model or (upto is not None and event.seq >= upto):
            continue
        for norm in frozen_norms_in_training(sim, event):
            out.update(tuple(p.name.split(".")) for p in atoms.table.params_under(norm))
    return out


def _in_training(node: Node, training: set[Path]) -> Node:
    if node.state in (FROZEN, WASTED) and node.path in training:
        node.norm_training = True
    return node


def _model_tree(
    sim: Simulation, model: int, state: dict, leaf: Any, upto: int | None
) -> Node | None:
    """The tree of one model's atoms in `state`, each made a node by `leaf(key, atom)`; the
    frozen BatchNorm layers a `.train()` before event `upto` put in train mode marked."""
    training = _norms_training(sim, model, upto)
    leaves = [
        _in_training(leaf(key, atom), training)
        for key, atom in state.items()
        if key[0] == model and atom.nonempty is not False
    ]
    if not leaves:
        return None
    # In the order the model registers them (the rest, and a model without a table, by path):
    # the same tree whatever order the simulation's state met them in.
    table = sim.tables.get(model)
    order = {path: i for i, path in enumerate(table.paths)} if table is not None else {}
    leaves.sort(key=lambda n: (order.get(n.path, len(order)), n.path))
    return build_tree(sim.timeline.model_vars.get(model) or "model", leaves)


def _model_label(sim: Simulation, model: int) -> str:
    var = sim.timeline.model_vars.get(model) or "model"
    if model in sim.tables:
        return f"`{var}`: {sim.tables[model].table.label()}"
    return f"`{var}`: no parameter table (its parts as the script names them)"


def _leaf(
    sim: Simulation,
    key: tuple[int, Path],
    atom: Atom,
    opt: OptimizerState,
    groups: list[int],
    others: list[OptimizerState],
    state: dict,
) -> Node:
    group = next(
        (i for i in groups if opt.groups[i].get((*key, atom.gen)) == YES),
        None,
    )
    if atom.status == "?" or atom.nonempty is None:
        kind = UNKNOWN
    elif atom.status == "F":
        kind = WASTED if group is not None else FROZEN
    elif group is not None:
        kind = TRAINED
    elif any(o.holds(key, atom.gen) == YES for o in others):
        kind = OTHER
    else:
        kind = IDLE
    return _node(sim, key, atom, kind, group if kind in (TRAINED, WASTED) else None)


def _node(sim: Simulation, key: tuple[int, Path], atom: Atom, kind: str, group: int | None) -> Node:
    model, path = key
    table = sim.tables.get(model)
    is_param = table is not None and path in table.param_paths
    numel = table.numel(path) if is_param and atom.gen == 0 else None  # type: ignore[union-attr]
    return Node(
        region_text(sim, model, path),
        path,
        tensors=1 if is_param else 0,
        elements=numel,
        state=kind,
        group=group,
        opaque=not is_param,
    )


def _option(opt: OptimizerState, index: int, name: str) -> str:
    """A param group's option as written (its own, else the constructor's), or "default"."""
    for key, value in opt.group_specs[index].options:
        if key == name:
            return code_of(value)
    call = opt.event.node
    if type(call) is cst.Call:
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == name:
                return code_of(arg.value)
    return "default"
