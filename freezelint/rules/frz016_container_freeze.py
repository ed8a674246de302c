"""A freeze of "every module except some kind" also runs on the containers, and recurses.

## What it does
Finds a loop over `modules()` / `named_modules()` (or `children()`, or a function handed to
`model.apply`) that freezes every module its condition picks (`if not isinstance(m,
nn.BatchNorm2d)`, `if "fc" not in name`) with `m.requires_grad_(False)` or `for p in
m.parameters(): ...`, where the model itself or a container module is picked too and holds the
layers the condition leaves out. Checked on the model's real module tree: the message says how
many of those layers' tensors end up frozen.

## Why is this bad?
`modules()` yields the model itself first, then every container (`layer1`, `blocks.0`...), and
they are "not BatchNorm" (their names do not contain "fc") either. `requires_grad_` and
`parameters()` reach every parameter inside the module they are called on, so the model's own
turn freezes everything, the layers meant to stay trainable with the rest. Nothing fails: those
layers just never train.

## Example
```python
import torch
import torchvision
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
for m in model.modules():
    if not isinstance(m, torch.nn.BatchNorm2d):
        m.requires_grad_(False)
```

## Use instead
```python
import torch
import torchvision
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
for m in model.modules():
    if not isinstance(m, torch.nn.BatchNorm2d):
        for p in m.parameters(recurse=False):
            p.requires_grad_(False)
```

## Fix safety
Safe: freezing each picked module's own parameters (`m.parameters(recurse=False)`) is exactly
what the condition says; the modules it leaves out keep their state.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import SAFE, Fix, FixBuilder, FixContext
from freezelint.rules.base import region_text
from freezelint.rules.common import count_text, elements, plural, tensors
from freezelint.script.events import RequiresGradSet
from freezelint.script.selection import ModuleFilter, NameWhere, Path, Region
from freezelint.simulation.module_loops import ModuleLoop, loop_of
from freezelint.simulation.replay import Atom, Key, Simulation

CODE = "FRZ016"
NAME = "container-freeze"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "yes"
FIX = "safe"


_CHILDREN = NoFix(
    "the loop walks `children()`: each child's own parameters would leave the insides of the "
    "containers trainable, so the loop itself has to change (over `modules()`)"
)


def check(sim: Simulation) -> Iterator[Finding]:
    for event in sim.events:
        if not isinstance(event, RequiresGradSet) or event.value is not False:
            continue
        sel = event.selection
        if (
            not isinstance(sel, NameWhere)
            or sel.modules is None
            or not sel.modules.recurse
            or not isinstance(sel.base, Region)
            or sel.base.model not in sim.tables
        ):
            continue
        model, mf = sel.base.model, sel.modules
        loop = sim.tables[model].module_loop(sel)
        if loop is None:
            continue
        reached = loop.selected()
        left_out = loop.kept()
        kept = [path for path, out in left_out.items() if out]
        if not kept or _whole_blocks(loop, left_out):
            continue
        after, state = _after(sim, event), _settled(sim, event)
        frozen = [
            path
            for path in kept
            if reached.get(path)
            and all(s.get((model, path), Atom("?", 0, None)).status == "F" for s in (after, state))
        ]
        part = tensors(sim, [(model, p) for p in frozen], state)
        whole = tensors(sim, [(model, p) for p in kept], state)
        if not frozen or part is None or whole is None:
            continue
        yield Finding(
            CODE,
            event.anchor,
            _message(sim, event, loop, kept, frozen, (part, whole)),
            verified=sim.tables[model].table.verified(),
            fix=_fix(event, mf) if mf.walk != "children" else _CHILDREN,
            event=event,
        )


def _message(
    sim: Simulation,
    event: RequiresGradSet,
    loop: ModuleLoop,
    kept: list[Path],
    frozen: list[Path],
    counts: tuple[tuple[int, int | None], tuple[int, int | None]],
) -> str:
    model, mf = event.selection.base.model, loop.mf  # type: ignore[union-attr]
    owners = {p.name: p.module for p in loop.params()}
    holders: dict[str, None] = {}  # the outermost picked module over each frozen kept layer
    layers: dict[str, None] = {}
    for path in frozen:
        owner = owners[".".join(path)]
        layers[owner] = None
        holders[next(m for m in loop.acting_on(owner) if loop.picked[m])] = None
    var = _item_code(event.node, mf)
    how = f"`{var}.parameters()`" if mf.call is not None else "`requires_grad_`"
    advice = f"freeze each module's own parameters with `{var}.parameters(recurse=False)`"
    if mf.walk == "children":
        # Each child's own parameters would leave the insides of the containers trainable.
        advice = f"loop over `modules()` and {advice}"
    subject = "`apply` also runs it on" if mf.walk == "apply" else "the loop also picks"
    every = {owners[".".join(path)] for path in kept}
    if len(every) == 1:
        which = "the layer"
    elif len(layers) == len(every):
        which = f"the {len(every)} layers"
    else:
        which = f"{len(layers)} of the {len(every)} layers"
    part, whole = counts
    if part[0] == whole[0]:
        size = f" ({elements(part[1])} elements)" if part[1] is not None else ""
        number = "both tensors" if part[0] == 2 else f"all {plural(part[0], 'tensor')}"
        amount = number + size
    else:
        amount = count_text(part, whole)
    return (
        f"{subject} {_holders_text(sim, model, loop.root, list(holders))}, and "
        f"{how} reaches every parameter inside: {which} the condition leaves out "
        f"({_layers_text(sim, model, list(layers))}) {'ends' if len(every) == 1 else 'end'} "
        f"up frozen, {amount}; {advice}"
    )


def _whole_blocks(loop: ModuleLoop, left_out: dict[Path, bool | None]) -> bool:
    """Does the loop pick a module that holds no parameter the condition would keep it for,
    only ones of modules it leaves out (`if name in ["layer1", "layer2"]`, `isinstance(m,
    nn.Sequential)`)? Then freezing whole blocks is what it means: recursion is relied on."""
    for module in loop.order:
        if not loop.picked[module]:
            continue
        inside = [tuple(p.name.split(".")) for p in loop.table.params_under(module)]
        if inside and all(left_out.get(path) is not False for path in inside):
            return True
    return False


def _after(sim: Simulation, event: RequiresGradSet) -> dict[Key, Atom]:
    """The state right after the loop (all its freezes, `if`/`else` arms together)."""
    last = max(e.seq for e in sim.loops.get(loop_of(event), [event]))
    later = [seq for seq in sim.before if seq > last]
    return sim.before[min(later)].atoms if later else sim.state


def _settled(sim: Simulation, event: RequiresGradSet) -> dict[Key, Atom]:
    """The state the freeze leaves for training: when the next optimizer is built, or at the
    end of the script when none is built after it."""
    later = [o for o in sim.optimizers.values() if o.event.seq > event.seq]
    if later:
        return min(later, key=lambda o: o.event.seq).built_state
    return sim.state


def _holders_text(sim: Simulation, model: int, root: str, holders: list[str]) -> str:
    if root in holders:
        name = region_text(sim, model, tuple(root.split(".")) if root else ())
        return f"`{name}` itself"
    shown = [f"`{region_text(sim, model, tuple(h.split('.')))}`" for h in holders[:3]]
    if len(holders) > 3:
        shown.append(f"{len(holders) - 3} more")
    return f"the container{'s' if len(holders) > 1 else ''} {', '.join(shown)}"


def _layers_text(sim: Simulation, model: int, layers: list[str]) -> str:
    shown = [f"`{region_text(sim, model, tuple(m.split('.')) if m else ())}`" for m in layers[:3]]
    if len(layers) > 3:
        shown.append(f"{len(layers) - 3} more")
    return ", ".join(shown)


def _item_code(node: cst.CSTNode, mf: ModuleFilter) -> str:
    """The loop item's name as the script writes it (`m`)."""
    call = mf.call if mf.call is not None else node
    if (
        type(call) is cst.Call
        and type(call.func) is cst.Attribute
        and type(call.func.value) is cst.Name
    ):
        return call.func.value.value
    return "m"


def _fix(event: RequiresGradSet, mf: ModuleFilter) -> FixBuilder | NoFix | None:
    """`m.parameters()` -> `m.parameters(recurse=False)`; a `m.requires_grad_(False)` on a
    line of its own -> a loop over `m.parameters(recurse=False)` doing the same."""
    if mf.call is not None:
        call = mf.call

        def build_recurse(ctx: FixContext) -> Fix | NoFix:
            code = ctx.code(call)
            if not code.endswith("()"):
                return NoFix(
                    "the call is not written `.parameters()` with no arguments: adding "
                    "`recurse=False` is not a plain edit"
                )
            return Fix(
                SAFE,
                "Freeze each module's own parameters (`recurse=False`)",
                (ctx.replace(call, code[:-1] + "recurse=False)"),),
            )

        return build_recurse
    call = event.node
    if not (
        type(call) is cst.Call
        and type(call.func) is cst.Attribute
        and call.func.attr.value == "requires_grad_"
        and type(call.func.value) is cst.Name
    ):
        return NoFix(
            "the freeze is not a `requires_grad_(...)` call on a loop variable: the fix cannot "
            "rewrite it"
        )
    item = call.func.value.value

    def build(ctx: FixContext) -> Fix | NoFix:
        _, end = ctx.span(call)
        indent = ctx.indent(call)
        rest = ctx.text[end : ctx.lines.line_end(end)].strip()
        if indent.strip() or (rest and not rest.startswith("#")):
            return NoFix(
                "the freeze shares its line with other code: the fix rewrites only a statement on "
                "a line of its own"
            )
        args = ctx.code(call)[len(ctx.code(call.func)) :]
        param = ctx.fresh_name("p", "param", "parameter")
        text = (
            f"for {param} in {item}.parameters(recurse=False):{ctx.lines.newline}"
            f"{indent}{ctx.indent_unit}{param}.requires_grad_{args}"
        )
        return Fix(
            SAFE,
            "Freeze each module's own parameters (`recurse=False`)",
            (ctx.replace(call, text),),
        )

    return build
