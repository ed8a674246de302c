"""A param group is added to an optimizer an LR scheduler was already built on.

## What it does
Finds `optimizer.add_param_group(...)` after a `torch.optim.lr_scheduler` scheduler was built on
that optimizer, when the scheduler is stepped afterwards and not built again. With `LambdaLR`,
`MultiplicativeLR`, `OneCycleLR`, `CyclicLR`, `CosineAnnealingWarmRestarts` and `SequentialLR`
the next `scheduler.step()` raises; `LinearLR` and `ConstantLR` run but raise the new group's
learning rate by what is left of a warm-up it was never scaled down for (up to
`1 / start_factor`, `1 / factor` times the lr it was added with). `StepLR`, `MultiStepLR`,
`ExponentialLR`, `CosineAnnealingLR`, `PolynomialLR` and `ReduceLROnPlateau` cope, and are
not reported.

## Why is this bad?
This is the classic two-phase fine-tune: train the head, then unfreeze the backbone at some
epoch and add it as a param group, keeping the scheduler. The scheduler keeps one value per
param group it saw when it was built: at the next step it zips them against one group more and
raises (`zip() argument 2 is shorter than argument 1`, `KeyError: 'initial_lr'`), hours into a
run; or it silently trains the new group at several times the learning rate it was given.

## Example
```python
import torch
import torchvision
from torch import nn
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
model.requires_grad_(False)
model.fc = nn.Linear(512, 3)
optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.95**epoch)
for epoch in range(4):
    if epoch == 2:
        model.layer4.requires_grad_(True)
        optimizer.add_param_group({"params": model.layer4.parameters(), "lr": 1e-3})
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
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.95**epoch)
for epoch in range(4):
    if epoch == 2:
        model.layer4.requires_grad_(True)
        optimizer.add_param_group({"params": model.layer4.parameters(), "lr": 1e-3})
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 0.95**epoch)
    optimizer.step()
    scheduler.step()
```

## Fix safety
None: how to rebuild the scheduler (its arguments, the epoch it resumes from) is the script's
to decide. The message says to build it again after adding the group, or to add the group
before building it.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, Severity
from freezelint.rules.base import scheduler_text
from freezelint.rules.common import breaking_scheduler
from freezelint.script import recognize
from freezelint.script.events import ParamGroupAdded, SchedulerBuilt, SchedulerStepped
from freezelint.simulation.replay import Simulation

CODE = "FRZ017"
NAME = "param-group-after-scheduler"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "none"
NO_FIX = (
    "how to rebuild the scheduler (its arguments, the epoch it resumes from) is the script's "
    "choice: build it again after adding the group, or add the group before building it"
)


def check(sim: Simulation) -> Iterator[Finding]:
    seen: set[int] = set()
    for added in sim.events:
        if not isinstance(added, ParamGroupAdded) or id(added.node) in seen:
            continue
        built = stale_scheduler(sim, added)
        if built is None:
            continue
        seen.add(id(added.node))
        yield Finding(
            CODE,
            added.node,
            _message(built),
            (built.node,),
            event=added,
        )


def stale_scheduler(sim: Simulation, added: ParamGroupAdded) -> SchedulerBuilt | None:
    """The scheduler built on this optimizer before the group was added, that does not cope
    with a new group, is not built again after it, and is stepped after it."""
    built = breaking_scheduler(sim, added.optimizer, added)
    if built is None:
        return None
    if any(
        isinstance(e, SchedulerBuilt) and e.optimizer == added.optimizer
        for e in sim.events[added.seq + 1 :]
    ):
        return None  # built again after the group was added
    stepped = any(
        isinstance(e, SchedulerStepped)
        and e.scheduler == built.scheduler
        and sim.may_follow(added, e)
        for e in sim.events
    )
    return built if stepped else None


def _message(built: SchedulerBuilt) -> str:
    name = scheduler_text(built)
    advice = "build the scheduler again after adding the group, or add the group before building it"
    if built.cls in recognize.SCHEDULERS_RAISING:
        return (
            f"param group added after scheduler {name} was built on this optimizer (line @L0): "
            f"its next `step()` raises, since it keeps one value per group it was built with; "
            f"{advice}"
        )
    argument, default = recognize.SCHEDULERS_MISSCALING[built.cls]
    factor = dict(built.kwargs).get(argument, default)
    most = (
        f"up to {1 / factor:.3g} times"
        if isinstance(factor, int | float) and not isinstance(factor, bool) and factor
        else f"up to 1/{argument} times"
    )
    return (
        f"param group added after scheduler {name} was built on this optimizer (line @L0): "
        f"the new group was never scaled down by the warm-up, but what is left of it scales "
        f"the group up: it ends above the lr it was added with ({most}); {advice}"
    )
