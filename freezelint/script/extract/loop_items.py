"""Loop items: what the target of a `for` loop or comprehension over parameters or modules
stands for (`bind_loop_target`), comprehensions over them, and the narrowing of those items by
the conditions that guard statements (`refine`: `if "fc" in name`, `if p.requires_grad`,
`if i < k` over an enumerate index or a counter, over parameters or modules), undone once the
statements are walked (`restore`); `name in names` with `names` a set of parameter names taken
by position (`{n for n, _ in params[-10:]}`) is that positional selection.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.script.events import IteratorConsumed
from freezelint.script.extract.containers import ContainerEvaluator
from freezelint.script.extract.module_filters import module_filter
from freezelint.script.extract.scope import Scope, Walk, _visible_items
from freezelint.script.extract.syntax import int_literal, is_requires_grad_of, names_in
from freezelint.script.selection import NameWhere, PositionBound, Region, Trainable
from freezelint.script.values import (
    Const,
    ModelRef,
    ModuleItem,
    Modules,
    ParamItem,
    ParamNames,
    Params,
    Value,
)


class LoopItems(ContainerEvaluator):
    """Loop items and comprehensions; `objects.ObjectEvaluator` builds on it."""

    def consumed(self, binding: int) -> bool:
        """Has the bound iterator `binding` been used up by an earlier statement?"""
        return any(isinstance(e, IteratorConsumed) and e.binding == binding for e in self.events)

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, w: Walk) -> Value:
        comp = node.for_in
        source = self.iterable(self.eval(comp.iter, w))
        # The bound iterator the comprehension draws from, and whether it is already used up
        # (a list drawn from it then is as empty as it is).
        drawn = source.binding if isinstance(source, Params) and source.generator else None
        spent = drawn is not None and self.consumed(drawn)
        if type(node) in (cst.ListComp, cst.SetComp):
            self.consume(comp.iter, source, w, "comprehension")
        if comp.inner_for_in is not None or not isinstance(source, Params | Modules):
            return None
        inner = Scope(parent=w.scope)
        iw = w.changed(scope=inner)
        item_var = self.bind_loop_target(comp.target, source, inner)
        for cond in comp.ifs:
            self.refine(cond.test, inner, negate=False)
        if item_var is None:
            return None
        item = inner.env.get(item_var)
        elt = node.elt
        if type(elt) is cst.Name and elt.value == item_var and isinstance(item, ParamItem):
            if type(node) is cst.GeneratorExp:
                return Params(item.selection, generator=True, binding=drawn)
            return Params(item.selection, generator=False, binding=drawn if spent else None)
        if (
            type(elt) is cst.Name
            and isinstance(item, ParamItem)
            and item.name_var is not None
            and elt.value == item.name_var
        ):
            # `{name for name, _ in params[-10:]}`: those parameters' names.
            return ParamNames(item.selection, item.name_prefix)
        if type(elt) is cst.Name and elt.value == item_var and isinstance(item, ModuleItem):
            # `[m for m in model.modules() if isinstance(m, nn.Linear)]`: some of the region's
            # modules, which ones not known here (a later `[-1:]` re-enables one of them).
            return Modules(NameWhere(source.selection, None, None))
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
                type(target) is cst.Tuple
                and len(target.elements) == 2
                and type(target.elements[0].value) is cst.Name
            ):
                index = target.elements[0].value.value
                scope.env[index] = None
                inner = Params(
                    source.selection,
                    named=source.named,
                    name_prefix=source.name_prefix,
                    relative=source.relative,
                )
                item = self.bind_loop_target(target.elements[1].value, inner, scope)
                found = scope.env.get(item) if item else None
                if isinstance(found, ParamItem):
                    scope.env[item] = ParamItem(
                        found.selection,
                        found.name_var,  # type: ignore[index]
                        frozenset({index}) | found.index_vars,
                        counters=((index, source.start),) if source.start is not None else (),
                    )
                return item
        elif isinstance(source, Params):
            if source.named and type(target) is cst.Tuple and len(target.elements) == 2:
                name_node, item_node = (e.value for e in target.elements)
                if type(name_node) is cst.Name and type(item_node) is cst.Name:
                    scope.env[name_node.value] = None
                    if source.relative:
                        # Names relative to a module not known: a condition on them picks
                        # parameters the analysis cannot name.
                        scope.env[item_node.value] = ParamItem(
                            source.selection, None, frozenset({name_node.value})
                        )
                        return item_node.value
                    scope.env[item_node.value] = ParamItem(
                        source.selection, name_node.value, name_prefix=source.name_prefix
                    )
                    return item_node.value
            elif not source.named and type(target) is cst.Name:
                scope.env[target.value] = ParamItem(source.selection)
                return target.value
        elif isinstance(source, Modules) and source.enumerated:
            # `for i, m in enumerate(model.children())`: the module, with `i` its counter.
            if type(target) is cst.Tuple and len(target.elements) == 2:
                index = target.elements[0].value
                inner = replace(source, enumerated=False, start=0)
                item = self.bind_loop_target(target.elements[1].value, inner, scope)
                found = scope.env.get(item) if item else None
                if type(index) is cst.Name:
                    scope.env[index.value] = None
                    if isinstance(found, ModuleItem) and found.walk and source.start is not None:
                        scope.env[item] = replace(  # type: ignore[index]
                            found, counters=((index.value, source.start),)
                        )
                return item
        elif isinstance(source, Modules):
            node, name_var = target, None
            if source.named and type(target) is cst.Tuple and len(target.elements) == 2:
                node = target.elements[1].value
                first = target.elements[0].value
                name_var = first.value if type(first) is cst.Name else None
            if type(node) is cst.Name:
                walk = ""
                if isinstance(source.selection, Region) and not source.wrapped:
                    # `modules()` / `children()` of a region: conditions pick among them.
                    walk = "children" if source.children else "modules"
                if name_var is not None:
                    scope.env[name_var] = None
                scope.env[node.value] = ModuleItem(
                    source.selection,
                    walk,
                    name_var if walk else None,
                    self.new_id(),
                    container=source.container,
                )
                return node.value
        elif isinstance(source, ModelRef) and type(target) is cst.Name:
            # Iterating a Sequential / ModuleList yields its child modules.
            scope.env[target.value] = ModuleItem(source.region)
            return target.value
        for name in names_in(target):
            scope.env[name] = None
        return None

    def refine(
        self,
        test: cst.BaseExpression,
        scope: Scope,
        negate: bool,
        variant: frozenset[str] | None = frozenset(),
    ) -> dict[str, tuple[bool, Value]]:
        """Narrow, in `scope`, the loop items a condition talks about. Returns what to put back
        (`restore`) once the guarded statements are walked. A condition on something else that
        changes per iteration (`count < freeze_index`, `variant`) picks items the analysis
        cannot name."""
        used = names_in(test)
        saved: dict[str, tuple[bool, Value]] = {}
        items = _visible_items(scope)
        names = set(items)
        for var in items:
            item = scope.lookup(var)[1]
            if isinstance(item, ParamItem):
                names |= item.index_vars | ({item.name_var} if item.name_var else set())
                names |= {name for name, _ in item.derived}
            elif isinstance(item, ModuleItem):
                names |= {item.name_var} if item.name_var else set()
                names |= {name for name, _ in (*item.derived, *item.counters)}
        per_iteration = bool(used & (variant or frozenset()) - names)
        for var in items:
            item = scope.lookup(var)[1]
            narrowed: Value = None
            if per_iteration and isinstance(item, ParamItem | ModuleItem):
                narrowed = type(item)(NameWhere(item.selection, None, None))  # type: ignore[call-arg]
            elif isinstance(item, ParamItem):
                derived = {name for name, _ in item.derived}
                if (
                    var not in used
                    and (item.name_var is None or item.name_var not in used)
                    and not item.index_vars & used
                    and not derived & used
                ):
                    continue
                if item.index_vars & used:
                    # `for i, p in enumerate(model.parameters())` with `if i < k`.
                    span, bound = self._index_span(test, item, scope, negate)
                    narrowed = ParamItem(
                        NameWhere(item.selection, None, None, positions=span, bound=bound),
                        item.name_var,
                        item.index_vars,
                    )
                elif _tests_requires_grad(test, var, negate):
                    # (`if p.requires_grad:`, `if not p.requires_grad: continue`; what the body
                    # computes from the name stays known)
                    narrowed = replace(item, selection=Trainable(item.selection), counters=())
                elif item.name_var is not None and var not in used:
                    narrowed = ParamItem(
                        self.name_where(item, test, scope, negate),
                        item.name_var,
                        name_prefix=item.name_prefix,
                        derived=item.derived,
                    )
                else:
                    narrowed = replace(
                        item, selection=NameWhere(item.selection, None, None), counters=()
                    )
            elif isinstance(item, ModuleItem) and (
                var in used
                or item.name_var in used
                or {n for n, _ in (*item.derived, *item.counters)} & used
            ):
                narrowed = replace(
                    item,
                    selection=module_filter(
                        item,
                        var,
                        test,
                        negate,
                        self.imports.qualify,
                        lambda name: scope.lookup(name)[1],
                    ),
                )
            else:
                continue
            saved[var] = (var in scope.env, scope.env.get(var))
            scope.env[var] = narrowed
        return saved

    def _index_span(
        self, test: cst.BaseExpression, item: ParamItem, scope: Scope, negate: bool
    ) -> tuple[tuple[int | None, int | None] | None, PositionBound | None]:
        """`i < k`, `i >= k`, `k > i` (and negated) over a counter of the loop (`enumerate`'s
        index, `count += 1`), with `k` known: the positions it holds for, as a slice, and the
        literal that sets them when `k` is one; None for anything else."""
        if (
            not isinstance(item.selection, Region)
            or type(test) is not cst.Comparison
            or len(test.comparisons) != 1
        ):
            return None, None
        counters = dict(item.counters)
        left, right = test.left, test.comparisons[0].comparator
        op = type(test.comparisons[0].operator)
        flipped = {cst.LessThan: cst.GreaterThan, cst.GreaterThan: cst.LessThan}
        flipped |= {
            cst.LessThanEqual: cst.GreaterThanEqual,
            cst.GreaterThanEqual: cst.LessThanEqual,
        }
        if type(right) is cst.Name and right.value in counters:
            left, right, op = right, left, flipped.get(op, op)
        if not (type(left) is cst.Name and left.value in counters):
            return None, None
        bound = self.eval(right, Walk(scope))
        if not isinstance(bound, Const) or type(bound.value) is not int:
            return None, None
        # The counter is the parameter's index plus `offset`: `count < k` is `i < k - offset`.
        offset = counters[left.value]
        k = bound.value - offset
        if k < 0:
            return None, None
        below = {cst.LessThan: 0, cst.LessThanEqual: 1}
        above = {cst.GreaterThanEqual: 0, cst.GreaterThan: 1}
        literal = int_literal(right) is not None and int_literal(right) >= 0  # type: ignore[operator]
        if op in below:
            shift = below[op] - offset
            at = PositionBound(right, "start" if negate else "stop", shift) if literal else None
            return ((k + below[op], None) if negate else (None, k + below[op])), at
        if op in above:
            shift = above[op] - offset
            at = PositionBound(right, "stop" if negate else "start", shift) if literal else None
            return ((None, k + above[op]) if negate else (k + above[op], None)), at
        return None, None

    def name_where(
        self, item: ParamItem, test: cst.BaseExpression, scope: Scope, negate: bool
    ) -> NameWhere:
        """The parameters of a loop item whose name satisfies `test`, with the constants the
        test reads (for the predicate interpreter)."""
        members = _membership(item, test, scope)
        if members is not None:
            selection, inside = members
            return selection if inside != negate else _complement(selection)
        used = set(names_in(test))
        derived = tuple((n, e) for n, e in item.derived if n in used or _reads(item.derived, n))
        for _, expression in derived:
            used |= names_in(expression)
        env = []
        for name in sorted(used - {item.name_var} - {n for n, _ in derived}):
            value = scope.lookup(name)[1]
            if isinstance(value, Const):
                env.append((name, value.value))
        return NameWhere(
            item.selection,
            test,
            item.name_var,
            negate,
            item.name_prefix,
            tuple(env),
            derived=item.derived if derived else (),
        )

    @staticmethod
    def obscure(scope: Scope) -> dict[str, tuple[bool, Value]]:
        """Make the loop items stand for subsets the analysis cannot name; returns what to put
        back (`restore`)."""
        saved: dict[str, tuple[bool, Value]] = {}
        for var in _visible_items(scope):
            item = scope.lookup(var)[1]
            if isinstance(item, ParamItem | ModuleItem):
                saved[var] = (var in scope.env, scope.env.get(var))
                scope.env[var] = type(item)(NameWhere(item.selection, None, None))  # type: ignore[call-arg]
        return saved

    @staticmethod
    def restore(scope: Scope, saved: dict[str, tuple[bool, Value]]) -> None:
        for var, (present, value) in saved.items():
            if present:
                scope.env[var] = value
            else:
                scope.env.pop(var, None)


def _membership(
    item: ParamItem, test: cst.BaseExpression, scope: Scope
) -> tuple[NameWhere, bool] | None:
    """`name in names` (or `not in`), with `names` the names of some parameters by position
    of the loop's own region: those positions, and whether the test asks for membership."""
    if not (
        type(test) is cst.Comparison
        and len(test.comparisons) == 1
        and type(test.comparisons[0].operator) in (cst.In, cst.NotIn)
        and type(test.left) is cst.Name
        and test.left.value == item.name_var
        and type(test.comparisons[0].comparator) is cst.Name
        and not item.derived
    ):
        return None
    names = scope.lookup(test.comparisons[0].comparator.value)[1]
    if not isinstance(names, ParamNames):
        return None
    chosen = names.selection
    if (
        not isinstance(chosen, NameWhere)
        or chosen.positions is None
        or chosen.negated
        or chosen.base != item.selection
        or not isinstance(item.selection, Region)
        or names.name_prefix != item.name_prefix
    ):
        return None
    positions = NameWhere(
        item.selection, None, None, positions=chosen.positions, bound=chosen.bound
    )
    return positions, type(test.comparisons[0].operator) is cst.In


def _complement(selection: NameWhere) -> NameWhere:
    """The other positions: of a one-sided slice (`[-10:]`), the slice on the other side
    (`[:-10]`), with the literal setting its other end."""
    start, stop = selection.positions  # type: ignore[misc]
    bound = selection.bound
    if (start is None) == (stop is None):
        return replace(selection, negated=not selection.negated)
    flipped = None
    if bound is not None:
        flipped = replace(bound, end="stop" if bound.end == "start" else "start")
    return replace(selection, positions=(stop, start), bound=flipped)


def _tests_requires_grad(test: cst.BaseExpression, var: str, negate: bool) -> bool:
    """Does the condition (negated or not) hold exactly where `var.requires_grad` does?"""
    if type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
        test, negate = test.expression, not negate
    return not negate and is_requires_grad_of(test, var)


def _reads(derived: tuple[tuple[str, cst.BaseExpression], ...], name: str) -> bool:
    """Does a later derived name's expression read `name`?"""
    return any(name in names_in(e) for n, e in derived if n != name)
