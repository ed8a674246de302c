"""Trainable parameters are in no optimizer.

## What it does
Finds parameters that are trainable (`requires_grad=True`) when an optimizer over their model is
built, that are in none of its param groups nor in any other optimizer, and that nothing adds or
freezes later.

## Why is this bad?
They get gradients (time and memory on every step) but never update. Typical causes: an optimizer
over the head only while the backbone was never frozen; param groups built from name filters
that leave the stem or the final norm out.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.fc = nn.Linear(2048, 10)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
model.fc = nn.Linear(2048, 10)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01)
```

## Fix safety
Unsafe: whether the left-out parameters were meant to be frozen or trained is a guess; the
message says which parameters are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text
from freezelint.rules.common import (
    atoms_text,
    changes_after,
    elements,
    modules_text,
    plural,
    tensors,
    verified,
)
from freezelint.script.extract.syntax import child_nodes
from freezelint.script.imports import dotted
from freezelint.simulation.replay import Key, OptimizerState, Simulation

CODE = "FRZ006"
NAME = "trainable-not-optimized"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "yes, unless obvious"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    if any(opt.opaque for opt in sim.optimizers.values()):
        return  # parameters could be anywhere
    held = {k for opt in sim.optimizers.values() for group in opt.groups for k in group}
    reported: set[Key] = set()
    for opt in sim.optimizers.values():
        left_out: list[Key] = []
        touched = opt.models()
        unseen = sim.timeline.unseen_callbacks
        for key, atom in opt.built_state.items():
            if (
                atom.status == "T"
                and atom.nonempty
                and atom.gen >= 0
                and key[0] in touched
                and key[0] not in unseen
                and (key[0], key[1], atom.gen) not in held
                and key not in reported
                and not _changed_later(sim, opt.event, key)
            ):
                left_out.append(key)
        if left_out:
            reported.update(left_out)
            counted = tensors(sim, left_out, opt.built_state)
            # Atoms of these models whose state is not known and that no group holds: some
            # may be trainable too.
            unknown = any(
                key[0] in touched
                and (atom.status == "?" or atom.nonempty is None)
                and atom.nonempty is not False
                and atom.status != "F"
                and (*key, atom.gen) not in held
                for key, atom in opt.built_state.items()
            )
            if counted:
                size = "" if counted[1] is None else f", {elements(counted[1])} elements"
                what = (
                    f"{'at least ' if unknown else ''}"
                    f"{plural(counted[0], 'trainable tensor')}{size} "
                    f"({modules_text(sim, left_out)}) {'is' if counted[0] == 1 else 'are'}"
                )
            else:
                verb = "is" if len(left_out) == 1 else "are"
                what = f"{atoms_text(sim, left_out)} {verb} trainable but"
            yield Finding(
                CODE,
                opt.event.anchor,
                f"{what} in no param group of optimizer {optimizer_text(opt.event)} nor any "
                f"other optimizer: gradients are computed but never applied; freeze them or add "
                f"a param group",
                verified=verified(sim, left_out),
                fix=_fix(opt),
                event=opt.event,
            )


def _fix(opt: OptimizerState):
    """Freeze what the optimizer leaves out, right after it is built (unsafe: it may have been
    meant to train instead)."""
    event = opt.event
    roots = {_root(g.node) for g in event.groups}
    if event.var is None or not _assigns(event.local, event.var) or len(roots) != 1:
        return NoFix(
            "the optimizer is not assigned to a variable in this statement, or its groups come "
            "from more than one model: which parameters to freeze is not one expression"
        )
    root = roots.pop()
    if root is None or root == "self":
        return NoFix(
            "the groups come from `self` (perhaps a trainer holding the model, with no "
            "`.parameters()` of its own): freezing `self` is a guess"
        )
    var, statement = event.var, event.local  # inside the helper when the optimizer is built in one

    def build(ctx: FixContext) -> Fix:
        held = ctx.fresh_name("held", "optimized")
        item = ctx.fresh_name("param", "left_out")
        q = ctx.quote
        lines = [
            f"{held} = {{p for group in {var}.param_groups for p in group[{q}params{q}]}}",
            f"for {item} in {root}.parameters():",
            f"    if {item} not in {held}:",
            f"        {item}.requires_grad = False",
        ]
        return Fix(
            UNSAFE,
            f"Freeze the parameters `{var}` leaves out",
            (ctx.insert_lines_after(statement, lines),),
        )

    return build


def _root(node: cst.CSTNode) -> str | None:
    """The variable the parameters come from: `model` in `model.fc.parameters()`."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if (
            type(cur) is cst.Call
            and type(cur.func) is cst.Attribute
            and cur.func.attr.value in ("parameters", "named_parameters")
        ):
            owner = cur.func.value
            while type(owner) in (cst.Attribute, cst.Subscript):
                owner = owner.value
            return owner.value if type(owner) is cst.Name else None
        stack.extend(child_nodes(cur))
    return None


def _changed_later(sim: Simulation, built, key: Key) -> bool:
    return any(sim.touches(sel, key) for sel in changes_after(sim, built, key[0], True))


def _assigns(statement: cst.CSTNode | None, var: str) -> bool:
    """Is `statement` the assignment binding the optimizer to `var`? (Inside a helper that
    returns it, `var` is the caller's name: there is no statement to insert after.)"""
    if type(statement) is not cst.SimpleStatementLine or len(statement.body) != 1:
        return False
    small = statement.body[0]
    targets = (
        [t.target for t in small.targets]
        if type(small) is cst.Assign
        else [small.target]
        if type(small) is cst.AnnAssign
        else []
    )
    return any(dotted(t) == var for t in targets)
