"""Parameters are unfrozen after the optimizer was built without them.

## What it does
Finds an unfreeze (`requires_grad_(True)`, `p.requires_grad = True` over a module's parameters)
of parameters that were frozen when the optimizer of their model was built and that it therefore
does not hold (it was given only trainable parameters, or another part of the model), when
neither `add_param_group` nor a rebuilt optimizer picks them up afterwards.

## Why is this bad?
The "progressive unfreezing" does nothing: the unfrozen parameters get gradients (time and
memory) but the optimizer never steps them.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
model.fc.requires_grad_(True)
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01)
for epoch in range(10):
    if epoch == 5:
        model.layer4.requires_grad_(True)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
model.fc.requires_grad_(True)
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01)
for epoch in range(10):
    if epoch == 5:
        model.layer4.requires_grad_(True)
        optimizer.add_param_group({"params": model.layer4.parameters()})
```

When the optimizer already holds part of what is unfrozen (a whole model unfrozen after a
head-only warm-up), a group of all of it would hold that part twice, which torch refuses
(`ValueError: some parameters appear in more than one parameter group`): the message names the
part held, and the group to add is of the parameters the optimizer does not hold yet.

## Fix safety
Safe: `optimizer.add_param_group({"params": ...})` right after the unfreeze adds exactly what was
unfrozen; where the optimizer holds part of it, the group is of the module's parameters whose
`id` is in none of its groups (two lines: the ids held, then the group).
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text, region_text, scheduler_text
from freezelint.rules.common import (
    breaking_scheduler,
    module_text,
    modules_text,
    plural,
    tensors,
    verified,
)
from freezelint.script.events import OptimizerBuilt, ParamGroupAdded, RequiresGradSet
from freezelint.script.selection import NameWhere, Region, leaves
from freezelint.simulation.replay import YES, Atom, Key, OptimizerState, Simulation

CODE = "FRZ008"
NAME = "unfreeze-not-in-optimizer"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no (counts: yes)"
FIX = "safe"


_BY_NAME = NoFix(
    "the unfrozen parameters are chosen by a name filter: there is no module expression to add "
    "them to the optimizer by"
)


def check(sim: Simulation) -> Iterator[Finding]:
    for event in sim.events:
        if not isinstance(event, RequiresGradSet) or event.value is not True:
            continue
        snapshot = sim.before[event.seq]
        for leaf in leaves(event.selection):
            if isinstance(leaf, Region):
                region, chosen = leaf, sim.atoms_under(leaf.model, leaf.path)
            elif isinstance(leaf, NameWhere) and isinstance(leaf.base, Region):
                # A name filter, over a model with a parameter table: what it certainly selects.
                region = leaf.base
                chosen = [(key, True) for key, picked in sim.selected(leaf).items() if picked]
            else:
                continue
            frozen = [
                key
                for key, certain in chosen
                if certain
                and key in snapshot.atoms
                and snapshot.atoms[key].status == "F"
                and snapshot.atoms[key].nonempty
            ]
            earlier = [
                o
                for o in sim.optimizers.values()
                if o.event.seq < event.seq and region.model in o.models()
            ]
            if not frozen or not earlier or any(o.opaque for o in earlier):
                continue
            missing = [
                key
                for key in frozen
                if not _held_before(snapshot, earlier, key) and not _taken_later(sim, event, key)
            ]
            if missing:
                opt = earlier[-1].event
                whole = isinstance(leaf, Region) and len(missing) == len(frozen)
                held = [k for k, _ in chosen if _held_before(snapshot, earlier, k)]
                if whole and held:
                    # Part of what is unfrozen is held already (the head of a warm-up): a
                    # group of all of it would hold that part twice (ValueError).
                    yield _partly_held(sim, event, leaf, earlier[-1], missing, held)
                    continue
                what = (
                    f"`{region_text(sim, leaf.model, leaf.path)}`"
                    if whole
                    else (
                        module_text(sim, region.model, missing)
                        or f"part of {modules_text(sim, missing)}"
                    )
                )
                yield Finding(
                    CODE,
                    event.anchor,
                    f"{what} is unfrozen after optimizer "
                    f"{optimizer_text(opt)} was built on line @L0 without it: its parameters "
                    f"get gradients but never update; add them with "
                    f"`{opt.var or 'optimizer'}.add_param_group(...)`"
                    f"{_rebuild(sim, opt, event)}",
                    (opt.anchor,),
                    verified=verified(sim, missing),
                    # A name filter's parameters have no module expression to add them by.
                    fix=_fix(sim, event, leaf, earlier[-1]) if whole else _BY_NAME,
                    event=event,
                )


def _partly_held(
    sim: Simulation,
    event: RequiresGradSet,
    region: Region,
    opt: OptimizerState,
    missing: list[Key],
    held: list[Key],
) -> Finding:
    """The unfreeze of a module part of which the optimizer holds already: name what to add
    (the parameters it does not hold) and write it."""
    built = opt.event
    var = built.var or "optimizer"
    counted = tensors(sim, missing, sim.before[event.seq].atoms)
    other = f"the other {plural(counted[0], 'tensor')}" if counted else "its other parameters"
    held_text = module_text(sim, region.model, held) or modules_text(sim, held)
    whole = region_text(sim, region.model, region.path)
    return Finding(
        CODE,
        event.anchor,
        f"`{whole}` is unfrozen after optimizer {optimizer_text(built)} was built on line @L0 "
        f"with only {held_text} of it: {other} get gradients but never update; add a group "
        f"of the parameters `{var}` does not hold yet (a group of all of "
        f"`{whole}.parameters()` would put {held_text} in two groups: ValueError)"
        f"{_rebuild(sim, built, event)}",
        (built.anchor,),
        verified=verified(sim, missing),
        fix=_fix(sim, event, region, opt, partly_held=True),
        event=event,
    )


def _rebuild(sim: Simulation, optimizer: OptimizerBuilt, unfreeze: RequiresGradSet) -> str:
    scheduler = breaking_scheduler(sim, optimizer.optimizer, unfreeze)
    if scheduler is None:
        return ""
    name = scheduler_text(scheduler)
    return f", then build scheduler {name} again (a group added after it breaks it, FRZ017)"


def _fix(
    sim: Simulation,
    unfreeze: RequiresGradSet,
    region: Region,
    opt: OptimizerState,
    partly_held: bool = False,
):
    """`optimizer.add_param_group({"params": <what was unfrozen>.parameters()})` right after
    the unfreeze, when the optimizer holds none of it; when it holds part of it
    (`partly_held`), a group of the unfrozen parameters it does not hold yet."""
    statement = unfreeze.statement
    if opt.event.var is None or opt.event.scope != unfreeze.scope or statement is None:
        return NoFix(
            "the optimizer has no variable, or the unfreeze is in another function than the "
            "optimizer: the fix cannot name the optimizer where the unfreeze is"
        )
    if breaking_scheduler(sim, opt.event.optimizer, unfreeze) is not None:
        # A group added now would break that scheduler (FRZ017): rebuilding it is the
        # script's to decide, so no fix.
        return NoFix(
            "a group added now would break the scheduler built on this optimizer (FRZ017): how to "
            "rebuild it is the script's choice"
        )
    atoms = sim.atoms_under(region.model, region.path)
    state = sim.before[unfreeze.seq].atoms
    if not partly_held and any(
        opt.holds(key, state.get(key, Atom("?", 0, None)).gen) for key, _ in atoms
    ):
        return NoFix(
            "the optimizer already holds part of what is unfrozen: a group of all of it would "
            "repeat parameters"
        )
    owner = _unfrozen_module(statement)
    if owner is None:
        return NoFix(
            "the unfrozen part is not written as a module the fix can call `.parameters()` on"
        )
    var = opt.event.var
    if partly_held:
        return lambda ctx: _add_not_held(ctx, statement, owner, var)

    def build(ctx: FixContext) -> Fix:
        q = ctx.quote
        line = f"{var}.add_param_group({{{q}params{q}: {ctx.code(owner)}.parameters()}})"
        return Fix(
            SAFE, f"Add the unfrozen parameters to `{var}`", (ctx.insert_after(statement, line),)
        )

    return build


def _add_not_held(
    ctx: FixContext, statement: cst.CSTNode, owner: cst.BaseExpression, var: str
) -> Fix:
    """After the unfreeze: the ids of what `var` holds, then a group of the module's
    parameters that are not among them (split over lines past the line length)."""
    q = ctx.quote
    held = ctx.fresh_name("held", "held_ids")
    ids = f"{held} = {{id(p) for group in {var}.param_groups for p in group[{q}params{q}]}}"
    group = f"{{{q}params{q}: [p for p in {ctx.code(owner)}.parameters() if id(p) not in {held}]}}"
    call = f"{var}.add_param_group({group})"
    if len(ctx.indent(statement)) + len(call) > ctx.line_length:
        lines = [ids, f"{var}.add_param_group(", f"    {group}", ")"]
    else:
        lines = [ids, call]
    return Fix(
        SAFE,
        f"Add the unfrozen parameters `{var}` does not hold yet to it",
        (ctx.insert_lines_after(statement, lines),),
    )


def _unfrozen_module(statement: cst.CSTNode) -> cst.BaseExpression | None:
    """The module expression a statement unfreezes: `X.requires_grad_(True)`, `for p in
    X.parameters(): ...`, or a helper of this file called as `helper(X)`."""
    if (
        type(statement) is cst.For
        and type(statement.iter) is cst.Call
        and type(statement.iter.func) is cst.Attribute
        and statement.iter.func.attr.value in ("parameters", "named_parameters")
    ):
        return statement.iter.func.value
    if type(statement) is cst.SimpleStatementLine and len(statement.body) == 1:
        small = statement.body[0]
        call = small.value if type(small) is cst.Expr else None
        if (
            type(call) is cst.Call
            and type(call.func) is cst.Attribute
            and call.func.attr.value == "requires_grad_"
        ):
            return call.func.value
        if (
            type(call) is cst.Call
            and type(call.func) is cst.Name
            and len(call.args) == 1
            and call.args[0].keyword is None
        ):
            return call.args[0].value
    return None


def _held_before(snapshot, optimizers, key) -> bool:
    atom = snapshot.atoms[key]
    for opt in optimizers:
        for group in snapshot.optimizers.get(opt.event.optimizer, []):
            if group.get((*key, atom.gen)) is not None:
                return True
    return False


def _taken_later(sim: Simulation, unfreeze: RequiresGradSet, key) -> bool:
    for other in sim.events:
        if other is unfreeze or not sim.may_follow(unfreeze, other):
            continue
        if isinstance(other, OptimizerBuilt) and any(
            sim.touches(g.selection, key) for g in other.groups
        ):
            return True
        if isinstance(other, ParamGroupAdded) and sim.touches(other.group.selection, key) in (
            YES,
            "maybe",
        ):
            return True
    return False
