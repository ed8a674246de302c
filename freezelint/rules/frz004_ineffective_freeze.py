"""A statement looks like freezing but changes nothing.

## What it does
Finds three statements that read like a freeze and do nothing:
`module.requires_grad = False` (a plain attribute on an `nn.Module`, not on its parameters),
`p.requires_grad == False` written as a statement (a comparison whose result is thrown away), and
`p.requires_grad_ = False` (overwrites the method instead of calling it).

## Why is this bad?
The parameters stay trainable. The script trains the whole network while its author believes
the backbone is frozen: more memory, slower steps, and a different model than intended.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad = False
for child in model.children():
    child.requires_grad = False
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
```

## Fix safety
Safe: `requires_grad_(False)` on a module, `=` for `==`, a call instead of overwriting
`requires_grad_` do exactly what the statement meant.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixContext
from freezelint.script.events import IneffectiveFreeze
from freezelint.simulation.replay import Simulation

CODE = "FRZ004"
NAME = "ineffective-freeze"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "safe"

_MESSAGES = {
    "module-attribute": "`{t}.requires_grad = ...` sets a plain attribute on a module and "
    "freezes nothing; call `{t}.requires_grad_(...)`",
    "comparison": "`{t}` compares and throws the result away; use `=` to set `requires_grad`",
    "method-overwrite": "`{t}.requires_grad_ = ...` overwrites the method and freezes nothing; "
    "call `{t}.requires_grad_(...)`",
}


def check(sim: Simulation) -> Iterator[Finding]:
    for event in sim.events:
        if isinstance(event, IneffectiveFreeze):
            yield Finding(
                CODE,
                event.node,
                _MESSAGES[event.kind].format(t=event.target),
                fix=_fix(event.node),
                event=event,
            )


def _fix(node: cst.CSTNode):
    """`x.requires_grad = v` -> `x.requires_grad_(v)`; `==` -> `=`; `x.requires_grad_ = v` ->
    `x.requires_grad_(v)`."""
    if type(node) is cst.Assign and len(node.targets) == 1:
        target = node.targets[0].target
        if type(target) is not cst.Attribute:
            return NoFix(
                "the assignment's target is not an attribute (`x.requires_grad = ...`) the fix can"
                " turn into a call"
            )

        def build(ctx: FixContext) -> Fix:
            owner, value = ctx.code(target.value), ctx.code(node.value)
            return Fix(
                SAFE,
                f"Call `{owner}.requires_grad_({value})`",
                (ctx.replace(node, f"{owner}.requires_grad_({value})"),),
            )

        return build
    if type(node) is cst.Expr and type(node.value) is cst.Comparison:
        comparison = node.value
        if len(comparison.comparisons) != 1:
            return NoFix("a chained comparison: which part is the intended assignment is unclear")

        def build_assign(ctx: FixContext) -> Fix:
            left = ctx.code(comparison.left)
            right = ctx.code(comparison.comparisons[0].comparator)
            return Fix(
                SAFE, "Use `=` to set `requires_grad`", (ctx.replace(node, f"{left} = {right}"),)
            )

        return build_assign
    return NoFix(
        "this form of the statement has no mechanical rewrite: call `requires_grad_(...)` on the "
        "module or set `p.requires_grad` on each parameter"
    )
