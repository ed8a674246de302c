"""Optimizers: a call that builds one (`torch.optim.*`, timm's factories, anything
optimizer-like handed parameters or param groups), its param groups (with their options and
whether their learning rate is zero), and the bound parameter iterators it (or any other
consumer) uses up.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import IteratorConsumed, OptimizerBuilt, ParamGroup
from freezelint.script.extract.follow_imports import ImportFollower
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import code_of, is_zero
from freezelint.script.imports import dotted
from freezelint.script.selection import Trainable
from freezelint.script.values import Groups, ModelRef, OptimizerRef, Params, Value


class OptimizerBuilder(ImportFollower):
    """Optimizers built; `builtins.BuiltinCalls` builds on it."""

    def is_optimizer_call(self, qual: str | None, node: cst.Call, first: Value) -> bool:
        if qual is None or not isinstance(first, Params | Groups):
            return False
        has_lr = any(a.keyword is not None and a.keyword.value == "lr" for a in node.args)
        return (
            recognize.looks_like_optimizer(qual)
            or qual == recognize.ANY_TORCH_OPTIMIZER
            or (has_lr and qual[:1].isupper())
        )

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
            cls=_class_text(qual, node),
            groups=groups,
        )
        for group in groups:
            if group.iterator is not None and group.iterator not in self.listed:
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


def _class_text(qual: str, node: cst.Call) -> str:
    """The optimizer's class as messages name it: `Adam`; for one picked by a name not known
    statically, the code naming it (`config["optimizer"]["type"]`)."""
    func = node.func
    if qual == recognize.ANY_TORCH_OPTIMIZER:
        if type(func) is cst.Call and len(func.args) == 2:
            text = code_of(func.args[1].value)
            if len(text) <= 40:
                return text
        return "torch.optim"
    return qual.rsplit(".", 1)[-1]
