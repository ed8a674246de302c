"""A freeze by position stops inside a module: part of one block's tensors frozen, the rest not.

## What it does
Finds a freeze (or unfreeze) that picks parameters by their position in `parameters()`
order (`list(model.parameters())[:k]`, `enumerate(model.parameters())` with `i < k` or
`i <= k`, a counter incremented in the loop, `if i >= k: break`) and works out, on the real
model's parameter table, where position `k` falls. It reports a `k` that falls inside a
module: between a layer's weight and its bias, or inside a block that uses its tensors together
in its own `forward` (a ResNet `BasicBlock`, timm's `DepthwiseSeparableConv`,
efficientnet-pytorch's `MBConvBlock`, a ViT `Block`), where the block ends up partly frozen.
Cuts between the children of a plain container (`nn.Sequential`, `nn.ModuleList`, subclasses
such as torchvision's `Conv2dNormActivation`) are block boundaries and are left alone. The
message names the block, the tensors either side of the cut, and the nearest boundaries as
tensor counts.

## Why is this bad?
"The first k tensors" is almost always meant as "the first few layers", but tensors are
counted one by one: a conv weight is frozen while the BatchNorm right after it trains, a
linear layer's weight is frozen and its bias is not. The block then fine-tunes a sliver of
itself against frozen neighbours, which is rarely what was measured or meant, and the line
between frozen and trained moves silently whenever the architecture changes.

## Example
```python
import torch
import torchvision
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
for i, param in enumerate(model.parameters()):
    if i < 5:
        param.requires_grad = False
optimizer = torch.optim.SGD(
    [p for p in model.parameters() if p.requires_grad], lr=0.01
)
```

## Use instead
```python
import torch
import torchvision
model = torchvision.models.resnet18(weights="IMAGENET1K_V1")
for i, param in enumerate(model.parameters()):
    if i < 3:
        param.requires_grad = False
optimizer = torch.optim.SGD(
    [p for p in model.parameters() if p.requires_grad], lr=0.01
)
```

## Fix safety
Unsafe: it changes how many tensors are frozen. The fix moves the cut to the block's boundary
that leaves the whole block out of the selection (a freeze stops before it: the block stays
trainable; an unfreeze stops after it: the block stays frozen), by rewriting the literal in
the comparison or the slice. It is offered only where the script writes that number as a
literal (not through a variable or a default argument) and the selection keeps some tensors.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixBuilder, FixContext
from freezelint.model.table import Parameter
from freezelint.rules.base import region_text
from freezelint.script.events import ModuleReplaced, RequiresGradSet
from freezelint.script.extract.syntax import int_literal
from freezelint.script.selection import NameWhere, Region
from freezelint.simulation.atoms import TableAtoms
from freezelint.simulation.cuts import Cut, Unknown, cuts, span
from freezelint.simulation.replay import Atom, Key, Simulation

CODE = "FRZ018"
NAME = "partial-module-freeze"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "yes"
FIX = "unsafe"


_BOTH_ENDS = NoFix(
    "both ends of the range stop inside a block: which boundaries were meant is the script's choice"
)


def check(sim: Simulation) -> Iterator[Finding]:
    reported: set[tuple[int, str, int]] = set()
    for event in sim.events:
        if not isinstance(event, RequiresGradSet) or event.value is None:
            continue
        leaf = event.selection
        if (
            not isinstance(leaf, NameWhere)
            or leaf.positions is None
            or leaf.negated
            or not isinstance(leaf.base, Region)
            or leaf.base.model not in sim.tables
        ):
            continue
        model, atoms = leaf.base.model, sim.tables[leaf.base.model]
        prefixes, certain = atoms.resolve(leaf.base.path)
        if not certain or len(prefixes) != 1 or prefixes[0] not in atoms.table.module_set:
            continue
        if atoms.opaque:
            continue  # parts the table does not know hold tensors at unknown positions
        root = prefixes[0]
        params = atoms.table.params_under(root)
        try:
            found = cuts(atoms.table, root, leaf.positions)
        except Unknown:
            continue
        split = [
            cut
            for cut in found
            if (model, root, cut.at) not in reported  # the other arm of `if i < k: ... else:`
            and _split(sim, event, model, params, cut)
            and not _moved(sim, event, atoms, root, params, cut, leaf.positions)
        ]
        if not split:
            continue
        reported.update((model, root, cut.at) for cut in split)
        message = _message(sim, event, leaf, params, split[0])
        if len(split) > 1:  # a slice with both ends inside blocks (`[2:10]`)
            other = region_text(sim, model, tuple(split[1].block.split(".")))
            message += f"; its other end splits `{other}` too"
        yield Finding(
            CODE,
            event.anchor,
            message,
            verified=atoms.table.verified(),
            fix=_fix(event, leaf, len(params), split[0]) if len(split) == 1 else _BOTH_ENDS,
            event=event,
        )


def _settled(sim: Simulation, event: RequiresGradSet) -> dict[Key, Atom]:
    """The state the freeze leaves for training: when the next optimizer is built, or at the
    end of the script when none is built after it."""
    later = [o for o in sim.optimizers.values() if o.event.seq > event.seq]
    if later:
        return min(later, key=lambda o: o.event.seq).built_state
    return sim.state


def _split(
    sim: Simulation, event: RequiresGradSet, model: int, params: list[Parameter], cut: Cut
) -> bool:
    """Is the block still split where the freeze cut it when training starts: a tensor on the
    selected side set as the freeze set it, one on the other side the other way, none unknown?"""
    state = _settled(sim, event)
    start, stop = span(event.selection.positions, len(params))  # type: ignore[union-attr]
    chosen = "T" if event.value else "F"
    other = "F" if event.value else "T"
    sides: dict[bool, set[str]] = {True: set(), False: set()}
    for index in range(cut.lower, cut.upper):
        atom = state.get((model, tuple(params[index].name.split("."))))
        if atom is None or atom.status == "?":
            return False
        sides[start <= index < stop].add(atom.status)
    return chosen in sides[True] and other in sides[False]


def _moved(
    sim: Simulation,
    event: RequiresGradSet,
    atoms: TableAtoms,
    root: str,
    params: list[Parameter],
    cut: Cut,
    positions: tuple[int | None, int | None],
) -> bool:
    """Could a module the script put in before the freeze (a new head) have moved the
    positions the table gives? Not when it has as many tensors as the one it replaces, or when
    it comes after the block and positions are counted from the start."""
    index = {p.name: i for i, p in enumerate(params)}
    from_end = any(end is not None and end < 0 for end in positions)
    prefix = f"{root}." if root else ""
    for other in sim.events:
        if other.seq >= event.seq:
            break
        if not isinstance(other, ModuleReplaced) or other.model != atoms.model or other.added:
            continue  # (a part a wrapper is built with is in its table already)
        paths, certain = atoms.resolve(other.path)
        if not certain or len(paths) != 1:
            return True
        path = paths[0]
        if path in atoms.table.module_set:
            old = [p.name for p in atoms.table.params_under(path)]
            if _tensor_count(sim, other) == len(old):
                continue
            inside = [index[name] for name in old if name in index]
        else:
            # A module under a new name comes last among its parent's children.
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            if parent != root and not parent.startswith(prefix) and root:
                continue  # put in outside the region
            under = [
                i for i, p in enumerate(params) if not parent or p.name.startswith(f"{parent}.")
            ]
            inside = [under[-1] + 1] if under else [len(params)]
        if inside and (from_end or min(inside) < cut.upper):
            return True
    return False


def _tensor_count(sim: Simulation, event: ModuleReplaced) -> int | None:
    """How many tensors the module put in has (None: not known)."""
    if event.adds_params is False:
        return 0
    if event.new_module is not None and event.new_module in sim.tables:
        return len(sim.tables[event.new_module].table.params)
    return None


def _span_text(start: int, stop: int, count: int, noun: bool = True) -> str:
    """`the first 88 tensors` (`the first 88` without the noun), `the last 2`, `tensors 4 to
    9`, `all 62 tensors`."""
    tensors = " tensors" if noun else ""
    if start == 0 and stop == count:
        return f"all {count}{tensors}"
    if start == 0:
        return f"the first {stop}{tensors}" if stop != 1 or not noun else "the first tensor"
    if stop == count:
        last = count - start
        return f"the last {last}{tensors}" if last != 1 or not noun else "the last tensor"
    return f"tensors {start + 1} to {stop}"


def _alternatives(start: int, stop: int, count: int, cut: Cut) -> list[tuple[int, int]]:
    """The selections with the cut end moved to the block's boundaries (none left empty),
    the smaller first."""
    ends = [(start, cut.lower), (start, cut.upper)] if cut.at == stop else []
    ends += [(cut.lower, stop), (cut.upper, stop)] if cut.at == start else []
    return sorted(((a, b) for a, b in ends if a < b), key=lambda ends: ends[1] - ends[0])


def _message(
    sim: Simulation, event: RequiresGradSet, leaf: NameWhere, params: list[Parameter], cut: Cut
) -> str:
    model, count = leaf.base.model, len(params)  # type: ignore[union-attr]
    start, stop = span(leaf.positions, count)  # type: ignore[arg-type]
    verb = "unfreeze" if event.value else "freeze"
    table = sim.tables[model].table
    kinds = table.module_kinds
    region = region_text(sim, model, leaf.base.path)  # type: ignore[union-attr]
    block = region_text(sim, model, tuple(cut.block.split(".")))
    where = f"`{block}` ({kinds.get(cut.block, '?')})"
    if cut.module != cut.block:
        inner = region_text(sim, model, tuple(cut.module.split(".")))
        where = f"`{inner}` ({kinds.get(cut.module, '?')}) of {where}"
    selected, unselected = ("trainable", "frozen") if event.value else ("frozen", "trainable")
    before, after = (selected, unselected) if cut.at == stop else (unselected, selected)
    texts = [_span_text(a, b, count) for a, b in _alternatives(start, stop, count, cut)]
    if len(texts) == 2 and all(t.startswith(("the first ", "the last ")) for t in texts):
        texts[0] = texts[0].removesuffix(" tensors")
    doing = "unfreezing" if event.value else "freezing"
    return (
        f"{doing} {_span_text(start, stop, count, noun=False)} of the {count} tensors of "
        f"`{region}` stops inside {where}: `{cut.before}` {before}, `{cut.after}` {after}; "
        f"{verb} {' or '.join(texts)} to cut at a module boundary"
    )


def _fix(
    event: RequiresGradSet, leaf: NameWhere, count: int, cut: Cut
) -> FixBuilder | NoFix | None:
    """Rewrite the literal so that the selection stops at the block's boundary that leaves the
    whole block out of it."""
    bound = leaf.bound
    start, stop = span(leaf.positions, count)  # type: ignore[arg-type]
    if bound is None or (bound.end == "stop") != (cut.at == stop):
        return NoFix("the literal that sets this end of the range is not known")
    written = int_literal(bound.node)
    if written is None:
        return NoFix("the range's end is not written as an integer literal")
    new = (start, cut.lower) if bound.end == "stop" else (cut.upper, stop)
    literal = bound.literal(new[1] if bound.end == "stop" else new[0], count, written < 0)
    if new[0] >= new[1] or literal is None:
        return NoFix("no literal cuts at a block boundary and still selects something")
    verb = "Unfreeze" if event.value else "Freeze"
    state = "frozen" if event.value else "trainable"
    title = f"{verb} {_span_text(*new, count)} (`{cut.block}` stays {state})"
    node = bound.node

    def build(ctx: FixContext) -> Fix:
        return Fix(UNSAFE, title, (ctx.replace(node, str(literal)),))

    return build
