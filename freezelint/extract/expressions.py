"""Evaluating expressions to abstract values: models and submodule paths, parameter iterables,
param groups, comprehensions, and the narrowing of loop items by conditions. Calls are evaluated
by `calls.CallEvaluator`, statements by `statements.Extractor`, both built on this class.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import libcst as cst

from freezelint import recognize
from freezelint.events import (
    Event,
    IteratorConsumed,
    ModelBuilt,
    ModelSpec,
    ParamGroup,
)
from freezelint.extract.constants import (
    ConstMap,
    NotConstant,
    binary,
    compare,
    subscript,
    truth,
)
from freezelint.extract.scope import ModuleContext, Scope, Walk, _visible_items
from freezelint.extract.syntax import (
    EMPTY,
    child_nodes,
    int_literal,
    is_requires_grad_of,
    is_zero,
    literal_string,
    literal_value,
    names_in,
    ref_kind,
)
from freezelint.imports import ImportTable, dotted
from freezelint.selection import (
    DYNAMIC,
    NameWhere,
    Opaque,
    Region,
    Selection,
    Trainable,
    part_slice,
    union,
)
from freezelint.values import (
    Const,
    Constructor,
    DictValue,
    Groups,
    Instance,
    ModelRef,
    ModuleItem,
    Modules,
    Namespace,
    OptimizerRef,
    ParamItem,
    Params,
    ProjectModule,
    TupleValue,
    Value,
)


class ExpressionEvaluator:
    """Evaluates expressions; `statements.Extractor` adds statements on top."""

    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        self.module = module
        # The module being read (the checked file, or a project file its code calls into).
        self.here = ModuleContext(imports, Scope())
        self.events: list[Event] = []
        self.models: dict[int, ModelSpec] = {}
        self.model_vars: dict[int, str] = {}
        self.inlined: set[str] = set()
        self._ids = itertools.count(1)
        self._inline_stack: list[str] = []
        self.lr_scheduled = False  # see Timeline.lr_scheduled
        self.aliases: dict[str, tuple[str, str]] = {}  # factory -> (library, architecture)
        self.parsers: dict[int, dict[str, Const]] = {}  # argparse parser -> its options

    @property
    def imports(self) -> ImportTable:
        return self.here.imports

    @property
    def module_scope(self) -> Scope:
        return self.here.scope

    @property
    def functions(self) -> dict[str, cst.FunctionDef]:
        return self.here.functions

    @property
    def classes(self) -> dict[str, cst.ClassDef]:
        return self.here.classes

    # -- bookkeeping -------------------------------------------------------------------------

    def new_id(self) -> int:
        return next(self._ids)

    def emit(self, event_type: type[Event], w: Walk, node: cst.CSTNode, **kw: Any) -> Event:
        event = event_type(
            node=node,
            ctx=w.ctx,
            seq=len(self.events),
            site=w.site,
            statement=w.statement,
            block=w.block,
            scope=id(w.origin) if w.origin is not None else 0,
            via=w.calls,
            **kw,
        )
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
        owner, _, attr = name.rpartition(".")
        if not owner or not self.set_attribute(
            self.eval(cst.parse_expression(owner), w), attr, ref
        ):
            w.scope.env[name] = ref  # (an object's attribute is kept on the object)
        return ref

    # -- expressions -------------------------------------------------------------------------

    def eval(self, node: cst.BaseExpression | None, w: Walk) -> Value:
        if node is None:
            return None
        kind = type(node)  # libcst's node classes are final: `is` beats an ABC isinstance
        if kind is cst.Name:
            if node.value in ("True", "False", "None"):
                return Const({"True": True, "False": False, "None": None}[node.value])
            found, value = w.scope.lookup(node.value)
            if not found and node.value == "__name__":
                return Const(self.here.name)  # the checked file is run; others are imported
            if not found and node.value in self.imports.sources:
                self.imported_name(node.value, w)  # a project module's value, imported
                return self.module_scope.env.get(node.value)
            return value
        if kind in (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString):
            try:
                return Const(literal_value(node))
            except (ValueError, SyntaxError):  # pragma: no cover - odd literals
                return None
        if kind is cst.UnaryOperation and isinstance(node.operator, cst.Minus):
            inner = self.eval(node.expression, w)
            if isinstance(inner, Const) and isinstance(inner.value, int | float):
                return Const(-inner.value)
            return None
        if kind is cst.FormattedString:
            return self._fstring(node, w)
        if kind is cst.Attribute:
            key = dotted(node)
            if key is not None:
                found, value = w.scope.lookup(key)
                if found:
                    return value
            recv = self.eval(node.value, w)
            if isinstance(recv, Namespace):
                return recv.get(node.attr.value)
            if isinstance(recv, ProjectModule):
                member = self.module_member(recv, node.attr.value)
                return None if isinstance(member, cst.CSTNode) else member
            if isinstance(recv, Instance | ModelRef):
                found, value = self.attribute_of(recv, node.attr.value)
                if found or isinstance(recv, Instance):
                    return value
            if recv is None:
                owner = dotted(node.value)
                if owner in self.classes:
                    # `Config.model_name`: a constant a class of the project sets in its body.
                    return self.class_attribute(self.classes[owner], node.attr.value, w)
                return self.constructor(node)
            if isinstance(recv, ModelRef):
                attr = node.attr.value
                if recv.wrappers and attr == recognize.WRAPPER_ATTRIBUTE[recv.wrappers[-1]]:
                    return ModelRef(recv.model, recv.path, recv.wrappers[:-1])
                if attr in ("weight", "bias", "training", "requires_grad") or attr.isupper():
                    return recv.child(attr) if attr in ("weight", "bias") else None
                return recv.child(attr)
            return None
        if kind is cst.Subscript:
            return self._subscript(node, w)
        if kind is cst.Call:
            return self.eval_call(node, w)
        if kind in (cst.ListComp, cst.GeneratorExp, cst.SetComp):
            return self._comprehension(node, w)
        if kind in (cst.List, cst.Tuple):
            return self._sequence(node, w)
        if kind is cst.Dict:
            entries = [
                (literal_string(e.key), e.value)
                if isinstance(e, cst.DictElement)
                else (None, e.value)
                for e in node.elements
            ]
            return self._group_dict(entries, w, node)
        if kind is cst.BinaryOperation:
            left, right = self.eval(node.left, w), self.eval(node.right, w)
            if isinstance(left, Const) and isinstance(right, Const):
                return _const(lambda: binary(node.operator, left.value, right.value), left, right)
            if isinstance(node.operator, cst.Add):
                return self._concat(left, right)
            return None
        if kind is cst.Comparison:
            return self._comparison(node, w)
        if kind is cst.BooleanOperation:
            return self._boolean(node, w)
        if kind is cst.UnaryOperation and isinstance(node.operator, cst.Not):
            inner = self.eval(node.expression, w)
            if isinstance(inner, Const):
                return _const(lambda: not truth(inner.value), inner)
            return None
        if kind is cst.IfExp:
            test = self.eval(node.test, w)
            if isinstance(test, Const) and test.decided:
                try:
                    taken = truth(test.value)
                except NotConstant:
                    taken = None
                if taken is not None:
                    return self.eval(node.body if taken else node.orelse, w)
            self.eval(node.body, w)
            self.eval(node.orelse, w)
            return None
        if kind is cst.Lambda:
            return None
        # Evaluate children for their effects (a nested optimizer, a consumed iterator).
        for child in child_nodes(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child, w)
            elif isinstance(child, cst.Arg):
                self.eval(child.value, w)
        return None

    def _comparison(self, node: cst.Comparison, w: Walk) -> Value:
        left = self.eval(node.left, w)
        operands = [left]
        for target in node.comparisons:
            operands.append(self.eval(target.comparator, w))
        result: Const | None = Const(True)
        for target, a, b in zip(node.comparisons, operands, operands[1:], strict=False):
            op = target.operator
            # A model, parameters or an optimizer the walker tracks is never None.
            tracked = a is not None and not isinstance(a, Const)
            if isinstance(op, cst.Is | cst.IsNot) and _is_none(b) and tracked:
                result = _and(result, Const(isinstance(op, cst.IsNot)))
                continue
            if not isinstance(a, Const) or not isinstance(b, Const):
                result = None
                continue
            result = _and(
                result, _const(lambda a=a, b=b, op=op: compare(op, a.value, b.value), a, b)
            )
        return result

    def _boolean(self, node: cst.BooleanOperation, w: Walk) -> Value:
        left = self.eval(node.left, w)
        is_and = isinstance(node.operator, cst.And)
        if isinstance(left, Const) and left.decided:
            try:
                if truth(left.value) != is_and:
                    return left  # short-circuit: the right side never runs
            except NotConstant:
                pass
            else:
                return self.eval(node.right, w)
        right = self.eval(node.right, w)
        if isinstance(right, Const) and right.decided:
            try:
                if truth(right.value) != is_and:
                    return Const(not is_and)  # `x and False`, `x or True`
            except NotConstant:
                pass
        if isinstance(left, Const) and isinstance(right, Const):
            return _const(
                lambda: right.value if truth(left.value) == is_and else left.value, left, right
            )
        return None

    def constructor(self, node: cst.BaseExpression) -> Value:
        """A model constructor named, not called (`models.resnet50`), or None."""
        qual = self.imports.qualify(node)
        return self.constructor_named(qual) if qual else None

    @staticmethod
    def constructor_named(qual: str) -> Value:
        if qual.count(".") < 1 or qual.rsplit(".", 1)[-1] == "models":
            return None
        return Constructor(qual) if recognize.model_library(qual) is not None else None

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
        if isinstance(index, cst.Index) and (
            isinstance(recv, Const | DictValue)
            or (recv is None and isinstance(node.value, cst.Attribute))
        ):
            key = self.eval(index.value, w)
            if not isinstance(key, Const):
                return None
            if isinstance(recv, DictValue):
                return recv.get(key.value)
            if isinstance(recv, Const):
                return _const(lambda: subscript(recv.value, key.value), recv, key)
            # `models.__dict__[arch]`: the constructor of that name.
            assert isinstance(node.value, cst.Attribute)
            if node.value.attr.value == "__dict__" and isinstance(key.value, str):
                owner = self.imports.qualify(node.value.value)
                return self.constructor_named(f"{owner}.{key.value}") if owner else None
            return None
        part = DYNAMIC
        if isinstance(index, cst.Index):
            literal = int_literal(index.value)
            if literal is not None:
                part = str(literal)
            else:
                key = literal_string(index.value)
                if key is not None and isinstance(recv, ModelRef):
                    return recv.child(key)  # ModuleDict["name"]
                self.eval(index.value, w)
        elif isinstance(index, cst.Slice):
            lower = self._int_of(index.lower, w) if index.lower else None
            upper = self._int_of(index.upper, w) if index.upper else None
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
            if recv.children and isinstance(recv.selection, Region) and part != DYNAMIC:
                # `list(model.children())[:-1]`: those children, as a path the table resolves.
                region = recv.selection
                return Modules(Region(region.model, (*region.path, part)), recv.named)
            return Modules(NameWhere(recv.selection, None, None), recv.named)
        if isinstance(recv, Params):
            span = _span(part)
            if span is not None and isinstance(recv.selection, Region):
                # `list(model.parameters())[:-2]`: positions the table resolves.
                return Params(NameWhere(recv.selection, None, None, positions=span), False)
            return Params(NameWhere(recv.selection, None, None), generator=False)
        return None

    def _int_of(self, node: cst.BaseExpression, w: Walk) -> int | None:
        """An integer known statically: a literal, or a constant (`-n` with `n = 2`)."""
        literal = int_literal(node)
        if literal is not None:
            return literal
        value = self.eval(node, w)
        if isinstance(value, Const) and type(value.value) is int:
            return value.value
        return None

    def _fstring(self, node: cst.FormattedString, w: Walk) -> Value:
        """`f"efficientnet-b{N}"` with `N` a constant: a constant string."""
        out = ""
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out += part.value
                continue
            value = self.eval(part.expression, w)
            if not isinstance(value, Const) or part.format_spec or part.conversion:
                return None
            out += str(value.value)
        return Const(out)

    def _sequence(self, node: cst.List | cst.Tuple, w: Walk) -> Value:
        items = [self.eval(e.value, w) for e in node.elements]
        if items and all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))  # type: ignore[union-attr]
        if isinstance(node, cst.Tuple):
            return TupleValue(tuple(items))
        if not items:
            return Params(EMPTY, generator=False)
        if all(isinstance(i, Groups) and i.single for i in items):
            return Groups(tuple(g for i in items for g in i.groups))  # type: ignore[union-attr]
        if all(isinstance(i, ModelRef) for i in items):
            return self.refs_iterable(items)  # type: ignore[arg-type]
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

    @staticmethod
    def refs_iterable(refs: list[ModelRef]) -> Value:
        """A list or tuple of the script's submodules (or parameters) to loop over: modules when
        their names say so (`[model.conv1, model.layer1]`), parameters likewise
        (`[model.cls_token, model.pos_embed]`), else a part the analysis cannot name."""
        kinds = {ref_kind(r.path) for r in refs}
        selection = union(*(r.region for r in refs))
        if kinds == {"module"}:
            return Modules(selection)
        if kinds == {"param"}:
            return Params(selection, generator=False)
        return Params(NameWhere(selection, None, None), generator=False)

    def iterable(self, value: Value) -> Value:
        """What a `for` loop (or comprehension) iterates: a tuple of submodules as a list."""
        if (
            isinstance(value, TupleValue)
            and value.items
            and all(isinstance(i, ModelRef) for i in value.items)
        ):
            return self.refs_iterable(list(value.items))  # type: ignore[arg-type]
        return value

    def _group_dict(
        self,
        entries: list[tuple[str | None, cst.BaseExpression]],
        w: Walk,
        node: cst.CSTNode | None = None,
    ) -> Value:
        params: Selection | None = None
        options: list[tuple[str, cst.BaseExpression]] = []
        iterator = None
        if all(key is not None for key, _ in entries) and not any(
            k == "params" for k, _ in entries
        ):
            return self._config(entries, w)
        for key, value in entries:
            if key is None:
                return None
            if key == "params":
                found = self.eval(value, w)
                params = self.selection_of(found)
                if isinstance(found, Params):
                    iterator = found.binding
            else:
                self.eval(value, w)
                options.append((key, value))
        if params is None:
            return None
        lr_zero = any(k == "lr" and is_zero(v) for k, v in options)
        group = ParamGroup(params, node or entries[0][1], tuple(options), lr_zero, iterator)
        return Groups((group,), single=True)

    def _config(self, entries: list[tuple[str | None, cst.BaseExpression]], w: Walk) -> Value:
        """A dict used as a config (`{"arch": "resnet50", "freeze": True}`) or a table of
        constructors (`{"resnet": models.resnet18}`)."""
        items = [(key, self.eval(value, w)) for key, value in entries]
        if all(isinstance(v, Const) and v.decided for _, v in items):
            return Const(ConstMap((k, v.value) for k, v in items))  # type: ignore[union-attr]
        if all(isinstance(v, Const | Constructor | OptimizerRef) for _, v in items):
            return DictValue(tuple(items))  # (`{"optimizer": opt, ...}` from a Lightning hook too)
        return None  # holds lists the script may fill in: not followed

    def consumed(self, binding: int) -> bool:
        """Has the bound iterator `binding` been used up by an earlier statement?"""
        return any(isinstance(e, IteratorConsumed) and e.binding == binding for e in self.events)

    def selection_of(self, value: Value) -> Selection:
        if isinstance(value, Params | ParamItem):
            return value.selection
        if isinstance(value, ModelRef):
            return value.region
        return Opaque("not followed")

    # -- comprehensions ----------------------------------------------------------------------

    def _comprehension(self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, w: Walk) -> Value:
        comp = node.for_in
        source = self.iterable(self.eval(comp.iter, w))
        # The bound iterator the comprehension draws from, and whether it is already used up
        # (a list drawn from it then is as empty as it is).
        drawn = source.binding if isinstance(source, Params) and source.generator else None
        spent = drawn is not None and self.consumed(drawn)
        if isinstance(node, cst.ListComp | cst.SetComp):
            self.consume(comp.iter, source, w, "comprehension")
        if comp.inner_for_in is not None or not isinstance(source, Params | Modules):
            return None
        inner = Scope(parent=w.scope)
        iw = replace(w, scope=inner)
        item_var = self.bind_loop_target(comp.target, source, inner)
        for cond in comp.ifs:
            self.refine(cond.test, inner, negate=False)
        if item_var is None:
            return None
        item = inner.env.get(item_var)
        elt = node.elt
        if isinstance(elt, cst.Name) and elt.value == item_var and isinstance(item, ParamItem):
            if isinstance(node, cst.GeneratorExp):
                return Params(item.selection, generator=True, binding=drawn)
            return Params(item.selection, generator=False, binding=drawn if spent else None)
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
                inner = Params(source.selection, named=source.named, name_prefix=source.name_prefix)
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
                    scope.env[item_node.value] = ParamItem(
                        source.selection, name_node.value, name_prefix=source.name_prefix
                    )
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
                    span = self._index_span(test, item, scope, negate)
                    narrowed = ParamItem(
                        NameWhere(item.selection, None, None, positions=span),
                        item.name_var,
                        item.index_vars,
                    )
                elif not negate and is_requires_grad_of(test, var):
                    narrowed = ParamItem(Trainable(item.selection), item.name_var)
                elif item.name_var is not None and var not in used:
                    narrowed = ParamItem(
                        self.name_where(item, test, scope, negate),
                        item.name_var,
                        name_prefix=item.name_prefix,
                        derived=item.derived,
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

    def _index_span(
        self, test: cst.BaseExpression, item: ParamItem, scope: Scope, negate: bool
    ) -> tuple[int | None, int | None] | None:
        """`i < k`, `i >= k`, `k > i` (and negated) over an enumerate index, with `k` known:
        the positions it holds for, as a slice; None for anything else."""
        if (
            not isinstance(item.selection, Region)
            or not isinstance(test, cst.Comparison)
            or len(test.comparisons) != 1
        ):
            return None
        left, right = test.left, test.comparisons[0].comparator
        op = type(test.comparisons[0].operator)
        flipped = {cst.LessThan: cst.GreaterThan, cst.GreaterThan: cst.LessThan}
        flipped |= {
            cst.LessThanEqual: cst.GreaterThanEqual,
            cst.GreaterThanEqual: cst.LessThanEqual,
        }
        if isinstance(right, cst.Name) and right.value in item.index_vars:
            left, right, op = right, left, flipped.get(op, op)
        if not (isinstance(left, cst.Name) and left.value in item.index_vars):
            return None
        bound = self.eval(right, Walk(scope))
        if not isinstance(bound, Const) or type(bound.value) is not int or bound.value < 0:
            return None
        k = bound.value
        below = {cst.LessThan: k, cst.LessThanEqual: k + 1}
        above = {cst.GreaterThanEqual: k, cst.GreaterThan: k + 1}
        if op in below:
            return (below[op], None) if negate else (None, below[op])
        if op in above:
            return (None, above[op]) if negate else (above[op], None)
        return None

    def name_where(
        self, item: ParamItem, test: cst.BaseExpression, scope: Scope, negate: bool
    ) -> NameWhere:
        """The parameters of a loop item whose name satisfies `test`, with the constants the
        test reads (for the predicate interpreter)."""
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
    def restore(scope: Scope, saved: dict[str, tuple[bool, Value]]) -> None:
        for var, (present, value) in saved.items():
            if present:
                scope.env[var] = value
            else:
                scope.env.pop(var, None)

    # -- calls -------------------------------------------------------------------------------

    # Provided by the subclasses (calls.CallEvaluator, statements.Extractor).
    def eval_call(self, node: cst.Call, w: Walk) -> Value:  # pragma: no cover - overridden
        raise NotImplementedError

    def attribute_of(self, obj: Value, attr: str) -> tuple[bool, Value]:  # pragma: no cover
        raise NotImplementedError  # objects.ObjectEvaluator

    def set_attribute(self, obj: Value, attr: str, value: Value) -> bool:  # pragma: no cover
        raise NotImplementedError  # objects.ObjectEvaluator

    def module_member(self, value: ProjectModule, attr: str) -> Any:  # pragma: no cover
        raise NotImplementedError  # follow_imports.ImportFollower

    def imported_name(self, name: str, w: Walk) -> None:  # pragma: no cover
        raise NotImplementedError  # follow_imports.ImportFollower

    def class_attribute(self, cls: cst.ClassDef, attr: str, w: Walk) -> Value:  # pragma: no cover
        raise NotImplementedError  # objects.ObjectEvaluator

    def consume(self, node: cst.BaseExpression, value: Value, w: Walk, how: str) -> None:
        raise NotImplementedError  # pragma: no cover - overridden

    def walk_block(self, body: Any, w: Walk) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def assign_attribute(
        self,
        owner: ModelRef,
        attr: str,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _const(compute, *operands: Const) -> Const | None:
    """The constant an operation gives, carrying a command-line flag of its operands (None
    when the operation is not one `constants` evaluates)."""
    try:
        value = compute()
    except NotConstant:
        return None
    source = next((o.source for o in operands if o.source is not None), None)
    return Const(value, source)


def _and(result: Const | None, part: Const | None) -> Const | None:
    """Chained comparisons (`0 < i < 3`): all parts must hold."""
    if result is None or part is None:
        return None
    return _const(lambda: truth(result.value) and truth(part.value), result, part)


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None and value.decided


def _span(part: str) -> tuple[int | None, int | None] | None:
    """A path component's positions as a slice: `"2"` -> (2, 3), `":-1"` -> (None, -1)."""
    if part == DYNAMIC:
        return None
    span = part_slice(part)
    if span is not None:
        return (span.start, span.stop)
    index = int(part)
    return (index, index + 1 if index != -1 else None)


def _reads(derived: tuple[tuple[str, cst.BaseExpression], ...], name: str) -> bool:
    """Does a later derived name's expression read `name`?"""
    return any(name in names_in(e) for n, e in derived if n != name)
