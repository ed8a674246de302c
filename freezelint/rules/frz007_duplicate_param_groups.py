"""One parameter is in two param groups of one optimizer.

## What it does
Finds an optimizer (with the groups later added by `add_param_group`) in which two param groups
share parameters, e.g. `{"params": model.parameters()}` next to
`{"params": model.head.parameters(), "lr": 1e-3}`. It reports once per optimizer, where torch
raises: at the constructor (every pair of its groups that share tensors in one message), or at
the first `add_param_group` that repeats tensors, with the place the earlier group was given.

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

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text, region_text
from freezelint.rules.common import module_text, modules_text, params_expression, plural, verified
from freezelint.script.extract.syntax import child_nodes
from freezelint.script.selection import Region
from freezelint.simulation.replay import YES, OptimizerState, Simulation

CODE = "FRZ007"
NAME = "duplicate-param-groups"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "yes, unless obvious"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    """One finding per optimizer, where torch raises: at the constructor when two of the groups
    it is given share tensors (every such pair in the message), else at the first
    `add_param_group` whose group repeats tensors of an earlier one (the script stops there:
    later groups are never added), with where the earlier group was given."""
    for opt in sim.optimizers.values():
        pairs = [
            (i, j, shared)
            for j in range(len(opt.groups))
            for i in range(j)
            if (shared := _shared(opt, i, j))
        ]
        if not pairs:
            continue
        first = min(j for _, j, _ in pairs)
        added = opt.added_by[first]
        if added is not None:
            pairs = [p for p in pairs if p[1] == first]
            anchor: cst.CSTNode = added.anchor
            holders = [opt.added_by[i] for i, _, _ in pairs]
            related = tuple(
                dict.fromkeys(h.anchor if h is not None else opt.event.anchor for h in holders)
            )
            where = " at line @L0" if len(related) == 1 else ""
            if related == (anchor,):
                # The same `add_param_group` again: a loop runs it on each iteration.
                related, where = (), ", added by this line on an earlier iteration"
            event = added
        else:
            pairs = [p for p in pairs if opt.added_by[p[1]] is None]
            anchor, related, where, event = opt.event.anchor, (), "", opt.event
        tensors = [key for _, _, shared in pairs for key in shared]
        held = [
            f"{i} and {j} both hold {_shared_text(sim, opt, (i, j), shared)}{_count(sim, shared)}"
            for i, j, shared in pairs
        ]
        if added is not None:
            i, _, shared = pairs[0]
            lead = (
                f"the param group added to optimizer {optimizer_text(opt.event)} repeats "
                f"{_shared_text(sim, opt, (i, first), shared)}{_count(sim, shared)}, already "
                f"in param group {i}{where}"
            )
            if len(pairs) > 1:
                lead += " (and groups " + "; ".join(held[1:]) + ")"
        elif len(pairs) == 1:
            i, j, shared = pairs[0]
            lead = (
                f"param groups {i} and {j} of optimizer {optimizer_text(opt.event)} both hold "
                f"{_shared_text(sim, opt, (i, j), shared)}{_count(sim, shared)}"
            )
        else:
            lead = (
                f"param groups of optimizer {optimizer_text(opt.event)} share tensors: "
                + "; ".join(held)
            )
        yield Finding(
            CODE,
            anchor,
            f"{lead}: torch.optim raises ValueError "
            f"(some parameters appear in more than one parameter group)",
            related,
            verified=verified(sim, list(dict.fromkeys(tensors))),
            fix=_fix(opt, pairs[0][0], pairs[0][1]),
            event=event,
        )


def _shared(opt: OptimizerState, i: int, j: int) -> list:
    """The atoms param groups `i` and `j` both surely hold (each once)."""
    shared: list = []
    for key, membership in opt.groups[i].items():
        atom = opt.built_state.get(key[:2])
        if (
            membership == YES
            and opt.groups[j].get(key) == YES
            and atom is not None
            and atom.nonempty
            and key[:2] not in shared
        ):
            shared.append(key[:2])
    return shared


def _count(sim: Simulation, shared: list) -> str:
    return f" ({plural(len(shared), 'tensor')})" if shared[0][0] in sim.tables else ""


def _shared_text(sim: Simulation, opt: OptimizerState, pair: tuple[int, int], shared) -> str:
    """The shared tensors as the script names them: the narrower group's module when they are
    all of it (`model.features[-1]`), else the module that holds exactly them, else the
    top-level modules they are in."""
    for index in sorted(pair, key=lambda k: len(opt.groups[k])):
        selection = opt.group_specs[index].selection
        if isinstance(selection, Region) and {
            k for k, _ in sim.atoms_under(selection.model, selection.path)
        } == set(shared):
            return f"`{region_text(sim, selection.model, selection.path)}`"
    return module_text(sim, shared[0][0], shared) or modules_text(sim, shared)


def _overlap(first: dict, second: dict) -> bool:
    return any(m == YES and second.get(key) == YES for key, m in first.items())


def _fix(opt: OptimizerState, i: int, j: int):
    """Leave the narrower groups' parameters out of the broader one (every group inside it at
    once, so that one fix ends the duplication). None when that would leave the broader group
    empty: which of two groups of the same tensors to keep is a guess."""
    wide = i if len(opt.groups[i]) >= len(opt.groups[j]) else j
    narrow = [
        k
        for k in range(len(opt.groups))
        if k != wide
        and len(opt.groups[k]) <= len(opt.groups[wide])
        and _overlap(opt.groups[wide], opt.groups[k])
    ]
    wide_expression = params_expression(opt.group_specs[wide].node)
    narrow_expressions = [params_expression(opt.group_specs[k].node) for k in narrow]
    if not (
        all(
            type(e) is cst.Call
            and type(e.func) is cst.Attribute
            and e.func.attr.value == "parameters"
            for e in narrow_expressions
        )
        and wide_expression is not None
        and _inside(wide_expression, opt.event.node)
    ):
        return NoFix(
            "the groups are not written as `.parameters()` calls inside the constructor: the fix "
            "cannot take one out of the other"
        )
    left_out = {key for k in narrow for key, m in opt.groups[k].items() if m == YES}
    if all(m == YES and key in left_out for key, m in opt.groups[wide].items()):
        return NoFix(
            "the wide group holds nothing beyond the narrow ones: taking them out would leave it "
            "empty, so which group is the mistake is the script's choice"
        )

    def build(ctx: FixContext) -> Fix:
        wide_code = ctx.iterable_code(wide_expression)
        codes = [ctx.code(e) for e in narrow_expressions]  # type: ignore[arg-type]
        others = codes[0] if len(codes) == 1 else "[" + ", ".join(f"*{c}" for c in codes) + "]"
        return Fix(
            UNSAFE,
            f"Leave {', '.join(f'`{c}`' for c in codes)} out of param group {wide}",
            (
                ctx.replace(
                    wide_expression,
                    f"[p for p in {wide_code} if not any(p is q for q in {others})]",
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
