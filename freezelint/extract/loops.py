"""Loops: a `for` over known items (`for phase in ["train", "val"]`) run item by item when its
body branches on the item; a `for` over parameters or modules walked once with its target bound
to the items (`loop_items`); any other `for` or `while` walked once as a loop, the names it
changes from one iteration to the next (`enter_loop`) no longer deciding conditions inside it.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.events import Frame, RequiresGradSet
from freezelint.extract.assignments import AssignmentWalker
from freezelint.extract.branches import _decides_on, _derived_from_name, _unrollable
from freezelint.extract.scope import Walk
from freezelint.extract.syntax import assigned_names, mentions_requires_grad, names_in
from freezelint.selection import NameWhere
from freezelint.values import Const, ModelRef, ModuleItem, Modules, ParamItem, Params


class LoopWalker(AssignmentWalker):
    """`for` and `while` statements; `conditionals.ConditionalWalker` builds on it."""

    def for_statement(self, node: cst.For, w: Walk) -> None:
        value = self.eval(node.iter, w)
        items = _unrollable(value)
        targets = _unroll_targets(node.target, items)
        if targets is not None and any(_decides_on(node.body, name) for name in targets):
            # `for phase in ["train", "val"]`, `for i, name in enumerate(MODELS)`: each item
            # in turn.
            for item in items:  # type: ignore[union-attr]
                parts = (item,) if len(targets) == 1 else item
                for name, part in zip(targets, parts, strict=True):
                    self._store(name, Const(part, value.source), w)  # type: ignore[union-attr]
                self.walk_block(node.body.body, w)
            if node.orelse is not None:
                self.walk_block(node.orelse.body.body, w)
            return
        source = self.iterable(value)
        self.consume(node.iter, source, w, "for loop")
        over_items = isinstance(source, Params | Modules) or (
            isinstance(source, ModelRef) and source.path
        )
        item = self.bind_loop_target(node.target, source if over_items else None, w.scope)
        if over_items and item is not None:
            bound = w.scope.env.get(item)
            if isinstance(bound, ParamItem):
                # Names the body computes per parameter: from the name alone, once, they are
                # part of the name predicate (`is_head = 'fc' in name; if is_head:`); any other
                # (assigned twice, in a nested block) picks parameters the analysis cannot name.
                derived = _derived_from_name(node.body, bound.name_var)
                computed = assigned_names(node.body) - {name for name, _ in derived}
                w.scope.env[item] = replace(
                    bound, index_vars=bound.index_vars | computed, derived=derived
                )
            elif isinstance(bound, ModuleItem) and bound.walk:
                # `classname = m.__class__.__name__`, `is_bn = isinstance(m, ...)`: part of the
                # conditions on the module.
                derived = _derived_from_name(node.body, item)
                if bound.name_var is not None:
                    derived += _derived_from_name(node.body, bound.name_var)
                w.scope.env[item] = replace(bound, derived=derived)
            self.walk_block(node.body.body, w.pin(self.enter_loop(node.body, w, node.target)))
        else:
            if over_items and mentions_requires_grad(node.body):
                # A loop over parameters the walker cannot follow: what it sets is unknown.
                sel = source.region if isinstance(source, ModelRef) else source.selection  # type: ignore[union-attr]
                self.emit(
                    RequiresGradSet,
                    w,
                    node,
                    selection=NameWhere(sel, None, None),
                    value=None,
                    how="assign",
                )
            variant = self.enter_loop(node.body, w, node.target)
            self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id()), variant))
        if node.orelse is not None:
            self.walk_block(node.orelse.body.body, w)

    def while_statement(self, node: cst.While, w: Walk) -> None:
        self.eval(node.test, w)
        variant = self.enter_loop(node.body, w)
        self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id()), variant))
        if node.orelse is not None:
            self.walk_block(node.orelse.body.body, w)

    def enter_loop(
        self, body: cst.CSTNode, w: Walk, target: cst.CSTNode | None = None
    ) -> frozenset[str]:
        """Names a loop changes from one iteration to the next: a constant they held before
        the loop no longer decides a condition inside it."""
        variant = assigned_names(body) | (names_in(target) if target is not None else frozenset())
        for name in variant:
            found, value = w.scope.lookup(name)
            if found and isinstance(value, Const):
                self._store(name, None, w)
        return frozenset(variant)


def _unroll_targets(target: cst.BaseExpression, items: tuple | None) -> list[str] | None:
    """The names a loop over known items binds (`x`, or `i, x` over pairs), or None."""
    if items is None:
        return None
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple) and all(
        isinstance(e.value, cst.Name) for e in target.elements
    ):
        names = [e.value.value for e in target.elements]  # type: ignore[attr-defined]
        if all(isinstance(i, tuple) and len(i) == len(names) for i in items):
            return names
    return None
