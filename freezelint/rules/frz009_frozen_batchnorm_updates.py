"""Frozen BatchNorm layers are put back in training mode and keep updating their statistics.

## What it does
Finds a `.train()` call on a model (or submodule) holding BatchNorm layers whose parameters are
all frozen at that point, when the script does not put those layers back in eval mode
afterwards (`.eval()` on them, a `modules()` loop or `model.apply(fn)` that calls `.eval()`,
`timm.utils.freeze`, which swaps them for FrozenBatchNorm2d). An `.eval()` of the whole model
for validation does not count: the statistics drift during the training steps before it.

## Why is this bad?
`requires_grad=False` stops the affine weights, not the running mean and variance: in training
mode every forward pass still updates them. The "frozen" backbone drifts towards the new
dataset's statistics, often with small fine-tuning batches, and results differ from what was
meant (and from evaluation).

## Example
```python
import torch
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
model.fc = torch.nn.Linear(2048, 10)
model.train()
```

## Use instead
```python
import torch
import torchvision
model = torchvision.models.resnet50(weights="IMAGENET1K_V2")
model.requires_grad_(False)
model.fc = torch.nn.Linear(2048, 10)
model.train()
for module in model.modules():
    if isinstance(module, torch.nn.BatchNorm2d):
        module.eval()
```

## Fix safety
Unsafe: putting the fully frozen BatchNorm layers in eval mode after `.train()` changes the
model's behaviour on purpose; some recipes want the statistics to adapt.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.rules.base import region_text
from freezelint.rules.common import plural
from freezelint.script.events import ModeSet, RequiresGradSet
from freezelint.script.selection import Region, leaves, path_relation
from freezelint.simulation.atoms import TableAtoms
from freezelint.simulation.replay import Simulation

CODE = "FRZ009"
NAME = "frozen-batchnorm-updates"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "yes"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    for event in sim.events:
        frozen_norms = frozen_norms_in_training(sim, event)
        if not frozen_norms:
            continue
        where = sorted({n.split(".")[0] for n in frozen_norms})
        shown = ", ".join(f"`{region_text(sim, event.model, (top,))}`" for top in where[:3])
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        layers = f"{plural(len(frozen_norms), 'BatchNorm layer')} whose parameters are all frozen"
        if event.implicit:
            # Lightning's fit loop puts the module in training mode at every epoch.
            message = (
                f"`{event.implicit}` puts the module in training mode every epoch, with {layers} "
                f"({shown}{more}): their running statistics keep changing; put them in eval mode "
                f"in `on_train_epoch_start`, or freeze with `BaseFinetuning.freeze(..., "
                f"train_bn=False)`"
            )
        else:
            message = (
                f"`.train()` puts {layers} ({shown}{more}) in training mode: their running "
                f"statistics keep changing; put them back in eval mode after `.train()`"
            )
        yield Finding(
            CODE,
            event.anchor,
            message,
            verified=sim.tables[event.model].table.verified(),  # type: ignore[attr-defined]
            fix=_fix(sim, event),
            event=event,
        )


def frozen_norms_in_training(sim: Simulation, event: object) -> list[str]:
    """The BatchNorm layers (table paths) a `.train()` event puts in training mode with all
    their parameters frozen, none swapped for a frozen kind nor put back in eval mode after
    it; empty for any other event (the trainability map shows the same layers)."""
    if not isinstance(event, ModeSet) or not event.train or event.partial:
        return []
    atoms = sim.tables.get(event.model)
    if atoms is None:
        return []
    state = sim.before[event.seq].atoms
    prefixes, certain = atoms.resolve(event.path)
    if not certain:
        return []
    frozen_norms = []
    for norm in atoms.table.norms:
        if not any(norm == p or norm.startswith(f"{p}.") or not p for p in prefixes):
            continue
        params = atoms.table.params_under(norm)
        keys = [(event.model, tuple(p.name.split("."))) for p in params]
        if keys and all(
            (atom := state.get(k)) is not None and atom.status == "F" and atom.gen == 0
            for k in keys
        ):
            frozen_norms.append(norm)
    frozen_norms = [n for n in frozen_norms if not _swapped(sim, event, n, atoms)]
    if not frozen_norms or _put_back_in_eval(sim, event, frozen_norms, atoms):
        return []
    return frozen_norms


def _fix(sim: Simulation, train: ModeSet):
    """After `.train()`, put the BatchNorm layers whose parameters are all frozen back in eval
    mode (decided at run time, so later unfreezing keeps working)."""
    statement = train.local  # inside the helper when `.train()` is in one
    call = train.node
    if (
        train.implicit
        or statement is None
        or type(call) is not cst.Call
        or type(call.func) is not cst.Attribute
    ):
        return NoFix(
            "the training mode is set by the framework or by a call the fix cannot follow with a "
            "statement of its own"
        )
    owner = call.func.value
    needs_import = "torch" not in sim.timeline.imported

    def build(ctx: FixContext) -> Fix:
        model = ctx.code(owner)
        var = ctx.fresh_name("module", "submodule", "bn_module")
        lines = [
            f"for {var} in {model}.modules():",
            f"    if isinstance({var}, torch.nn.modules.batchnorm._BatchNorm) and not any(",
            f"        p.requires_grad for p in {var}.parameters()",
            "    ):",
            f"        {var}.eval()",
        ]
        edits = (ctx.insert_lines_after(statement, lines),)
        if needs_import:
            edits = (ctx.add_import("import torch"), *edits)
        return Fix(
            UNSAFE, "Put fully frozen BatchNorm layers back in eval mode after `.train()`", edits
        )

    return build


def _inside(norm: str, prefixes: list[str]) -> bool:
    return any(not p or norm == p or norm.startswith(f"{p}.") for p in prefixes)


def _within(inner: list[str], outer: list[str]) -> bool:
    """Is each module path of `inner` strictly inside one of `outer`?"""
    return bool(inner) and all(
        any(p != o and (not o or p.startswith(f"{o}.")) for o in outer) for p in inner
    )


def _swapped(sim: Simulation, train: ModeSet, norm: str, atoms: TableAtoms) -> bool:
    """Did `timm.utils.freeze` turn this layer into a FrozenBatchNorm2d before `.train()`?"""
    for event in sim.events[: train.seq]:
        if isinstance(event, RequiresGradSet) and event.swaps_norm and event.value is False:
            for leaf in leaves(event.selection):
                if (
                    isinstance(leaf, Region)
                    and leaf.model == train.model
                    and _inside(norm, [".".join(leaf.path), *atoms.resolve(leaf.path)[0]])
                ):
                    return True
    return False


def _put_back_in_eval(sim: Simulation, train: ModeSet, norms: list[str], atoms: TableAtoms) -> bool:
    """Is there an eval, after `.train()`, that puts these layers back before the training
    steps? One aimed at them (a filtered `modules()` loop, `apply`, a submodule inside what
    `.train()` set). An `.eval()` of everything `.train()` set is the validation phase: the
    statistics have drifted during the training steps before it."""
    for event in sim.events:
        if (
            isinstance(event, ModeSet)
            and not event.train
            and event.model == train.model
            # After `.train()` in the code: one before it (earlier in the same loop body, as
            # `set_bn_eval(model)` then `train_one_epoch(model)`) is undone by it every turn.
            and event.seq > train.seq
            and event is not train
            and (
                event.partial
                or path_relation(event.path, train.path) == "within"
                or _within(atoms.resolve(event.path)[0], atoms.resolve(train.path)[0])
            )
        ):
            # (through a module registered under two names, by the names in the table)
            prefixes = [".".join(event.path), *atoms.resolve(event.path)[0]]
            if any(_inside(n, prefixes) for n in norms):
                return True
    return False
