"""The optimizer is handed frozen parameters along with trainable ones.

## What it does
Finds an optimizer that, when it is built, is handed some frozen and some trainable parameters,
when nothing later in the script unfreezes the frozen ones (an optimizer over everything plus
later unfreezing is a valid progressive-unfreezing pattern and is not reported).

## Why is this bad?
`torch.optim` skips tensors whose `grad` is `None`, so this does not crash: it is waste and a
trap. Optimizer state is kept for tensors that never train, a `zero_grad(set_to_none=False)` or
a custom optimizer steps stale gradients, and weight decay in some optimizers still moves frozen
weights.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.efficientnet_b0(weights="DEFAULT")
model.features.requires_grad_(False)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.efficientnet_b0(weights="DEFAULT")
model.features.requires_grad_(False)
optimizer = torch.optim.AdamW((p for p in model.parameters() if p.requires_grad), lr=1e-3)
```

## Fix safety
Safe: handing the optimizer only `p.requires_grad` parameters is exactly what the freeze meant.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text
from freezelint.rules.common import (
    atoms_text,
    count_text,
    held_atoms,
    held_unknown,
    modules_text,
    params_expression,
    plural,
    tensors,
    unfrozen_later,
    verified,
)
from freezelint.simulation.replay import YES, Key, OptimizerState, Simulation

CODE = "FRZ001"
NAME = "optimizer-includes-frozen"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "for predicate freezes and counts"
FIX = "safe"
# Where a frozen part's tensors are not in a table: the finding does not count them.
UNTOLD = " (how many tensors, the analysis cannot tell: it cannot build that part)"


def check(sim: Simulation) -> Iterator[Finding]:
    for opt in sim.optimizers.values():
        held = held_atoms(opt)
        frozen, trainable = held["F"], held["T"]
        if not frozen or unfrozen_later(sim, opt.event, frozen):
            continue
        what = optimizer_text(opt.event)
        if not trainable:
            if _untold(sim, opt, frozen):
                yield Finding(
                    CODE,
                    opt.event.anchor,
                    f"optimizer {what} is handed the frozen {atoms_text(sim, frozen)} and "
                    f"nothing unfreezes {'them' if len(frozen) > 1 else 'it'} later{UNTOLD}; "
                    f"hand it only parameters with `requires_grad`",
                    verified=None,
                    event=opt.event,
                    fix=NoFix(
                        "what else the optimizer is handed is not known (a part the analysis "
                        "cannot build): filtering might leave it nothing to train"
                    ),
                )
            continue
        counted = tensors(sim, frozen, opt.built_state)
        unknown = held["?"]
        total = tensors(sim, frozen + trainable + unknown, opt.built_state)
        hidden = held_unknown(sim, opt)  # parts of a partial table: how many tensors, not known
        if counted and (total or hidden):
            amount = (
                f"at least {plural(counted[0], 'tensor')}"
                if hidden
                else count_text(counted, total, at_least=bool(unknown))  # type: ignore[arg-type]
            )
            verb = "is" if amount.endswith("tensor") else "are"
            message = (
                f"{amount} handed to optimizer {what} {verb} frozen ({modules_text(sim, frozen)}) "
                f"and nothing unfreezes them later; hand it only parameters with `requires_grad`"
            )
        else:
            untold = any(m in sim.tables and p in sim.tables[m].opaque for m, p in frozen)
            message = (
                f"optimizer {what} is handed frozen parameters ({atoms_text(sim, frozen)}) along "
                f"with trainable ones ({atoms_text(sim, trainable)}) and nothing unfreezes them "
                f"later{UNTOLD if untold else ''}; hand it only parameters with `requires_grad`"
            )
        yield Finding(
            CODE,
            opt.event.anchor,
            message,
            verified=verified(sim, frozen),
            fix=_fix(opt),
            event=opt.event,
        )


def _untold(sim: Simulation, opt: OptimizerState, frozen: list[Key]) -> bool:
    """Frozen parts (each a module the script froze by its path, in a model whose table the
    analysis cannot build, or in the unknown part of a partial one) handed to an optimizer
    with others whose state (or whether they hold any tensor) it cannot tell: frozen tensors
    are handed over, whatever the rest is (FRZ011 where that is certainly frozen too). Not
    where a table would count."""
    others = [
        atom
        for group in opt.groups
        for (model, path, gen) in group
        if (atom := opt.built_state.get((model, path))) is None
        or (atom.nonempty is not False and (atom.gen != gen or atom.status != "F"))
    ]
    if any(model in sim.timeline.unseen_callbacks for model, _ in frozen):
        return False  # (a callback not in view, `BaseFinetuning`, may unfreeze them later)
    return bool(others) and all(
        model not in sim.tables or path in sim.tables[model].opaque for model, path in frozen
    )


def _fix(opt: OptimizerState):
    """Hand each group holding frozen tensors only its parameters with `requires_grad` (not
    when a group holds nothing else)."""
    targets = []
    for held, group in zip(opt.groups, opt.group_specs, strict=True):
        if any(
            m == YES and (a := opt.built_state.get(k[:2])) is not None and a.status == "F"
            for k, m in held.items()
        ):
            if all(
                m == YES and (a := opt.built_state.get(k[:2])) is not None and a.status == "F"
                for k, m in held.items()
            ):
                # Every parameter of this group is frozen: filtering would leave an empty
                # group, and whether the group or the freeze is the mistake is a guess.
                return NoFix(
                    "every parameter of a group is frozen: filtering would leave the group empty, "
                    "and whether the group or the freeze is the mistake is the script's choice"
                )
            expression = params_expression(group.node)
            if expression is None:
                return NoFix(
                    "the group's parameters are not written as an expression the fix can filter "
                    "(built elsewhere and passed in)"
                )
            targets.append(expression)

    def build(ctx: FixContext) -> Fix:
        filters = [f"[p for p in {ctx.iterable_code(e)} if p.requires_grad]" for e in targets]
        edits = tuple(ctx.replace(e, code) for e, code in zip(targets, filters, strict=True))
        message = "Hand the optimizer only parameters with `requires_grad`"
        statement = ctx.statement_of(targets[0])
        if statement is not None and ctx.too_long(edits):
            # Past the project's line length: the filtered parameters get a name of their own,
            # on a line before the optimizer's.
            first = ctx.fresh_name("trainable")
            names = [first] + [ctx.fresh_name(f"{first}_{i}") for i in range(2, len(targets) + 1)]
            lines = [f"{name} = {code}" for name, code in zip(names, filters, strict=True)]
            edits = (
                ctx.insert_lines_before(statement, lines),
                *(ctx.replace(e, name) for e, name in zip(targets, names, strict=True)),
            )
        return Fix(SAFE, message, edits)

    if not targets:
        return NoFix("no group holds frozen parameters the fix can filter out")
    return build
