"""Freezing or unfreezing in a Lightning hook that the installed Lightning never calls.

## What it does
Finds a method of a `LightningModule` or `Callback` subclass named after a hook that Lightning
removed (`on_epoch_start`, `on_epoch_end`, `on_pretrain_routine_start`/`_end`; on callbacks also
`on_batch_start`/`_end`, `on_init_start`/`_end` and two set-up hooks) whose body freezes or
unfreezes parameters, puts a module in training or eval mode, adds a param group or sets a
learning rate (directly, or through the class's own methods and the file's functions it
calls). Which Lightning: the one installed (read from its metadata, never imported); without
one, Lightning 2.x.

## Why is this bad?
Lightning 1.8 removed these hooks and 1.8 and 1.9 refuse a class that defines one; from 2.0 on
the check is gone, the class fits without a word and the hook never runs. The code reads as a
gradual unfreeze, and the layers never train (or the backbone meant to stay frozen trains, or
BatchNorm statistics meant to stay fixed drift). Hooks Lightning still rejects loudly
(`training_epoch_end` raises at `fit`) are not this rule. A hook the file calls itself
(`self.on_epoch_start()`) is not reported.

## Example
```python
import lightning.pytorch as pl
import torch
import torchvision
from torch import nn


class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights="IMAGENET1K_V1")
        self.backbone.fc = nn.Linear(512, 2)
        self.backbone.requires_grad_(False)
        self.backbone.fc.requires_grad_(True)

    def on_epoch_start(self):
        if self.current_epoch == 2:
            self.backbone.layer4.requires_grad_(True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
```

## Use instead
```python
import lightning.pytorch as pl
import torch
import torchvision
from torch import nn


class Lit(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights="IMAGENET1K_V1")
        self.backbone.fc = nn.Linear(512, 2)
        self.backbone.requires_grad_(False)
        self.backbone.fc.requires_grad_(True)

    def on_train_epoch_start(self):
        if self.current_epoch == 2:
            self.backbone.layer4.requires_grad_(True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)
```

## Fix safety
Unsafe: the method is renamed to the hook that replaced it (`on_epoch_start` ->
`on_train_epoch_start`, `on_epoch_end` -> `on_train_epoch_end`, `on_pretrain_routine_*` ->
`on_fit_start`), with the `super()` calls in it. The code then runs, which is the point, but
at a slightly different time than under the old Lightning (the old `on_epoch_start` also ran
before validation epochs). No fix where the replacement takes other arguments
(`on_batch_start`), where there is none (`on_init_start`), or where the class or a class of
its family already defines the replacement.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixBuilder, FixContext
from freezelint.script.imports import ImportTable
from freezelint.script.lightning_hooks import DeadHookUse, dead_hooks, never_called
from freezelint.simulation.replay import Simulation

CODE = "FRZ020"
NAME = "freeze-in-dead-hook"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    """Nothing to read in a simulation: the hook is never walked (see `check_module`)."""
    return iter(())


def check_module(
    module: cst.Module, imports: ImportTable | None, path: Path | None
) -> Iterator[Finding]:
    for use in dead_hooks(module, imports, path):
        silent, lightning = never_called(use.package)
        if not silent:
            continue  # called (before 1.8) or refused at fit (1.8, 1.9): not silent
        shown: list = []
        for effect in use.effects:
            if effect.what not in [e.what for e in shown]:
                shown.append(effect)
        named = [f"{e.what} (line @L{i})" for i, e in enumerate(shown[:2])]
        if len(shown) > 2:
            named.append(f"{len(shown) - 2} more")
        yield Finding(
            CODE,
            use.function.name,
            f"{lightning} never calls `{use.kind}.{use.hook.name}` (removed in 1.8), so what it "
            f"does never happens: it {' and '.join(named)}; {_advice(use)}",
            related=tuple(e.node for e in shown[:2]),
            fix=_fix(use),
        )


def _advice(use: DeadHookUse) -> str:
    replacement = use.hook.replacement
    if replacement is None:
        return "do it in `__init__` or `setup`"
    if use.replacement_taken:
        return f"move it into the class's `{replacement}`"
    if not use.hook.same_signature:
        return f"move it into `{replacement}` (it takes other arguments)"
    return f"rename it `{replacement}`"


def _fix(use: DeadHookUse) -> FixBuilder | NoFix | None:
    hook = use.hook
    if hook.replacement is None or not hook.same_signature or use.replacement_taken:
        return NoFix(
            "the hook has no replacement with the same arguments, or the class defines that "
            "replacement already: moving the code is the author's choice"
        )
    supers = [
        node.attr
        for node in _attributes(use.function.body)
        if node.attr.value == hook.name
        and type(node.value) is cst.Call
        and type(node.value.func) is cst.Name
        and node.value.func.value == "super"
    ]
    replacement = hook.replacement

    def build(ctx: FixContext) -> Fix:
        edits = [ctx.replace(use.function.name, replacement)]
        edits += [ctx.replace(name, replacement) for name in supers]
        return Fix(UNSAFE, f"Rename `{hook.name}` to `{replacement}`", tuple(edits))

    return build


def _attributes(node: cst.CSTNode) -> Iterator[cst.Attribute]:
    stack = [node]
    while stack:
        current = stack.pop()
        if type(current) is cst.Attribute:
            yield current
        stack.extend(current.children)
