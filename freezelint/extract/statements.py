"""The statement walker: turns a module (and its functions) into timelines of events.

Roots are the module body and every function or method the file does not call itself; a helper
the file does call is followed at each call with its arguments bound (its events point at the
call). Bodies of `if` without `else`, loops and `except` are taken as run (a bug under a flag is a
bug); the arms of an `if`/`else` are exclusive and are marked so that the simulation joins them.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.events import (
    BranchArm,
    BranchJoin,
    Frame,
    IneffectiveFreeze,
    IteratorBound,
    ModuleReplaced,
    OptimizerBuilt,
    RequiresGradSet,
    Timeline,
)
from freezelint.extract.expressions import (
    ExpressionEvaluator,
    Scope,
    Walk,
    literal_bool,
    mentions_requires_grad,
    module_ish_name,
    names_in,
)
from freezelint.imports import ImportTable, dotted
from freezelint.selection import NameWhere, Region, union
from freezelint.values import (
    Groups,
    ModelRef,
    ModuleItem,
    Modules,
    OptimizerRef,
    ParamItem,
    Params,
    TupleValue,
    Value,
)

# Attribute names that are parameters, not modules, in the libraries freezelint knows.
PARAMETER_NAMES = frozenset(
    {
        "weight",
        "bias",
        "cls_token",
        "pos_embed",
        "dist_token",
        "mask_token",
        "pos_embedding",
        "class_embedding",
        "class_token",
        "positional_embedding",
        "logit_scale",
        "reg_token",
        "gamma",
    }
)
# Attribute names that are modules in the libraries freezelint knows.
MODULE_NAMES = frozenset(
    {
        "features",
        "classifier",
        "fc",
        "_fc",
        "head",
        "heads",
        "blocks",
        "_blocks",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "conv1",
        "bn1",
        "conv_stem",
        "bn2",
        "_conv_stem",
        "_bn0",
        "_bn1",
        "_conv_head",
        "conv_head",
        "stem",
        "stages",
        "backbone",
        "encoder",
        "decoder",
        "patch_embed",
        "norm",
        "pre_logits",
        "avgpool",
        "global_pool",
        "layers",
        "trunk",
        "neck",
        "embeddings",
        "pooler",
        "model",
        "module",
    }
)


class Extractor(ExpressionEvaluator):
    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        super().__init__(module, imports)
        self.module_scope = Scope()
        self._pending: list[tuple[int, ModelRef, cst.CSTNode, str]] = []

    # -- roots -------------------------------------------------------------------------------

    def run(self) -> list[Timeline]:
        methods: list[cst.FunctionDef] = []
        for stmt in self.module.body:
            if isinstance(stmt, cst.FunctionDef):
                self.functions[stmt.name.value] = stmt
            elif isinstance(stmt, cst.ClassDef):
                self.classes[stmt.name.value] = stmt
                methods.extend(s for s in stmt.body.body if isinstance(s, cst.FunctionDef))
        roots: list[tuple[str | None, list[cst.BaseStatement] | tuple, Scope]] = [
            (None, self.module.body, self.module_scope)
        ]
        timelines: list[tuple[str | None, Timeline]] = []
        for fn in [*self.functions.values(), *methods]:
            scope = Scope(parent=self.module_scope)
            for param in (*fn.params.params, *fn.params.posonly_params, *fn.params.kwonly_params):
                scope.env[param.name.value] = None  # unknown, and shadowing any global
            roots.append(
                (fn.name.value if fn in self.functions.values() else None, fn.body.body, scope)
            )
        for name, body, scope in roots:
            if name is not None and name in self.inlined:
                continue
            self.events = []
            self._pending = []
            self.walk_block(body, Walk(scope))
            self._resolve_pending()
            timelines.append(
                (name, Timeline(self.events, dict(self.models), dict(self.model_vars)))
            )
        return [t for name, t in timelines if name is None or name not in self.inlined]

    # -- statements --------------------------------------------------------------------------

    def walk_block(self, body, w: Walk) -> None:  # type: ignore[override]
        saved: list[dict] = []
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small_statement(small, w)
            else:
                self.compound_statement(stmt, w)
            guard = _continue_guard(stmt)
            if guard is not None:
                saved.append(self.refine(guard, w.scope, negate=True))
        for entry in reversed(saved):
            self.restore(w.scope, entry)

    def small_statement(self, node: cst.BaseSmallStatement, w: Walk) -> None:
        if isinstance(node, cst.Assign):
            value = self.eval(node.value, w)
            for target in node.targets:
                self.assign(target.target, node.value, value, w, node)
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            self.assign(node.target, node.value, self.eval(node.value, w), w, node)
        elif isinstance(node, cst.AugAssign):
            self.aug_assign(node, w)
        elif isinstance(node, cst.Expr):
            self.expression_statement(node, w)
        elif isinstance(node, cst.Return):
            w.scope.returns.append(self.eval(node.value, w))

    def expression_statement(self, node: cst.Expr, w: Walk) -> None:
        expr = node.value
        if (
            isinstance(expr, cst.Comparison)
            and isinstance(expr.left, cst.Attribute)
            and expr.left.attr.value == "requires_grad"
            and any(isinstance(c.operator, cst.Equal | cst.Is) for c in expr.comparisons)
        ):
            self.emit(IneffectiveFreeze, w, node, kind="comparison", target=_code(expr))
            return
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in ("append", "extend")
            and len(expr.args) == 1
        ):
            key = dotted(expr.func.value)
            found, current = w.scope.lookup(key) if key else (False, None)
            if found and isinstance(current, Params | Groups):
                item = self.eval(expr.args[0].value, w)
                self._grow(key, current, item, expr.func.attr.value, w)  # type: ignore[arg-type]
                return
        self.eval(expr, w)

    def _grow(self, key: str, current: Params | Groups, item: Value, how: str, w: Walk) -> None:
        """`params.append(p)`, `params.extend(...)`, `groups.append({...})` on a list built up."""
        if isinstance(current, Params) and isinstance(item, ParamItem | Params | ModelRef):
            new: Value = Params(union(current.selection, self.selection_of(item)), False)
        elif isinstance(item, Groups) and (
            isinstance(current, Groups) or not list(_leaves_of(current))
        ):
            old = current.groups if isinstance(current, Groups) else ()
            new = Groups(old + item.groups)
        else:
            new = None
        self._store(key, new, w)

    def _store(self, key: str, value: Value, w: Walk) -> None:
        scope: Scope | None = w.scope
        while scope is not None and key not in scope.env:
            scope = scope.parent
        (scope or w.scope).env[key] = value

    def aug_assign(self, node: cst.AugAssign, w: Walk) -> None:
        value = self.eval(node.value, w)
        key = dotted(node.target)
        if key is None:
            return
        current = w.scope.lookup(key)[1]
        if isinstance(node.operator, cst.AddAssign) and isinstance(current, Params | Groups):
            self._grow(key, current, value, "extend", w)
        else:
            self._store(key, None, w)

    def assign(
        self,
        target: cst.BaseExpression,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, value, w, stmt)
        elif isinstance(target, cst.Tuple | cst.List):
            items = value.items if isinstance(value, TupleValue) else ()
            for index, element in enumerate(target.elements):
                item = items[index] if index < len(items) else None
                self.assign(element.value, value_node, item, w, stmt)
        elif isinstance(target, cst.Attribute):
            attr = target.attr.value
            if attr == "requires_grad":
                self.requires_grad_assignment(target.value, value_node, w, stmt)
            elif attr == "requires_grad_":
                self.emit(
                    IneffectiveFreeze, w, stmt, kind="method-overwrite", target=_code(target.value)
                )
            else:
                owner = self.eval(target.value, w)
                name = dotted(target.value)
                if (
                    owner is None
                    and name is not None
                    and module_ish_name(name)
                    and self._replaces_module(value_node, value)
                ):
                    owner = self.implicit_model(name, w, target.value)
                if isinstance(owner, ModelRef) and self._replaces_module(value_node, value):
                    self.replace_module(owner.child(attr), value_node, value, w, stmt)
                else:
                    key = dotted(target)
                    if key is not None:
                        self.bind(key, value, w, stmt)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, w)
            if isinstance(owner, ModelRef) and self._replaces_module(value_node, value):
                child = self.eval(target, w)
                if isinstance(child, ModelRef):
                    self.replace_module(child, value_node, value, w, stmt)

    def bind(self, name: str, value: Value, w: Walk, stmt: cst.CSTNode) -> None:
        if isinstance(value, Params) and value.generator:
            binding = self.new_id()
            value = Params(value.selection, True, value.named, binding)
            self.emit(IteratorBound, w, stmt, binding=binding, var=name, selection=value.selection)
        if isinstance(value, OptimizerRef):
            for index in range(len(self.events) - 1, -1, -1):
                built = self.events[index]
                if isinstance(built, OptimizerBuilt) and built.optimizer == value.optimizer:
                    if built.var is None:
                        self.events[index] = replace(built, var=name)
                    break
        if isinstance(value, ModelRef) and value.path == () and value.model not in self.model_vars:
            self.model_vars[value.model] = name
        w.scope.env[name] = value

    def _replaces_module(self, value_node: cst.BaseExpression, value: Value) -> bool:
        if isinstance(value, ModelRef):
            return True
        if isinstance(value_node, cst.Call):
            name = (dotted(value_node.func) or "").rsplit(".", 1)[-1]
            return name[:1].isupper()
        return False

    def replace_module(
        self,
        ref: ModelRef,
        value_node: cst.BaseExpression,
        value: Value,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        adds: bool | None = True
        trainable: bool | None = True
        if isinstance(value, ModelRef):
            spec = self.models.get(value.model)
            if value.path == () and spec is not None:
                adds, trainable = spec.has_params, spec.trainable
            else:
                adds = trainable = None
            # The module now lives inside the model: names bound to it follow it there.
            for scope_var, bound in list(w.scope.env.items()):
                if isinstance(bound, ModelRef) and bound.model == value.model and value.path == ():
                    w.scope.env[scope_var] = ModelRef(
                        ref.model, ref.path + bound.path, ref.wrappers
                    )
        self.emit(
            ModuleReplaced,
            w,
            stmt,
            model=ref.model,
            path=ref.path,
            adds_params=adds,
            trainable=trainable,
        )

    def requires_grad_assignment(
        self,
        owner_node: cst.BaseExpression,
        value_node: cst.BaseExpression,
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        owner = self.eval(owner_node, w)
        value = literal_bool(value_node)
        if isinstance(owner, ParamItem):
            if (
                value is None
                and owner.name_var is not None
                and owner.name_var in names_in(value_node)
                and owner_node_name(owner_node) not in names_in(value_node)
            ):
                for flag in (True, False):
                    sel = NameWhere(owner.selection, value_node, owner.name_var, not flag)
                    self.emit(RequiresGradSet, w, stmt, selection=sel, value=flag, how="assign")
                return
            self.emit(
                RequiresGradSet, w, stmt, selection=owner.selection, value=value, how="assign"
            )
        elif isinstance(owner, ModuleItem):
            self.emit(IneffectiveFreeze, w, stmt, kind="module-attribute", target=_code(owner_node))
        elif isinstance(owner, ModelRef):
            last = owner.path[-1] if owner.path else None
            if last is None or not _is_attr(last) or last in MODULE_NAMES:
                self.emit(
                    IneffectiveFreeze, w, stmt, kind="module-attribute", target=_code(owner_node)
                )
            elif last in PARAMETER_NAMES:
                self.emit(
                    RequiresGradSet, w, stmt, selection=owner.region, value=value, how="assign"
                )
            else:
                # Module or parameter? Decided once the whole root is walked.
                self._pending.append((len(self.events), owner, stmt, _code(owner_node)))
                self.emit(
                    RequiresGradSet, w, stmt, selection=owner.region, value=None, how="assign"
                )
        elif owner is None:
            name = dotted(owner_node)
            if name is not None and module_ish_name(name):
                self.emit(IneffectiveFreeze, w, stmt, kind="module-attribute", target=name)

    def _resolve_pending(self) -> None:
        """A `x.y.requires_grad = ...` whose `y` the root also uses as a module is ineffective."""
        if not self._pending:
            return
        modules = {(e.model, e.path) for e in self.events if isinstance(e, ModuleReplaced)}
        for e in self.events:
            if isinstance(e, RequiresGradSet) and e.how == "call":
                for leaf in _leaves_of(e.selection):
                    if isinstance(leaf, Region):
                        modules.add((leaf.model, leaf.path))
        for index, ref, stmt, text in self._pending:
            if (ref.model, ref.path) in modules:
                old = self.events[index]
                self.events[index] = IneffectiveFreeze(
                    node=stmt,
                    ctx=old.ctx,
                    seq=old.seq,
                    site=old.site,
                    kind="module-attribute",
                    target=text,
                )

    def compound_statement(self, node: cst.BaseCompoundStatement, w: Walk) -> None:
        if isinstance(node, cst.If):
            self.if_statement(node, w)
        elif isinstance(node, cst.For):
            self.for_statement(node, w)
        elif isinstance(node, cst.While):
            self.eval(node.test, w)
            self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id())))
            if node.orelse is not None:
                self.walk_block(node.orelse.body.body, w)
        elif isinstance(node, cst.With):
            for item in node.items:
                value = self.eval(item.item, w)
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    w.scope.env[item.asname.name.value] = value
            self.walk_block(node.body.body, w)
        elif isinstance(node, cst.Try | cst.TryStar):
            self.walk_block(node.body.body, w)
            for handler in node.handlers:
                self.walk_block(handler.body.body, w.inner(Frame("branch", self.new_id())))
            if node.orelse is not None:
                self.walk_block(node.orelse.body.body, w)
            if node.finalbody is not None:
                self.walk_block(node.finalbody.body.body, w)
        elif isinstance(node, cst.FunctionDef):
            if w.scope is not self.module_scope:
                self.functions.setdefault(node.name.value, node)
        elif isinstance(node, cst.ClassDef):
            self.classes.setdefault(node.name.value, node)
        elif isinstance(node, cst.Match):
            self.eval(node.subject, w)
            self.exclusive_arms([case.body.body for case in node.cases], node, w)

    def if_statement(self, node: cst.If, w: Walk) -> None:
        arms: list[tuple[cst.BaseExpression | None, list]] = []
        cur: cst.If | cst.Else | None = node
        while cur is not None:
            if isinstance(cur, cst.If):
                arms.append((cur.test, cur.body.body))
                cur = cur.orelse
            else:
                arms.append((None, cur.body.body))
                cur = None
        for test, _ in arms:
            if test is not None:
                self.eval(test, w)
        if len(arms) == 1:
            test, body = arms[0]
            saved = self.refine(test, w.scope, negate=False)  # type: ignore[arg-type]
            if _is_main_guard(test):
                self.walk_block(body, w)
            else:
                self.walk_block(body, w.inner(Frame("branch", self.new_id())))
            self.restore(w.scope, saved)
            return
        self.exclusive_arms([body for _, body in arms], node, w, [t for t, _ in arms])

    def exclusive_arms(
        self, bodies: list, node: cst.CSTNode, w: Walk, tests: list | None = None
    ) -> None:
        ident = self.new_id()
        tests = tests or [None] * len(bodies)
        previous: list[cst.BaseExpression] = []
        for arm, (body, test) in enumerate(zip(bodies, tests, strict=True)):
            self.emit(BranchArm, w, node, ident=ident, arm=arm, arms=len(bodies))
            saved = [self.refine(t, w.scope, negate=True) for t in previous]
            if test is not None:
                saved.append(self.refine(test, w.scope, negate=False))
            self.walk_block(body, w.inner(Frame("branch", ident)))
            for entry in reversed(saved):
                self.restore(w.scope, entry)
            if test is not None:
                previous.append(test)
        self.emit(BranchJoin, w, node, ident=ident)

    def for_statement(self, node: cst.For, w: Walk) -> None:
        source = self.eval(node.iter, w)
        self.consume(node.iter, source, w, "for loop")
        over_items = isinstance(source, Params | Modules) or (
            isinstance(source, ModelRef) and source.path
        )
        item = self.bind_loop_target(node.target, source if over_items else None, w.scope)
        if over_items and item is not None:
            self.walk_block(node.body.body, w)
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
            self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id())))
        if node.orelse is not None:
            self.walk_block(node.orelse.body.body, w)


def owner_node_name(node: cst.BaseExpression) -> str | None:
    return node.value if isinstance(node, cst.Name) else None


def _leaves_of(sel):
    from freezelint.selection import leaves

    return leaves(sel.selection if isinstance(sel, Params) else sel)


def _is_attr(part: str) -> bool:
    return part[:1].isalpha() or part[:1] == "_"


def _is_main_guard(test: cst.BaseExpression | None) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
    )


def _continue_guard(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """`if cond: continue` (no else): the rest of the loop body runs only when `not cond`."""
    if isinstance(stmt, cst.If) and stmt.orelse is None:
        body = stmt.body.body
        last = body[-1] if body else None
        if isinstance(last, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Continue) for s in last.body
        ):
            return stmt.test
    return None


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def extract(module: cst.Module, imports: ImportTable | None = None) -> list[Timeline]:
    """Every timeline of a parsed module: the module body first, then uncalled functions."""
    return Extractor(module, imports or ImportTable.of(module)).run()
