"""The timeline: one frozen dataclass per thing that matters for freezing, in program order.

Every event carries the CST node it came from (for positions), the loops and branches it sits in
(`ctx`), its order in the timeline (`seq`) and, when it was found by following a call to a helper
function of the same file, the call's node (`site`), which is where a diagnostic about it points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from freezelint.script.selection import Path, Selection

if TYPE_CHECKING:
    import libcst as cst


@dataclass(frozen=True)
class Frame:
    """A loop or branch an event sits in. `ident` is unique per syntactic construct and call."""

    kind: str  # "loop" | "branch"
    ident: int


class _Unknown:
    """An argument whose value is not known statically."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class ModelSpec:
    """How a model was constructed, as far as it is known statically."""

    library: str | None  # "timm" | "torchvision" | "efficientnet_pytorch" | "torch.nn" | None
    builder: str  # qualified name of the constructor, or the call's text
    name: str | None = None  # the architecture name ("efficientnet_b0") when it is a literal
    trainable: bool | None = True  # are all parameters trainable right after construction?
    has_params: bool | None = True
    # Keyword arguments, each a constant or UNKNOWN ("*"/"**" for unresolved positional or
    # unpacked arguments).
    kwargs: tuple[tuple[str, Any], ...] = ()
    # nn.Linear's (in_features, out_features, bias): ints, or the script's reference to another
    # layer's size (a ModelRef to `...in_features`), or None; for the new head's numbers.
    linear: tuple[Any, Any, Any] | None = None
    # A module made of parts (a user `nn.Module` subclass, an `nn.Sequential`): its submodules
    # in registration order, each (attribute, spec); a None spec is a part the analysis cannot
    # build (then the composite has no table). None: not a composite.
    parts: tuple[tuple[str, ModelSpec | None], ...] | None = None
    # A composite given an `nn.Parameter` of its own (`self.scale = nn.Parameter(...)`).
    own_params: bool = False
    # A composite one of whose parts holds modules of its other parts (`self.body =
    # nn.Sequential(self.backbone, self.head)`): registered twice, handed over once.
    shared: bool = False
    # Positional arguments of a `torch.nn` layer, each a constant or UNKNOWN.
    args: tuple[Any, ...] = ()
    # `nn.Sequential(*list(model.children())[start:stop])`: a Sequential of another model's own
    # top-level modules, as (that model's spec, start, stop).
    children_of: tuple[ModelSpec, int | None, int | None] | None = None
    # A submodule of a library model held as a composite's part (`self.features =
    # densenet.features`): (that model's spec, the submodule's path).
    submodule_of: tuple[ModelSpec, tuple[str, ...]] | None = None
    # An item of a Sequential that is a composite's part which is a module that composite
    # already holds (`self.body = nn.Sequential(self.backbone, nn.Linear(...))`: item 0 is
    # `backbone`): its path in that composite. Registered twice, its tensors listed once.
    same_as: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something the script does that the simulation replays, at `node`, in the loops and
    branches `ctx`, `seq`-th in its run (the fields below say where a fix would edit)."""

    node: cst.CSTNode
    ctx: tuple[Frame, ...] = ()
    seq: int = 0
    site: cst.CSTNode | None = None
    # For fixes: the statement of the function being read that does this (the helper call's
    # statement for a helper's events), the block holding it, and the scope it runs in.
    statement: cst.CSTNode | None = None
    block: int = 0
    scope: int = 0
    # The statement doing this in the code being read, a helper's own when the event is in one
    # (`statement` is then the helper call's): where a fix inside the helper edits.
    local: cst.CSTNode | None = None
    # The calls followed to reach `local` (ids of their nodes): events with the same trail run
    # in the same function body.
    trail: tuple[int, ...] = ()
    # The calls that handed the model (or its parameters, or the optimizer) to the helper this
    # event is in, outermost first: messages say where the model came from.
    via: tuple[cst.CSTNode, ...] = ()

    @property
    def conditional(self) -> bool:
        return bool(self.ctx)

    @property
    def anchor(self) -> cst.CSTNode:
        """Where a diagnostic about this event points: at the code that does it, inside the
        helper when it is in one (rules.md "Where a finding points")."""
        return self.node


@dataclass(frozen=True, kw_only=True)
class ModelBuilt(Event):
    """A model is built (`spec`: what it is) and bound to `var`, if to a name."""

    model: int
    var: str | None
    spec: ModelSpec
    # `copy.deepcopy(model)` (or of a part a composite holds): a new model with the table of
    # that module and, at first, its requires_grad state here, as (model, path) where its state
    # lives; later changes to one do not reach the other.
    copy_of: tuple[int, tuple[str, ...]] | None = None


@dataclass(frozen=True, kw_only=True)
class ModelWrapped(Event):
    """A model is wrapped (`DataParallel`, `torch.compile`): its parameter names change."""

    model: int
    kind: str  # "DataParallel" | "DistributedDataParallel" | "compile"


@dataclass(frozen=True, kw_only=True)
class ModuleReplaced(Event):
    """A new module is put in at `path` of a model (`model.fc = nn.Linear(...)`)."""

    model: int
    path: Path
    adds_params: bool | None  # False for nn.Identity() and friends, None when unknown
    trainable: bool | None = True  # the new module's parameters' requires_grad
    new_module: int | None = None  # the model id of the module put in, when built in view
    # Where that module's state lives when it sits inside another model already (a wrapper's
    # part, `Wrapper().model`): (that model, the path); None: `new_module`'s own.
    state_of: tuple[int, Path] | None = None
    # A part a composite model is given for the first time (`self.backbone = ...` in its
    # `__init__`): the tensors it brings are the module's own, not replacements.
    added: bool = False
    # Whether the composite's `forward` uses the part (False: built and never called, so not
    # meant to train; None: not known).
    used: bool | None = None
    # A submodule of another model built in view put in (`self.features = densenet.features`):
    # (that model, the submodule's path); its parameters keep the state they had there.
    taken_from: tuple[int, Path] | None = None


@dataclass(frozen=True, kw_only=True)
class RequiresGradSet(Event):
    """`requires_grad` is set on the parameters `selection` picks (a freeze or an unfreeze)."""

    selection: Selection
    value: bool | None  # None: computed per parameter (`p.requires_grad = name.startswith(...)`)
    how: str = "call"  # "call" (requires_grad_), "assign" (loop over parameters), "helper"
    swaps_norm: bool = False  # timm.utils.freeze also turns BatchNorm into FrozenBatchNorm2d


@dataclass(frozen=True, kw_only=True)
class IneffectiveFreeze(Event):
    """A statement that looks like a freeze and changes no parameter (FRZ004)."""

    kind: str  # "module-attribute" | "comparison" | "method-overwrite"
    target: str  # the source text of what the statement touches


@dataclass(frozen=True, kw_only=True)
class SizeAttributeSet(Event):
    """`model._fc.out_features = 200`: a size attribute of an existing layer of a library
    model (or a `torch.nn` layer) assigned; the layer's tensors keep their shape."""

    model: int
    path: Path  # the layer whose attribute is assigned
    attr: str
    value: Any  # the number assigned, or UNKNOWN
    target: str  # the layer's code (`model._fc`)


@dataclass(frozen=True, kw_only=True)
class WeightReplaced(Event):
    """`model.conv1.weight = nn.Parameter(...)`: a layer given a new weight (or bias) tensor,
    of the shape the script makes: its size attributes may follow it."""

    model: int
    path: Path  # the layer


@dataclass(frozen=True, kw_only=True)
class SchedulerBuilt(Event):
    """A `torch.optim.lr_scheduler` class built on an optimizer."""

    scheduler: int
    optimizer: int
    cls: str  # "LambdaLR"
    var: str | None  # how the script names it (`scheduler`, `self.scheduler`)
    # Keyword arguments given as constants (`start_factor`, `factor`), for messages.
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, kw_only=True)
class SchedulerStepped(Event):
    """`scheduler.step()`."""

    scheduler: int


@dataclass(frozen=True)
class ParamGroup:
    """One parameter group handed to an optimizer: the parameters it picks, its options."""

    selection: Selection
    node: cst.CSTNode  # the dict (or the expression handed as the single group)
    options: tuple[tuple[str, cst.BaseExpression], ...] = ()
    lr_zero: bool = False
    iterator: int | None = None  # the IteratorBound binding it was taken from, if any
    # Only the parameters the optimizer does not hold yet (Lightning's
    # `unfreeze_and_add_param_group` filters them so).
    new_only: bool = False


@dataclass(frozen=True, kw_only=True)
class OptimizerBuilt(Event):
    """An optimizer is built over `groups` and bound to `var`, if to a name."""

    optimizer: int
    var: str | None
    cls: str
    groups: tuple[ParamGroup, ...]


@dataclass(frozen=True, kw_only=True)
class ParamGroupAdded(Event):
    """`optimizer.add_param_group(...)`: one more group for an optimizer built before."""

    optimizer: int
    group: ParamGroup


@dataclass(frozen=True, kw_only=True)
class ModeSet(Event):
    """`.train()` or `.eval()` on a model or a part of it."""

    model: int
    path: Path
    train: bool
    partial: bool = False  # only some modules under `path` (a filtered `modules()` loop, apply)
    # Set by a framework, not a `.train()` in the code: what does it (`trainer.fit(...)`).
    implicit: str = ""


@dataclass(frozen=True, kw_only=True)
class IteratorBound(Event):
    """A parameter iterator bound to a name (`params = model.parameters()`): a generator,
    used up by the first loop or call that reads it."""

    binding: int
    var: str
    selection: Selection


@dataclass(frozen=True, kw_only=True)
class ParamsListed(Event):
    """A list of parameters bound to a name (`params = list(model.parameters())`, a
    comprehension): it holds the tensors of that moment, whatever is replaced or unfrozen
    before it is handed on."""

    binding: int
    var: str
    selection: Selection


@dataclass(frozen=True, kw_only=True)
class IteratorConsumed(Event):
    """A bound parameter iterator is read to its end (`how`: by what), so it is empty after."""

    binding: int
    var: str
    how: str


@dataclass
class Timeline:
    """All events of one analysis root (the module body, or a function nobody in the file calls)."""

    events: list[Event] = field(default_factory=list)
    models: dict[int, ModelSpec] = field(default_factory=dict)
    model_vars: dict[int, str] = field(default_factory=dict)
    # The file sets learning rates itself (`group["lr"] = ...`, OneCycleLR, CyclicLR): a literal
    # lr of 0 at construction is then a starting value, not a freeze.
    lr_scheduled: bool = False
    imported: frozenset[str] = frozenset()  # names the file's imports bind (`torch`, `nn`...)
    # The project files the walk read besides the checked one (`project.ParsedModule` by path):
    # events in them point there.
    files: dict[str, Any] = field(default_factory=dict)
    # Models a framework runs with callbacks not in view (a LightningModule walked in
    # `Trainer.fit`'s order): those may freeze parameters (BaseFinetuning), so "trainable but
    # in no optimizer" cannot be told.
    unseen_callbacks: frozenset[int] = frozenset()
    # (model, other): a model built from another's modules or holding it as a part (a
    # `Sequential(*list(backbone.children())[:-1])`, a composite's part): their specs embed
    # each other, which no event names (`independence.Links`).
    built_from: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True, kw_only=True)
class BranchArm(Event):
    """The start of arm `arm` of an if/else (or match) with `arms` exclusive arms: the simulation
    runs each arm from the state before the statement and joins them at `BranchJoin`."""

    ident: int
    arm: int
    arms: int


@dataclass(frozen=True, kw_only=True)
class BranchJoin(Event):
    """The end of the if/else (or match) `ident`: its arms' states join here (`BranchArm`)."""

    ident: int
