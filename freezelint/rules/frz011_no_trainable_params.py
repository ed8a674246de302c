"""The optimizer is handed no trainable parameter at all.

## What it does
Finds an optimizer none of whose parameters is trainable when it is built (including a filter
that leaves nothing), when nothing unfreezes them later. It is reported beside the rule that
explains the cause (a freeze after the head swap, a predicate that matches nothing, an optimizer
built before the head swap), but not where an exhausted iterator (FRZ012) already explains it.

## Why is this bad?
The optimizer updates nothing. With a filter, `torch.optim` raises "optimizer got an empty
parameter list"; without one, training runs and nothing learns.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet18(weights="DEFAULT")
model.requires_grad_(False)
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
model.fc = nn.Linear(512, 10)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet18(weights="DEFAULT")
model.requires_grad_(False)
model.fc = nn.Linear(512, 10)
optimizer = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
```

## Fix safety
No fix of its own: the fix belongs to the rule that explains the cause.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, Severity
from freezelint.rules.base import optimizer_text
from freezelint.rules.common import modules_text, tensors, unfrozen_later, verified
from freezelint.rules.frz012_exhausted_parameter_iterator import exhausted_groups
from freezelint.script.events import Event, ModuleReplaced
from freezelint.script.selection import Region
from freezelint.simulation.replay import Key, Simulation

CODE = "FRZ011"
NAME = "no-trainable-params"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "for predicate freezes"
FIX = "none"
NO_FIX = (
    "the fix belongs to the rule that explains the cause (reported beside this one); with no "
    "such rule, what the optimizer should train is the script's choice"
)


def check(sim: Simulation) -> Iterator[Finding]:
    for opt in sim.optimizers.values():
        if opt.opaque or any(exhausted_groups(sim, opt.event)):
            continue
        keys = []
        certain = True
        for group in opt.groups:
            for (model, path, gen), _ in group.items():
                atom = opt.built_state.get((model, path))
                if atom is None or atom.gen != gen or atom.status != "F":
                    certain = False
                keys.append((model, path))
        if not certain or unfrozen_later(sim, opt.event, keys, replaced=False):
            continue
        keys = list(dict.fromkeys(keys))
        counted = tensors(sim, keys, opt.built_state)
        replaced = _replaced_later(sim, opt.event, keys)
        lines = (replaced.node,) if replaced is not None else ()
        old = ", the module replaced on line @L0" if replaced is not None else ""
        if not keys:
            what = "no parameter"
        elif counted:
            what = f"{counted[0]} tensors, all frozen ({modules_text(sim, keys)}{old})"
        else:
            what = "only frozen parameters"
        yield Finding(
            CODE,
            opt.event.anchor,
            f"optimizer {optimizer_text(opt.event)} is handed {what}: it updates "
            f"nothing{' (torch.optim raises on an empty list)' if not keys else ''}",
            lines,
            verified=verified(sim, keys),
            event=opt.event,
        )


def _replaced_later(sim: Simulation, built: Event, keys: list[Key]) -> ModuleReplaced | None:
    """The replacement, after the optimizer is built, of the module whose old tensors it
    holds (the optimizer keeps the old ones: FRZ002 tells about the new)."""
    for event in sim.events:
        if (
            isinstance(event, ModuleReplaced)
            and sim.may_follow(built, event, event.model)
            and all(sim.touches(Region(event.model, event.path), key) for key in keys)
        ):
            return event
    return None
