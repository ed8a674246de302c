"""A param group has a learning rate of 0 instead of being frozen.

## What it does
Finds param groups (a dict in the optimizer's list, an `add_param_group` call, or the optimizer's
own `lr=0` for groups without their own `lr`) whose learning rate is the literal `0`. Files that
set learning rates themselves (`group["lr"] = ...` in the training loop, `OneCycleLR`,
`CyclicLR`) are not reported: there 0 is only the starting value.

## Why is this bad?
Parameters with lr 0 still get gradients (time and memory), still get optimizer state (Adam keeps
two buffers per parameter), and with decoupled weight decay (`AdamW`) or momentum they still
move. Freezing is the way to hold parameters still.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.efficientnet_b0(weights="DEFAULT")
optimizer = torch.optim.AdamW([
    {"params": model.features.parameters(), "lr": 0},
    {"params": model.classifier.parameters(), "lr": 1e-3},
])
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.efficientnet_b0(weights="DEFAULT")
model.features.requires_grad_(False)
optimizer = torch.optim.AdamW(model.classifier.parameters(), lr=1e-3)
```

## Fix safety
Unsafe: freezing changes what the optimizer holds and may change weight decay behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.diagnostics import Finding, Severity
from freezelint.events import OptimizerBuilt, ParamGroupAdded
from freezelint.rules.base import optimizer_text
from freezelint.simulate import Simulation

CODE = "FRZ010"
NAME = "zero-lr-group"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "no"
FIX = "unsafe"

_WHY = (
    "still get gradients, optimizer state and, with weight decay or momentum, updates; "
    "freeze them instead"
)


def check(sim: Simulation) -> Iterator[Finding]:
    if sim.timeline.lr_scheduled:
        return  # the script sets learning rates itself: 0 is only where it starts
    for event in sim.events:
        if isinstance(event, OptimizerBuilt):
            for index, group in enumerate(event.groups):
                if group.lr_zero:
                    yield Finding(
                        CODE,
                        group.node,
                        f"param group {index} of {optimizer_text(event)} has lr 0: its "
                        f"parameters {_WHY}",
                    )
        elif isinstance(event, ParamGroupAdded) and event.group.lr_zero:
            yield Finding(
                CODE, event.group.node, f"param group added with lr 0: its parameters {_WHY}"
            )
