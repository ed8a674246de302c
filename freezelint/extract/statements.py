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
    RequiresGradSet,
    Timeline,
)
from freezelint.extract.assignments import AssignmentWalker, _code
from freezelint.extract.scope import Scope, Walk
from freezelint.extract.syntax import (
    assigned_names,
    mentions_requires_grad,
)
from freezelint.imports import ImportTable, dotted
from freezelint.selection import (
    NameWhere,
)
from freezelint.values import (
    Groups,
    ModelRef,
    Modules,
    ParamItem,
    Params,
)


class Extractor(AssignmentWalker):
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
        imported = frozenset(k for k in self.imports.aliases if not k.startswith("*"))
        for _, timeline in timelines:
            timeline.lr_scheduled = self.lr_scheduled
            timeline.imported = imported
        return [t for name, t in timelines if name is None or name not in self.inlined]

    # -- statements --------------------------------------------------------------------------

    def walk_block(self, body, w: Walk) -> None:  # type: ignore[override]
        saved: list[dict] = []
        block = id(body)
        for stmt in body:
            sw = w.at(stmt, block)
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.small_statement(small, sw)
            else:
                self.compound_statement(stmt, sw)
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
        source = self.iterable(self.eval(node.iter, w))
        self.consume(node.iter, source, w, "for loop")
        over_items = isinstance(source, Params | Modules) or (
            isinstance(source, ModelRef) and source.path
        )
        item = self.bind_loop_target(node.target, source if over_items else None, w.scope)
        if over_items and item is not None:
            bound = w.scope.env.get(item)
            if isinstance(bound, ParamItem):
                # Names the body computes per parameter (`parts = name.split(".")`): a condition
                # on them picks parameters the analysis cannot name.
                w.scope.env[item] = replace(
                    bound, index_vars=bound.index_vars | assigned_names(node.body)
                )
            self.walk_block(node.body.body, w.pin())
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


def extract(
    module: cst.Module,
    imports: ImportTable | None = None,
    aliases: dict[str, tuple[str, str]] | None = None,
) -> list[Timeline]:
    """Every timeline of a parsed module: the module body first, then uncalled functions.
    `aliases` maps a project's own model factories to a known architecture."""
    extractor = Extractor(module, imports or ImportTable.of(module))
    extractor.aliases = aliases or {}
    return extractor.run()
