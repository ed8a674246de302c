"""A freeze that covers a newly replaced module runs after the replacement.

## What it does
Finds a freeze of the whole model (or of a region that contains a replaced module) that runs
after the module was replaced, when nothing re-enables the new module before an optimizer over
the model is built. Freezes done by a helper function of the same file count, at the helper's
call. Only a new module with parameters, meant to train, counts: a module that only re-wraps
the model's own modules brings none, and a network that builds and freezes itself with no
optimizer over it (a perceptual-loss or metric network) is frozen on purpose. A freeze through
a name filter that matches nothing is FRZ005's.

## Why is this bad?
The new head is frozen with the backbone. Nothing in the network trains (or only what the script
re-enabled elsewhere): the classifier stays at its random initialisation.

## Example
```python
import torch
import torch.nn as nn
import torchvision
import timm
model = timm.create_model("efficientnet_b0", pretrained=True)
model.classifier = nn.Linear(1280, 5)
for p in model.parameters():
    p.requires_grad = False
optimizer = torch.optim.Adam(model.classifier.parameters())
```

## Use instead
```python
import torch
import torch.nn as nn
import torchvision
import timm
model = timm.create_model("efficientnet_b0", pretrained=True)
for p in model.parameters():
    p.requires_grad = False
model.classifier = nn.Linear(1280, 5)
optimizer = torch.optim.Adam(model.classifier.parameters())
```

## Fix safety
Safe: `<head>.requires_grad_(True)` right after the freeze re-enables exactly the new module.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixContext
from freezelint.model.spec import LIBRARIES as MODEL_LIBRARIES
from freezelint.rules.base import region_text
from freezelint.rules.common import verified
from freezelint.rules.frz005_predicate_matches_nothing import filters_matching_nothing
from freezelint.script.events import ModelSpec, ModuleReplaced, OptimizerBuilt, RequiresGradSet
from freezelint.script.selection import (
    NameWhere,
    Region,
    Trainable,
    leaves,
    path_relation,
    regions,
)
from freezelint.simulation.replay import Simulation

CODE = "FRZ003"
NAME = "freeze-after-head-replacement"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no (counts: yes)"
FIX = "safe"


def _freezes(sim: Simulation, event: RequiresGradSet, model: int, path: tuple[str, ...]) -> bool:
    """Does this freeze certainly cover region `path` of `model`, as part of something wider?
    A name filter does when the model's parameter table shows it selects every parameter there
    and some outside. A freeze of the new module alone (`self.query_embed.requires_grad_(False)`
    right after building it) is meant."""
    if event.value is not False:
        return False
    for leaf in leaves(event.selection):
        if isinstance(leaf, NameWhere) and model in sim.tables:
            chosen = sim.selected(leaf)
            atoms = {k for k, _ in sim.atoms_under(model, path)}
            if (
                atoms
                and all(chosen.get(k) is True for k in atoms)
                and any(v is True and k not in atoms for k, v in chosen.items())
            ):
                return True
        bases = (
            [leaf]
            if isinstance(leaf, Region)
            else (list(leaves(leaf.base)) if isinstance(leaf, Trainable) else [])
        )
        for base in bases:
            if (
                isinstance(base, Region)
                and base.model == model
                and path_relation(base.path, path) == "contains"
            ):
                return True
    return False


def check(sim: Simulation) -> Iterator[Finding]:
    seen: set[tuple[int, tuple[str, ...]]] = set()
    for replaced in sim.events:
        if not isinstance(replaced, ModuleReplaced) or replaced.adds_params is not True:
            continue
        if _pretrained(sim, replaced) or replaced.used is False:
            continue  # (a part `forward` never calls is not meant to train)
        if replaced.added and not _holds_library_model(sim.timeline.models.get(replaced.model)):
            continue  # (a part of a network built of layers alone is that network, no new head)
        key = (replaced.model, replaced.path)
        for freeze in sim.events[replaced.seq + 1 :]:
            if not isinstance(freeze, RequiresGradSet) or not _freezes(sim, freeze, *key):
                continue
            if _unexplained(sim, freeze):
                continue  # a name filter that matches nothing froze it: FRZ005 says why
            if not _trained_frozen(sim, freeze, key) or (id(freeze.anchor), key) in seen:
                continue
            seen.add((id(freeze.anchor), key))
            head = region_text(sim, *key)
            yield Finding(
                CODE,
                freeze.anchor,
                f"this freeze also freezes `{head}`, "
                f"{'set' if replaced.added else 'replaced'} on line @L0: the new module never "
                f"trains; re-enable it after the freeze with `{head}.requires_grad_(True)`",
                (replaced.anchor,),
                verified=verified(sim, [key]),
                fix=_fix(sim, replaced, freeze),
                event=freeze,
            )


def _fix(sim: Simulation, replaced: ModuleReplaced, freeze: RequiresGradSet):
    """Re-enable the new module right after the freeze, where the script can still name it
    (not when an optimizer is built inside the freezing statement itself: there is no "after")."""
    if replaced.site is not None or freeze.statement is None or replaced.scope != freeze.scope:
        return NoFix(
            "the replacement and the freeze are not in the same function: the fix cannot name the "
            "new module where the freeze is"
        )
    if any(
        isinstance(e, OptimizerBuilt) and e.statement is freeze.statement
        for e in sim.events[freeze.seq + 1 :]
    ):
        return NoFix(
            "an optimizer is built in the freezing statement itself: there is no place between the"
            " freeze and the optimizer to unfreeze the new module"
        )
    node = replaced.node
    if type(node) is cst.Assign and len(node.targets) == 1:
        head: cst.CSTNode = node.targets[0].target
        suffix = ""
    elif (
        type(node) is cst.Call
        and type(node.func) is cst.Attribute
        and node.func.attr.value == "reset_classifier"
    ):
        head, suffix = node.func.value, ".get_classifier()"
    else:
        return NoFix(
            "the new module is not put in place by a plain assignment or `reset_classifier`: the "
            "fix cannot name it"
        )
    statement = freeze.statement

    def build(ctx: FixContext) -> Fix:
        code = f"{ctx.code(head)}{suffix}"
        return Fix(
            SAFE,
            f"Re-enable `{code}` after the freeze",
            (ctx.insert_after(statement, f"{code}.requires_grad_(True)"),),
        )

    return build


def _trained_frozen(
    sim: Simulation, freeze: RequiresGradSet, key: tuple[int, tuple[str, ...]]
) -> bool:
    """Does the new module stay frozen until an optimizer over its model is built (nothing
    re-enables it, or replaces it again, before), or for good, with an optimizer over the model
    built earlier? Only then is it meant to train and does not: a network that builds and
    freezes itself on purpose (a perceptual-loss or metric network, `if not requires_grad:`)
    has no optimizer over it at all."""
    atoms = [k for k, _ in sim.atoms_under(*key)] or [key]

    def over_model(event: object) -> bool:
        return isinstance(event, OptimizerBuilt) and key[0] in {
            r.model for g in event.groups for r in regions(g.selection)
        }

    for later in sim.events[freeze.seq + 1 :]:
        if over_model(later):
            return True
        if (
            isinstance(later, RequiresGradSet)
            and later.value is not False
            and any(sim.touches(later.selection, atom) for atom in atoms)
        ):
            return False
        if (
            isinstance(later, ModuleReplaced)
            and later.model == key[0]
            and path_relation(later.path, key[1]) in ("equal", "contains")
        ):
            return False
    return any(over_model(e) for e in sim.events[: freeze.seq])


def _unexplained(sim: Simulation, freeze: RequiresGradSet) -> bool:
    """Does the freeze go through a name filter FRZ005 reports (a `startswith("classifier")`
    under DataParallel freezes the head too)? One mistake, reported once, by the rule that
    names its cause."""
    flagged = filters_matching_nothing(sim)
    return any(
        isinstance(leaf, NameWhere) and id(leaf.predicate) in flagged
        for leaf in leaves(freeze.selection)
    )


def _holds_library_model(spec: ModelSpec | None, depth: int = 0) -> bool:
    """Is a library's model (or a part of one) among the parts of a composite, at any depth,
    or may be (a part not known)? Only then are its other parts new modules around a
    pretrained one."""
    if spec is None or depth > 8:
        return True
    if spec.library in MODEL_LIBRARIES or spec.children_of or spec.submodule_of:
        return True
    return any(_holds_library_model(part, depth + 1) for _, part in spec.parts or ())


def _pretrained(sim: Simulation, replaced: ModuleReplaced) -> bool:
    """Is the module put in a library's model (`self.backbone = timm.create_model(...)` in a
    wrapper's `__init__`)? Freezing it afterwards is the recipe, not a new head frozen."""
    spec = sim.timeline.models.get(replaced.new_module) if replaced.new_module else None
    return spec is not None and spec.library in MODEL_LIBRARIES
