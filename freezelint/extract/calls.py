"""Evaluating calls: model constructors, optimizers (`torch.optim`, timm's factories, anything
optimizer-like handed parameters), wrappers, `requires_grad_`, `.train()`, `add_param_group`,
`model.apply(fn)`, and helper functions of the same file, followed at each call.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint import recognize
from freezelint.events import (
    UNKNOWN,
    IteratorConsumed,
    ModelSpec,
    ModelWrapped,
    ModeSet,
    ModuleReplaced,
    OptimizerBuilt,
    ParamGroup,
    ParamGroupAdded,
    RequiresGradSet,
)
from freezelint.extract.constants import call_method
from freezelint.extract.expressions import _const
from freezelint.extract.follow_imports import ImportFollower
from freezelint.extract.lightning import FINETUNING, TRAINERS
from freezelint.extract.scope import Scope, Walk
from freezelint.extract.syntax import (
    BUILTIN_CALLS,
    CONSUMERS,
    FREEZE_WORDS,
    int_literal,
    is_requires_grad_of,
    is_zero,
    literal_bool,
    literal_string,
    param_free_call,
)
from freezelint.imports import dotted
from freezelint.selection import (
    HEAD,
    NameWhere,
    Selection,
    Trainable,
    regions,
    union,
)
from freezelint.values import (
    ArgParser,
    Const,
    Constructor,
    Groups,
    ModelRef,
    ModuleItem,
    Modules,
    Namespace,
    OptimizerRef,
    ParamItem,
    Params,
    ProjectModule,
    SuperRef,
    TrainerValue,
    TupleValue,
    Value,
)

# Loops over at most this many known items are unrolled (`for phase in ["train", "val"]`).
UNROLL_LIMIT = 16


class CallEvaluator(ImportFollower):
    parsers: dict[int, dict[str, Const]]
    exited: bool
    raised: bool

    def eval_call(self, node: cst.Call, w: Walk) -> Value:
        func = node.func
        qual = self.imports.qualify(func)
        alias = self._constructor_alias(func, w)
        if alias is not None:
            qual = alias.qual
        if qual is not None:
            handled, value = self._known_call(qual, node, w)
            if handled:
                return value
        if isinstance(func, cst.Attribute):
            recv = self.eval(func.value, w)
            method = func.attr.value
            if isinstance(recv, Const):
                args = self._eval_args(node, w)
                if all(isinstance(a, Const) for a in args) and not any(
                    a.keyword for a in node.args
                ):
                    return _const(
                        lambda: call_method(recv.value, method, [a.value for a in args]),  # type: ignore[union-attr]
                        recv,
                        *args,  # type: ignore[arg-type]
                    )
                return None
            if isinstance(recv, ArgParser):
                return self._argparse(recv, method, node, w)
            if isinstance(recv, TrainerValue):
                if method == "fit":
                    self.fit(recv, node, w)
                else:
                    self._eval_args(node, w)
                return None
            if isinstance(recv, ProjectModule):
                member = self.module_member(recv, method)
                if isinstance(member, cst.FunctionDef):
                    return self.call_function(member, node, w)
                if isinstance(member, cst.ClassDef):
                    return self.construct(member, node, w)
            handled, value = self.method_call(recv, method, node, w)
            if handled:
                return value
            if isinstance(recv, SuperRef):
                recv = recv.obj  # a method the project's classes do not define: torch's own
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
            if not w.scope.lookup(func.value)[0]:
                self.imported_name(func.value, w)
            if func.value in self.functions:
                return self.call_function(self.functions[func.value], node, w)
            if func.value in self.classes:
                return self.construct(self.classes[func.value], node, w)
            if func.value == "super" and not w.scope.lookup("super")[0]:
                return self.super_of(node, w)
        if qual is not None and node.args and node.args[0].keyword is None:
            first = self.eval(node.args[0].value, w)
            if self.is_optimizer_call(qual, node, first):
                return self.build_optimizer(qual, node, w, first)
            values = [first, *(self.eval(a.value, w) for a in node.args[1:])]
        else:
            values = self._eval_args(node, w)
        if qual and any(word in qual.rsplit(".", 1)[-1].lower() for word in FREEZE_WORDS):
            for value in values:
                if isinstance(value, ModelRef | ModuleItem):
                    sel = value.region if isinstance(value, ModelRef) else value.selection
                    self.emit(RequiresGradSet, w, node, selection=sel, value=None, how="unknown")
        return None

    def _eval_args(self, node: cst.Call, w: Walk) -> list[Value]:
        return [self.eval(arg.value, w) for arg in node.args]

    def _constructor_alias(self, func: cst.BaseExpression, w: Walk) -> Constructor | None:
        """`net_fn(...)` with `net_fn = models.resnet50`, `getattr(models, arch)(...)`,
        `models.__dict__[arch](...)`, `{"resnet": models.resnet18}[name](...)`."""
        if isinstance(func, cst.Name):
            value = w.scope.lookup(func.value)[1]
        elif isinstance(func, cst.Subscript | cst.Call):
            value = self.eval(func, w)
        else:
            return None
        return value if isinstance(value, Constructor) else None

    def _argparse(self, parser: ArgParser, method: str, node: cst.Call, w: Walk) -> Value:
        """Options of an `argparse` parser: their defaults, as constants the user can override."""
        options = self.parsers.setdefault(parser.ident, {})
        if method in ("add_argument_group", "add_mutually_exclusive_group"):
            self._eval_args(node, w)
            return parser
        if method == "add_argument":
            flags = [literal_string(a.value) for a in node.args if a.keyword is None]
            kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
            self._eval_args(node, w)
            longest = next((f for f in flags if f and f.startswith("--")), None) or (
                flags[0] if flags and flags[0] else None
            )
            dest = literal_string(kw["dest"]) if "dest" in kw else None
            if dest is None and longest is not None:
                dest = longest.lstrip("-").replace("-", "_")
            if dest is None:
                return None
            action = literal_string(kw["action"]) if "action" in kw else None
            if "default" in kw:
                default = self.eval(kw["default"], w)
                value = default.value if isinstance(default, Const) else None
                known = isinstance(default, Const)
            else:
                value, known = {"store_true": False, "store_false": True}.get(action), True
            if known:
                options[dest] = Const(value, source=f"--{dest.replace('_', '-')}")
            else:
                options.pop(dest, None)
            return None
        if method in ("parse_args", "parse_known_args"):
            self._eval_args(node, w)
            space = Namespace(tuple(options.items()))
            return space if method == "parse_args" else TupleValue((space, None))
        self._eval_args(node, w)
        return None

    def _known_call(self, qual: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        if qual.rsplit(".", 1)[-1] in recognize.LR_SETTING_SCHEDULERS:
            self.lr_scheduled = True
        if qual in self.aliases:
            self._eval_args(node, w)
            library, name = self.aliases[qual]
            return True, self.new_model(ModelSpec(library, qual, name=name), w, node, None)
        library = recognize.model_library(qual)
        if library is not None:
            return True, self.new_model(self._spec(library, qual, node, w), w, node, None)
        if recognize.is_torch_optimizer(qual) or qual in recognize.TIMM_OPTIMIZER_FACTORIES:
            return True, self.build_optimizer(qual, node, w)
        if qual in TRAINERS:
            return True, self.trainer(node, w)
        owner, _, method = qual.rpartition(".")
        if owner in FINETUNING:
            return self.finetuning_call(method, node, w)
        if qual == "argparse.ArgumentParser":
            self._eval_args(node, w)
            return True, ArgParser(self.new_id())
        if qual == "getattr" and len(node.args) >= 2:
            values = self._eval_args(node, w)
            owner, key = values[0], values[1]
            if isinstance(key, Const) and isinstance(key.value, str):
                if isinstance(owner, ModelRef) and len(node.args) == 2:
                    return True, owner.child(key.value)
                base = self.imports.qualify(node.args[0].value)
                if owner is None and base is not None:
                    return True, self.constructor_named(f"{base}.{key.value}")
            return True, None
        if qual == "range":
            values = self._eval_args(node, w)
            if values and all(isinstance(v, Const) and type(v.value) is int for v in values):
                bounds = [v.value for v in values]  # type: ignore[union-attr]
                if len(bounds) <= 3 and (len(bounds) < 3 or bounds[2] != 0):
                    steps = range(*bounds)
                    if len(steps) <= UNROLL_LIMIT:
                        return True, Const(tuple(steps))
            return True, None
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
            values = self._eval_args(node, w)
            if layer == "Sequential":
                has = (
                    None
                    if not node.args
                    else not all(param_free_call(a.value, self.imports) for a in node.args)
                )
            else:
                has = layer not in recognize.PARAM_FREE_LAYERS
            linear = _linear_args(node, values) if layer == "Linear" else None
            args, kwargs = _layer_arguments(node, values)
            spec = ModelSpec(
                "torch.nn",
                qual,
                name=layer,
                has_params=has,
                linear=linear,
                args=args,
                kwargs=kwargs,
            )
            ref = self.new_model(spec, w, node, None)
            if (
                layer == "Sequential"
                and values
                and not kwargs
                and all(isinstance(v, ModelRef) and not v.path and not v.wrappers for v in values)
            ):
                # `nn.Sequential(nn.Linear(...), nn.ReLU())`: a composite of those layers.
                self.parts[ref.model] = {
                    str(i): v.model  # type: ignore[union-attr]
                    for i, v in enumerate(values)
                }
            return True, ref
        if qual == "setattr" and len(node.args) == 3:
            owner = self.eval(node.args[0].value, w)
            key = literal_string(node.args[1].value)
            value = self.eval(node.args[2].value, w)
            if isinstance(owner, ModelRef) and key is not None:
                self.assign_attribute(owner, key, node.args[2].value, value, w, node)
            return True, None
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
        if qual == "enumerate" and node.args and node.args[0].keyword is None:
            values = self._eval_args(node, w)
            items = values[0].value if isinstance(values[0], Const) else None
            start = values[1] if len(values) > 1 else Const(0)
            if (
                isinstance(items, tuple)
                and isinstance(start, Const)
                and type(start.value) is int
                and len(items) <= UNROLL_LIMIT
            ):
                pairs = tuple((start.value + i, item) for i, item in enumerate(items))
                return True, Const(pairs, values[0].source)  # type: ignore[union-attr]
            if values and isinstance(values[0], Params):
                src = values[0]
                return True, Params(src.selection, True, src.named, src.binding, enumerated=True)
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
        if qual in CONSUMERS:
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
        if qual in BUILTIN_CALLS:
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
        """The constructor call as far as it is known statically: the architecture name and the
        keyword arguments (`UNKNOWN` where an argument is not a constant)."""
        values = self._eval_args(node, w)
        name: object = None
        positional = [v for v, a in zip(values, node.args, strict=True) if a.keyword is None]
        kwargs: list[tuple[str, object]] = []
        for arg, value in zip(node.args, values, strict=True):
            if arg.star:
                kwargs.append(("**", UNKNOWN))
            elif arg.keyword is not None:
                if arg.keyword.value in ("model_name", "name"):
                    name = value.value if isinstance(value, Const) else UNKNOWN
                else:
                    kwargs.append(
                        (arg.keyword.value, value.value if isinstance(value, Const) else UNKNOWN)
                    )
        named_by_argument = library in ("timm", "efficientnet_pytorch") or (
            qual == "torchvision.models.get_model"
        )
        if named_by_argument and name is None:
            first = positional[0] if positional else None
            name = first.value if isinstance(first, Const) else UNKNOWN
            positional = positional[1:]
        elif not named_by_argument:
            name = qual.rsplit(".", 1)[-1]
        if positional:
            kwargs.append(("*", UNKNOWN))  # positional options: not resolved
        return ModelSpec(
            library,
            qual,
            name=name if isinstance(name, str) else None,
            kwargs=tuple(kwargs),
        )

    def _method_call(self, recv: Value, method: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        if isinstance(recv, ModelRef):
            if method in ("parameters", "named_parameters"):
                self._eval_args(node, w)
                prefix = "".join(
                    f"{recognize.WRAPPER_ATTRIBUTE[kind]}." for kind in reversed(recv.wrappers)
                )
                return True, Params(
                    recv.region, named=method == "named_parameters", name_prefix=prefix
                )
            if method in ("children", "modules", "named_children", "named_modules"):
                return True, Modules(
                    recv.region,
                    named=method.startswith("named"),
                    children=method.endswith("children"),
                )
            if method == "requires_grad_":
                value = self._bool_arg(node, default=True)
                self.emit(RequiresGradSet, w, node, selection=recv.region, value=value)
                return True, recv
            if method in ("train", "eval"):
                flag = self._bool_arg(node, default=True) if method == "train" else False
                if flag is not None:  # `.train(mode=was_training)`: which mode is unknown
                    self.emit(ModeSet, w, node, model=recv.model, path=recv.path, train=flag)
                return True, recv
            if method == "reset_classifier":
                values = self._eval_args(node, w)
                adds = not (node.args and int_literal(node.args[0].value) == 0)
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
            if any(word in method.lower() for word in FREEZE_WORDS):
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
            if method in ("parameters", "named_parameters"):
                # A parameter has no `.parameters()`: the item is a module.
                return True, Params(recv.selection, named=method == "named_parameters")
            if isinstance(recv, ModuleItem) and method in ("train", "eval"):
                train = method == "train" and self._bool_arg(node, default=True) is not False
                for region in regions(recv.selection):
                    self.emit(
                        ModeSet,
                        w,
                        node,
                        model=region.model,
                        path=region.path,
                        train=train,
                        partial=True,
                    )
                return True, recv
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
            self.call_function(self.functions[fn.value], node, w, [each])
        elif isinstance(fn, cst.Lambda) and len(fn.params.params) == 1:
            scope = Scope(env={fn.params.params[0].name.value: each}, parent=w.scope)
            self.eval(fn.body, replace(w, scope=scope))
        else:
            name = (dotted(fn) or "").lower()
            if any(word in name for word in FREEZE_WORDS):
                self.emit(
                    RequiresGradSet, w, node, selection=recv.region, value=None, how="unknown"
                )
            if any(word in name for word in ("bn", "norm", "eval", "freeze")):
                # A helper from elsewhere that may put norm layers in eval mode.
                self.emit(
                    ModeSet, w, node, model=recv.model, path=recv.path, train=False, partial=True
                )

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
            elif (arg.keyword is not None and arg.keyword.value == "lr") or (
                arg.keyword is None and index == 1 and recognize.is_torch_optimizer(qual)
            ):
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
            cls=qual.rsplit(".", 1)[-1],
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
        iterator = value.binding if isinstance(value, Params) else None
        return (ParamGroup(self.selection_of(value), node, (), default_lr_zero, iterator),)

    def consume(self, node: cst.BaseExpression, value: Value, w: Walk, how: str) -> None:
        if isinstance(value, Params) and value.generator and value.binding is not None:
            self.emit(
                IteratorConsumed, w, node, binding=value.binding, var=dotted(node) or "", how=how
            )


def _linear_args(node: cst.Call, values: list[Value]) -> tuple[object, object, object]:
    """nn.Linear's sizes as the script gives them: constants, or `x.in_features` references."""
    found: dict[str, object] = {}
    names = ("in_features", "out_features", "bias")
    for index, (arg, value) in enumerate(zip(node.args, values, strict=True)):
        key = (
            arg.keyword.value if arg.keyword is not None else (names[index] if index < 3 else None)
        )
        if key in names:
            found[key] = (
                value.value
                if isinstance(value, Const)
                else (value if isinstance(value, ModelRef) else None)
            )
    return found.get("in_features"), found.get("out_features"), found.get("bias", True)


def _layer_arguments(
    node: cst.Call, values: list[Value]
) -> tuple[tuple[object, ...], tuple[tuple[str, object], ...]]:
    """A `torch.nn` layer's arguments: constants, or UNKNOWN (`*`/`**` for unpacked ones)."""
    args: list[object] = []
    kwargs: list[tuple[str, object]] = []
    for arg, value in zip(node.args, values, strict=True):
        known = value.value if isinstance(value, Const) else UNKNOWN
        if arg.star:
            kwargs.append((arg.star, UNKNOWN))
        elif arg.keyword is not None:
            kwargs.append((arg.keyword.value, known))
        else:
            args.append(known)
    return tuple(args), tuple(kwargs)
