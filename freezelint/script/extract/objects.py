"""Functions and objects of the project: a call to a function is followed with its arguments
bound; a class is instantiated as an abstract object whose `__init__` runs at construction and
whose attributes persist across its methods (`self.model` set in one method, used in another).

A class derived from `nn.Module` (or a LightningModule) is a model: its instance is a `ModelRef`
whose submodules are what `__init__` assigns (`self.backbone = timm.create_model(...)`), recorded
as the model's `parts` for a composed parameter table. Any other class's instance is an
`Instance`. Methods are looked up through the project's own base classes; `super()` continues the
lookup past the current class.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import libcst as cst

from freezelint.script.events import UNKNOWN, ModelSpec
from freezelint.script.extract.class_bodies import adds_by_name, forward_reads, set_in_init_only
from freezelint.script.extract.loop_items import LoopItems
from freezelint.script.extract.scope import ModuleContext, Scope, Walk
from freezelint.script.extract.syntax import PARAMETER_NAMES
from freezelint.script.imports import ImportTable, dotted
from freezelint.script.selection import Path
from freezelint.script.values import (
    Const,
    Instance,
    ModelRef,
    SuperRef,
    TrainerValue,
    TupleValue,
    Value,
)

# Base classes that make a class a model (qualified names, as the imports resolve them).
MODULE_BASES = frozenset(
    {
        "torch.nn.Module",
        "torch.nn.modules.module.Module",
        "pytorch_lightning.LightningModule",
        "pytorch_lightning.core.LightningModule",
        "pytorch_lightning.core.module.LightningModule",
        "lightning.LightningModule",
        "lightning.pytorch.LightningModule",
        "lightning.pytorch.core.LightningModule",
        "lightning.pytorch.core.module.LightningModule",
    }
)
LIGHTNING_BASES = frozenset(b for b in MODULE_BASES if "ightning" in b)
# What `Trainer.fit` runs on a LightningModule, in order (hooks the class does not define are
# skipped); the training hooks run once per epoch, after the module is put in train mode.
FIT_SETUP = ("setup", "configure_optimizers", "on_fit_start")
FIT_EPOCH = ("on_train_start", "on_train_epoch_start", "training_step", "on_train_epoch_end")
# Decorators after which a method takes no `self`.
UNBOUND = frozenset({"staticmethod"})


@dataclass(frozen=True)
class ClassRoot:
    """A class walked as a root: an instance built with unknown arguments, then `methods` in
    order (a LightningModule: its fit hooks, `fit` set)."""

    cls: cst.ClassDef
    methods: tuple[cst.FunctionDef, ...]
    fit: bool = False


class ObjectEvaluator(LoopItems):
    """Calls into the project's functions and classes; `calls.CallEvaluator` builds on it."""

    exited: bool
    raised: bool

    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        super().__init__(module, imports)
        # The heap: attributes of every object (Instance ident or model id), the class of each,
        # and the submodules each composite model was given (attribute -> model id or None).
        self.attributes: dict[int, dict[str, Value]] = {}
        self.instance_class: dict[int, cst.ClassDef] = {}
        # Each composite's parts: a model built in view, a submodule of one (`densenet.features`:
        # that model and the path), or None (unknown).
        self.parts: dict[int, dict[str, int | tuple[int, Path] | None]] = {}
        self._class_stack: list[cst.ClassDef] = []
        self.unseen_callbacks: set[int] = set()  # see Timeline.unseen_callbacks
        # A joined branch of the function being walked had an arm that returns.
        self.may_have_returned = False
        # The trainer fitting a model (by model id), once its optimizers are configured.
        self.fit_trainers: dict[int, TrainerValue] = {}
        self.own_params: set[int] = set()  # composites given an `nn.Parameter` of their own
        # Modules built holding submodules of models (`nn.Sequential(self.backbone, ...)`):
        # those (model, top-level attribute); and the composites given such a module as
        # another part of their own.
        self.holds_parts_of: dict[int, set[tuple[int, str]]] = {}
        self.shared: set[int] = set()
        # What each `nn.Sequential(a, b, ...)` given modules of models was given, in order; a
        # `nn.Sequential(*list(self.x.children())[i:j])` of a composite's part: (the
        # composite, the part, i, j). For `part_moves`.
        self.held_items: dict[int, tuple[Value, ...]] = {}
        self.cut_from: dict[int, tuple[int, str, int | None, int | None]] = {}
        # The parts of each composite that a Sequential part of its holds again.
        self.held_again: dict[int, set[str]] = {}
        self.bodies: list[cst.CSTNode] = []  # the functions being walked, innermost last
        self.walked_calls = 0  # calls into the project's code walked so far
        self._forward_reads: dict[cst.ClassDef, frozenset[str] | None] = {}
        self._module_class: dict[int, bool] = {}

    # -- classes -----------------------------------------------------------------------------

    def base_quals(self, cls: cst.ClassDef) -> list[tuple[str | None, cst.ClassDef | None]]:
        """Each base as (qualified name, the project's class of that name)."""
        out = []
        home = self.home_of(cls) or self.here
        for base in cls.bases:
            if base.keyword is not None:
                continue
            name = dotted(base.value)
            local = home.classes.get(name) if name else None
            if local is None and name is not None and "." not in name:
                # A base class imported from another file of the project (`BaseModel`).
                with self.inside(home):
                    self.imported_name(name, Walk(home.scope))
                local = home.classes.get(name)
            out.append((home.imports.qualify(base.value), local))
        return out

    def is_finetuning_class(self, cls: cst.ClassDef, depth: int = 0) -> bool:  # pragma: no cover
        raise NotImplementedError  # lightning.LightningCalls

    def finetuning_call(
        self, method: str, node: cst.Call, w: Walk
    ) -> tuple[bool, Value]:  # pragma: no cover
        raise NotImplementedError  # lightning.LightningCalls

    fuel: int  # see follow_imports.ImportFollower

    def worth_following(
        self, fn: cst.FunctionDef, values: list[Value], bound: Value
    ) -> bool:  # pragma: no cover
        raise NotImplementedError  # follow_imports.ImportFollower

    def home_of(self, node: cst.CSTNode) -> ModuleContext | None:  # pragma: no cover
        raise NotImplementedError  # follow_imports.ImportFollower

    def inside(self, ctx: ModuleContext | None) -> AbstractContextManager[None]:  # pragma: no cover
        raise NotImplementedError  # follow_imports.ImportFollower

    def is_module_class(self, cls: cst.ClassDef) -> bool:
        name = id(cls)
        if name not in self._module_class:
            self._module_class[name] = False  # a cycle of bases is no module
            self._module_class[name] = any(
                (local is not None and local is not cls and self.is_module_class(local))
                or (qual is not None and qual in MODULE_BASES)
                for qual, local in self.base_quals(cls)
            )
        return self._module_class[name]

    def is_lightning_class(self, cls: cst.ClassDef, seen: frozenset[str] = frozenset()) -> bool:
        if cls.name.value in seen:
            return False
        return any(
            (qual is not None and qual in LIGHTNING_BASES)
            or (local is not None and self.is_lightning_class(local, seen | {cls.name.value}))
            for qual, local in self.base_quals(cls)
        ) or (
            self.is_module_class(cls) and self.find_method(cls, "configure_optimizers") is not None
        )

    def find_method(
        self, cls: cst.ClassDef, name: str, after: bool = False, depth: int = 0
    ) -> tuple[cst.FunctionDef, cst.ClassDef] | None:
        """`name` as `cls` (or, with `after`, its bases) defines it, with the class that does."""
        if depth > 8:
            return None
        if not after:
            for stmt in cls.body.body:
                if type(stmt) is cst.FunctionDef and stmt.name.value == name:
                    return stmt, cls
        for _, local in self.base_quals(cls):
            if local is not None and local is not cls:
                found = self.find_method(local, name, False, depth + 1)
                if found is not None:
                    return found
        return None

    def class_attribute(self, cls: cst.ClassDef, attr: str, w: Walk) -> Value:
        """A constant the class body sets (`model_name = "resnet50"` in `class Config:`)."""
        for stmt in cls.body.body:
            if type(stmt) is not cst.SimpleStatementLine:
                continue
            for small in stmt.body:
                target = (
                    small.targets[0].target
                    if type(small) is cst.Assign and len(small.targets) == 1
                    else small.target
                    if type(small) is cst.AnnAssign
                    else None
                )
                if type(target) is cst.Name and target.value == attr and small.value:
                    with self.inside(self.home_of(cls)):
                        value = self.eval(small.value, w.changed(scope=self.module_scope))
                    return value if isinstance(value, Const) else None
        return None

    def class_of(self, value: Value) -> cst.ClassDef | None:
        if isinstance(value, Instance):
            return self.instance_class.get(value.ident)
        if isinstance(value, ModelRef) and not value.path and not value.wrappers:
            return self.instance_class.get(value.model)
        return None

    # -- objects -----------------------------------------------------------------------------

    def construct(
        self, cls: cst.ClassDef, node: cst.CSTNode, w: Walk, known_args: bool = True
    ) -> Value:
        """An instance of `cls`, with `__init__` run (`node` is the call; `known_args` False
        for a class walked as a root: its arguments are unknown)."""
        name = cls.name.value
        obj: Instance | ModelRef
        if self.is_module_class(cls):
            spec = ModelSpec("composite", name, name=name, trainable=True, has_params=None)
            obj = self.new_model(spec, w, node, None)
            ident = obj.model
            self.parts[ident] = {}
        else:
            ident = self.new_id()
            obj = Instance(ident, name)
        self.instance_class[ident] = cls
        self.attributes[ident] = {}
        init = self.find_method(cls, "__init__")
        walked = self.walked_calls
        if init is not None:
            self.call_function(init[0], node, w, bound=obj, owner=init[1], known_args=known_args)
        elif type(node) is cst.Call:
            for arg in node.args:
                self.eval(arg.value, w)
        if ident in self.parts:
            # Does the module hold parameters? Yes when a part it was given does; no when its
            # `__init__` was read, gave it no part and no parameter (a loss with a buffer),
            # and nothing in the class adds members by name.
            held = [
                self.models[p].has_params if p in self.models else None
                for p in self.parts[ident].values()
            ]
            if ident in self.own_params:
                held.append(True)
            read = init is not None and self.walked_calls > walked and not adds_by_name(cls)
            has = (
                True
                if True in held
                else (False if (held or read) and all(h is False for h in held) else None)
            )
            self.models[ident] = replace(self.models[ident], has_params=has)
        return obj

    def method_call(self, recv: Value, method: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        """`obj.method(...)` or `super().method(...)` for a method the project defines."""
        if isinstance(recv, SuperRef):
            cls = self.classes.get(recv.cls)
            found = self.find_method(cls, method, after=True) if cls is not None else None
            obj: Value = recv.obj
        else:
            cls = self.class_of(recv)
            found = self.find_method(cls, method) if cls is not None else None
            obj = recv
        if found is None:
            if cls is not None and self.is_finetuning_class(cls):
                return self.finetuning_call(method, node, w)  # BaseFinetuning's own
            return False, None
        fn, owner = found
        if any(dotted(d.decorator) in UNBOUND for d in fn.decorators):
            return True, self.call_function(fn, node, w, owner=owner)
        return True, self.call_function(fn, node, w, bound=obj, owner=owner)

    def call_object(self, target: Value, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        """`obj(...)` on one of the project's objects whose class defines `__call__` (a wrapper
        whose `__call__` returns the model it holds): that method, bound to `obj`. A module
        class without its own `__call__` runs `forward`, which is not followed."""
        cls = self.class_of(self.object_at(target))
        found = self.find_method(cls, "__call__") if cls is not None else None
        if found is None:
            return False, None
        fn, owner = found
        if any(dotted(d.decorator) in UNBOUND for d in fn.decorators):
            return True, self.call_function(fn, node, w, owner=owner)
        return True, self.call_function(fn, node, w, bound=target, owner=owner)

    def object_at(self, value: Value) -> Value:
        """The object a submodule path of a composite reaches (`self.wrapper` inside the model
        holding it: the wrapper's own instance), when each step is a part it was given."""
        if not isinstance(value, ModelRef) or value.wrappers:
            return value
        model: int | None = value.model
        for attr in value.path:
            model = self.parts.get(model, {}).get(attr) if model is not None else None
        return ModelRef(model) if model is not None else None

    def super_of(self, node: cst.Call, w: Walk) -> Value:
        """`super()` / `super(Cls, self)` inside a method."""
        if node.args:
            cls_name = dotted(node.args[0].value)
            obj = self.eval(node.args[1].value, w) if len(node.args) > 1 else None
        else:
            cls_name = self._class_stack[-1].name.value if self._class_stack else None
            obj = w.scope.lookup("self")[1]
        if cls_name is None or not isinstance(obj, Instance | ModelRef):
            return None
        return SuperRef(obj, cls_name)

    def attribute_of(self, obj: Value, attr: str) -> tuple[bool, Value]:
        ident = _ident(obj)
        if ident is None or ident not in self.attributes:
            return False, None
        table = self.attributes[ident]
        return (attr in table), table.get(attr)

    def forward_uses(self, cls: cst.ClassDef, attr: str) -> bool | None:
        """Does the module's `forward` (with the methods of its class it calls) use part
        `attr`? None when it has no `forward` of its own or reaches its parts some other way
        (`self.children()`, `getattr(self, ...)`, a base class of the project's)."""
        if cls not in self._forward_reads:
            if any(local is not None for _, local in self.base_quals(cls)):
                self._forward_reads[cls] = None
            else:
                self._forward_reads[cls] = forward_reads(cls, self.find_method)
        reads = self._forward_reads[cls]
        return None if reads is None else attr in reads

    def unset_attribute(self, obj: Value, attr: str, w: Walk) -> bool:
        """Does reading `obj.attr` raise `AttributeError` on this path? So when the object's
        class sets `self.attr` in `__init__` only, under a condition this path did not take
        (`if name == "resnet": self.model = ...` with another name): the path ends there."""
        cls = self.class_of(obj)
        if cls is None or attr not in set_in_init_only(cls):
            return False
        if attr in self.parts.get(_ident(obj), {}):  # type: ignore[arg-type]
            return False  # a submodule it was given (kept as a part, not on the heap)
        if any(local is not None for _, local in self.base_quals(cls)):
            return False  # a base class of the project's may set it
        self.exited = self.raised = not w.in_loop and w.certain
        return True

    def set_attribute(self, obj: Value, attr: str, value: Value) -> bool:
        """Store `obj.attr = value` on the heap; False when `obj` is not a project object."""
        ident = _ident(obj)
        if ident is None or ident not in self.attributes:
            return False
        self.attributes[ident][attr] = value
        return True

    def record_part(self, ref: ModelRef, value: Value) -> None:
        """A submodule assigned to a composite model being built (`self.head = nn.Linear(...)`)."""
        if ref.model not in self.parts or len(ref.path) != 1 or ref.wrappers:
            return
        self.parts[ref.model].setdefault(ref.path[0], submodule_part(value))

    def unknown_part(self, obj: Value, attr: str) -> None:
        """`self.x = <something unknown>` on a composite model: it may be a module or a
        parameter the analysis cannot see, so the composite gets no parameter table."""
        ident = _ident(obj)
        if ident in self.parts:
            self.parts[ident].setdefault(attr, None)

    def finish_parts(self) -> None:
        """Each composite model's spec, with its parts (once the root is walked)."""
        done: dict[int, ModelSpec] = {}
        for model, held in self.parts.items():
            for sub in held.values():
                if sub is not None:
                    self.built_from.add((model, sub if isinstance(sub, int) else sub[0]))
        for model in list(self.parts):
            spec = self._composite_spec(model, done)
            if spec is not None:
                self.models[model] = spec

    # (Methods, not nested functions: two closures calling each other are a reference cycle,
    # and one holding the walker keeps every tree and event of a check alive until the
    # collector runs.)
    def _composite_spec(
        self, model: int, done: dict[int, ModelSpec], depth: int = 0, owner: int | None = None
    ) -> ModelSpec | None:
        """`finish_parts`: a model's spec with the specs of its parts (`done`: those made)."""
        if model in done:
            return done[model]
        spec = self.models.get(model)
        if spec is None or depth > 8:
            return None
        if model in self.parts:
            parts = tuple(
                (attr, self._part_spec(sub, done, depth + 1, model, owner))
                for attr, sub in self.parts[model].items()
            )
            spec = replace(
                spec,
                parts=parts,
                own_params=model in self.own_params,
                shared=model in self.shared,
            )
        done[model] = spec
        return spec

    def _part_spec(
        self,
        sub: int | tuple[int, Path] | None,
        done: dict[int, ModelSpec],
        depth: int,
        model: int,
        owner: int | None,
    ) -> ModelSpec | None:
        if isinstance(sub, tuple) and sub[0] == owner:
            # An item of a part that is a module the part's composite holds (`part_moves`).
            return ModelSpec(None, "", has_params=None, same_as=sub[1])
        if isinstance(sub, tuple):
            base = self._composite_spec(sub[0], done, depth)
            if base is None or base.parts is not None or base.children_of is not None:
                return None
            return ModelSpec(base.library, base.builder, submodule_of=(base, sub[1]))
        return None if sub is None else self._composite_spec(sub, done, depth, model)

    # -- calls into the project's functions ---------------------------------------------------

    def call_function(
        self,
        fn: cst.FunctionDef,
        call: cst.CSTNode,
        w: Walk,
        given: list[Value] | None = None,
        bound: Value = UNKNOWN,
        owner: cst.ClassDef | None = None,
        known_args: bool = True,
    ) -> Value:
        """Follow a call to a function (or method, `bound` to its object) of the project with its
        arguments bound (`given`: the positional values when the call is made for the script, as
        `model.apply(fn)` does). Returns what it returns."""
        name = fn.name.value if owner is None else f"{owner.name.value}.{fn.name.value}"
        if type(call) is cst.Call and given is None:
            args = list(call.args)
            # (a class or function of the project handed over: `ResNet(Bottleneck, ...)`)
            values = [self._entry(a.value, w) for a in args]
        else:
            values = list(given or [])
            args = [cst.Arg(cst.Name("_"))] * len(values)
        if name in self._inline_stack or len(self._inline_stack) >= 8:
            return None
        home = self.home_of(fn)
        if (
            home is not None
            and not home.main
            and (self.fuel <= 0 or not self.worth_following(fn, values, bound))
        ):
            return None  # another file's code, not worth (or past the budget of) a walk
        self.inlined.add(name)
        with self.inside(home):
            return self._walk_call(fn, call, w, args, values, bound, owner, known_args, name)

    def _walk_call(
        self,
        fn: cst.FunctionDef,
        call: cst.CSTNode,
        w: Walk,
        args: list[cst.Arg],
        values: list[Value],
        bound: Value,
        owner: cst.ClassDef | None,
        known_args: bool,
        name: str,
    ) -> Value:
        scope = self._bind_parameters(fn, args, values, w, bound, known_args)
        self.walked_calls += 1
        self._inline_stack.append(name)
        if owner is not None:
            self._class_stack.append(owner)
        outer, self.may_have_returned = self.may_have_returned, False
        try:
            # A helper handed a model, parameters or an optimizer acts on them at its call:
            # that is where fixes edit. An entry point (`main()`) keeps its own lines.
            tracked = any(v is not None and not isinstance(v, Const) for v in values) or (
                bound is not UNKNOWN and bound is not None
            )
            site = w.site or (call if tracked and type(call) is cst.Call else None)
            self.bodies.append(fn)
            self.walk_block(fn.body.body, w.call(scope, site, call))
        finally:
            self.bodies.pop()
            self._inline_stack.pop()
            if owner is not None:
                self._class_stack.pop()
            if self.raised and self.may_have_returned:
                # It raises only if none of the joined arms that return was taken.
                self.raised = False
            self.may_have_returned = outer
            self.exited = self.raised  # a `return` leaves the helper, a `raise` the script
        returned = [r for r in scope.returns if r is not None]
        return returned[0] if returned else None

    def _bind_parameters(
        self,
        fn: cst.FunctionDef,
        args: list[cst.Arg],
        values: list[Value],
        w: Walk,
        bound: Value,
        known_args: bool,
    ) -> Scope:
        scope = Scope(parent=self.module_scope)
        params = [p.name.value for p in (*fn.params.posonly_params, *fn.params.params)]
        positional = [v for v, a in zip(values, args, strict=True) if a.keyword is None]
        if bound is not UNKNOWN:
            positional = [bound, *positional]
        for pname, value in zip(params, positional, strict=False):
            scope.env[pname] = value
        for arg, value in zip(args, values, strict=True):
            if arg.keyword is not None:
                scope.env[arg.keyword.value] = value
        star = fn.params.star_arg
        if type(star) is cst.Param:
            # `def freeze(*modules)`: the positional values left over, as a tuple.
            extra = positional[len(params) :]
            known = known_args and not any(a.star for a in args)
            scope.env[star.name.value] = TupleValue(tuple(extra)) if known else None
        for p in (*fn.params.params, *fn.params.posonly_params, *fn.params.kwonly_params):
            if p.name.value not in scope.env:
                # A parameter the call leaves out takes its default (a constant, mostly).
                default = self.eval(p.default, w) if p.default is not None else None
                if not isinstance(default, Const):
                    default = None
                elif not known_args:
                    # In a class walked as a root the caller may pass another value: the
                    # default names a model, a condition on it stays open both ways.
                    default = Const(default.value, default.source or f"`{p.name.value}`")
                scope.env[p.name.value] = default
        given = [a for a in args if a.keyword is None and not a.star]
        nodes: dict[str, cst.BaseExpression | None] = dict.fromkeys(scope.env)
        if len(given) == len(positional) - (bound is not UNKNOWN):
            handed = [None, *given] if bound is not UNKNOWN else given
            for pname, arg in zip(params, handed, strict=False):
                nodes[pname] = arg.value if arg is not None else None
        for arg in args:
            if arg.keyword is not None:
                nodes[arg.keyword.value] = arg.value
        self.note_arguments(
            scope,
            [(n, v if v is None or not _placeholder(v) else None) for n, v in nodes.items()],
            w,
        )
        return scope

    def note_arguments(
        self, scope: Scope, names: list[tuple[str, cst.BaseExpression | None]], w: Walk
    ) -> None:
        """Each parameter of a called function with the argument expression handed for it
        (`assumptions.ConditionMemory` keeps the identity of an unknown value handed)."""


def _placeholder(node: cst.BaseExpression) -> bool:
    """The stand-in argument of a call made with values only (`cst.Name("_")`)."""
    return type(node) is cst.Name and node.value == "_"


def _ident(obj: Value) -> int | None:
    if isinstance(obj, Instance):
        return obj.ident
    if isinstance(obj, ModelRef) and not obj.path and not obj.wrappers:
        return obj.model
    return None


def submodule_part(value: Value) -> int | tuple[int, Path] | None:
    """What a composite's part is, given the value assigned: a model built in view, a submodule
    of one (not a parameter or a size of it), or None (unknown)."""
    if not isinstance(value, ModelRef) or value.wrappers:
        return None
    if not value.path:
        return value.model
    return None if value.path[-1] in PARAMETER_NAMES else (value.model, value.path)
