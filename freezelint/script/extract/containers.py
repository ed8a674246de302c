"""Containers and subscripts: lists and tuples (of parameters, of submodules, of param groups),
dicts (a param group, a config of constants, a table of constructors), `+` on parameter or group
lists, what a `for` loop iterates, the parameters a value stands for (`selection_of`), and
subscripts (`model.layer[0]`, `list(model.parameters())[:-2]`, `cfg["arch"]`,
`models.__dict__[arch]`). Built on `expressions.ExpressionEvaluator`.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.events import ParamGroup
from freezelint.script.extract.constants import ConstMap, subscript
from freezelint.script.extract.expressions import ExpressionEvaluator, _const
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import (
    EMPTY,
    child_nodes,
    int_literal,
    is_zero,
    literal_string,
    ref_kind,
)
from freezelint.script.selection import (
    DYNAMIC,
    NameWhere,
    Opaque,
    PositionBound,
    Region,
    Selection,
    part_slice,
    union,
)
from freezelint.script.values import (
    Const,
    Constructor,
    Definition,
    DictValue,
    Groups,
    ModelRef,
    Modules,
    OptimizerRef,
    ParamItem,
    Params,
    Size,
    TupleValue,
    Value,
)

# What a dict other than a config of constants may hold to be followed (`DictValue`).
ENTRIES = (Const, Constructor, OptimizerRef, Definition, DictValue, ModelRef)


class ContainerEvaluator(ExpressionEvaluator):
    """Containers and subscripts; `loop_items.LoopItems` builds on it."""

    def _concat(self, left: Value, right: Value) -> Value:
        if isinstance(left, Params) and isinstance(right, Params):
            return Params(union(left.selection, right.selection), generator=False)
        if isinstance(left, Groups) and isinstance(right, Groups):
            return Groups(left.groups + right.groups)
        return None

    def _sequence(self, node: cst.List | cst.Tuple, w: Walk) -> Value:
        items = [self.eval(e.value, w) for e in node.elements]
        if items and all(isinstance(i, Const) for i in items):
            return Const(tuple(i.value for i in items))  # type: ignore[union-attr]
        if type(node) is cst.Tuple:
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
            elif type(item) is cst.StarredElement:
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
        items = [(key, self._entry(value, w)) for key, value in entries]
        if all(isinstance(v, Const) and v.decided for _, v in items):
            return Const(ConstMap((k, v.value) for k, v in items))  # type: ignore[union-attr]
        if items and all(isinstance(v, Params) and not v.generator for _, v in items):
            # `{"head": [], "body": []}`: lists of parameters, filled by key (`groups["head"]
            # .append(p)`).
            return DictValue(tuple(items))
        if all(isinstance(v, ENTRIES) for _, v in items):
            # (`{"optimizer": opt, ...}` from a Lightning hook too; a registry of the project's
            # classes `{"base": BaseModel}`; a table of per-architecture configs)
            return DictValue(tuple(items))
        return None  # holds lists the script may fill in: not followed

    def tracked_lists(self, name: str, value: Value) -> Value:
        """A dict of parameter lists bound to `name` (`groups = {"head": [], ...}`), kept only
        where the code around uses it just by literal keys, to fill a list or read it (never
        handed on, aliased or iterated: a list it grows elsewhere would go unseen)."""
        if not isinstance(value, DictValue) or not all(
            isinstance(v, Params) and not v.generator for _, v in value.items
        ):
            return value
        body = self.bodies[-1] if self.bodies else (self.module if self.here.main else None)
        return value if body is not None and _keyed_only(body, name) else None

    def _entry(self, node: cst.BaseExpression, w: Walk) -> Value:
        """A dict entry's value: a class or function of the project named (a registry) too."""
        value = self.eval(node, w)
        if value is None and type(node) in (cst.Name, cst.Attribute):
            return self.project_definition(node, w)
        return value

    def project_definition(self, node: cst.BaseExpression, w: Walk) -> Definition | None:
        raise NotImplementedError  # pragma: no cover - follow_imports.ImportFollower

    def definition_of(self, found: object) -> Definition | None:
        raise NotImplementedError  # pragma: no cover - follow_imports.ImportFollower

    def registry_entry(
        self, recv: DictValue, key: Const, index: cst.BaseExpression, node: cst.CSTNode, w: Walk
    ) -> Value:
        raise NotImplementedError  # pragma: no cover - registry_choices.RegistryChoices

    def selection_of(self, value: Value) -> Selection:
        if isinstance(value, Params | ParamItem):
            return value.selection
        if isinstance(value, ModelRef):
            return value.region
        return Opaque("not followed")

    def _subscript(self, node: cst.Subscript, w: Walk) -> Value:
        recv = self.eval(node.value, w)
        if len(node.slice) != 1:
            return None
        index = node.slice[0].slice
        if type(index) is cst.Index and (
            isinstance(recv, Const | DictValue)
            or (recv is None and type(node.value) is cst.Attribute)
        ):
            key = self.eval(index.value, w)
            if not isinstance(key, Const):
                return None
            if isinstance(recv, DictValue):
                return self.registry_entry(recv, key, index.value, node, w)
            if isinstance(recv, Const):
                return _const(lambda: subscript(recv.value, key.value), recv, key)
            # `models.__dict__[arch]`: the constructor of that name.
            assert type(node.value) is cst.Attribute
            if node.value.attr.value == "__dict__" and isinstance(key.value, str):
                owner = self.imports.qualify(node.value.value)
                return self.constructor_named(f"{owner}.{key.value}") if owner else None
            return None
        part = DYNAMIC
        if type(index) is cst.Index:
            literal = int_literal(index.value)
            if literal is None:
                key = literal_string(index.value)
                if key is not None and isinstance(recv, ModelRef):
                    return recv.child(key)  # ModuleDict["name"]
                # `model.blocks[i]` with `i` known here (a loop over `range(8, 12)` unrolled).
                value = self.eval(index.value, w)
                if isinstance(value, Const) and value.decided and type(value.value) is int:
                    literal = value.value
            if literal is not None:
                part = str(literal)
        elif type(index) is cst.Slice:
            lower = self._int_of(index.lower, w, recv) if index.lower else None
            upper = self._int_of(index.upper, w, recv) if index.upper else None
            part = f"{'' if lower is None else lower}:{'' if upper is None else upper}"
            if (
                index.step is not None
                or (index.lower and lower is None)
                or (index.upper and upper is None)
            ):
                part = DYNAMIC
        if isinstance(recv, ModelRef):
            return recv.child(part)
        if isinstance(recv, TupleValue) and part.lstrip("-").isdigit():
            # `trainer.optimizers[0]`, `pair[1]`: that item.
            position = int(part)
            if -len(recv.items) <= position < len(recv.items):
                return recv.items[position]
            return None
        if isinstance(recv, Modules) and not recv.enumerated:
            if recv.children and isinstance(recv.selection, Region) and part != DYNAMIC:
                # `list(model.children())[:-1]`: those children, as a path the table resolves.
                region = recv.selection
                return Modules(Region(region.model, (*region.path, part)), recv.named)
            return Modules(NameWhere(recv.selection, None, None), recv.named)
        if isinstance(recv, Params):
            span = _span(part)
            if span is not None and isinstance(recv.selection, Region):
                # `list(model.parameters())[:-2]`: positions the table resolves.
                bound = _slice_bound(index)
                return Params(
                    NameWhere(recv.selection, None, None, positions=span, bound=bound),
                    False,
                    recv.named,
                    name_prefix=recv.name_prefix,
                    relative=recv.relative,
                )
            return Params(
                NameWhere(recv.selection, None, None),
                generator=False,
                named=recv.named,
                name_prefix=recv.name_prefix,
                relative=recv.relative,
            )
        return None

    def _int_of(self, node: cst.BaseExpression, w: Walk, recv: Value = None) -> int | None:
        """An integer known statically: a literal, or a constant (`-n` with `n = 2`); as an
        end of a slice of `recv`, `max(0, len(recv) - k)` is `-k` (both clamp at 0)."""
        literal = int_literal(node)
        if literal is not None:
            return literal
        value = self.eval(node, w)
        if isinstance(value, Const) and type(value.value) is int:
            return value.value
        if isinstance(value, Size) and value.of(recv) and value.clamped and value.offset < 0:
            return value.offset
        return None


def _span(part: str) -> tuple[int | None, int | None] | None:
    """A path component's positions as a slice: `"2"` -> (2, 3), `":-1"` -> (None, -1)."""
    if part == DYNAMIC:
        return None
    span = part_slice(part)
    if span is not None:
        return (span.start, span.stop)
    index = int(part)
    return (index, index + 1 if index != -1 else None)


def _slice_bound(index: cst.BaseSlice) -> PositionBound | None:
    """The literal that sets a one-ended slice's end (`10` in `[:10]`, `-2` in `[-2:]`)."""
    if type(index) is not cst.Slice or index.step is not None:
        return None
    if index.lower is None and int_literal(index.upper) is not None:
        return PositionBound(index.upper, "stop")  # type: ignore[arg-type]
    if index.upper is None and int_literal(index.lower) is not None:
        return PositionBound(index.lower, "start")  # type: ignore[arg-type]
    return None


# Where `name["key"]` may sit for a dict of lists to be followed: the list grown, or read.
_GROWN = ("append", "extend")


def _keyed_only(body: cst.CSTNode, name: str) -> bool:
    """Is `name` used in `body` only as assigned or as `name["key"]`, that list grown
    (`.append` / `.extend`) or read in place (a group dict's value, `len(...)`, a test)?"""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode | None, cst.CSTNode | None]]] = [
        (body, (None, None))
    ]
    while stack:
        node, (parent, above) = stack.pop()
        if type(node) is cst.Subscript and _names(node.value, name):
            if (
                len(node.slice) != 1
                or type(node.slice[0].slice) is not cst.Index
                or literal_string(node.slice[0].slice.value) is None
                or not _read_or_grown(parent, above)
            ):
                return False
            continue
        if _names(node, name) and type(parent) is not cst.AssignTarget:
            return False
        stack.extend((child, (node, parent)) for child in child_nodes(node))
    return True


def _names(node: cst.CSTNode, name: str) -> bool:
    return type(node) is cst.Name and node.value == name


def _read_or_grown(parent: cst.CSTNode | None, above: cst.CSTNode | None) -> bool:
    if type(parent) is cst.Attribute:
        return parent.attr.value in _GROWN and type(above) is cst.Call
    if type(parent) is cst.Arg:
        return type(above) is cst.Call and _names(above.func, "len")
    return type(parent) in (cst.DictElement, cst.If, cst.While, cst.UnaryOperation)
