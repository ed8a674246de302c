"""Methods called on what the script tracks: on a model or submodule (`parameters()`,
`named_parameters()`, `children()`, `modules()`, `requires_grad_()`, `train()`/`eval()`,
`reset_classifier`, `get_classifier`, `add_module`, `get_submodule`, `apply(fn)`, freezing
helpers by name), on a loop item (a parameter's `requires_grad_()`, a module's `train()`), and an
optimizer's `add_param_group`.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import (
    ModeSet,
    ModuleReplaced,
    ParamGroup,
    ParamGroupAdded,
    RequiresGradSet,
)
from freezelint.script.extract.builtins import BuiltinCalls
from freezelint.script.extract.module_filters import with_call, without_recursion
from freezelint.script.extract.scope import Scope, Walk
from freezelint.script.extract.syntax import (
    FREEZE_WORDS,
    int_literal,
    literal_bool,
    literal_string,
)
from freezelint.script.imports import dotted
from freezelint.script.selection import HEAD, NameWhere, regions
from freezelint.script.values import (
    Groups,
    Instance,
    ModelRef,
    ModuleItem,
    Modules,
    OptimizerRef,
    ParamItem,
    Params,
    Value,
)


class MethodCalls(BuiltinCalls):
    """Methods of models, loop items and optimizers; `calls.CallEvaluator` builds on it."""

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
                    wrapped=bool(recv.wrappers),
                )
            if method == "requires_grad_":
                value = self._bool_arg(node, w, default=True)
                self.emit(RequiresGradSet, w, node, selection=recv.region, value=value)
                return True, recv
            if method in ("train", "eval"):
                flag = self._bool_arg(node, w, default=True) if method == "train" else False
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
                value = self._bool_arg(node, w, default=True)
                self.emit(RequiresGradSet, w, node, selection=recv.selection, value=value)
                return True, recv
            if method in ("parameters", "named_parameters"):
                # A parameter has no `.parameters()`: the item is a module.
                selection = recv.selection
                if isinstance(recv, ModuleItem):
                    recurse = _recurse_arg(node, 1 if method == "named_parameters" else 0)
                    filtered = isinstance(selection, NameWhere) and selection.modules is not None
                    if recurse is False and filtered:
                        selection = without_recursion(selection, node)
                    elif recurse is False and recv.walk != "modules":
                        # Each child's own parameters (or each listed module's): not named.
                        selection = NameWhere(selection, None, None)
                    elif recurse is None:
                        selection = NameWhere(selection, None, None)
                    else:
                        selection = with_call(selection, node)
                named = method == "named_parameters"
                relative = named and isinstance(recv, ModuleItem)
                return True, Params(selection, named=named, relative=relative)
            if isinstance(recv, ModuleItem) and method in ("train", "eval"):
                train = method == "train" and self._bool_arg(node, w, default=True) is not False
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

    def module_at(self, node: cst.BaseExpression, w: Walk, depth: int = 0) -> ModelRef | None:
        """The submodule `node` names when the script calls a module's method on it (so it is
        one) though its value is not known: a part a composite was given that the analysis
        cannot build (`self.features = make_features()`: `net.features`), or a part of what a
        name holds that a call it cannot follow returned (`net = Net()` with `Net` from a
        library it does not read: `net.features`, a model of unknown state). None otherwise."""
        if type(node) is cst.Name:
            found, bound = w.scope.lookup(node.value)
            if found and bound is None and depth:
                return self.implicit_model(node.value, w, node)
            return bound if isinstance(bound, ModelRef) else None
        if type(node) is not cst.Attribute or depth > 8:
            return None
        owner = self.eval(node.value, w)
        if depth and isinstance(owner, Instance) and self.eval(node, w) is None:
            # An attribute of one of the project's objects (not a module) holding what a call
            # the analysis cannot follow returned (`self.model = build(cfg)`): a model of
            # unknown state, kept on the object as `self.model.parameters()` keeps it.
            name = dotted(node)
            return self.implicit_model(name, w, node) if name is not None else None
        if not isinstance(owner, ModelRef):
            owner = self.module_at(node.value, w, depth + 1)
        attr = node.attr.value
        if owner is None or not attr.isidentifier() or attr in ("weight", "bias"):
            return None
        if not owner.path and not owner.wrappers and owner.model in self.attributes:
            # One of the project's modules: only a part it was given without the analysis
            # knowing what (a parameter, a plain value or a known part is no such module).
            parts = self.parts.get(owner.model, {})
            return owner.child(attr) if attr in parts and parts[attr] is None else None
        return owner.child(attr)

    def _apply(self, recv: ModelRef, fn: cst.BaseExpression, w: Walk, node: cst.Call) -> None:
        """`model.apply(fn)` calls `fn` on every submodule: follow a helper of this file (or a
        lambda) with its argument standing for those submodules."""
        # Called on every module, the model itself too (children before their parents).
        each = ModuleItem(recv.region, "" if recv.wrappers else "apply", None, self.new_id())
        if type(fn) is cst.Name and fn.value in self.functions:
            self.call_function(self.functions[fn.value], node, w, [each])
        elif type(fn) is cst.Lambda and len(fn.params.params) == 1:
            scope = Scope(env={fn.params.params[0].name.value: each}, parent=w.scope)
            self.eval(fn.body, w.changed(scope=scope))
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

    def _bool_arg(self, node: cst.Call, w: Walk, default: bool) -> bool | None:
        if not node.args:
            return default
        return self.known_bool(node.args[0].value, w)


def _recurse_arg(node: cst.Call, position: int) -> bool | None:
    """The `recurse` argument of `parameters()` (first) or `named_parameters()` (second):
    True by default, None when it is not a literal."""
    for index, arg in enumerate(node.args):
        if arg.star:
            return None
        if (arg.keyword is None and index == position) or (
            arg.keyword is not None and arg.keyword.value == "recurse"
        ):
            return literal_bool(arg.value)
    return True
