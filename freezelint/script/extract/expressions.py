"""Evaluating expressions to abstract values: names, literals, attributes (models and submodule
paths), operators and comparisons on constants, f-strings, and the bookkeeping of a run (ids,
events, the models built). The classes built on this one add containers and subscripts
(`containers`), loop items and comprehensions (`loop_items`), calls (`calls.CallEvaluator`) and
statements (`statements.Extractor`).
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import Event, ModelBuilt, ModelSpec, RequiresGradSet
from freezelint.script.extract.aliases import ModuleAliases
from freezelint.script.extract.constants import NotConstant, binary, compare, truth
from freezelint.script.extract.module_filters import parameter_of
from freezelint.script.extract.scope import ModuleContext, Scope, Walk
from freezelint.script.extract.syntax import (
    child_nodes,
    literal_bool,
    literal_string,
    literal_value,
)
from freezelint.script.imports import ImportTable, dotted
from freezelint.script.selection import Path, Region
from freezelint.script.values import (
    Const,
    Constructor,
    Definition,
    Instance,
    ModelRef,
    ModuleItem,
    Namespace,
    ParamItem,
    ProjectModule,
    Size,
    TrainerValue,
    TupleValue,
    Value,
    some_module,
)


class ExpressionEvaluator:
    fit_trainers: dict[int, TrainerValue]  # objects.ObjectEvaluator
    """Evaluates expressions; `statements.Extractor` adds statements on top."""

    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        self.module = module
        # The module being read (the checked file, or a project file its code calls into).
        self.here = ModuleContext(imports, Scope())
        self.events: list[Event] = []
        self.models: dict[int, ModelSpec] = {}
        self.model_vars: dict[int, str] = {}
        self.inlined: set[str] = set()
        # The bindings of parameter lists (`ParamsListed`): handing one on consumes nothing.
        self.listed: set[int] = set()
        self._last_id = 0
        self._inline_stack: list[str] = []
        self.lr_scheduled = False  # see Timeline.lr_scheduled
        self.aliases: dict[str, tuple[str, str]] = {}  # factory -> (library, architecture)
        self.parsers: dict[int, dict[str, Const]] = {}  # argparse parser -> its options
        self.same_module = ModuleAliases()  # modules reached by two names (`aliases`)
        # Deep copies: each copy's model id -> the model whose spec it has (once finished).
        self.copies: dict[int, int] = {}

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
        self._last_id += 1
        return self._last_id

    def emit(self, event_type: type[Event], w: Walk, node: cst.CSTNode, **kw: Any) -> Event:
        if event_type is RequiresGradSet:
            kw["selection"] = self.same_module.widen(kw["selection"])
        event = event_type(
            node=node,
            ctx=w.ctx,
            seq=len(self.events),
            site=w.site,
            statement=w.statement,
            block=w.block,
            scope=id(w.origin) if w.origin is not None else 0,
            via=w.calls,
            local=w.local,
            trail=w.trail,
            **kw,
        )
        self.events.append(event)
        return event

    def new_model(
        self,
        spec: ModelSpec,
        w: Walk,
        node: cst.CSTNode,
        var: str | None,
        copy_of: tuple[int, Path] | None = None,
    ) -> ModelRef:
        ident = self.new_id()
        self.models[ident] = spec
        if var:
            self.model_vars[ident] = var
        self.emit(ModelBuilt, w, node, model=ident, var=var, spec=spec, copy_of=copy_of)
        return ModelRef(ident)

    def implicit_model(self, name: str, w: Walk, node: cst.CSTNode) -> ModelRef:
        """A module the script did not build in view (a function parameter, a global from a
        call we cannot follow): its parameters' state is unknown."""
        ref = self.new_model(ModelSpec(None, name, trainable=None, has_params=None), w, node, name)
        owner, _, attr = name.rpartition(".")
        if not owner or not self.set_attribute(self.eval_dotted(owner, w), attr, ref):
            w.scope.env[name] = ref  # (an object's attribute is kept on the object)
        return ref

    def eval_dotted(self, text: str, w: Walk) -> Value:
        """The value of a dotted name given as text (`self.model`)."""
        head, *rest = text.split(".")
        node: cst.BaseExpression = cst.Name(head)
        for part in rest:
            node = cst.Attribute(node, cst.Name(part))
        return self.eval(node, w)

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
            source = self.imports.sources.get(node.value) if not found else None
            if source is not None and not (source[2] is not None and _class_like(node.value)):
                # A project module's value (`MODEL_NAME`, `config`), imported; a class named
                # but not called here (`opt_class=AdaBelief`) is not worth reading its file.
                self.imported_name(node.value, w)
                return self.module_scope.env.get(node.value)
            return value
        if kind in (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString):
            try:
                return Const(literal_value(node))
            except (ValueError, SyntaxError):  # pragma: no cover - odd literals
                return None
        if kind is cst.UnaryOperation and type(node.operator) is cst.Minus:
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
            if isinstance(recv, ModuleItem) and node.attr.value in ("weight", "bias"):
                # `m.weight` in a loop over modules: each picked module's own parameter.
                own = parameter_of(recv, node.attr.value)
                return ParamItem(own) if own is not None else None
            if isinstance(recv, ProjectModule):
                member = self.module_member(recv, node.attr.value)
                return None if isinstance(member, cst.CSTNode) else member
            if isinstance(recv, Definition) and type(recv.node) is cst.ClassDef:
                # `block.expansion` with `block` a class of the project handed over.
                return self.class_attribute(recv.node, node.attr.value, w)
            if isinstance(recv, Instance | ModelRef):
                found, value = self.attribute_of(recv, node.attr.value)
                if not found and self.unset_attribute(recv, node.attr.value, w):
                    return None  # (the path raises here)
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
                if attr == "trainer" and not recv.path and recv.model in self.fit_trainers:
                    return self.fit_trainers[recv.model]  # a LightningModule's, during `fit`
                return recv.child(attr)
            if isinstance(recv, TrainerValue):
                if node.attr.value == "optimizers" and recv.optimizers is not None:
                    return TupleValue(recv.optimizers)
                if node.attr.value == "optimizer" and recv.optimizers:  # Lightning 1.x
                    return recv.optimizers[0]
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
                (literal_string(e.key), e.value) if type(e) is cst.DictElement else (None, e.value)
                for e in node.elements
            ]
            return self._group_dict(entries, w, node)
        if kind is cst.BinaryOperation:
            left, right = self.eval(node.left, w), self.eval(node.right, w)
            if isinstance(left, Const) and isinstance(right, Const):
                return _const(lambda: binary(node.operator, left.value, right.value), left, right)
            if isinstance(left, Size) and type(node.operator) in (cst.Add, cst.Subtract):
                return left.plus(right, negate=type(node.operator) is cst.Subtract)
            if type(node.operator) is cst.Add:
                return self._concat(left, right)
            return None
        if kind is cst.Comparison:
            return self._comparison(node, w)
        if kind is cst.BooleanOperation:
            return self._boolean(node, w)
        if kind is cst.UnaryOperation and type(node.operator) is cst.Not:
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
            return _either(self.eval(node.body, w), self.eval(node.orelse, w))
        if kind is cst.Lambda:
            return None
        # Evaluate children for their effects (a nested optimizer, a consumed iterator).
        for child in child_nodes(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child, w)
            elif type(child) is cst.Arg:
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
            if type(op) in (cst.Is, cst.IsNot) and _is_none(b) and tracked:
                result = _and(result, Const(type(op) is cst.IsNot))
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
        is_and = type(node.operator) is cst.And
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

    def known_bool(self, node: cst.BaseExpression, w: Walk) -> bool | None:
        """`True`/`False`, or a name the code fixes to one (`p.requires_grad = unfreeze` in
        a method called as `self.unfreeze(False)`); a command-line value stays unknown."""
        literal = literal_bool(node)
        if literal is not None or type(node) not in (cst.Name, cst.Attribute):
            return literal
        value = self.eval(node, w)
        if isinstance(value, Const) and value.decided and isinstance(value.value, bool):
            return value.value
        return None

    def constructor(self, node: cst.BaseExpression) -> Value:
        """A model constructor or an optimizer class named, not called (`models.resnet50`,
        `optim.Adam`), or None."""
        qual = self.imports.qualify(node)
        return self.constructor_named(qual) if qual else None

    @staticmethod
    def constructor_named(qual: str) -> Value:
        if qual.count(".") < 1 or qual.rsplit(".", 1)[-1] == "models":
            return None
        if recognize.model_library(qual) is not None or recognize.is_torch_optimizer(qual):
            return Constructor(qual)
        return None

    def _fstring(self, node: cst.FormattedString, w: Walk) -> Value:
        """`f"efficientnet-b{N}"` with `N` a constant: a constant string."""
        out = ""
        for part in node.parts:
            if type(part) is cst.FormattedStringText:
                out += part.value
                continue
            value = self.eval(part.expression, w)
            if not isinstance(value, Const) or part.format_spec or part.conversion:
                return None
            out += str(value.value)
        return Const(out)

    # -- containers and loop items ----------------------------------------------------------

    # Provided by the subclasses (containers.ContainerEvaluator, loop_items.LoopItems).
    def _subscript(self, node: cst.Subscript, w: Walk) -> Value:  # pragma: no cover
        raise NotImplementedError  # containers.ContainerEvaluator

    def _sequence(self, node: cst.List | cst.Tuple, w: Walk) -> Value:  # pragma: no cover
        raise NotImplementedError  # containers.ContainerEvaluator

    def _group_dict(
        self,
        entries: list[tuple[str | None, cst.BaseExpression]],
        w: Walk,
        node: cst.CSTNode | None = None,
    ) -> Value:  # pragma: no cover
        raise NotImplementedError  # containers.ContainerEvaluator

    def _concat(self, left: Value, right: Value) -> Value:  # pragma: no cover
        raise NotImplementedError  # containers.ContainerEvaluator

    def _comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp, w: Walk
    ) -> Value:  # pragma: no cover
        raise NotImplementedError  # loop_items.LoopItems

    # -- calls -------------------------------------------------------------------------------

    # Provided by the subclasses (calls.CallEvaluator, optimizers.OptimizerBuilder,
    # statements.Extractor, ...).
    def eval_call(self, node: cst.Call, w: Walk) -> Value:  # pragma: no cover - overridden
        raise NotImplementedError

    def attribute_of(self, obj: Value, attr: str) -> tuple[bool, Value]:  # pragma: no cover
        raise NotImplementedError  # objects.ObjectEvaluator

    def set_attribute(self, obj: Value, attr: str, value: Value) -> bool:  # pragma: no cover
        raise NotImplementedError  # objects.ObjectEvaluator

    def unset_attribute(self, obj: Value, attr: str, w: Walk) -> bool:  # pragma: no cover
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


def _either(body: Value, orelse: Value) -> Value:
    """`a if test else b` with the test not known: the module both arms agree on, or, for two
    modules of one model (`model.inner if isinstance(model, Wrapper) else model`), some module
    inside the nearest one holding both, the analysis cannot say which (a freeze through it
    leaves that module's parameters unknown, never the wrong ones frozen)."""
    if not (isinstance(body, ModelRef) and isinstance(orelse, ModelRef)):
        return None
    if body == orelse:
        return body
    if body.model != orelse.model:
        return None
    common = 0
    while common < min(len(body.path), len(orelse.path)) and (
        body.path[common] == orelse.path[common]
    ):
        common += 1
    return some_module(Region(body.model, body.path[:common]))


def _is_none(value: Value) -> bool:
    return isinstance(value, Const) and value.value is None and value.decided


def _class_like(name: str) -> bool:
    """`AdaBelief`, `Net` (CamelCase), not `MODEL_NAME` or `config`."""
    return name[:1].isupper() and not name.isupper()
