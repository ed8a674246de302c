"""Which parameters an event touches, as a small algebra instead of code.

A selection is built by the extractor from expressions such as `model.features.parameters()`,
`filter(lambda p: p.requires_grad, ...)` or a comprehension over `named_parameters()`. Without the
model's parameter table only `Region` and `Trainable` can be reasoned about exactly; name predicates
are kept as CST expressions for the verification stage and are "unknown" to the symbolic simulation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


# A module path inside a model: attribute names and index components ("0", "-1", "2:5", "*").
Path = tuple[str, ...]

# The path of a model's classifier where the script names it only through the library
# (`model.reset_classifier(n)`, `model.get_classifier()`): its real name is library specific.
HEAD = "<classifier>"
# An index that is not a literal (`model.blocks[i]`).
DYNAMIC = "*"


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if part == HEAD:
            out += ".get_classifier()"
        elif part[:1].isdigit() or part[:1] in "-:*":
            out += f"[{part}]"
        else:
            out += f".{part}"
    return out


def part_slice(part: str) -> slice | None:
    """The slice a path component such as `"2:"` or `":-1"` names (None if it is no slice)."""
    if ":" not in part:
        return None
    lo, _, hi = part.partition(":")
    return slice(int(lo) if lo else None, int(hi) if hi else None)


def _is_index(part: str) -> bool:
    return part[:1].isdigit() or part[:1] in "-:*"


def components_relation(a: str, b: str) -> str:
    """'same', 'disjoint' or 'unknown' for two components under one parent."""
    if a == b and a != DYNAMIC:
        return "same"
    if HEAD in (a, b):
        return "unknown"
    if _is_index(a) or _is_index(b):
        if a.isdigit() and b.isdigit():
            return "disjoint"
        if _is_index(a) and _is_index(b):
            return "unknown"
        return "disjoint"  # an attribute and an index never name the same child
    return "disjoint"


def path_relation(a: Path, b: Path) -> str:
    """How region `a` relates to region `b`: 'equal', 'contains' (a contains b), 'within'
    (a within b), 'disjoint' or 'unknown'."""
    for x, y in zip(a, b, strict=False):
        rel = components_relation(x, y)
        if rel == "disjoint":
            return "disjoint"
        if rel == "unknown":
            return "unknown"
    if len(a) == len(b):
        return "equal"
    return "contains" if len(a) < len(b) else "within"


@dataclass(frozen=True)
class Region:
    """Every parameter of the submodule at `path` of model `model` (`()` is the whole model)."""

    model: int
    path: Path


@dataclass(frozen=True)
class PositionBound:
    """The integer literal that sets one end of a positional selection, as the script writes
    it (`10` in `i < 10`, `-2` in `[:-2]`): the position is the literal plus `shift` (`i <= k`
    stops at `k + 1`, a counter incremented first is one ahead of the index), or, for a
    negative literal of a slice, the region's tensor count plus the literal."""

    node: cst.BaseExpression
    end: str  # "start" | "stop": the end of `NameWhere.positions` it sets
    shift: int = 0

    def position(self, value: int, count: int) -> int:
        """The position a literal `value` sets, in a region of `count` tensors."""
        return count + value if value < 0 else value + self.shift

    def literal(self, position: int, count: int, negative: bool) -> int | None:
        """The literal that sets `position` (written negative when the script's is)."""
        value = position - count if negative else position - self.shift
        if (value < 0) != negative or (negative and value == 0):
            return None
        return value


@dataclass(frozen=True)
class NameWhere:
    """The parameters of `base` whose name satisfies `predicate` (a CST expression over the name
    variable `name_var`), or its negation. `predicate=None` is a subset the extractor could not
    describe (e.g. `list(model.children())[:-1]`)."""

    base: Selection
    predicate: cst.BaseExpression | None
    name_var: str | None
    negated: bool = False
    # What the script sees of a name: `module.` etc. when iterating through a wrapper (names are
    # relative to the base region), and the constants the predicate reads (`keys = ["fc"]`).
    name_prefix: str = ""
    env: tuple[tuple[str, object], ...] = ()
    # Instead of a predicate: the parameters at these positions of `base`'s parameter order,
    # as a slice (`list(model.parameters())[:-k]`, `enumerate(...)` with `i < k`).
    positions: tuple[int | None, int | None] | None = None
    # The literal the script writes for an end of `positions`, when it writes one (for fixes).
    bound: PositionBound | None = None
    # Names the predicate reads that the loop body computes from the name first (see
    # `values.ParamItem.derived`): worked out per parameter before the predicate.
    derived: tuple[tuple[str, cst.BaseExpression], ...] = ()
    # Instead of a predicate: the parameters of the BatchNorm layers in `base` (`negated`: all
    # the others), as Lightning's `BaseFinetuning.freeze(..., train_bn=True)` treats them.
    norms: bool = False
    # Instead of a predicate: the parameters of the modules a filtered loop over `modules()` or
    # `children()` of `base` picks (see `ModuleFilter`).
    modules: ModuleFilter | None = None


# In a module filter's conditions: what `type(m).__name__` / `m.__class__.__name__` reads.
CLASS_NAME = "__class_name__"


@dataclass(frozen=True)
class ModuleFilter:
    """The modules a loop over `modules()` / `named_modules()` (the region's own module
    first, then every module inside it) or `children()` picks with conditions on the module's
    name and class (`not isinstance(m, nn.BatchNorm2d)`, `"fc" not in name`), taken with all
    their parameters (`recurse`: `requires_grad_`, `parameters()`) or only their own."""

    walk: str  # "modules" | "children" | "apply" (the modules, each after its children)
    # The conditions (each negated or not) that all hold for a picked module; over `name_var`
    # and the placeholders standing for `isinstance(m, ...)` tests.
    tests: tuple[tuple[cst.BaseExpression, bool], ...]
    name_var: str | None  # the loop's name variable, when the conditions read it
    # Placeholder name -> the qualified names of the classes its `isinstance` test names.
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    env: tuple[tuple[str, object], ...] = ()  # the constants the conditions read
    recurse: bool = True
    loop: int = 0  # the loop (one per walk of it): its filters act module by module together
    # The `m.parameters()` call that takes the parameters recursively, if that is how.
    call: cst.CSTNode | None = None
    # Per-iteration counters the conditions read (`count < k`, `enumerate`'s index): the
    # value at the n-th module the walk yields is n plus the offset.
    counters: tuple[tuple[str, int], ...] = ()
    # Only this own parameter of each picked module (`m.weight.requires_grad = False`).
    param: str | None = None
    # The walk iterates the root module itself: its children only if it is a Sequential or a
    # ModuleList.
    container: bool = False
    # Placeholder name -> the attribute its `hasattr(m, "weight")` test asks for.
    has: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Trainable:
    """The parameters of `base` that have `requires_grad=True` when the selection is taken."""

    base: Selection


@dataclass(frozen=True)
class Union:
    """The parameters any of `parts` picks (`list(a.parameters()) + list(b.parameters())`)."""

    parts: tuple[Selection, ...]


@dataclass(frozen=True)
class Opaque:
    """Parameters from somewhere the analysis cannot follow."""

    why: str = ""


Selection = Region | NameWhere | Trainable | Union | Opaque


def union(*parts: Selection) -> Selection:
    flat: list[Selection] = []
    for part in parts:
        if isinstance(part, Union):
            flat.extend(part.parts)
        else:
            flat.append(part)
    return flat[0] if len(flat) == 1 else Union(tuple(flat))


def leaves(sel: Selection) -> Iterator[Selection]:
    """The union's members (a non-union selection is its own single member)."""
    if isinstance(sel, Union):
        for part in sel.parts:
            yield from leaves(part)
    else:
        yield sel


def regions(sel: Selection) -> Iterator[Region]:
    """Every region a selection draws from, filters included."""
    for leaf in leaves(sel):
        if isinstance(leaf, Region):
            yield leaf
        elif isinstance(leaf, NameWhere | Trainable):
            yield from regions(leaf.base)


def models(sel: Selection) -> set[int]:
    return {r.model for r in regions(sel)}


def is_opaque(sel: Selection) -> bool:
    """True when some part of the selection comes from where the analysis cannot see."""
    for leaf in leaves(sel):
        if isinstance(leaf, Opaque):
            return True
        if isinstance(leaf, NameWhere | Trainable) and is_opaque(leaf.base):
            return True
    return False
