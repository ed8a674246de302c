"""Where a positional selection of parameters (`list(model.parameters())[:k]`, `enumerate` with
`i < k`) cuts a model, decided on its parameter table (no torch).

`parameters()` yields a module's own tensors, then those of each child in registration order,
depth first: every module's tensors are contiguous. A position `k` of a region (tensors
`[0, k)` on one side, the rest on the other) splits each module holding tensors on both sides:
the modules holding both tensor `k - 1` and tensor `k`. Among them, the region's own module
(and a library model a wrapper holds: a model too) and plain containers (`nn.Sequential`,
`nn.ModuleList`, `nn.ModuleDict` and their subclasses, such as torchvision's
`Conv2dNormActivation`) only hold their children in turn: a cut between two of their children
is a block boundary. Any other module has its own `forward` using the tensors together (a conv
and its BatchNorm in a ResNet `BasicBlock`, a layer's weight and bias): the cut splits it.
"""

from __future__ import annotations

from dataclasses import dataclass

from freezelint.model.table import Parameter, ParamTable

CONTAINERS = frozenset(
    {
        "torch.nn.modules.container.Sequential",
        "torch.nn.modules.container.ModuleList",
        "torch.nn.modules.container.ModuleDict",
    }
)


class Unknown(Exception):
    """The table cannot tell whether a module the cut passes through is a container."""


@dataclass(frozen=True)
class Cut:
    """A position of a region that splits a module.

    `block` is the outermost module split that is not a container (below the region's own
    module): the nearest cuts that split nothing are its ends, `lower` (its first tensor's
    position) and `upper` (one past its last). `module` is the innermost one split (the block
    itself, or a layer inside it). `before` and `after` are the tensors on either side of the
    cut, by name relative to the block."""

    at: int
    block: str
    module: str
    lower: int
    upper: int
    before: str
    after: str


def container(table: ParamTable, module: str) -> bool:
    """Is `module` a plain container (raises `Unknown` when its class is not known)?"""
    kind = table.module_kinds.get(module)
    bases = table.classes.get(kind) if kind is not None else None
    if bases is None:
        raise Unknown(module)
    return any(base in CONTAINERS for base in bases)


def model_parts(table: ParamTable, prefix: str = "") -> set[str]:
    """The paths of the library models a composite is made of (`backbone` in a wrapper): like
    the model itself, splitting one is what a positional freeze is for, not a cut in a block."""
    out: set[str] = set()
    for attr, part in table.parts or ():
        if part.parts is not None:
            out |= model_parts(part, f"{prefix}{attr}.")
        elif part.library != "torch.nn":
            out.add(f"{prefix}{attr}")
    return out


def split_modules(table: ParamTable, root: str, left: Parameter, right: Parameter) -> list[str]:
    """The modules below `root` holding both tensors, outermost first."""
    a = left.module.split(".") if left.module else []
    b = right.module.split(".") if right.module else []
    common: list[str] = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common.append(x)
    depth = len(root.split(".")) if root else 0
    return [".".join(common[:i]) for i in range(depth + 1, len(common) + 1)]


def cut_at(table: ParamTable, root: str, params: list[Parameter], at: int) -> Cut | None:
    """The module position `at` of the region `root` (whose tensors are `params`) splits, or
    None where it is a boundary. Raises `Unknown` when that cannot be told."""
    if not 0 < at < len(params):
        return None
    left, right = params[at - 1], params[at]
    models = model_parts(table)
    blocks = [
        m
        for m in split_modules(table, root, left, right)
        if m not in models and not container(table, m)
    ]
    if not blocks:
        return None
    block = blocks[0]
    inside = [i for i, p in enumerate(params) if p.name.startswith(f"{block}.")]
    lower, upper = inside[0], inside[-1] + 1
    if upper - lower != len(inside):
        raise Unknown(block)  # shared tensors listed elsewhere: positions are not the block's
    return Cut(
        at,
        block,
        blocks[-1],
        lower,
        upper,
        left.name[len(block) + 1 :],
        right.name[len(block) + 1 :],
    )


def span(positions: tuple[int | None, int | None], count: int) -> tuple[int, int]:
    """The positions a slice selects among `count`, as `[start, stop)` (start >= stop: none)."""
    start, stop, _ = slice(*positions).indices(count)
    return start, stop


def cuts(table: ParamTable, root: str, positions: tuple[int | None, int | None]) -> list[Cut]:
    """The modules a slice of the region's tensors splits, at its start and at its stop
    (raises `Unknown` when that cannot be told)."""
    params = table.params_under(root)
    start, stop = span(positions, len(params))
    if start >= stop:
        return []
    found = [cut_at(table, root, params, at) for at in dict.fromkeys((start, stop))]
    return [cut for cut in found if cut is not None]
