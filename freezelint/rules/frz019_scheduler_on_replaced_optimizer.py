"""A new optimizer replaces the one a scheduler was built on, and the old scheduler is stepped.

## What it does
Finds a `torch.optim.lr_scheduler` scheduler built on an optimizer that the script then
replaces (the same variable or attribute bound to a new optimizer, typically at the unfreeze
epoch of a two-phase fine-tune), when the old scheduler keeps being stepped and no scheduler is
built on the new optimizer.

## Why is this bad?
The scheduler changes the learning rate of an optimizer nobody steps any more; the new one
runs at a constant learning rate for the rest of training. Nothing fails, the warm-up or decay
the script was written with silently stops at the unfreeze.

## Example
```python
import torch
import torchvision
from torch import nn
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
model.requires_grad_(False)
model.fc = nn.Linear(512, 3)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
for epoch in range(4):
    if epoch == 2:
        model.requires_grad_(True)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    optimizer.step()
    scheduler.step()
```

## Use instead
```python
import torch
import torchvision
from torch import nn
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
model.requires_grad_(False)
model.fc = nn.Linear(512, 3)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
for epoch in range(4):
    if epoch == 2:
        model.requires_grad_(True)
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    optimizer.step()
    scheduler.step()
```

## Fix safety
Unsafe: the scheduler is built again, with the same arguments, right after the new optimizer.
Its schedule then starts over (the epoch count restarts), which may or may not be what the
script meant. Offered only where the scheduler's call names the optimizer by the variable the
new optimizer is bound to and every other name it reads is visible there.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.rules.base import scheduler_text
from freezelint.script.events import OptimizerBuilt, SchedulerBuilt, SchedulerStepped
from freezelint.script.extract.syntax import code_of, names_in
from freezelint.script.imports import dotted
from freezelint.simulation.replay import Simulation

CODE = "FRZ019"
NAME = "scheduler-on-replaced-optimizer"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    seen: set[tuple[int, int]] = set()
    for built in sim.events:
        if not isinstance(built, SchedulerBuilt):
            continue
        state = sim.optimizers.get(built.optimizer)
        old = state.event if state is not None else None
        if old is None or old.var is None:
            continue
        for new in sim.events[built.seq + 1 :]:
            if not (
                isinstance(new, OptimizerBuilt)
                and new.var == old.var
                and new.optimizer != old.optimizer
            ):
                continue
            if _scheduled(sim, new) or not _stepped_after(sim, built, new):
                continue
            if (id(new.node), id(built.node)) in seen:
                continue
            seen.add((id(new.node), id(built.node)))
            name = scheduler_text(built)
            yield Finding(
                CODE,
                new.anchor,
                f"this optimizer replaces `{old.var}`, which scheduler {name} (line @L0) was "
                f"built on; the scheduler keeps being stepped but schedules the old optimizer: "
                f"this one runs at a constant lr; build the scheduler again on it",
                (built.node,),
                fix=_fix(sim, built, new),
                event=new,
            )


def _scheduled(sim: Simulation, new: OptimizerBuilt) -> bool:
    return any(isinstance(e, SchedulerBuilt) and e.optimizer == new.optimizer for e in sim.events)


def _stepped_after(sim: Simulation, built: SchedulerBuilt, new: OptimizerBuilt) -> bool:
    return any(
        isinstance(e, SchedulerStepped)
        and e.scheduler == built.scheduler
        and sim.may_follow(new, e)
        for e in sim.events
    )


def _fix(sim: Simulation, built: SchedulerBuilt, new: OptimizerBuilt):
    """`scheduler = <the same call>` right after the new optimizer's assignment."""
    call, statement, at = built.node, built.local, new.local
    if (
        built.var is None
        or type(call) is not cst.Call
        or not call.args
        or dotted(call.args[0].value) != new.var
        or not _assigns(statement, built.var)
        or not _assigns(at, new.var)
    ):
        return NoFix(
            "the scheduler is not built by a plain assignment on the old optimizer's variable, or "
            "the new optimizer is not assigned to that variable"
        )
    if built.trail != new.trail:
        # Another function or method: only names every scope sees (`self`, imports).
        visible = {"self", *sim.timeline.imported}
        if not names_in(call) <= visible:
            return NoFix(
                "the scheduler is built in another function with names the new optimizer's place "
                "does not see"
            )
    text = f"{built.var} = {code_of(call)}"
    if "\n" in text:
        return NoFix(
            "the scheduler's construction spans several lines: the fix repeats only a one-line "
            "statement"
        )

    def build(ctx: FixContext) -> Fix:
        return Fix(
            UNSAFE,
            f"Build `{built.var}` again on the new optimizer",
            (ctx.insert_after(at, text),),
        )

    return build


def _assigns(statement: cst.CSTNode | None, var: str) -> bool:
    return (
        type(statement) is cst.SimpleStatementLine
        and len(statement.body) == 1
        and type(statement.body[0]) is cst.Assign
        and any(dotted(t.target) == var for t in statement.body[0].targets)
    )
