"""One parameter is in two param groups of one optimizer.

## What it does
Finds an optimizer (with the groups later added by `add_param_group`) in which two param groups
share parameters, e.g. `{"params": model.parameters()}` next to
`{"params": model.head.parameters(), "lr": 1e-3}`.

## Why is this bad?
`torch.optim` raises `ValueError: some parameters appear in more than one parameter group` when
the optimizer is built (or the group is added): the script crashes, often after a long data
loading start-up.

## Example
```python
import torch
import torch.nn as nn
import torchvision
import timm
model = timm.create_model("vit_base_patch16_224", pretrained=True, num_classes=10)
optimizer = torch.optim.AdamW([
    {"params": model.parameters(), "lr": 1e-5},
    {"params": model.head.parameters(), "lr": 1e-3},
])
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
import timm
model = timm.create_model("vit_base_patch16_224", pretrained=True, num_classes=10)
head = set(model.head.parameters())
optimizer = torch.optim.AdamW([
    {"params": [p for p in model.parameters() if p not in head], "lr": 1e-5},
    {"params": model.head.parameters(), "lr": 1e-3},
])
```

## Fix safety
Unsafe: excluding the narrower group's parameters from the broader one restructures the groups.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.diagnostics import Finding, Severity
from freezelint.extract.syntax import child_nodes
from freezelint.fixes import UNSAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text
from freezelint.rules.common import modules_text, params_expression, plural, verified
from freezelint.simulate import YES, OptimizerState, Simulation

CODE = "FRZ007"
NAME = "duplicate-param-groups"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "yes, unless obvious"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    for opt in sim.optimizers.values():
        for i, first in enumerate(opt.groups):
            for j in range(i + 1, len(opt.groups)):
                shared = []
                for key, membership in first.items():
                    atom = opt.built_state.get(key[:2])
                    if (
                        membership == YES
                        and opt.groups[j].get(key) == YES
                        and atom is not None
                        and atom.nonempty
                        and key[:2] not in shared
                    ):
                        shared.append(key[:2])
                if shared:
                    count = (
                        f" ({plural(len(shared), 'tensor')})" if shared[0][0] in sim.tables else ""
                    )
                    yield Finding(
                        CODE,
                        opt.event.anchor,
                        f"param groups {i} and {j} of optimizer {optimizer_text(opt.event)} both "
                        f"hold {modules_text(sim, shared)}{count}: torch.optim raises ValueError "
                        f"(some parameters appear in more than one parameter group)",
                        verified=verified(sim, shared),
                        fix=_fix(opt, i, j),
                    )


def _fix(opt: OptimizerState, i: int, j: int):
    """Leave the narrower group's parameters out of the broader one."""
    if opt.event.site is not None:
        return None
    wide, narrow = (i, j) if len(opt.groups[i]) >= len(opt.groups[j]) else (j, i)
    wide_expression = params_expression(opt.group_specs[wide].node)
    narrow_expression = params_expression(opt.group_specs[narrow].node)
    if not (
        isinstance(narrow_expression, cst.Call)
        and isinstance(narrow_expression.func, cst.Attribute)
        and narrow_expression.func.attr.value == "parameters"
        and wide_expression is not None
        and _inside(wide_expression, opt.event.node)
    ):
        return None

    def build(ctx: FixContext) -> Fix:
        wide_code, narrow_code = ctx.iterable_code(wide_expression), ctx.code(narrow_expression)
        return Fix(
            UNSAFE,
            f"Leave `{narrow_code}` out of param group {wide}",
            (
                ctx.replace(
                    wide_expression,
                    f"[p for p in {wide_code} if not any(p is q for q in {narrow_code})]",
                ),
            ),
        )

    return build


def _inside(node: cst.CSTNode, call: cst.CSTNode) -> bool:
    """Is `node` part of the optimizer call (not of a later `add_param_group`)?"""
    stack = [call]
    while stack:
        cur = stack.pop()
        if cur is node:
            return True
        stack.extend(child_nodes(cur))
    return False
