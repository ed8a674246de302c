"""Evaluating calls: each call sent to what handles it (a callee known by its qualified name, a
method by its receiver, a function or class of the project, followed at each call; a class or
object the script holds as a value), plus wrappers (`DataParallel`), timm's freeze helpers and
unknown functions whose names say they freeze. Built on `constructors.ModelConstructors` (the
calls that build models and layers), `methods.MethodCalls` (methods), `builtins.BuiltinCalls`
(builtins, argparse) and `optimizers.OptimizerBuilder` (optimizers).
"""

from __future__ import annotations

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import ModelSpec, ModelWrapped, RequiresGradSet
from freezelint.script.extract.constants import call_method
from freezelint.script.extract.constructors import ModelConstructors
from freezelint.script.extract.expressions import _const
from freezelint.script.extract.lightning import FINETUNING, TRAINERS
from freezelint.script.extract.schedulers import SchedulerRef
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import FREEZE_WORDS, literal_string
from freezelint.script.imports import dotted
from freezelint.script.selection import (
    NameWhere,
    Region,
    Selection,
    union,
)
from freezelint.script.values import (
    ArgParser,
    Const,
    Constructor,
    Definition,
    DictValue,
    Instance,
    ModelRef,
    ModuleItem,
    ProjectModule,
    SuperRef,
    TrainerValue,
    TupleValue,
    Value,
    some_module,
)


class CallEvaluator(ModelConstructors):
    exited: bool
    raised: bool

    def eval_call(self, node: cst.Call, w: Walk) -> Value:
        func = node.func
        qual = self.imports.qualify(func)
        callee = self._callee(func, w)
        if isinstance(callee, Definition):
            return self.call_definition(callee, node, w)
        alias = callee if isinstance(callee, Constructor) else None
        if alias is not None:
            qual = alias.qual
        elif type(func) in (cst.Subscript, cst.Call) and isinstance(callee, Instance | ModelRef):
            # `Wrapper()()`, `wrappers[i]()`: an object whose class may define `__call__`.
            handled, value = self.call_object(callee, node, w)
            if handled:
                return value
        if qual is not None:
            handled, value = self._known_call(qual, node, w)
            if handled:
                return value
        if type(func) is cst.Attribute:
            recv = self.eval(func.value, w)
            method = func.attr.value
            held = self._held_class(recv, method)
            if held is not None:
                # `self.optimizer_cls(params, lr=...)`: a class the object was handed.
                handled, value = self._known_call(held.qual, node, w)
                if handled:
                    return value
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
            if isinstance(recv, DictValue):
                return self._dict_method(recv, method, node, w)
            if isinstance(recv, ArgParser):
                return self._argparse(recv, method, node, w)
            if isinstance(recv, SchedulerRef):
                return self.scheduler_method(recv, method, node, w)
            if isinstance(recv, TrainerValue):
                if method == "fit":
                    self.fit(recv, node, w)
                else:
                    self._eval_args(node, w)
                return None
            if isinstance(recv, ProjectModule):
                member = self.module_member(recv, method)
                if type(member) is cst.FunctionDef:
                    return self.call_function(member, node, w)
                if type(member) is cst.ClassDef:
                    return self.construct(member, node, w)
            handled, value = self.method_call(recv, method, node, w)
            if handled:
                return value
            if isinstance(recv, Instance | ModelRef):
                # `self.wrapper()`: an attribute holding an object whose class defines `__call__`.
                handled, value = self.call_object(self.eval(func, w), node, w)
                if handled:
                    return value
            if (
                method == "optimizers"
                and isinstance(recv, ModelRef)
                and not recv.path
                and recv.model in self.fit_trainers
            ):
                # `self.optimizers()` in a LightningModule's hook during `fit`.
                optimizers = self.fit_trainers[recv.model].optimizers
                if optimizers is None:
                    return None
                return optimizers[0] if len(optimizers) == 1 else TupleValue(optimizers)
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
                if name is not None and "." in name and method != "reset_classifier":
                    recv = self.module_at(func.value, w)
                if recv is not None:
                    pass
                elif (name is not None and "." not in name) or (name or "").startswith("self."):
                    recv = self.implicit_model(name, w, func.value)  # type: ignore[arg-type]
            handled, value = self._method_call(recv, method, node, w)
            if handled:
                return value
        elif type(func) is cst.Name and not (
            # A class named like an optimizer (`RAdam`, `AdaBelief`) handed parameters is one,
            # whoever defines it: no need to read it; so is the project's own subclass of
            # `torch.optim.Optimizer` (`class RAdam(Optimizer)`).
            (func.value not in self.classes or _optimizer_subclass(self.classes[func.value]))
            and recognize.looks_like_optimizer(func.value)
            and node.args
            and node.args[0].keyword is None
        ):
            found, bound = w.scope.lookup(func.value)
            if not found:
                self.imported_name(func.value, w)
            elif isinstance(bound, Instance | ModelRef):
                handled, value = self.call_object(bound, node, w)
                if handled:
                    return value
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
        return _some_module_of(values)

    def _held_class(self, recv: Value, attr: str) -> Constructor | None:
        """The class `obj.attr` holds when the object was handed one (`self.optimizer_cls`)."""
        if not isinstance(recv, Instance | ModelRef):
            return None
        value = self.attribute_of(recv, attr)[1]
        return value if isinstance(value, Constructor) else None

    def _eval_args(self, node: cst.Call, w: Walk) -> list[Value]:
        return [self.eval(arg.value, w) for arg in node.args]

    def _callee(self, func: cst.BaseExpression, w: Walk) -> Value:
        """What is called, when it is a name or computed (evaluated once): a constructor alias
        (`net_fn(...)` with `net_fn = models.resnet50`, `getattr(models, arch)(...)`,
        `models.__dict__[arch](...)`, `{"resnet": models.resnet18}[name](...)`), a class or
        function of the project picked the same ways (`MODELS[args.model](...)`), or an
        object."""
        if type(func) is cst.Name:
            return w.scope.lookup(func.value)[1]
        if type(func) in (cst.Subscript, cst.Call):
            return self.eval(func, w)
        return None

    def call_definition(self, value: Definition, node: cst.Call, w: Walk) -> Value:
        """A call to a class or function of the project reached as a value: built or followed
        as a call by its name would be."""
        found = self.definition_node(value)
        if found is None:
            self._eval_args(node, w)
            return None
        if type(found) is cst.ClassDef:
            return self.construct(found, node, w)
        return self.call_function(found, node, w)

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
        scheduler = recognize.torch_scheduler(qual)
        if scheduler is not None:
            return True, self.build_scheduler(scheduler, node, w)
        if qual == "copy.deepcopy":
            return True, self.deep_copy(node, w)
        if qual in TRAINERS:
            return True, self.trainer(node, w)
        owner, _, method = qual.rpartition(".")
        if owner in TRAINERS and method == "from_argparse_args":
            # Lightning 1.x: a Trainer from the parsed command line, whose callbacks (if any)
            # come from there too: not known.
            self._eval_args(node, w)
            return True, TrainerValue(None)
        if owner in FINETUNING:
            return self.finetuning_call(method, node, w)
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
            return True, self.build_layer(layer, qual, node, w)
        return self._builtin_call(qual, node, w)

    def _timm_freeze_selection(self, ref: ModelRef, node: cst.Call, w: Walk) -> Selection:
        submodules = node.args[1].value if len(node.args) > 1 else None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "submodules":
                submodules = arg.value
        if submodules is None:
            return ref.region
        if type(submodules) in (cst.List, cst.Tuple):
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


def _some_module_of(values: list[Value]) -> Value:
    """What a call the analysis cannot follow returns when it is handed one model
    (`get_part(model)`, `load_weights(model, path)`, `getter(model)` with a getter picked at
    run time): perhaps that model or a module inside it, which one not known. Parameters
    reached through it are some of the model's, the analysis cannot say which: a freeze
    through it leaves them unknown rather than untouched."""
    models = {v.model for v in values if isinstance(v, ModelRef)}
    return some_module(Region(models.pop(), ())) if len(models) == 1 else None


def _optimizer_subclass(cls: cst.ClassDef) -> bool:
    """Does the class derive from `Optimizer` (`torch.optim.Optimizer` however imported)?"""
    return any(
        (text := dotted(base.value)) is not None and text.split(".")[-1] == "Optimizer"
        for base in cls.bases
    )
