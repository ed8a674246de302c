"""The abstract values the extractor tracks for names and expressions.

An expression evaluates to one of these, or to `None` when nothing about it matters for freezing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from freezelint.script.events import ParamGroup
from freezelint.script.selection import NameWhere, Path, Region, Selection

if TYPE_CHECKING:
    import libcst as cst


@dataclass(frozen=True)
class ModelRef:
    """A model, or a submodule (or single parameter) at `path` inside it, seen through
    `wrappers` (DataParallel, compile...) that prefix its parameter names."""

    model: int
    path: Path = ()
    wrappers: tuple[str, ...] = ()

    @property
    def region(self) -> Region:
        return Region(self.model, self.path)

    def child(self, part: str) -> ModelRef:
        return ModelRef(self.model, (*self.path, part), self.wrappers)


@dataclass(frozen=True)
class Params:
    """An iterable of parameters (`generator` for `.parameters()` and other one-shot iterators;
    `named` when it yields `(name, param)` pairs). `binding` identifies the bound iterator it
    is (or draws from lazily, or was listed from after it was used up: then it is as empty),
    for exhausted-iterator tracking."""

    selection: Selection
    generator: bool = True
    named: bool = False
    binding: int | None = None
    enumerated: bool = False
    name_prefix: str = ""  # names seen through wrappers start with this (`module.`)
    start: int | None = 0  # the first index `enumerate` counts from (None: not known)
    # The names are relative to a module the analysis cannot name (`m.named_parameters()` of
    # each module of a `children()` loop): a condition on them picks parameters it cannot name.
    relative: bool = False


@dataclass(frozen=True)
class ParamItem:
    """A loop variable over parameters; `name_var` is the loop's name variable, if any, and
    `index_vars` other per-iteration variables (`i` of `enumerate`): a condition on those picks
    parameters the analysis cannot name."""

    selection: Selection
    name_var: str | None = None
    index_vars: frozenset[str] = frozenset()
    name_prefix: str = ""
    # Names the loop body computes once from the parameter's name (`parts = name.split(".")`,
    # `is_head = any(k in name for k in keys)`), with their expressions, in order.
    derived: tuple[tuple[str, cst.BaseExpression], ...] = ()
    # The per-iteration variables whose value at the i-th parameter is known to be `i` plus an
    # offset: `enumerate`'s index (its start), a counter the loop body increments by one
    # (`count += 1`); a condition on one picks parameters by position.
    counters: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Modules:
    """An iterable of submodules (`.children()`, `.modules()`...) of a region; `subset` when only
    some of them are taken (a slice, a filter)."""

    selection: Selection
    named: bool = False
    children: bool = False  # direct children only: an index or slice names child modules
    wrapped: bool = False  # seen through a wrapper (DataParallel...): one more module level
    # `enumerate(model.children())`: pairs of a counter (from `start`; None: not known) and
    # the module.
    enumerated: bool = False
    start: int | None = 0
    # The module itself iterated (`enumerate(model.features)`): its children when it is a
    # Sequential or a ModuleList (what the table says).
    container: bool = False


@dataclass(frozen=True)
class ModuleItem:
    """A loop variable over submodules: a part of `selection` the analysis cannot name, or,
    for a loop over `modules()` / `children()` of a region (`walk`), the modules its
    conditions pick (`selection.ModuleFilter`)."""

    selection: Selection
    walk: str = ""  # "modules" | "children" | "apply" | "" (another iterable of modules)
    name_var: str | None = None  # the name a `named_modules()` / `named_children()` loop binds
    loop: int = 0
    # Names the loop body computes once from the module or its name (`classname =
    # m.__class__.__name__`), with their expressions, in order.
    derived: tuple[tuple[str, cst.BaseExpression], ...] = ()
    # As `ParamItem.counters`, over the modules the walk yields: `enumerate`'s index, a
    # counter the body increments (`count += 1`); a condition on one picks modules by position.
    counters: tuple[tuple[str, int], ...] = ()
    container: bool = False  # see `Modules.container`


def some_module(region: Region) -> ModuleItem:
    """Some module inside `region` the analysis cannot say which (`getattr(model, name)` with a
    name not known, what a call it cannot follow returns when handed the model): a freeze
    through it leaves the region's parameters unknown, never the wrong ones frozen; names seen
    through it are relative to that module (`Params.relative`)."""
    return ModuleItem(NameWhere(region, None, None))


@dataclass(frozen=True)
class Groups:
    """A list of param groups (dicts), or a single group dict (`single`)."""

    groups: tuple[ParamGroup, ...]
    single: bool = False


@dataclass(frozen=True)
class OptimizerRef:
    """An optimizer the script built (by the id its `OptimizerBuilt` event gives it)."""

    optimizer: int


@dataclass(frozen=True)
class Definition:
    """A function or class of the project named without being called, as a registry holds it
    (`MODELS = {"base": BaseModel}`); `path` and `module` name the file that defines it (None
    for the checked file), so that a call through it reads it there."""

    node: cst.FunctionDef | cst.ClassDef
    path: str | None = None
    module: str = ""


@dataclass(frozen=True)
class Const:
    """A value known statically: a literal, a module constant, a parameter default, a simple
    f-string or arithmetic, a tuple or dict of those. Model constructor arguments are resolved
    through it. `source` names the command-line flag it is the default of: the user can pass
    another value, so a condition on it is not decided (the default still names the model to
    verify); `choices` are the values argparse accepts for it (`choices=`), when it says."""

    value: object
    source: str | None = None
    choices: tuple | None = None

    @property
    def decided(self) -> bool:
        return self.source is None


@dataclass(frozen=True)
class Constructor:
    """A model constructor or a `torch.optim` class named without being called (`net_fn =
    models.resnet50`, `getattr(models, "resnet50")`, `models.__dict__["resnet50"]`,
    `Trainer(model, optim.Adam)`)."""

    qual: str


@dataclass(frozen=True)
class DictValue:
    """A dict literal whose values are not all constants (`{"resnet": models.resnet18}`)."""

    items: tuple[tuple[object, Value], ...]

    def get(self, key: object) -> Value:
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class ArgParser:
    """An `argparse.ArgumentParser` (or one of its argument groups)."""

    ident: int


@dataclass(frozen=True)
class Namespace:
    """What `parser.parse_args()` returns: each option's default, as a `Const` whose source is
    the option's flag; or a config object a module fills in (`config_objects`), whose nodes
    are namespaces too (None: a value not known)."""

    options: tuple[tuple[str, Const | Namespace | None], ...]

    def get(self, name: str) -> Value:
        for key, value in self.options:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Instance:
    """An object of one of the project's classes that is not a module (a `Trainer`): its
    attributes live in the extractor's heap (`ObjectEvaluator.attributes`)."""

    ident: int
    cls: str


@dataclass(frozen=True)
class SuperRef:
    """`super()` inside a method of class `cls`: `obj`'s methods, looked up past `cls`."""

    obj: Instance | ModelRef
    cls: str


@dataclass(frozen=True)
class ProjectModule:
    """A module of the project bound by `import models` (its file's path)."""

    path: str


@dataclass(frozen=True)
class TrainerValue:
    """A Lightning `Trainer`: its callbacks when all are in view (None: some are not)."""

    callbacks: tuple[Value, ...] | None
    # While `fit` runs a module's hooks: what its `configure_optimizers` returned
    # (`self.trainer.optimizers`, `self.optimizers()`); None outside a fit or when not known.
    optimizers: tuple[Value, ...] | None = None


@dataclass(frozen=True)
class ParamNames:
    """The names of the parameters of `selection`, as a loop over `named_parameters()` sees
    them (`{name for name, _ in params[-10:]}`): only a test of membership (`name in names`)
    over the same parameters is read from it."""

    selection: Selection
    name_prefix: str = ""


@dataclass(frozen=True)
class Size:
    """`len(module)` of a container module (`len(model.features)`) plus `offset`: a count
    only the model's table knows; `clamped` once `max(0, ...)` bounds it below by zero. As an
    end of a slice of that module, `max(0, len(m) - k)` is the literal `-k`."""

    model: int
    path: Path
    offset: int = 0
    clamped: bool = False

    def plus(self, step: Value, negate: bool = False) -> Size | None:
        """`len(m) + k` (`- k`, `negate`) for a known integer `k`."""
        if self.clamped or not isinstance(step, Const) or type(step.value) is not int:
            return None
        return replace(self, offset=self.offset + (-step.value if negate else step.value))

    def of(self, ref: Value) -> bool:
        """Is this the size of the module `ref` names?"""
        return isinstance(ref, ModelRef) and (ref.model, ref.path) == (self.model, self.path)


@dataclass(frozen=True)
class TupleValue:
    """A tuple (or list) of values, item by item."""

    items: tuple[Value, ...]


Value = (
    ModelRef
    | Params
    | ParamItem
    | Modules
    | ModuleItem
    | Groups
    | OptimizerRef
    | Definition
    | TupleValue
    | Size
    | ParamNames
    | Const
    | Constructor
    | DictValue
    | ArgParser
    | Namespace
    | Instance
    | SuperRef
    | ProjectModule
    | TrainerValue
    | None
)
