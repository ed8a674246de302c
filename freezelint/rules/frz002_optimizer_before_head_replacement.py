"""The optimizer is built before a submodule of its model is replaced.

## What it does
Finds an optimizer built over a model's parameters after which a submodule of that model is
replaced (`model.fc = nn.Linear(...)`, `model.classifier[1] = ...`, `model.reset_classifier(n)`),
with no optimizer built and no param group added afterwards that takes the new module.

## Why is this bad?
The optimizer holds the old module's tensors. The new head's parameters are in no optimizer: they
get gradients but never update, so the classifier stays at its random initialisation while the
loss still moves a little through the rest of the network.

## Example
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
model.fc = nn.Linear(2048, 10)
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.fc = nn.Linear(2048, 10)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
```

## Fix safety
Safe when the optimizer is not used in between and both statements are in one block: the
optimizer moves below the replacement. Otherwise unsafe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Edit, Fix, FixContext
from freezelint.rules.base import optimizer_text, region_text
from freezelint.rules.common import params_expression, verified
from freezelint.script.events import ModelBuilt, ModuleReplaced, OptimizerBuilt, ParamGroupAdded
from freezelint.script.selection import Path, Selection, path_relation, regions
from freezelint.script.values import ModelRef
from freezelint.simulation.replay import Simulation

CODE = "FRZ002"
NAME = "optimizer-before-head-replacement"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no (counts: yes)"
FIX = "safe or unsafe"


def covers(selection: Selection, model: int, path: Path) -> bool:
    """Is region `path` of `model` certainly inside what the selection draws from?"""
    return any(
        r.model == model and path_relation(r.path, path) in ("equal", "contains")
        for r in regions(selection)
    )


def may_reach(selection: Selection, model: int, path: Path) -> bool:
    return any(
        r.model == model and path_relation(r.path, path) != "disjoint" for r in regions(selection)
    )


def check(sim: Simulation) -> Iterator[Finding]:
    copies = {e.model for e in sim.events if isinstance(e, ModelBuilt) and e.copy_of is not None}
    for event in sim.events:
        if not isinstance(event, ModuleReplaced) or event.adds_params is not True:
            continue
        if event.new_module in copies:
            # A deep copy put in (`self._target = deepcopy(self.encoder)`): a target or EMA
            # network the script updates itself, not one meant for the optimizer.
            continue
        for opt in sim.optimizers.values():
            built = opt.event
            if built.seq > event.seq or not any(
                covers(g.selection, event.model, event.path) for g in built.groups
            ):
                continue
            if _taken_later(sim, event, built) or _replaced_again(sim, event):
                continue
            size = _new_module_size(sim, event)
            yield Finding(
                CODE,
                built.anchor,
                f"optimizer {optimizer_text(built)} is built before "
                f"`{region_text(sim, event.model, event.path)}` is replaced on line @L0: the new "
                f"module's parameters{size} are in no optimizer and never update; build the "
                f"optimizer after the replacement",
                (event.anchor,),
                verified=verified(sim, [(event.model, event.path)]),
                fix=_fix(built, event),
                event=built,
            )


def _fix(built: OptimizerBuilt, replaced: ModuleReplaced):
    """Move the optimizer's statement right below the replacement, when both are statements of
    one block, the optimizer is a statement of its own and nothing in between uses it."""
    first, second = built.statement, replaced.statement
    if (
        built.site is not None
        or built.var is None
        or type(first) is not cst.SimpleStatementLine
        or type(second) is not cst.SimpleStatementLine
        or len(first.body) != 1
        or built.block != replaced.block
        or built.scope != replaced.scope
        or built.ctx != replaced.ctx
    ):
        return NoFix(
            "the optimizer and the replacement are not two plain statements of the same block (in "
            "a helper, a loop or another function): moving the optimizer there is not a local edit"
        )
    if any(
        isinstance(params_expression(group.node), cst.Name | cst.Attribute | None)
        for group in built.groups
    ):
        return NoFix(
            "the optimizer's parameters were taken before the replacement (a variable or "
            "attribute): moving the optimizer alone would not pick up the new module"
        )
    var = built.var

    def build(ctx: FixContext) -> Fix | NoFix:
        start, end = ctx.span(first)
        between_start, between_end = ctx.lines.line_end(end), ctx.span(second)[0]
        used = re.compile(rf"\b{re.escape(var)}\b")
        if between_start > between_end or used.search(
            ctx.text[between_start : ctx.span(second)[1]]
        ):
            return NoFix(
                "the optimizer is used before, or by, the replacement: it cannot simply move below"
                " it"
            )
        if replaced.site is not None and not _helper_leaves_alone(ctx, replaced, used):
            return NoFix(
                "the replacement is made in a helper that may use the optimizer: moving the "
                "optimizer past the call is not known to be safe"
            )
        line_start = ctx.lines.starts[ctx.positions[first].start.line - 1]
        remove = Edit(line_start, ctx.lines.line_end(end), "")
        move = ctx.insert_after(second, ctx.text[start:end])
        return Fix(SAFE, f"Build `{var}` after the replacement", (remove, move))

    return build


def _helper_leaves_alone(ctx: FixContext, replaced: ModuleReplaced, used: re.Pattern) -> bool:
    """The replacement is made by a top-level function of the file called at the statement
    (itself, not a helper it calls) whose code never names the optimizer."""
    site = replaced.site
    if ctx.module is None or type(site) is not cst.Call or type(site.func) is not cst.Name:
        return False
    helper = None
    for stmt in ctx.module.body:
        if type(stmt) is cst.FunctionDef and stmt.name.value == site.func.value:
            helper = stmt  # the last definition is the one called
    if helper is None:
        return False
    start, end = ctx.span(helper)
    node_start, node_end = ctx.span(replaced.node)
    return start <= node_start and node_end <= end and not used.search(ctx.text[start:end])


def _replaced_again(sim: Simulation, replaced: ModuleReplaced) -> bool:
    """Is the new module itself replaced later (`model.fc = ...` twice)? Then the later one is
    the module left out, and the finding is about it."""
    return any(
        isinstance(other, ModuleReplaced)
        and other.seq > replaced.seq
        and other.model == replaced.model
        and path_relation(other.path, replaced.path) in ("equal", "contains")
        and sim.may_follow(replaced, other)
        for other in sim.events
    )


def _taken_later(sim: Simulation, replaced: ModuleReplaced, built: OptimizerBuilt) -> bool:
    """Does an optimizer or param group that may run after the replacement take the new module?"""
    for other in sim.events:
        if not sim.may_follow(replaced, other):
            continue
        if isinstance(other, OptimizerBuilt) and any(
            may_reach(g.selection, replaced.model, replaced.path) for g in other.groups
        ):
            return True
        if isinstance(other, ParamGroupAdded) and may_reach(
            other.group.selection, replaced.model, replaced.path
        ):
            return True
    return False


def _new_module_size(sim: Simulation, replaced: ModuleReplaced) -> str:
    """` (2 tensors, 6,405 elements)` for an `nn.Linear` whose sizes are known."""
    spec = sim.timeline.models.get(replaced.new_module) if replaced.new_module else None
    if spec is None or spec.linear is None:
        return ""
    sizes = []
    for value in spec.linear[:2]:
        if isinstance(value, int):
            sizes.append(value)
        elif isinstance(value, ModelRef) and value.path and value.model in sim.tables:
            attr, layer = value.path[-1], ".".join(value.path[:-1])
            weight = next(
                (
                    p
                    for p in sim.tables[value.model].table.params
                    if p.name == f"{layer}.weight" and len(p.shape) == 2
                ),
                None,
            )
            table = sim.tables[value.model].table
            if weight is None or attr not in ("in_features", "out_features"):
                return ""
            if (
                attr == "out_features"
                and table.head_unknown
                and table.numel_by_path.get(tuple(weight.name.split("."))) is None
            ):
                return ""  # the head was built with a stand-in size
            sizes.append(weight.shape[1] if attr == "in_features" else weight.shape[0])
        else:
            return ""
    bias = spec.linear[2] is not False
    elements = sizes[0] * sizes[1] + (sizes[1] if bias else 0)
    return f" ({2 if bias else 1} tensor{'s' if bias else ''}, {elements:,} elements)"
