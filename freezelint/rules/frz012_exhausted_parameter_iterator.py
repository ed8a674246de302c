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
Safe: `list(...)` where the iterator is bound keeps every later use working. Where a module
the iterator draws from is replaced between the binding and the optimizer (a new head), a list
would hold the old module, so the fix instead makes the same call again where the optimizer is
given it (`SGD(model.parameters(), ...)`): what the iterator would have yielded unconsumed. That
one is offered only when both run in one function body and no name the call reads is bound anew
in between.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixContext
from freezelint.rules.base import optimizer_text, region_text
from freezelint.script.events import (
    IteratorBound,
    IteratorConsumed,
    ModuleReplaced,
    OptimizerBuilt,
    ParamGroup,
    ParamGroupAdded,
)
from freezelint.script.extract.syntax import assignment_targets, code_of, literal_string, names_in
from freezelint.script.selection import regions
from freezelint.simulation.replay import Simulation

CODE = "FRZ012"
NAME = "exhausted-parameter-iterator"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "safe"


def exhausted_groups(sim: Simulation, event: OptimizerBuilt | ParamGroupAdded):
    """(group index, iterator binding, consuming event) for each exhausted group."""
    groups = event.groups if isinstance(event, OptimizerBuilt) else (event.group,)
    bound = {e.binding: e for e in sim.events if isinstance(e, IteratorBound)}
    for index, group in enumerate(groups):
        if group.iterator is None:
            continue
        for other in sim.events[: event.seq]:
            if (
                isinstance(other, IteratorConsumed)
                and other.binding == group.iterator
                and not sim.exclusive(other, event, bound.get(group.iterator))
            ):
                yield index, group.iterator, other
                break


def check(sim: Simulation) -> Iterator[Finding]:
    bound = {e.binding: e for e in sim.events if isinstance(e, IteratorBound)}
    for event in sim.events:
        if not isinstance(event, OptimizerBuilt | ParamGroupAdded):
            continue
        groups = event.groups if isinstance(event, OptimizerBuilt) else (event.group,)
        for index, binding, consumer in exhausted_groups(sim, event):
            var = bound[binding].var if binding in bound else "the iterator"
            what = (
                optimizer_text(event) if isinstance(event, OptimizerBuilt) else "`add_param_group`"
            )
            used = {
                "optimizer": "an earlier optimizer",
                "for loop": "a `for` loop",
                "comprehension": "a comprehension",
            }.get(consumer.how, f"`{consumer.how}(...)`")
            binder = bound.get(binding)
            replaced = _replaced_between(sim, binder, event) if binder is not None else None
            if replaced is None:
                advice, fix = "bind `list(...)` instead", _listed(binder)
            else:
                # A list bound there would hold the module replaced since: the optimizer
                # should get the parameters the model has now, from the same call made again.
                call = code_of(binder.node.value) if type(binder.node) is cst.Assign else ""
                old = region_text(sim, replaced.model, replaced.path)
                advice = (
                    f"`list(...)` where it is bound would hold the old `{old}`, replaced on "
                    f"line @L1; hand it `{call or var}` again here"
                )
                fix = _called_again(binder, event, groups[index])
            yield Finding(
                CODE,
                event.anchor,
                f"{what} is handed `{var}`, a parameter iterator already consumed by "
                f"{used} on line @L0: it receives no parameters; {advice}",
                (consumer.node,) if replaced is None else (consumer.node, replaced.node),
                fix=fix,
                event=event,
            )


def _replaced_between(
    sim: Simulation, binder: IteratorBound, event: OptimizerBuilt | ParamGroupAdded
) -> ModuleReplaced | None:
    """A replacement of a module the iterator draws from, after it is bound and before the
    optimizer gets it."""
    for other in sim.events[binder.seq + 1 : event.seq]:
        if isinstance(other, ModuleReplaced) and any(
            region.model == other.model and other.path[: len(region.path)] == region.path
            for region in regions(binder.selection)
        ):
            return other
    return None


def _listed(bound: IteratorBound | None):
    """Materialise the iterator where it is bound: `params = list(model.parameters())`."""
    if bound is None or type(bound.node) is not cst.Assign:
        return NoFix(
            "the iterator is not bound by a plain assignment the fix can wrap in `list(...)`"
        )
    value = bound.node.value

    def build(ctx: FixContext) -> Fix:
        code = ctx.code(value)
        if type(value) is cst.GeneratorExp and code.startswith("(") and code.endswith(")"):
            code = code[1:-1]
        return Fix(
            SAFE, f"Bind `list(...)` to `{bound.var}`", (ctx.replace(value, f"list({code})"),)
        )

    return build


def _called_again(bound: IteratorBound, event: OptimizerBuilt | ParamGroupAdded, group: ParamGroup):
    """Hand the optimizer the bound call made again (`SGD(model.parameters(), ...)`), where
    both run in one function body and nothing the call reads is bound anew in between."""
    if type(bound.node) is not cst.Assign or bound.trail != event.trail:
        return NoFix(
            "the iterator is bound in another function than the optimizer's: the call cannot be "
            "made again there"
        )
    value = bound.node.value
    handed = _handed(group.node, bound.var)
    if handed is None or type(value) is cst.GeneratorExp:
        return NoFix(
            "the iterator is a generator expression, or not handed to the optimizer by its name"
        )
    names = names_in(value)

    def build(ctx: FixContext) -> Fix | NoFix:
        start, end = ctx.span(bound.node)[1], ctx.span(handed)[0]
        if start >= end or _rebinds(ctx, names, start, end):
            return NoFix(
                "a name the call reads is bound again between the two: making the call again could"
                " give other parameters"
            )
        return Fix(
            SAFE,
            f"Hand the optimizer `{ctx.code(value)}` again",
            (ctx.replace(handed, ctx.code(value)),),
        )

    return build


def _handed(node: cst.CSTNode, var: str) -> cst.Name | None:
    """The name `var` where the group hands it: the group itself or its `"params"` entry."""
    if type(node) is cst.Name and node.value == var:
        return node
    if type(node) is cst.Dict:
        for element in node.elements:
            if (
                type(element) is cst.DictElement
                and literal_string(element.key) == "params"
                and type(element.value) is cst.Name
                and element.value.value == var
            ):
                return element.value
    return None


def _rebinds(ctx: FixContext, names: set[str], start: int, end: int) -> bool:
    """Is one of `names` bound anew between the offsets `start` and `end` (`model = ...`; not
    `model.fc = ...`, which changes what the call returns, as the fix means)?"""
    if ctx.module is None:
        return True
    stack = list(assignment_targets(ctx.module, nested=True))
    while stack:
        target = stack.pop()
        if type(target) in (cst.Tuple, cst.List):
            stack.extend(element.value for element in target.elements)
        elif (
            type(target) is cst.Name
            and target.value in names
            and start <= ctx.span(target)[0] < end
        ):
            return True
    return False
