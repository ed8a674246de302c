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

from freezelint.diagnostics import Finding, Severity
from freezelint.events import IneffectiveFreeze
from freezelint.simulate import Simulation

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
            yield Finding(CODE, event.node, _MESSAGES[event.kind].format(t=event.target))
