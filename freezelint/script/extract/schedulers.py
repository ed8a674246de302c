"""Learning-rate schedulers: `torch.optim.lr_scheduler.X(optimizer, ...)` builds a scheduler on
a tracked optimizer (`SchedulerBuilt`), and `scheduler.step()` steps it (`SchedulerStepped`).
What a scheduler does when its optimizer later gains a param group is FRZ017's to judge."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from freezelint.script.events import SchedulerBuilt, SchedulerStepped
from freezelint.script.extract.methods import MethodCalls
from freezelint.script.extract.scope import Walk
from freezelint.script.values import Const, OptimizerRef, Value


@dataclass(frozen=True)
class SchedulerRef:
    """A scheduler built on a tracked optimizer."""

    scheduler: int


class SchedulerCalls(MethodCalls):
    def build_scheduler(self, name: str, node: cst.Call, w: Walk) -> Value:
        values = self._eval_args(node, w)
        optimizer = None
        for arg, value in zip(node.args, values, strict=True):
            if (arg.keyword is None or arg.keyword.value == "optimizer") and arg.star == "":
                optimizer = value
                break
        if not isinstance(optimizer, OptimizerRef):
            return None
        kwargs = tuple(
            (arg.keyword.value, value.value)
            for arg, value in zip(node.args, values, strict=True)
            if arg.keyword is not None and isinstance(value, Const) and value.decided
        )
        ident = self.new_id()
        self.emit(
            SchedulerBuilt,
            w,
            node,
            scheduler=ident,
            optimizer=optimizer.optimizer,
            cls=name,
            var=None,
            kwargs=kwargs,
        )
        return SchedulerRef(ident)

    def scheduler_method(self, recv: SchedulerRef, method: str, node: cst.Call, w: Walk) -> Value:
        self._eval_args(node, w)
        if method == "step":
            self.emit(SchedulerStepped, w, node, scheduler=recv.scheduler)
        return None
