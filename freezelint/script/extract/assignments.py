"""Assignments: names bound to models, optimizers and parameter lists (and lists grown with
`append`/`extend`/`+=`), submodules replaced (`model.fc = nn.Linear(...)`), and `requires_grad`
written on parameters (a freeze) or on modules (an ineffective one)."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import (
    UNKNOWN,
    IneffectiveFreeze,
    IteratorBound,
    ModuleReplaced,
    OptimizerBuilt,
    ParamsListed,
    RequiresGradSet,
    SchedulerBuilt,
    SizeAttributeSet,
    WeightReplaced,
)
from freezelint.script.extract.part_moves import PartMoves
from freezelint.script.extract.schedulers import SchedulerRef
from freezelint.script.extract.scope import Scope, Walk
from freezelint.script.extract.syntax import (
    EMPTY,
    MODULE_NAMES,
    PARAMETER_NAMES,
    code_of,
    literal_string,
    module_ish_name,
    names_in,
)
from freezelint.script.imports import dotted
from freezelint.script.selection import Path, Region, leaves, union
from freezelint.script.values import (
    Const,
    Groups,
    ModelRef,
    ModuleItem,
    OptimizerRef,
    ParamItem,
    Params,
    TupleValue,
    Value,
)

# Attributes of a layer that are sizes, not submodules.
SIZE_ATTRIBUTES = frozenset(
    {"in_features", "out_features", "num_features", "in_channels", "out_channels", "embed_dim"}
)
PARAMETER_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
# Size attributes a fine-tuning script assigns hoping to resize a layer (FRZ014), and the models
# whose layers they belong to (a user's own class may define such attributes as it likes).
LAYER_SIZES = frozenset(
    {"in_features", "out_features", "num_classes", "in_channels", "out_channels"}
)
SIZED_LIBRARIES = frozenset({"timm", "torchvision", "efficientnet_pytorch", "torch.nn"})


class AssignmentWalker(PartMoves):
    _pending: list[tuple[int, ModelRef, cst.CSTNode, str]]

    def _grow(
        self, key: str, current: Params | Groups | TupleValue, item: Value, how: str, w: Walk
    ) -> None:
        """`params.append(p)`, `params.extend(...)`, `groups.append({...})` on a list built up;
        `layers.append(Block(...))`: a list of modules just built, in order."""
        built = isinstance(item, ModelRef) and not item.path and not item.wrappers
        if built and any(frame.kind == "loop" for frame in w.ctx):
            new: Value = None  # (appended in a loop not run turn by turn: how many is unknown)
        elif (
            built
            and how == "append"
            and (
                (isinstance(current, Params) and not list(_leaves_of(current)))
                or (isinstance(current, TupleValue) and current.items)
            )
        ):
            old_items = current.items if isinstance(current, TupleValue) else ()
            new = TupleValue((*old_items, item))
        elif isinstance(current, TupleValue):
            new = None
        elif isinstance(current, Params) and isinstance(item, ParamItem | Params | ModelRef):
            new = Params(union(current.selection, self.selection_of(item)), False)
        elif isinstance(item, Groups) and (
            isinstance(current, Groups) or not list(_leaves_of(current))
        ):
            old = current.groups if isinstance(current, Groups) else ()
            new = Groups(old + item.groups)
        else:
            new = None
        self._store(key, new, w)

    def _forget_constant(self, target: cst.BaseExpression, w: Walk) -> None:  # pragma: no cover
        raise NotImplementedError  # statements.Extractor

    def lookup_key(self, key: str, w: Walk) -> tuple[bool, Value]:
        """A name, or `obj.attr` on one of the project's objects (`self.params`)."""
        found, value = w.scope.lookup(key)
        if found or "." not in key:
            return found, value
        owner, _, attr = key.rpartition(".")
        return self.attribute_of(self.eval_dotted(owner, w), attr)

    def _store(self, key: str, value: Value, w: Walk) -> None:
        if "." in key and not w.scope.lookup(key)[0]:
            owner, _, attr = key.rpartition(".")
            if self.set_attribute(self.eval_dotted(owner, w), attr, value):
                return
        scope: Scope | None = w.scope
        while scope is not None and key not in scope.env:
            scope = scope.parent
        (scope or w.scope).env[key] = value

    def aug_assign(self, node: cst.AugAssign, w: Walk) -> None:
        value = self.eval(node.value, w)
        key = dotted(node.target)
        if key is None:
            return
        current = self.lookup_key(key, w)[1]
        if type(node.operator) is cst.AddAssign and isinstance(current, Params | Groups):
            self._grow(key, current, value, "extend", w)
        else:
            self._store(key, None, w)

    def assign(
        self,
        target: cst.BaseExpression,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        if type(target) is cst.Name:
            self.bind(target.value, self.tracked_lists(target.value, value), w, stmt)
            self.note_copy(target, value_node, w)
        elif type(target) in (cst.Tuple, cst.List):
            items = value.items if isinstance(value, TupleValue) else ()
            for index, element in enumerate(target.elements):
                item = items[index] if index < len(items) else None
                self.assign(element.value, value_node, item, w, stmt)
        elif type(target) is cst.Attribute:
            attr = target.attr.value
            if attr == "requires_grad":
                self.requires_grad_assignment(target.value, value_node, w, stmt)
            elif attr == "requires_grad_":
                self.emit(
                    IneffectiveFreeze,
                    w,
                    stmt,
                    kind="method-overwrite",
                    target=code_of(target.value),
                )
            else:
                owner = self.eval(target.value, w)
                if attr in LAYER_SIZES and isinstance(owner, ModelRef):
                    self._size_assignment(owner, attr, value, target, w, stmt)
                if (
                    attr in ("weight", "bias")
                    and isinstance(owner, ModelRef)
                    and type(value_node) is cst.Call
                    and self.imports.qualify(value_node.func) in PARAMETER_CLASSES
                ):
                    self.emit(WeightReplaced, w, stmt, model=owner.model, path=owner.path)
                name = dotted(target.value)
                if (
                    owner is None
                    and name is not None
                    and module_ish_name(name)
                    and self._replaces_module(value_node, value)
                ):
                    # A part of a model the analysis cannot build (the same module every use
                    # of it reaches), else a model of its own whose state is not known.
                    found = self.module_at(target.value, w) if "." in name else None
                    owner = found or self.implicit_model(name, w, target.value)
                key = dotted(target)
                if isinstance(owner, ModelRef) and self._replaces_module(value_node, value):
                    self.replace_module(owner.child(attr), value_node, value, w, stmt)
                elif (
                    isinstance(owner, ModelRef)
                    and (owner.path or self.is_library_model(owner.model))
                    and not owner.wrappers
                    and type(value_node) is cst.Name
                    and value_node.value == "None"
                    and attr not in ("weight", "bias")
                ):
                    # `self.resnet.fc = None` inside a module: that submodule (and its tensors)
                    # is gone from the model, as if a parameterless module had replaced it.
                    self.emit(
                        ModuleReplaced,
                        w,
                        stmt,
                        model=owner.model,
                        path=(*owner.path, attr),
                        adds_params=False,
                        trainable=None,
                        new_module=None,
                        added=False,
                        used=None,
                    )
                elif self.set_attribute(owner, attr, value):
                    # `self.model = ...` on one of the project's objects: kept on the heap.
                    if value is None:
                        self.unknown_part(owner, attr)
                    if (
                        type(value_node) is cst.Call
                        and self.imports.qualify(value_node.func) in PARAMETER_CLASSES
                    ):
                        self.own_params.add(owner.model if isinstance(owner, ModelRef) else 0)
                    self.name_value(key or attr, value)
                    self.note_copy(target, value_node, w)
                elif key is not None:
                    self.bind(key, value, w, stmt)
        elif type(target) is cst.Subscript:
            self.forget_facts(target, w)
            self._forget_constant(target, w)
            if (
                len(target.slice) == 1
                and type(target.slice[0].slice) is cst.Index
                and (literal_string(target.slice[0].slice.value) in ("lr", "initial_lr"))
            ):
                self.lr_scheduled = True
            owner = self.eval(target.value, w)
            if isinstance(owner, ModelRef) and self._replaces_module(value_node, value):
                child = self.eval(target, w)
                if isinstance(child, ModelRef):
                    self.replace_module(child, value_node, value, w, stmt)

    def _size_assignment(
        self,
        owner: ModelRef,
        attr: str,
        value: Value,
        target: cst.Attribute,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        """`model.fc.out_features = 10` on a library model's layer (or a `torch.nn` layer, or
        one inside a wrapper's library part): the attribute changes, the weight does not. A
        composite's own attribute (`self.num_classes = n` in a wrapper's `__init__`) is not
        one: it is the wrapper's to define."""
        spec = self.models.get(owner.model)
        path = owner.path
        while spec is not None and spec.library == "composite" and path:
            part = self.parts.get(owner.model, {}).get(path[0])
            spec = self.models.get(part) if isinstance(part, int) else None
            path = path[1:]
        if spec is None or spec.library not in SIZED_LIBRARIES:
            return
        number = value.value if isinstance(value, Const) and isinstance(value.value, int) else None
        self.emit(
            SizeAttributeSet,
            w,
            stmt,
            model=owner.model,
            path=owner.path,
            attr=attr,
            value=UNKNOWN if number is None or isinstance(number, bool) else number,
            target=code_of(target.value),
        )

    def assign_attribute(
        self,
        owner: ModelRef,
        attr: str,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        """`setattr(model, "fc", nn.Linear(...))`: the same as `model.fc = nn.Linear(...)`."""
        if self._replaces_module(value_node, value):
            self.replace_module(owner.child(attr), value_node, value, w, stmt)

    def bind(self, name: str, value: Value, w: Walk, stmt: cst.CSTNode) -> None:
        if isinstance(value, Params) and value.generator:
            binding = self.new_id()
            value = Params(value.selection, True, value.named, binding)
            self.emit(IteratorBound, w, stmt, binding=binding, var=name, selection=value.selection)
        elif isinstance(value, Params) and value.binding is None and value.selection != EMPTY:
            binding = self.new_id()
            self.listed.add(binding)
            value = replace(value, binding=binding)
            self.emit(ParamsListed, w, stmt, binding=binding, var=name, selection=value.selection)
        self.name_value(name, value)
        w.scope.binding_scope(name).env[name] = value

    def name_value(self, name: str, value: Value) -> None:
        """How messages spell an optimizer, a scheduler or a model: the first name it is bound
        to."""
        if isinstance(value, SchedulerRef):
            self._name_built(SchedulerBuilt, "scheduler", value.scheduler, name)
        if isinstance(value, OptimizerRef):
            self._name_built(OptimizerBuilt, "optimizer", value.optimizer, name)
        if isinstance(value, ModelRef) and value.path == ():
            # How messages spell the model: its first name, or, once that name is rebound to a
            # wrapper of it (`model = nn.DataParallel(model)`), the wrapper's attribute too.
            current = self.model_vars.get(value.model)
            if current is None or (value.wrappers and current.split(".")[0] == name):
                self.model_vars[value.model] = name + "".join(
                    f".{recognize.WRAPPER_ATTRIBUTE[kind]}" for kind in reversed(value.wrappers)
                )

    def _name_built(self, kind: type, field: str, ident: int, name: str) -> None:
        """Give the event that built optimizer (or scheduler) `ident` its first name."""
        for index in range(len(self.events) - 1, -1, -1):
            built = self.events[index]
            if isinstance(built, kind) and getattr(built, field) == ident:
                if built.var is None:
                    self.events[index] = replace(built, var=name)
                return

    def _replaces_module(self, value_node: cst.BaseExpression, value: Value) -> bool:
        """Is the assigned value a module: one the walker built, or an unknown class's instance?
        (An optimizer, parameters or a plain value assigned to `self.x` are not.)"""
        if isinstance(value, ModelRef):
            # `x.in_features` is a size, not a module.
            return not (value.path and value.path[-1] in SIZE_ATTRIBUTES)
        if value is None and type(value_node) is cst.Call:
            if self.imports.qualify(value_node.func) in PARAMETER_CLASSES:
                return False  # a parameter of the module itself
            name = (dotted(value_node.func) or "").rsplit(".", 1)[-1]
            return name[:1].isupper()
        return False

    def replace_module(
        self,
        ref: ModelRef,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        move = self.part_move(ref, value)
        state_of = None
        narrowed = False
        if move is False:
            value = None  # a module inside this one, whose state is not known: unknown part
        elif move is not None:
            value, state_of = move
            if self.parts[ref.model].get(ref.path[0]) not in (None, value.model):
                # The part narrowed to its own submodule: that module is the part now, with
                # the tensors it had (nothing new).
                self.parts[ref.model][ref.path[0]] = value.model
                narrowed = True
        if len(ref.path) == 1 and ref.path[0] in self.held_again.get(ref.model, ()):
            self.shared.add(ref.model)  # (a Sequential part still holds the module it had)
        items = self.shared_items(ref, value)
        if items is not None:
            self.give_shared(ref, value, items, w, stmt)  # type: ignore[arg-type]
            return
        held = self._held_as(ref, value)
        if held is not None:
            # The same module under a second name (`self.fc = self.new_fc = nn.Linear(...)`,
            # `self.head = self.fc`): torch registers it twice and hands its tensors over once.
            # Nothing is new; the second name reaches the first.
            self.set_attribute(ModelRef(ref.model), ref.path[0], ModelRef(ref.model, held))
            return
        added = narrowed or (
            ref.model in self.parts
            and len(ref.path) == 1
            and ref.path[0] not in self.parts[ref.model]
        )
        self.record_part(ref, value)
        if isinstance(value, ModelRef) and any(
            model == ref.model and attr != ref.path[0]
            for model, attr in self.holds_parts_of.get(value.model, ())
        ):
            # (`self.backbone = nn.Sequential(*list(self.backbone.children())[:-1])` replaces
            # the part it is cut from: nothing is registered twice.)
            self.shared.add(ref.model)
        adds: bool | None = True
        trainable: bool | None = True
        new_module = value.model if isinstance(value, ModelRef) and value.path == () else None
        if not isinstance(value, ModelRef):
            # An instance of a class the analysis does not know (`self.acc = Accuracy()`,
            # `model.head = Head()` from a file it cannot read): whether it holds parameters,
            # and whether they train, is unknown.
            adds = trainable = None
        if isinstance(value, ModelRef):
            spec = self.models.get(value.model)
            if value.path == () and spec is not None:
                adds, trainable = spec.has_params, spec.trainable
            else:
                adds = trainable = None
            # The module now lives inside the model: names bound to it follow it there.
            for scope_var, bound in list(w.scope.env.items()):
                if isinstance(bound, ModelRef) and bound.model == value.model and value.path == ():
                    w.scope.env[scope_var] = ModelRef(
                        ref.model, ref.path + bound.path, ref.wrappers
                    )
        self.same_module.unlink(ref.model, ref.path)
        if isinstance(value, ModelRef) and not value.wrappers and not ref.wrappers:
            if value.path and all(_is_attr(p) or p.isdigit() for p in (*value.path, *ref.path)):
                # One module, two names: what is done to either reaches the other.
                self.same_module.link((ref.model, ref.path), (value.model, value.path))
            elif not value.path:
                self.same_module.lift(value.model, ref.model, ref.path)
        cls = self.instance_class.get(ref.model) if added else None
        self.emit(
            ModuleReplaced,
            w,
            stmt,
            model=ref.model,
            path=ref.path,
            adds_params=adds,
            trainable=trainable,
            new_module=new_module,
            state_of=state_of,
            added=added,
            used=None if cls is None else self.forward_uses(cls, ref.path[0]),
            taken_from=(value.model, value.path)
            if isinstance(value, ModelRef) and value.path and not value.wrappers
            else None,
        )

    def _held_as(self, ref: ModelRef, value: Value) -> Path | None:
        """Where a composite being given `value` as part `ref` already holds that module."""
        if (
            not isinstance(value, ModelRef)
            or value.wrappers
            or ref.wrappers
            or len(ref.path) != 1
            or ref.model not in self.parts
        ):
            return None
        if value.model == ref.model and value.path and value.path != ref.path:
            return value.path
        if value.path == ():
            for attr, part in self.parts[ref.model].items():
                if part == value.model and attr != ref.path[0]:
                    return (attr,)
        return None

    def requires_grad_assignment(
        self,
        owner_node: cst.BaseExpression,
        value_node: cst.BaseExpression,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        owner = self.eval(owner_node, w)
        value = self.known_bool(value_node, w)
        if isinstance(owner, ParamItem):
            if (
                value is None
                and owner.name_var is not None
                and owner.name_var in names_in(value_node)
                and owner_node_name(owner_node) not in names_in(value_node)
            ):
                for flag in (True, False):
                    sel = self.name_where(owner, value_node, w.scope, not flag)
                    self.emit(RequiresGradSet, w, stmt, selection=sel, value=flag, how="assign")
                return
            self.emit(
                RequiresGradSet, w, stmt, selection=owner.selection, value=value, how="assign"
            )
        elif isinstance(owner, ModuleItem):
            self.emit(
                IneffectiveFreeze, w, stmt, kind="module-attribute", target=code_of(owner_node)
            )
        elif isinstance(owner, ModelRef):
            last = owner.path[-1] if owner.path else None
            if last is None or not _is_attr(last) or last in MODULE_NAMES:
                self.emit(
                    IneffectiveFreeze, w, stmt, kind="module-attribute", target=code_of(owner_node)
                )
            elif last in PARAMETER_NAMES:
                self.emit(
                    RequiresGradSet, w, stmt, selection=owner.region, value=value, how="assign"
                )
            else:
                # Module or parameter? Decided once the whole root is walked.
                self._pending.append((len(self.events), owner, stmt, code_of(owner_node)))
                self.emit(
                    RequiresGradSet, w, stmt, selection=owner.region, value=None, how="assign"
                )
        elif owner is None:
            name = dotted(owner_node)
            if name is not None and module_ish_name(name):
                self.emit(IneffectiveFreeze, w, stmt, kind="module-attribute", target=name)

    def _resolve_pending(self) -> None:
        """A `x.y.requires_grad = ...` whose `y` the root also uses as a module is ineffective."""
        if not self._pending:
            return
        modules = {(e.model, e.path) for e in self.events if isinstance(e, ModuleReplaced)}
        for e in self.events:
            if isinstance(e, RequiresGradSet) and e.how == "call":
                for leaf in _leaves_of(e.selection):
                    if isinstance(leaf, Region):
                        modules.add((leaf.model, leaf.path))
        for index, ref, stmt, text in self._pending:
            if (ref.model, ref.path) in modules:
                old = self.events[index]
                self.events[index] = IneffectiveFreeze(
                    node=stmt,
                    ctx=old.ctx,
                    seq=old.seq,
                    site=old.site,
                    statement=old.statement,
                    block=old.block,
                    scope=old.scope,
                    via=old.via,
                    local=old.local,
                    trail=old.trail,
                    kind="module-attribute",
                    target=text,
                )


def owner_node_name(node: cst.BaseExpression) -> str | None:
    return node.value if type(node) is cst.Name else None


def _leaves_of(sel):

    return leaves(sel.selection if isinstance(sel, Params) else sel)


def _is_attr(part: str) -> bool:
    return part[:1].isalpha() or part[:1] == "_"
