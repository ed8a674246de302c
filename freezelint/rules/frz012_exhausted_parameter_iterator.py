"""The optimizer is handed a parameter iterator that was already used up.

## What it does
Finds `params = model.parameters()` (or `named_parameters()`, `filter(...)`, a generator
expression: any one-shot iterator) that is consumed (a `for` loop, `list(...)`, `sum(...)`, an
earlier optimizer) before it is handed to an optimizer.

## Why is this bad?
A generator can be iterated once. The optimizer receives nothing and `torch.optim` raises
"optimizer got an empty parameter list", or, with param groups, that group silently trains
nothing.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet18(weights="DEFAULT")
params = model.parameters()
print(sum(p.numel() for p in params))
optimizer = torch.optim.SGD(params, lr=0.01)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet18(weights="DEFAULT")
params = list(model.parameters())
print(sum(p.numel() for p in params))
optimizer = torch.optim.SGD(params, lr=0.01)
```

## Fix safety
Safe: `list(...)` where the iterator is bound keeps every later use working.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.diagnostics import Finding, Severity
from freezelint.events import IteratorBound, IteratorConsumed, OptimizerBuilt, ParamGroupAdded
from freezelint.fixes import SAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text
from freezelint.simulate import Simulation

CODE = "FRZ012"
NAME = "exhausted-parameter-iterator"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "safe"


def exhausted_groups(sim: Simulation, event: OptimizerBuilt | ParamGroupAdded):
    """(group index, iterator binding, consuming event) for each exhausted group."""
    groups = event.groups if isinstance(event, OptimizerBuilt) else (event.group,)
    for index, group in enumerate(groups):
        if group.iterator is None:
            continue
        for other in sim.events[: event.seq]:
            if isinstance(other, IteratorConsumed) and other.binding == group.iterator:
                yield index, group.iterator, other
                break


def check(sim: Simulation) -> Iterator[Finding]:
    bound = {e.binding: e for e in sim.events if isinstance(e, IteratorBound)}
    for event in sim.events:
        if not isinstance(event, OptimizerBuilt | ParamGroupAdded):
            continue
        for _, binding, consumer in exhausted_groups(sim, event):
            var = bound[binding].var if binding in bound else "the iterator"
            what = (
                optimizer_text(event) if isinstance(event, OptimizerBuilt) else "`add_param_group`"
            )
            used = {
                "optimizer": "an earlier optimizer",
                "for loop": "a `for` loop",
                "comprehension": "a comprehension",
            }.get(consumer.how, f"`{consumer.how}(...)`")
            yield Finding(
                CODE,
                event.anchor,
                f"{what} is handed `{var}`, a parameter iterator already consumed by "
                f"{used} on line @L0: it receives no parameters; bind "
                f"`list(...)` instead",
                (consumer.node,),
                fix=_fix(bound.get(binding)),
                event=event,
            )


def _fix(bound: IteratorBound | None):
    """Materialise the iterator where it is bound: `params = list(model.parameters())`."""
    if bound is None or not isinstance(bound.node, cst.Assign):
        return None
    value = bound.node.value

    def build(ctx: FixContext) -> Fix:
        code = ctx.code(value)
        if isinstance(value, cst.GeneratorExp) and code.startswith("(") and code.endswith(")"):
            code = code[1:-1]
        return Fix(
            SAFE, f"Bind `list(...)` to `{bound.var}`", (ctx.replace(value, f"list({code})"),)
        )

    return build
