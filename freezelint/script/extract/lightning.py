"""PyTorch Lightning, as its own source defines it (read, not copied).

- `Trainer(callbacks=[...]).fit(module)` runs, in order: each callback's `setup` (for a
  `BaseFinetuning` callback: `freeze_before_training(module)`), the module's `setup` and
  `configure_optimizers`, then per epoch the module in training mode, each finetuning
  callback's `finetune_function(module, epoch, optimizer)` and the module's training hooks.
- `BaseFinetuning.freeze(modules, train_bn=True)` freezes every leaf module's parameters but
  makes BatchNorm layers trainable; with `train_bn=False` it freezes them too and turns their
  `track_running_stats` off (their statistics stop updating). `make_trainable` unfreezes (and
  turns tracking back on); `filter_params(modules, train_bn, requires_grad)` yields the
  parameters whose `requires_grad` is as asked, BatchNorm ones left out unless `train_bn`;
  `unfreeze_and_add_param_group(modules, optimizer, ..., train_bn=True)` unfreezes the modules
  and adds to the optimizer those of their trainable parameters it does not hold yet (without
  `train_bn`, not the BatchNorm ones, which stay trainable but out of the optimizer).
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.events import Frame, ModeSet, ParamGroup, ParamGroupAdded, RequiresGradSet
from freezelint.script.extract.objects import FIT_EPOCH, FIT_SETUP, ObjectEvaluator
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import code_of, literal_bool
from freezelint.script.selection import NameWhere, Selection, Trainable, leaves, union
from freezelint.script.values import (
    Const,
    DictValue,
    Instance,
    ModelRef,
    OptimizerRef,
    Params,
    TrainerValue,
    TupleValue,
    Value,
)

PACKAGES = ("lightning.pytorch", "pytorch_lightning", "lightning")
TRAINERS = frozenset(
    f"{p}.{m}Trainer" for p in PACKAGES for m in ("", "trainer.", "trainer.trainer.")
)
FINETUNING = frozenset(
    f"{p}.callbacks.{m}BaseFinetuning" for p in PACKAGES for m in ("", "finetuning.")
)
# Lightning's own callbacks that leave `requires_grad` alone (anything else unknown may not).
HARMLESS = frozenset(
    f"{p}.callbacks.{name}"
    for p in PACKAGES
    for name in (
        "ModelCheckpoint",
        "EarlyStopping",
        "LearningRateMonitor",
        "RichProgressBar",
        "TQDMProgressBar",
        "ModelSummary",
        "RichModelSummary",
        "Timer",
        "DeviceStatsMonitor",
        "StochasticWeightAveraging",
        "GradientAccumulationScheduler",
    )
)
STATIC_METHODS = frozenset(
    {"freeze", "make_trainable", "filter_params", "unfreeze_and_add_param_group", "freeze_module"}
)


class LightningCalls(ObjectEvaluator):
    def is_finetuning_class(self, cls: cst.ClassDef, depth: int = 0) -> bool:
        return depth < 8 and any(
            (qual is not None and qual in FINETUNING)
            or (
                local is not None
                and local is not cls
                and self.is_finetuning_class(local, depth + 1)
            )
            for qual, local in self.base_quals(cls)
        )

    def trainer(self, node: cst.Call, w: Walk) -> TrainerValue:
        """`Trainer(callbacks=[...])`: the callbacks, when they are all in view."""
        callbacks: tuple[Value, ...] | None = ()
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "callbacks":
                elements = _elements(arg.value)
                if elements is None:
                    self.eval(arg.value, w)
                    callbacks = None
                else:
                    callbacks = tuple(self._callback(self.eval(e, w), e) for e in elements)
                continue
            self.eval(arg.value, w)
            if arg.star:
                callbacks = None
        return TrainerValue(callbacks)

    def _callback(self, value: Value, node: cst.BaseExpression) -> Value:
        if isinstance(value, Instance):
            return value
        func = node.func if type(node) is cst.Call else node
        return Const("harmless") if self.imports.qualify(func) in HARMLESS else None

    def fit(self, trainer: TrainerValue, node: cst.Call, w: Walk) -> None:
        """`trainer.fit(module, ...)` on a LightningModule in view: its hooks, in order."""
        arg = next((a for a in node.args if a.keyword is None or a.keyword.value == "model"), None)
        module = self.eval(arg.value, w) if arg is not None else None
        cls = self.class_of(module)
        if cls is None or not isinstance(module, ModelRef) or not self.is_lightning_class(cls):
            return
        finetuning: list[tuple[Instance, cst.ClassDef]] = []
        for callback in trainer.callbacks or ():
            owner = self.class_of(callback)
            if isinstance(callback, Instance) and owner is not None:
                if self.is_finetuning_class(owner):
                    finetuning.append((callback, owner))
            elif not isinstance(callback, Const):
                self.unseen_callbacks.add(module.model)
        if trainer.callbacks is None:
            self.unseen_callbacks.add(module.model)
        for callback, owner in finetuning:
            self._hook(owner, "freeze_before_training", callback, [module], node, w)
        optimizer: Value = None
        for hook in FIT_SETUP:
            returned = self._hook(cls, hook, module, [], node, w)
            if hook == "configure_optimizers":
                optimizer = _optimizer_of(returned)
                self.fit_trainers[module.model] = TrainerValue(
                    trainer.callbacks, _optimizers_of(returned)
                )
        self.emit(
            ModeSet,
            w,
            node,
            model=module.model,
            path=(),
            train=True,
            implicit=f"{code_of(node.func)}(...)",
        )
        epoch = w.inner(Frame("loop", self.new_id()))
        for callback, owner in finetuning:
            self._hook(owner, "finetune_function", callback, [module, None, optimizer], node, epoch)
        for hook in FIT_EPOCH:
            self._hook(cls, hook, module, [], node, epoch)

    def _hook(
        self,
        cls: cst.ClassDef,
        name: str,
        obj: Value,
        given: list[Value],
        node: cst.Call,
        w: Walk,
    ) -> Value:
        found = self.find_method(cls, name)
        if found is None:
            return None
        fn, owner = found
        return self.call_function(fn, node, w, given=given, bound=obj, owner=owner)

    # -- BaseFinetuning's static methods -------------------------------------------------------

    def finetuning_call(self, method: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        """`self.freeze(...)` in a BaseFinetuning subclass, or `BaseFinetuning.freeze(...)`."""
        if method not in STATIC_METHODS:
            return False, None
        values = [self.eval(a.value, w) for a in node.args]
        named = {a.keyword.value: v for a, v in zip(node.args, values, strict=True) if a.keyword}
        positional = [v for a, v in zip(node.args, values, strict=True) if a.keyword is None]
        flags = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        selection = _modules(positional[0] if positional else named.get("modules"))
        train_bn = _flag(flags.get("train_bn"), True)
        if method == "filter_params":
            wanted = _flag(flags.get("requires_grad"), True)
            if selection is None or wanted is not True:
                return True, None
            chosen = selection if train_bn else _without_norms(selection)
            return True, Params(
                Trainable(chosen) if train_bn is not None else NameWhere(selection, None, None)
            )
        if selection is None:
            return True, None
        if method == "freeze":
            if train_bn is None:
                self.emit(RequiresGradSet, w, node, selection=selection, value=None, how="unknown")
            elif train_bn:
                self.emit(
                    RequiresGradSet, w, node, selection=_without_norms(selection), value=False
                )
                self.emit(RequiresGradSet, w, node, selection=_norms(selection), value=True)
            else:
                # BatchNorm layers frozen with `track_running_stats` off: they stop updating.
                self.emit(
                    RequiresGradSet, w, node, selection=selection, value=False, swaps_norm=True
                )
        elif method == "make_trainable":
            self.emit(RequiresGradSet, w, node, selection=selection, value=True)
        elif method == "freeze_module":
            # Its own parameters only (`recurse=False`): which those are is not known here.
            self.emit(
                RequiresGradSet, w, node, selection=NameWhere(selection, None, None), value=False
            )
        elif method == "unfreeze_and_add_param_group":
            optimizer = positional[1] if len(positional) > 1 else named.get("optimizer")
            # Into an optimizer not in view: what it then holds is not known.
            value = True if isinstance(optimizer, OptimizerRef) else None
            self.emit(RequiresGradSet, w, node, selection=selection, value=value)
            if isinstance(optimizer, OptimizerRef):
                added = selection if train_bn is not False else _without_norms(selection)
                group = ParamGroup(Trainable(added), node, new_only=True)
                self.emit(ParamGroupAdded, w, node, optimizer=optimizer.optimizer, group=group)
        return True, None


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    if type(node) in (cst.List, cst.Tuple) and not any(
        type(e) is cst.StarredElement for e in node.elements
    ):
        return [e.value for e in node.elements]
    return None


def _modules(value: Value) -> Selection | None:
    if isinstance(value, ModelRef):
        return value.region
    if (
        isinstance(value, TupleValue)
        and value.items
        and all(isinstance(v, ModelRef) for v in value.items)
    ):
        return union(*(v.region for v in value.items))  # type: ignore[union-attr]
    return None


def _flag(node: cst.BaseExpression | None, default: bool) -> bool | None:
    return default if node is None else literal_bool(node)


def _norms(selection: Selection) -> Selection:
    return union(*(NameWhere(leaf, None, None, norms=True) for leaf in leaves(selection)))


def _without_norms(selection: Selection) -> Selection:
    return union(
        *(NameWhere(leaf, None, None, negated=True, norms=True) for leaf in leaves(selection))
    )


def _optimizers_of(value: Value) -> tuple[Value, ...] | None:
    """Every optimizer `configure_optimizers` returns, in order (None: not all known)."""
    if isinstance(value, OptimizerRef):
        return (value,)
    if isinstance(value, DictValue):
        found = value.get("optimizer")
        return (found,) if isinstance(found, OptimizerRef) else None
    if isinstance(value, TupleValue) and value.items:
        first = value.items[0]
        if isinstance(first, TupleValue):  # `return [optimizers], [schedulers]`
            value = first
        if all(isinstance(v, OptimizerRef) for v in value.items):
            return value.items
    return None


def _optimizer_of(value: Value) -> Value:
    """What `configure_optimizers` returns: an optimizer, a list or tuple, or a dict."""
    if isinstance(value, OptimizerRef):
        return value
    if isinstance(value, TupleValue):
        return next((v for v in value.items if isinstance(v, OptimizerRef)), None)
    if isinstance(value, DictValue):
        found = value.get("optimizer")
        return found if isinstance(found, OptimizerRef) else None
    return None
