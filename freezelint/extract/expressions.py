"""Evaluating expressions to abstract values: models and submodule paths, parameter iterables,
param groups, optimizers; and the calls that emit events on the way (constructors, optimizers,
`requires_grad_`, `.train()`, wrappers, `add_param_group`, helper functions of the same file).

The statement walker (`statements.py`) builds on this class; both share the event list.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from freezelint import recognize
from freezelint.events import (
    Event,
    Frame,
    IteratorConsumed,
    ModelBuilt,
    ModelSpec,
    ModelWrapped,
    ModeSet,
    ModuleReplaced,
    OptimizerBuilt,
    ParamGroup,
    ParamGroupAdded,
    RequiresGradSet,
)
from freezelint.imports import ImportTable, dotted
from freezelint.selection import (
    DYNAMIC,
    HEAD,
    NameWhere,
    Opaque,
    Selection,
    Trainable,
    Union,
    union,
)
from freezelint.values import (
    Groups,
    ModelRef,
    ModuleItem,
    Modules,
    OptimizerRef,
    ParamItem,
    Params,
    TupleValue,
    Value,
)

Ctx = tuple[Frame, ...]

_CONSUMERS = frozenset(
    {
        "list",
        "tuple",
        "sorted",
        "set",
        "sum",
        "any",
        "all",
        "max",
        "min",
        "len",
        "dict",
        "frozenset",
    }
)
_BUILTIN_CALLS = frozenset(
    {
        "int",
        "float",
        "str",
        "bool",
        "len",
        "round",
        "max",
        "min",
        "abs",
        "getattr",
        "isinstance",
        "print",
        "range",
        "type",
        "repr",
    }
)
_EMPTY: Selection = Union(())
# Words in a function's name that say it may change `requires_grad` (a helper from another file).
_FREEZE_WORDS = ("freeze", "requires_grad", "trainable", "set_grad")


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return node.value == "True"
    return None


def literal_string(node: cst.CSTNode | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def is_zero(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer | cst.Float):
        try:
            return float(node.value.replace("_", "")) == 0.0
        except ValueError:
            return False
    return False


def names_in(node: cst.CSTNode) -> set[str]:
    """Every plain name an expression reads (a small walk over expression children)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            out.add(cur.value)
        elif isinstance(cur, cst.Attribute):
            stack.append(cur.value)
        else:
            stack.extend(cur.children)
    return out


def mentions_requires_grad(node: cst.CSTNode) -> bool:
    """Does a subtree name `requires_grad` / `requires_grad_` anywhere?"""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Name):
            if cur.value in ("requires_grad", "requires_grad_"):
                return True
        else:
            stack.extend(cur.children)
    return False


def is_requires_grad_of(node: cst.BaseExpression, var: str) -> bool:
    """`var.requires_grad` (also spelled `var.requires_grad == True` or `is True`)."""
    if (
        isinstance(node, cst.Comparison)
        and len(node.comparisons) == 1
        and isinstance(node.comparisons[0].operator, cst.Equal | cst.Is)
        and literal_bool(node.comparisons[0].comparator) is True
    ):
        node = node.left
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value == "requires_grad"
        and isinstance(node.value, cst.Name)
        and node.value.value == var
    )


_MODULE_NAME = re.compile(
    r"^(?:.*_)?(?:\w*model|\w*net|network|backbone|encoder|decoder|classifier|head|module"
    r"|features|layer\d*|block\d*|stem|trunk|teacher|student)$"
)


def module_ish_name(name: str) -> bool:
    """Does a variable's name say it holds an `nn.Module` (`model`, `resnet`, `backbone`...)?"""
    return bool(_MODULE_NAME.match(name.rsplit(".", 1)[-1].lower()))


@dataclass
class Scope:
    env: dict[str, Value] = field(default_factory=dict)
    parent: Scope | None = None
    returns: list[Value] = field(default_factory=list)

    def lookup(self, name: str) -> tuple[bool, Value]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.env:
                return True, scope.env[name]
            scope = scope.parent
        return False, None


@dataclass
class Walk:
    """Where the walker is: the scope, the loops/branches around, and the helper call site."""

    scope: Scope
    ctx: Ctx = ()
    site: cst.CSTNode | None = None

    def inner(self, frame: Frame) -> Walk:
        return Walk(self.scope, (*self.ctx, frame), self.site)


class ExpressionEvaluator:
    """Evaluates expressions; `statements.Extractor` adds statements on top."""

    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        self.module = module
        self.imports = imports
        self.events: list[Event] = []
        self.models: dict[int, ModelSpec] = {}
        self.model_vars: dict[int, str] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        self.classes: dict[str, cst.ClassDef] = {}
        self.inlined: set[str] = set()
        self._ids = itertools.count(1)
        self._inline_stack: list[str] = []
        self._class_freezes: dict[str, bool] = {}  # class name -> its body sets requires_grad

    # -- bookkeeping -------------------------------------------------------------------------

    def new_id(self) -> int:
        return next(self._ids)

    def emit(self, event_type: type[Event], w: Walk, node: cst.CSTNode, **kw: Any) -> Event:
        event = event_type(node=node, ctx=w.ctx, seq=len(self.events), site=w.site, **kw)
        self.events.append(event)
        return event

    def new_model(self, spec: ModelSpec, w: Walk, node: cst.CSTNode, var: str | None) -> ModelRef:
        ident = self.new_id()
        self.models[ident] = spec
        if var:
            self.model_vars[ident] = var
        self.emit(ModelBuilt, w, node, model=ident, var=var, spec=spec)
        return ModelRef(ident)

    def implicit_model(self, name: str, w: Walk, node: cst.CSTNode) -> ModelRef:
        """A module the script did not build in view (a function parameter, a global from a
        call we cannot follow): its parameters' state is unknown."""
        ref = self.new_model(ModelSpec(None, name, trainable=None, has_params=None), w, node, name)
        w.scope.env[name] = ref
        return ref

    # -- expressions -------------------------------------------------------------------------

    def eval(self, node: cst.BaseExpression | None, w: Walk) -> Value:
        if node is None:
            return None
        if isinstance(node, cst.Name):
            return w.scope.lookup(node.value)[1]
        if isinstance(node, cst.Attribute):
            key = dotted(node)
            if key is not None:
                found, value = w.scope.lookup(key)
                if found:
                    return value
            recv = self.eval(node.value, w)
            if isinstance(recv, ModelRef):
                attr = node.attr.value
                if recv.wrappers and attr == recognize.WRAPPER_ATTRIBUTE[recv.wrappers[-1]]:
                    return ModelRef(recv.model, recv.path, recv.wrappers[:-1])
                if attr in ("weight", "bias", "training", "requires_grad") or attr.isupper():
                    return recv.child(attr) if attr in ("weight", "bias") else None
                return recv.child(attr)
            return None
        if isinstance(node, cst.Subscript):
            return self._subscript(node, w)
        if isinstance(node, cst.Call):
            return self.eval_call(node, w)
        if isinstance(node, cst.ListComp | cst.GeneratorExp | cst.SetComp):
            return self._comprehension(node, w)
        if isinstance(node, cst.List | cst.Tuple):
            return self._sequence(node, w)
        if isinstance(node, cst.Dict):
            entries = [
                (literal_string(e.key), e.value)
                if isinstance(e, cst.DictElement)
                else (None, e.value)
                for e in node.elements
            ]
            return self._group_dict(entries, w, node)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, right = self.eval(node.left, w), self.eval(node.right, w)
            return self._concat(left, right)
        if isinstance(node, cst.Lambda):
            return None
        # Evaluate children for their effects (a nested optimizer, a consumed iterator).
        for child in node.children:
            if isinstance(child, cst.BaseExpression):
                self.eval(child, w)
            elif isinstance(child, cst.Arg):
                self.eval(child.value, w)
        return None

    def _concat(self, left: Value, right: Value) -> Value:
        if isinstance(left, Params) and isinstance(right, Params):
            return Params(union(left.selection, right.selection), generator=False)
        if isinstance(left, Groups) and isinstance(right, Groups):
            return Groups(left.groups + right.groups)
        return None

    def _subscript(self, node: cst.Subscript, w: Walk) -> Value:
        recv = self.eval(node.value, w)
        if len(node.slice) != 1:
            return None
        index = node.slice[0].slice
        part = DYNAMIC
        if isinstance(index, cst.Index):
            literal = _int_literal(index.value)
            if literal is not None:
                part = str(literal)
            else:
                key = literal_string(index.value)
                if key is not None and isinstance(recv, ModelRef):
                    return recv.child(key)  # ModuleDict["name"]
                self.eval(index.value, w)
        elif isinstance(index, cst.Slice):
            lower = _int_literal(index.lower) if index.lower else None
            upper = _int_literal(index.upper) if index.upper else None
            part = f"{'' if lower is None else lower}:{'' if upper is None else upper}"
            if (
                index.step is not None
                or (index.lower and lower is None)
                or (index.upper and upper is None)
            ):
                part = DYNAMIC
        if isinstance(recv, ModelRef):
            return recv.child(part)
        if isinstance(recv, Modules):
            return Modules(NameWhere(recv.selection, None, None), recv.named)
        if isinstance(recv, Params):
            return Params(NameWhere(recv.selection, None, None), generator=False)
        return None

    def _sequence(self, node: cst.List | cst.Tuple, w: Walk) -> Value:
        items = [self.eval(e.value, w) for e in node.elements]
        if isinstance(node, cst.Tuple):
            return TupleValue(tuple(items))
        if not items:
            return Params(_EMPTY, generator=False)
        if all(isinstance(i, Groups) and i.single for i in items):
            return Groups(tuple(g for i in items for g in i.groups))  # type: ignore[union-attr]
        parts: list[Selection] = []
        for item in items:
            if isinstance(item, ModelRef):
                parts.append(item.region)
            elif isinstance(item, ParamItem | Params):
                parts.append(item.selection)
            elif isinstance(item, cst.StarredElement):
                parts.append(Opaque("starred"))
            else:
                return None
        return Params(union(*parts), generator=False)

    def _group_dict(
        self,
        entries: list[tuple[str | None, cst.BaseExpression]],
        w: Walk,
        node: cst.CSTNode | None = None,
    ) -> Value:
        params: Selection | None = None
        options: list[tuple[str, cst.BaseExpression]] = []
        iterator = None
        for key, value in entries:
            if key is None:
                return None
            if key == "params":
                found = self.eval(value, w)
                params = self.selection_of(found)
                if isinstance(found, Params) and found.generator:
                    iterator = found.binding
            else:
                self.eval(value, w)
                options.append((key, value))
        if params is None:
            return None
        lr_zero = any(k == "lr" and is_zero(v) for k, v in options)
        group = ParamGroup(params, node or entries[0][1], tuple(options), lr_zero, iterator)
        return Groups((group,), single=True)

    def selection_of(self, value: Value) -> Selection:
        if isinstance(value, Params | ParamItem):
            return value.selection
        if isinstance(value, ModelRef):
            return value.region
        return Opaque("not followed")

    # -- comprehensions ----------------------------------------------------------------------

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, w: Walk) -> Value:
        comp = node.for_in
        source = self.eval(comp.iter, w)
        if isinstance(node, cst.ListComp | cst.SetComp):
            self.consume(comp.iter, source, w, "comprehension")
        if comp.inner_for_in is not None or not isinstance(source, Params | Modules):
            return None
        inner = Scope(parent=w.scope)
        iw = Walk(inner, w.ctx, w.site)
        item_var = self.bind_loop_target(comp.target, source, inner)
        for cond in comp.ifs:
            self.refine(cond.test, inner, negate=False)
        if item_var is None:
            return None
        item = inner.env.get(item_var)
        elt = node.elt
        if isinstance(elt, cst.Name) and elt.value == item_var and isinstance(item, ParamItem):
            return Params(item.selection, generator=isinstance(node, cst.GeneratorExp))
        value = self.eval(elt, iw)
        if isinstance(value, Params):
            return Params(value.selection, generator=False)
        return None

    def bind_loop_target(
        self, target: cst.BaseExpression, source: Value, scope: Scope
    ) -> str | None:
        """Bind a `for` target over parameters or modules; returns the item variable's name."""
        if isinstance(source, Params) and source.enumerated:
            if (
                isinstance(target, cst.Tuple)
                and len(target.elements) == 2
                and isinstance(target.elements[0].value, cst.Name)
            ):
                index = target.elements[0].value.value
                scope.env[index] = None
                inner = Params(source.selection, named=source.named)
                item = self.bind_loop_target(target.elements[1].value, inner, scope)
                found = scope.env.get(item) if item else None
                if isinstance(found, ParamItem):
                    scope.env[item] = ParamItem(
                        found.selection,
                        found.name_var,  # type: ignore[index]
                        frozenset({index}),
                    )
                return item
        elif isinstance(source, Params):
            if source.named and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                name_node, item_node = (e.value for e in target.elements)
                if isinstance(name_node, cst.Name) and isinstance(item_node, cst.Name):
                    scope.env[name_node.value] = None
                    scope.env[item_node.value] = ParamItem(source.selection, name_node.value)
                    return item_node.value
            elif not source.named and isinstance(target, cst.Name):
                scope.env[target.value] = ParamItem(source.selection)
                return target.value
        elif isinstance(source, Modules):
            node = target
            if source.named and isinstance(target, cst.Tuple) and len(target.elements) == 2:
                node = target.elements[1].value
            if isinstance(node, cst.Name):
                scope.env[node.value] = ModuleItem(source.selection)
                return node.value
        elif isinstance(source, ModelRef) and isinstance(target, cst.Name):
            # Iterating a Sequential / ModuleList yields its child modules.
            scope.env[target.value] = ModuleItem(source.region)
            return target.value
        for name in names_in(target):
            scope.env[name] = None
        return None

    def refine(
        self, test: cst.BaseExpression, scope: Scope, negate: bool
    ) -> dict[str, tuple[bool, Value]]:
        """Narrow, in `scope`, the loop items a condition talks about. Returns what to put back
        (`restore`) once the guarded statements are walked."""
        used = names_in(test)
        saved: dict[str, tuple[bool, Value]] = {}
        for var in _visible_items(scope):
            item = scope.lookup(var)[1]
            narrowed: Value = None
            if isinstance(item, ParamItem):
                if (
                    var not in used
                    and (item.name_var is None or item.name_var not in used)
                    and not item.index_vars & used
                ):
                    continue
                if item.index_vars & used:
                    narrowed = ParamItem(
                        NameWhere(item.selection, None, None), item.name_var, item.index_vars
                    )
                elif not negate and is_requires_grad_of(test, var):
                    narrowed = ParamItem(Trainable(item.selection), item.name_var)
                elif item.name_var is not None and var not in used:
                    narrowed = ParamItem(
                        NameWhere(item.selection, test, item.name_var, negate), item.name_var
                    )
                else:
                    narrowed = ParamItem(
                        NameWhere(item.selection, None, None), item.name_var, item.index_vars
                    )
            elif isinstance(item, ModuleItem) and var in used:
                narrowed = ModuleItem(NameWhere(item.selection, None, None))
            else:
                continue
            saved[var] = (var in scope.env, scope.env.get(var))
            scope.env[var] = narrowed
        return saved

    @staticmethod
    def restore(scope: Scope, saved: dict[str, tuple[bool, Value]]) -> None:
        for var, (present, value) in saved.items():
            if present:
                scope.env[var] = value
            else:
                scope.env.pop(var, None)

    # -- calls -------------------------------------------------------------------------------

    def eval_call(self, node: cst.Call, w: Walk) -> Value:
        func = node.func
        qual = self.imports.qualify(func)
        if qual is not None:
            handled, value = self._known_call(qual, node, w)
            if handled:
                return value
        if isinstance(func, cst.Attribute):
            recv = self.eval(func.value, w)
            method = func.attr.value
            if recv is None and method in (
                "parameters",
                "named_parameters",
                "requires_grad_",
                "children",
                "modules",
                "named_children",
                "named_modules",
                "reset_classifier",
            ):
                name = dotted(func.value)
                if (name is not None and "." not in name) or (name or "").startswith("self."):
                    recv = self.implicit_model(name, w, func.value)  # type: ignore[arg-type]
            handled, value = self._method_call(recv, method, node, w)
            if handled:
                return value
        elif isinstance(func, cst.Name):
            if func.value in self.functions:
                return self.inline(self.functions[func.value], node, w)
            if func.value in self.classes:
                self._eval_args(node, w)
                if func.value not in self._class_freezes:
                    self._class_freezes[func.value] = mentions_requires_grad(
                        self.classes[func.value]
                    )
                trainable = None if self._class_freezes[func.value] else True
                return self.new_model(
                    ModelSpec(None, func.value, trainable=trainable), w, node, None
                )
        if qual is not None and node.args and node.args[0].keyword is None:
            first = self.eval(node.args[0].value, w)
            if self.is_optimizer_call(qual, node, first):
                return self.build_optimizer(qual, node, w, first)
            values = [first, *(self.eval(a.value, w) for a in node.args[1:])]
        else:
            values = self._eval_args(node, w)
        if qual and any(word in qual.rsplit(".", 1)[-1].lower() for word in _FREEZE_WORDS):
            for value in values:
                if isinstance(value, ModelRef | ModuleItem):
                    sel = value.region if isinstance(value, ModelRef) else value.selection
                    self.emit(RequiresGradSet, w, node, selection=sel, value=None, how="unknown")
        return None

    def _eval_args(self, node: cst.Call, w: Walk) -> list[Value]:
        return [self.eval(arg.value, w) for arg in node.args]

    def _known_call(self, qual: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        library = recognize.model_library(qual)
        if library is not None:
            return True, self.new_model(self._spec(library, qual, node, w), w, node, None)
        if recognize.is_torch_optimizer(qual) or qual in recognize.TIMM_OPTIMIZER_FACTORIES:
            return True, self.build_optimizer(qual, node, w)
        if qual in recognize.WRAPPERS:
            values = self._eval_args(node, w)
            inner = values[0] if values else None
            if isinstance(inner, ModelRef):
                kind = recognize.WRAPPERS[qual]
                self.emit(ModelWrapped, w, node, model=inner.model, kind=kind)
                return True, ModelRef(inner.model, inner.path, (*inner.wrappers, kind))
            return True, None
        if qual in recognize.TIMM_FREEZE:
            values = self._eval_args(node, w)
            if values and isinstance(values[0], ModelRef):
                sel = self._timm_freeze_selection(values[0], node, w)
                unfreeze = recognize.TIMM_FREEZE[qual]
                self.emit(
                    RequiresGradSet,
                    w,
                    node,
                    selection=sel,
                    value=unfreeze,
                    how="call",
                    swaps_norm=True,
                )
            return True, None
        layer = recognize.nn_layer(qual)
        if layer is not None:
            self._eval_args(node, w)
            if layer == "Sequential":
                has = (
                    None
                    if not node.args
                    else not all(_param_free_call(a.value, self.imports) for a in node.args)
                )
            else:
                has = layer not in recognize.PARAM_FREE_LAYERS
            spec = ModelSpec("torch.nn", qual, name=layer, has_params=has)
            return True, self.new_model(spec, w, node, None)
        if qual in ("filter",):
            values = self._eval_args(node, w)
            if len(values) == 2 and isinstance(values[1], Params):
                base = values[1].selection
                fn = node.args[0].value
                if (
                    isinstance(fn, cst.Lambda)
                    and len(fn.params.params) == 1
                    and is_requires_grad_of(fn.body, fn.params.params[0].name.value)
                ):
                    return True, Params(Trainable(base), generator=True)
                return True, Params(NameWhere(base, None, None), generator=True)
            return True, None
        if qual in ("itertools.chain",):
            values = self._eval_args(node, w)
            if values and all(isinstance(v, Params) for v in values):
                return True, Params(
                    union(*(v.selection for v in values)),  # type: ignore[union-attr]
                    generator=True,
                )
            return True, None
        if qual in ("iter", "enumerate"):
            values = self._eval_args(node, w)
            if values and isinstance(values[0], Params):
                src = values[0]
                return True, Params(
                    src.selection, True, src.named, src.binding, enumerated=qual == "enumerate"
                )
            return True, None
        if (qual == "dict" and not node.args[:1]) or (
            qual == "dict" and all(a.keyword is not None for a in node.args)
        ):
            return True, self._group_dict(
                [(a.keyword.value if a.keyword else None, a.value) for a in node.args], w, node
            )
        if qual in _CONSUMERS:
            for arg in node.args:
                value = self.eval(arg.value, w)
                self.consume(arg.value, value, w, qual)
                if isinstance(arg.value, cst.GeneratorExp):
                    inner_iter = arg.value.for_in.iter
                    self.consume(inner_iter, self.eval(inner_iter, w), w, qual)
                if qual in ("list", "tuple", "sorted") and isinstance(value, Params):
                    return True, Params(value.selection, generator=False, named=value.named)
                if qual in ("list", "tuple") and isinstance(value, Modules):
                    return True, value
            return True, None
        if qual in _BUILTIN_CALLS:
            self._eval_args(node, w)
            return True, None
        return False, None

    def _timm_freeze_selection(self, ref: ModelRef, node: cst.Call, w: Walk) -> Selection:
        submodules = node.args[1].value if len(node.args) > 1 else None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "submodules":
                submodules = arg.value
        if submodules is None:
            return ref.region
        if isinstance(submodules, cst.List | cst.Tuple):
            names = [literal_string(e.value) for e in submodules.elements]
            if all(n is not None for n in names):
                return union(
                    *(
                        ref.region.__class__(ref.model, (*ref.path, *n.split(".")))
                        for n in names
                        if n is not None
                    )
                )
        return NameWhere(ref.region, None, None)

    def _spec(self, library: str, qual: str, node: cst.Call, w: Walk) -> ModelSpec:
        self._eval_args(node, w)
        name = None
        if library in ("timm", "efficientnet_pytorch"):
            first = node.args[0] if node.args and node.args[0].keyword is None else None
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in ("model_name", "name"):
                    first = arg
            name = literal_string(first.value) if first is not None else None
        else:
            name = qual.rsplit(".", 1)[1]
        kwargs = tuple(
            (a.keyword.value, cst.Module([]).code_for_node(a.value))
            for a in node.args
            if a.keyword is not None
        )
        return ModelSpec(library, qual, name=name, kwargs=kwargs)

    def _method_call(self, recv: Value, method: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        if isinstance(recv, ModelRef):
            if method in ("parameters", "named_parameters"):
                self._eval_args(node, w)
                return True, Params(recv.region, named=method == "named_parameters")
            if method in ("children", "modules", "named_children", "named_modules"):
                return True, Modules(recv.region, named=method.startswith("named"))
            if method == "requires_grad_":
                value = self._bool_arg(node, default=True)
                self.emit(RequiresGradSet, w, node, selection=recv.region, value=value)
                return True, recv
            if method in ("train", "eval"):
                mode = method == "train" and self._bool_arg(node, default=True) is not False
                self.emit(ModeSet, w, node, model=recv.model, path=recv.path, train=mode)
                return True, recv
            if method == "reset_classifier":
                values = self._eval_args(node, w)
                adds = not (node.args and _int_literal(node.args[0].value) == 0)
                del values
                self.emit(
                    ModuleReplaced,
                    w,
                    node,
                    model=recv.model,
                    path=(*recv.path, HEAD),
                    adds_params=adds,
                )
                return True, None
            if method == "get_classifier":
                return True, recv.child(HEAD)
            if method in ("add_module", "register_module") and len(node.args) == 2:
                key = literal_string(node.args[0].value)
                value = self.eval(node.args[1].value, w)
                if key is not None and isinstance(value, ModelRef):
                    self.emit(
                        ModuleReplaced,
                        w,
                        node,
                        model=recv.model,
                        path=(*recv.path, key),
                        adds_params=self.models[value.model].has_params,
                    )
                return True, None
            if method in ("get_submodule",) and node.args:
                key = literal_string(node.args[0].value)
                return True, recv if key is None else ModelRef(
                    recv.model, (*recv.path, *key.split(".")), recv.wrappers
                )
            if method == "apply" and len(node.args) == 1:
                self._apply(recv, node.args[0].value, w, node)
                return True, recv
            if method in recognize.SELF_RETURNING:
                self._eval_args(node, w)
                return True, recv
            if any(word in method.lower() for word in _FREEZE_WORDS):
                self._eval_args(node, w)
                self.emit(
                    RequiresGradSet, w, node, selection=recv.region, value=None, how="unknown"
                )
                return True, None
            return False, None
        if isinstance(recv, ParamItem | ModuleItem):
            if method == "requires_grad_":
                value = self._bool_arg(node, default=True)
                self.emit(RequiresGradSet, w, node, selection=recv.selection, value=value)
                return True, recv
            if isinstance(recv, ModuleItem) and method in ("parameters", "named_parameters"):
                return True, Params(recv.selection, named=method == "named_parameters")
            return False, None
        if isinstance(recv, OptimizerRef) and method == "add_param_group" and node.args:
            value = self.eval(node.args[0].value, w)
            group = (
                value.groups[0]
                if isinstance(value, Groups) and value.groups
                else ParamGroup(self.selection_of(value), node.args[0].value)
            )
            self.emit(ParamGroupAdded, w, node, optimizer=recv.optimizer, group=group)
            return True, None
        return False, None

    def _apply(self, recv: ModelRef, fn: cst.BaseExpression, w: Walk, node: cst.Call) -> None:
        """`model.apply(fn)` calls `fn` on every submodule: follow a helper of this file (or a
        lambda) with its argument standing for those submodules."""
        each = ModuleItem(recv.region)
        if isinstance(fn, cst.Name) and fn.value in self.functions:
            self.inline(self.functions[fn.value], node, w, [each])
        elif isinstance(fn, cst.Lambda) and len(fn.params.params) == 1:
            scope = Scope(env={fn.params.params[0].name.value: each}, parent=w.scope)
            self.eval(fn.body, Walk(scope, w.ctx, w.site))
        elif any(word in (dotted(fn) or "").lower() for word in _FREEZE_WORDS):
            self.emit(RequiresGradSet, w, node, selection=recv.region, value=None, how="unknown")

    def _bool_arg(self, node: cst.Call, default: bool) -> bool | None:
        if not node.args:
            return default
        return literal_bool(node.args[0].value)

    # -- optimizers --------------------------------------------------------------------------

    def is_optimizer_call(self, qual: str | None, node: cst.Call, first: Value) -> bool:
        if qual is None or not isinstance(first, Params | Groups):
            return False
        has_lr = any(a.keyword is not None and a.keyword.value == "lr" for a in node.args)
        return recognize.looks_like_optimizer(qual) or (has_lr and qual[:1].isupper())

    def build_optimizer(self, qual: str, node: cst.Call, w: Walk, first: Value = None) -> Value:
        """An optimizer call; `first` is its first argument's value when already evaluated."""
        params_arg = None
        default_lr_zero = False
        for index, arg in enumerate(node.args):
            if (arg.keyword is None and index == 0) or (
                arg.keyword is not None and arg.keyword.value in ("params", "model_or_params")
            ):
                params_arg = arg.value
                if first is not None:
                    continue
            elif arg.keyword is not None and arg.keyword.value == "lr":
                default_lr_zero = is_zero(arg.value)
                self.eval(arg.value, w)
            else:
                self.eval(arg.value, w)
        value = first if first is not None else self.eval(params_arg, w)
        if qual in recognize.TIMM_OPTIMIZER_FACTORIES and isinstance(value, ModelRef):
            # timm builds its groups from the parameters that require grad.
            value = Params(Trainable(value.region), generator=False)
        groups = self.groups_of(value, params_arg or node, default_lr_zero)
        ident = self.new_id()
        self.emit(
            OptimizerBuilt,
            w,
            node,
            optimizer=ident,
            var=None,
            cls=qual.rsplit(".", 1)[1],
            groups=groups,
        )
        for group in groups:
            if group.iterator is not None:
                self.emit(
                    IteratorConsumed, w, node, binding=group.iterator, var="", how="optimizer"
                )
        return OptimizerRef(ident)

    def groups_of(
        self, value: Value, node: cst.CSTNode, default_lr_zero: bool
    ) -> tuple[ParamGroup, ...]:
        if isinstance(value, Groups):
            out = []
            for g in value.groups:
                has_lr = any(k == "lr" for k, _ in g.options)
                out.append(
                    ParamGroup(
                        g.selection,
                        g.node,
                        g.options,
                        g.lr_zero or (default_lr_zero and not has_lr),
                        g.iterator,
                    )
                )
            return tuple(out)
        iterator = value.binding if isinstance(value, Params) and value.generator else None
        return (ParamGroup(self.selection_of(value), node, (), default_lr_zero, iterator),)

    def consume(self, node: cst.BaseExpression, value: Value, w: Walk, how: str) -> None:
        if isinstance(value, Params) and value.generator and value.binding is not None:
            self.emit(
                IteratorConsumed, w, node, binding=value.binding, var=dotted(node) or "", how=how
            )

    # -- helpers of the same file ------------------------------------------------------------

    def inline(
        self, fn: cst.FunctionDef, call: cst.Call, w: Walk, given: list[Value] | None = None
    ) -> Value:
        """Follow a call to a function of this file with its arguments bound (`given`: the
        positional values when the call is made for the script, as `model.apply(fn)` does)."""
        name = fn.name.value
        values = given if given is not None else self._eval_args(call, w)
        args = [cst.Arg(cst.Name("_"))] * len(values) if given is not None else call.args
        if name in self._inline_stack or len(self._inline_stack) >= 8:
            return None
        self.inlined.add(name)
        scope = Scope(parent=self.module_scope)
        params = [p.name.value for p in (*fn.params.posonly_params, *fn.params.params)]
        positional = [v for v, a in zip(values, args, strict=True) if a.keyword is None]
        for pname, value in zip(params, positional, strict=False):
            scope.env[pname] = value
        for arg, value in zip(args, values, strict=True):
            if arg.keyword is not None:
                scope.env[arg.keyword.value] = value
        for p in (*fn.params.params, *fn.params.posonly_params, *fn.params.kwonly_params):
            scope.env.setdefault(p.name.value, None)
        self._inline_stack.append(name)
        try:
            # A helper handed a model, parameters or an optimizer acts on them at its call:
            # that is where its events point. An entry point (`main()`) keeps their own lines.
            tracked = any(v is not None for v in values)
            site = w.site or (call if tracked else None)
            self.walk_block(fn.body.body, Walk(scope, w.ctx, site))
        finally:
            self._inline_stack.pop()
        returned = [r for r in scope.returns if r is not None]
        return returned[0] if returned else None

    # Provided by the statement walker.
    module_scope: Scope

    def walk_block(self, body: Any, w: Walk) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _visible_items(scope: Scope) -> set[str]:
    out: set[str] = set()
    cur: Scope | None = scope
    while cur is not None:
        out.update(k for k, v in cur.env.items() if isinstance(v, ParamItem | ModuleItem))
        cur = cur.parent
    return out


def _int_literal(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    ):
        return -int(node.expression.value.replace("_", ""), 0)
    return None


def _param_free_call(node: cst.BaseExpression, imports: ImportTable) -> bool:
    if not isinstance(node, cst.Call):
        return False
    layer = recognize.nn_layer(imports.qualify(node.func) or "")
    return layer in recognize.PARAM_FREE_LAYERS
