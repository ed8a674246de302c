"""A layer's size attribute is assigned instead of the layer being replaced.

## What it does
Finds an assignment to a size attribute of an existing layer of a library model (or of a
`torch.nn` layer): `model._fc.out_features = 200`, `model.fc.out_features = n`,
`model.classifier[1].in_features = ...`, `model.head.num_classes = n`. With the model's
parameter table, the message gives the weight's real shape.

## Why is this bad?
The attribute changes; the weight does not. The model still outputs the old number of classes
(1000 for an ImageNet head): with labels below 1000 the loss trains silently against the wrong
shape, with other sizes it crashes later. Nothing in the head was resized.

## Example
```python
import torch
from efficientnet_pytorch import EfficientNet
model = EfficientNet.from_pretrained("efficientnet-b0")
model._fc.out_features = 200
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
```

## Use instead
```python
import torch
from efficientnet_pytorch import EfficientNet
model = EfficientNet.from_pretrained("efficientnet-b0")
model._fc = torch.nn.Linear(model._fc.in_features, 200)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
```

## Fix safety
Unsafe: replacing an `nn.Linear` by a new one of the assigned size (keeping the other size and
whether it has a bias) gives it fresh random weights, which is what a new head means but not
what the line says. Offered only for an `nn.Linear` the parameter table shows, and only for
`in_features` and `out_features`.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.model.table import ParamTable
from freezelint.script.events import UNKNOWN, ModuleReplaced, SizeAttributeSet, WeightReplaced
from freezelint.script.extract.syntax import code_of
from freezelint.script.selection import path_relation
from freezelint.simulation.replay import Simulation

CODE = "FRZ014"
NAME = "head-resized-in-place"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no (counts: yes)"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    for event in sim.events:
        if not isinstance(event, SizeAttributeSet):
            continue
        if _replaced(sim, event, after=True) or _replaced(sim, event, after=False):
            # Replaced later, this line is moot; replaced before (`model.classifier[1] =
            # nn.Conv2d(512, n, ...)` then `model.num_classes = n`), it keeps an attribute in
            # step with the new layer.
            continue
        layer = _layer(sim, event)
        if not _wrong_size(sim, event, layer):
            continue
        yield Finding(
            CODE,
            event.node,
            _message(event, layer),
            verified=sim.tables[event.model].table.verified() if layer is not None else None,
            fix=_fix(sim, event, layer),
            event=event,
        )


SIZE_ARGUMENTS = frozenset({"num_classes", "classes", "out_features", "n_classes"})


def _wrong_size(
    sim: Simulation, event: SizeAttributeSet, layer: tuple[str, str, dict] | None
) -> bool:
    """Is the layer certainly not of the assigned size? With its table: the size differs from
    the number assigned (or the number is not known and the model was built with its default
    head). Without one: the model was built with its default head (no `num_classes=`), so
    the line meant to change it. `EfficientNet.from_pretrained(..., num_classes=n)` followed
    by `net._fc.out_features = n` only repeats what is true."""
    spec = sim.timeline.models.get(event.model)
    sized = spec is None or any(key in SIZE_ARGUMENTS for key, _ in spec.kwargs)
    if layer is not None:
        if "weight" not in layer[2] or len(layer[2]["weight"]) < 2:
            return False  # a container or wrapper (`nn.Sequential`): a plain attribute
        _, axis, _ = _WHAT[event.attr]
        actual = layer[2]["weight"][axis]
        if event.value is not UNKNOWN:
            return event.value != actual
        return not sized
    if spec is not None and spec.library == "torch.nn" and not event.path:
        # A layer built here: only an attribute its weight's shape follows.
        return event.attr in _LAYER_SIZES.get(_layer_kind(spec.name or ""), ())
    return not sized and spec is not None and spec.library != "composite"


_LAYER_SIZES = {
    "linear": ("in_features", "out_features"),
    "conv": ("in_channels", "out_channels"),
}


def _layer_kind(name: str) -> str:
    if name in ("Linear", "LazyLinear", "Bilinear"):
        return "linear"
    if name.startswith(("Conv", "LazyConv")):
        return "conv"
    return ""


def _replaced(sim: Simulation, event: SizeAttributeSet, after: bool) -> bool:
    """Is the layer (or a module holding it) replaced after this line? Before it, is it or
    anything inside it (the classifier, for `model.num_classes`)?"""
    others = sim.events[event.seq + 1 :] if after else sim.events[: event.seq]
    related = ("equal", "contains") if after else ("equal", "contains", "within")
    return any(
        (
            isinstance(e, ModuleReplaced)
            and e.model == event.model
            and path_relation(e.path, event.path) in related
        )
        or (
            # `model.conv1.weight = nn.Parameter(...)`: a new weight, of the shape the attribute
            # says (a first conv averaged to one input channel).
            isinstance(e, WeightReplaced) and e.model == event.model and e.path == event.path
        )
        for e in others
    )


def _layer(sim: Simulation, event: SizeAttributeSet) -> tuple[str, str, dict] | None:
    """The layer's path, class and tensors' shapes, from the model's parameter table (for
    `num_classes` on a model or a head holding the classifier, the library's classifier)."""
    if event.model not in sim.tables:
        return None
    table: ParamTable = sim.tables[event.model].table
    if table.head_unknown:
        return None
    kinds = dict(table.modules)
    path = ".".join(event.path)
    if path not in kinds:
        return None
    if event.attr == "num_classes" and table.classifier and table.classifier.startswith(path):
        path = table.classifier
    shapes = {p.name.rsplit(".", 1)[-1]: p.shape for p in table.params if p.module == path}
    return path, kinds.get(path, "module"), shapes


_WHAT = {
    "out_features": ("gives", 0, "outputs"),
    "num_classes": ("gives", 0, "outputs"),
    "out_channels": ("gives", 0, "channels"),
    "in_features": ("takes", 1, "inputs"),
    "in_channels": ("takes", 1, "channels"),
}


def _message(event: SizeAttributeSet, layer: tuple[str, str, dict] | None) -> str:
    target = event.target
    statement = code_of(event.node)
    said = f"`{statement}`" if "\n" not in statement and len(statement) <= 60 else "this line"
    if layer is None or "weight" not in layer[2] or len(layer[2]["weight"]) < 2:
        return (
            f"{said} changes an attribute, not the layer: its weight keeps its shape; replace "
            f"the layer (`{target} = nn.Linear(...)`, or `reset_classifier(n)` on a timm model)"
        )
    path, kind, shapes = layer
    weight = shapes["weight"]
    verb, axis, noun = _WHAT[event.attr]
    if ".".join(event.path) == path:
        held, advice = f"`{target}`", f"replace the layer (`{target} = nn.{kind}(...)`)"
    else:
        held = f"its classifier `{path}`"
        advice = f"resize it with `{target}.reset_classifier(...)` (timm) or replace it"
    return (
        f"{said} changes an attribute, not the layer: {held} is still a {kind} with a "
        f"{'x'.join(str(n) for n in weight)} weight and still {verb} {weight[axis]} {noun}; "
        f"{advice}"
    )


def _fix(sim: Simulation, event: SizeAttributeSet, layer: tuple[str, str, dict] | None):
    """`model._fc.out_features = 200` -> `model._fc = torch.nn.Linear(model._fc.in_features,
    200)`: an nn.Linear the table shows, the statement a plain assignment of that attribute."""
    if (
        layer is None
        or layer[0] != ".".join(event.path)
        or layer[1] != "Linear"
        or event.attr not in ("in_features", "out_features")
        or type(event.node) is not cst.Assign
        or len(event.node.targets) != 1
    ):
        return NoFix(
            "the layer is not an `nn.Linear` the table shows, or the size is not set by a plain "
            "assignment of `in_features` / `out_features`"
        )
    node = event.node
    value = node.value
    owner = node.targets[0].target
    if type(owner) is not cst.Attribute:
        return NoFix(
            "the layer is not written as an attribute the fix can assign a new `nn.Linear` to"
        )
    layer_node = owner.value
    bias = "bias" in layer[2]
    needs_import = "torch" not in sim.timeline.imported

    def build(ctx: FixContext) -> Fix:
        code = ctx.code(layer_node)
        size = ctx.code(value)
        if event.attr == "out_features":
            args = f"{code}.in_features, {size}"
        else:
            args = f"{size}, {code}.out_features"
        if not bias:
            args += ", bias=False"
        edits = (ctx.replace(node, f"{code} = torch.nn.Linear({args})"),)
        if needs_import:
            edits = (ctx.add_import("import torch"), *edits)
        return Fix(UNSAFE, f"Replace `{code}` with a new `nn.Linear` of that size", edits)

    return build
