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

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Edit, Fix, FixContext
from freezelint.rules.base import optimizer_text
from freezelint.rules.common import params_expression
from freezelint.script.events import OptimizerBuilt, ParamGroup, ParamGroupAdded
from freezelint.simulation.replay import Simulation

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
                        fix=_fix_in_list(event, group),
                        event=event,
                    )
        elif isinstance(event, ParamGroupAdded) and event.group.lr_zero:
            yield Finding(
                CODE,
                event.group.node,
                f"param group added with lr 0: its parameters {_WHY}",
                fix=_fix_added(event),
                event=event,
            )


def _freeze_lines(ctx: FixContext, params: cst.CSTNode) -> list[str]:
    var = ctx.fresh_name("param", "frozen_param")
    return [f"for {var} in {ctx.code(params)}:", f"    {var}.requires_grad = False"]


def _fix_in_list(event: OptimizerBuilt, group: ParamGroup):
    """Freeze the group's parameters before the optimizer and drop the group from its list."""
    params = params_expression(group.node)
    statement = event.local  # inside the helper when the optimizer is built in one
    groups = event.node.args[0].value if type(event.node) is cst.Call and event.node.args else None
    if (
        params is None
        or statement is None
        or type(groups) is not cst.List
        or len(groups.elements) < 2
        or not any(e.value is group.node for e in groups.elements)
        or not _parameters_call(params)
    ):
        return NoFix(
            "the groups are not written as a list literal of `.parameters()` groups in the "
            "constructor: the fix cannot take this one out"
        )
    values = [e.value for e in groups.elements]
    index = next(i for i, v in enumerate(values) if v is group.node)

    def build(ctx: FixContext) -> Fix:
        lines = _freeze_lines(ctx, params)
        # The group's text goes, with the separator after it (before it, for the last one):
        # the other groups keep their lines and indentation as written.
        if index + 1 < len(values):
            drop = Edit(ctx.span(values[index])[0], ctx.span(values[index + 1])[0], "")
        else:
            drop = Edit(ctx.span(values[index - 1])[1], ctx.span(values[index])[1], "")
        start = ctx.lines.starts[ctx.positions[statement].start.line - 1]
        indent = ctx.indent(statement)
        nl = ctx.lines.newline
        before = "".join(
            f"{indent}{line.replace('    ', ctx.indent_unit, 1)}{nl}" for line in lines
        )
        return Fix(
            UNSAFE,
            "Freeze the group's parameters instead of lr 0",
            (Edit(start, start, before), drop),
        )

    return build


def _fix_added(event: ParamGroupAdded):
    """`opt.add_param_group({"params": X, "lr": 0})` -> freeze X instead."""
    params = params_expression(event.group.node)
    statement = event.local
    if (
        params is None
        or type(statement) is not cst.SimpleStatementLine
        or len(statement.body) != 1
        or not _parameters_call(params)
    ):
        return NoFix(
            "the group is not added by a statement of its own with a `.parameters()` call: the fix"
            " cannot turn it into a freeze"
        )

    def build(ctx: FixContext) -> Fix:
        lines = _freeze_lines(ctx, params)
        body = (
            f"{lines[0]}{ctx.lines.newline}{ctx.indent(statement)}{ctx.indent_unit}"
            f"{lines[1].strip()}"
        )
        return Fix(
            UNSAFE,
            "Freeze these parameters instead of adding them with lr 0",
            (ctx.replace(statement.body[0], body),),
        )

    return build


def _parameters_call(node: cst.CSTNode) -> bool:
    """`X.parameters()`: evaluating it again where the fix freezes is harmless."""
    return (
        type(node) is cst.Call
        and type(node.func) is cst.Attribute
        and node.func.attr.value == "parameters"
    )
