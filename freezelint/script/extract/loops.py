"""Loops: a `for` over known items (`for phase in ["train", "val"]`) run item by item when its
body branches on the item; a `for` over parameters or modules walked once with its target bound
to the items (`loop_items`); any other `for` or `while` walked once as a loop, the names it
changes from one iteration to the next (`enter_loop`) no longer deciding conditions inside it.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import libcst as cst

from freezelint.script.events import Frame, RequiresGradSet
from freezelint.script.extract.assignments import AssignmentWalker
from freezelint.script.extract.branches import _decides_on, _derived_from_name, _unrollable
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import (
    assigned_names,
    child_nodes,
    int_literal,
    mentions_requires_grad,
    names_in,
)
from freezelint.script.node_kinds import is_a
from freezelint.script.selection import NameWhere
from freezelint.script.values import Const, ModelRef, ModuleItem, Modules, ParamItem, Params, Value


class LoopWalker(AssignmentWalker):
    """`for` and `while` statements; `conditionals.ConditionalWalker` builds on it."""

    def for_statement(self, node: cst.For, w: Walk) -> None:
        value = self.eval(node.iter, w)
        items = _unrollable(value)
        targets = _unroll_targets(node.target, items)
        if targets is not None and (
            any(_decides_on(node.body, name) for name in targets) or _appends_built(node.body)
        ):
            # `for phase in ["train", "val"]`, `for i, name in enumerate(MODELS)`, `for _ in
            # range(1, blocks): layers.append(block(...))`: each item in turn.
            for item in items:  # type: ignore[union-attr]
                parts = (item,) if len(targets) == 1 else item
                for name, part in zip(targets, parts, strict=True):
                    self._store(name, Const(part, value.source), w)  # type: ignore[union-attr]
                self.walk_block(node.body.body, w)
            self.loop_else(node, w)
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
                    bound,
                    index_vars=bound.index_vars | computed,
                    derived=derived,
                    counters=self._counters(node, bound.counters, w, computed),
                )
            elif isinstance(bound, ModuleItem) and bound.walk:
                # `classname = m.__class__.__name__`, `is_bn = isinstance(m, ...)`: part of the
                # conditions on the module.
                derived = _derived_from_name(node.body, item)
                if bound.name_var is not None:
                    derived += _derived_from_name(node.body, bound.name_var)
                w.scope.env[item] = replace(
                    bound, derived=derived, counters=self._counters(node, bound.counters, w)
                )
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
        self.loop_else(node, w)

    @staticmethod
    def _counters(
        node: cst.For,
        bound: tuple[tuple[str, int], ...],
        w: Walk,
        computed: frozenset[str] | None = None,
    ) -> tuple[tuple[str, int], ...]:
        """The loop's counters: the item's own (`enumerate`'s index, unless the body assigns
        it) and the names the body increments by one each iteration (`count += 1`)."""
        if computed is None:
            computed = frozenset(assigned_names(node.body))
        return tuple(c for c in bound if c[0] not in computed) + tuple(
            (name, offset)
            for name in sorted(computed)
            if (offset := _counter(node.body, name, w.scope.lookup(name)[1])) is not None
        )

    def while_statement(self, node: cst.While, w: Walk) -> None:
        self.eval(node.test, w)
        variant = self.enter_loop(node.body, w)
        self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id()), variant))
        self.loop_else(node, w)

    def loop_else(self, node: cst.For | cst.While, w: Walk) -> None:  # pragma: no cover
        raise NotImplementedError  # conditionals.ConditionalWalker

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
    if type(target) is cst.Name:
        return [target.value]
    if type(target) is cst.Tuple and all(type(e.value) is cst.Name for e in target.elements):
        names = [e.value.value for e in target.elements]  # type: ignore[attr-defined]
        if all(isinstance(i, tuple) and len(i) == len(names) for i in items):
            return names
    return None


def _counter(body: cst.BaseSuite, name: str, before: Value) -> int | None:
    """How far ahead of the parameter's index a counter the loop body increments is
    (`count = 0` before the loop, `count += 1` in it): its value before the loop, plus one when
    the increment is the body's first statement; as it is when the increment is the last (and
    no `continue` can skip it). None when `name` is no such counter."""
    if not isinstance(before, Const) or type(before.value) is not int:
        return None
    statements = list(body.body) if type(body) is cst.IndentedBlock else []
    steps = [i for i, stmt in enumerate(statements) if _increments(stmt, name)]
    if len(steps) != 1 or any(
        name in assigned_names(stmt) for i, stmt in enumerate(statements) if i != steps[0]
    ):
        return None
    if steps[0] == 0:
        return before.value + 1
    if steps[0] == len(statements) - 1 and not _has_continue(body):
        return before.value
    return None


def _increments(stmt: cst.CSTNode, name: str) -> bool:
    """`name += 1` (or `name = name + 1`) as a statement line of its own."""
    if type(stmt) is not cst.SimpleStatementLine or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if type(small) is cst.AugAssign:
        return (
            type(small.target) is cst.Name
            and small.target.value == name
            and type(small.operator) is cst.AddAssign
            and int_literal(small.value) == 1
        )
    if type(small) is cst.Assign and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
        return (
            type(target) is cst.Name
            and target.value == name
            and type(value) is cst.BinaryOperation
            and type(value.operator) is cst.Add
            and type(value.left) is cst.Name
            and value.left.value == name
            and int_literal(value.right) == 1
        )
    return False


def _has_continue(node: cst.CSTNode) -> bool:
    return own_statement(node, cst.Continue)


def own_statement(body: cst.CSTNode, kind: type[cst.Break] | type[cst.Continue]) -> bool:
    """Does a loop body hold a `break` (or `continue`) of its own, not one of a loop nested in
    it (whose `else` is still the outer loop's code) or of a function defined in it?"""
    stack: list[cst.CSTNode] = [body]
    while stack:
        cur = stack.pop()
        if is_a(cur, kind):
            return True
        if type(cur) in (cst.For, cst.While, cst.FunctionDef, cst.ClassDef, cst.Lambda):
            if type(cur) in (cst.For, cst.While) and cur.orelse is not None:
                stack.append(cur.orelse)
            continue
        stack.extend(child_nodes(cur))
    return False


@functools.lru_cache(maxsize=4096)
def _appends_built(body: cst.CSTNode) -> bool:
    """Does a loop body append a call's result to a list (`layers.append(block(...))`)? Each
    turn builds a module of its own: the list's length is the number of turns."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        cur = stack.pop()
        if (
            type(cur) is cst.Call
            and type(cur.func) is cst.Attribute
            and cur.func.attr.value == "append"
            and len(cur.args) == 1
            and type(cur.args[0].value) is cst.Call
        ):
            return True
        stack.extend(child_nodes(cur))
    return False
