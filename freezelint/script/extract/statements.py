"""The statement walker: turns a module (and its functions) into timelines of events.

Roots are the module body and every function or method the file does not call itself; a helper
the file does call is followed at each call with its arguments bound (its events point at the
call). Bodies of `if` without `else`, loops and `except` are taken as run (a bug under a flag is a
bug); the arms of an `if`/`else` are exclusive and are marked so that the simulation joins them.
This module owns the roots, blocks and simple statements; loops are walked by `loops.LoopWalker`,
`if`/`try` and the arms of `match` by `conditionals.ConditionalWalker`.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.events import Frame, IneffectiveFreeze, Timeline
from freezelint.script.extract.branches import (
    EXITS,
    MUTATORS,
    Arm,
    InRunFork,
    _break_guard,
    _continue_guard,
)
from freezelint.script.extract.config_objects import CONFIG_MERGES
from freezelint.script.extract.joined_walk import FINDING_EVENTS, Decided
from freezelint.script.extract.loops import own_statement
from freezelint.script.extract.objects import FIT_EPOCH, ClassRoot
from freezelint.script.extract.read_log import LoggedDict, LoggedList, ReadLog, quieten
from freezelint.script.extract.registry_choices import RegistryChoices
from freezelint.script.extract.resume import FirstRun, ResumePoint, ResumePoints, may_fork
from freezelint.script.extract.scope import Scope, Walk
from freezelint.script.extract.syntax import code_of
from freezelint.script.imports import ImportTable, dotted
from freezelint.script.node_kinds import is_a
from freezelint.script.selection import union
from freezelint.script.values import (
    Const,
    DictValue,
    Groups,
    ModelRef,
    Namespace,
    ParamItem,
    Params,
    TupleValue,
    Value,
)

Root = cst.FunctionDef | ClassRoot | None


class Extractor(RegistryChoices):
    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        super().__init__(module, imports)
        self._pending: list[tuple[int, ModelRef, cst.CSTNode, str]] = []
        # Path sensitivity (`paths.explore`): the arm each branch takes in this run, whether
        # undecided branches are joined instead (past the budget), and whether the path has
        # left the function being walked (`return`, `raise`).
        self.decisions: dict[tuple, int] = {}
        self.forks: list[InRunFork] = []
        self.arm_ranges: dict[tuple, tuple[tuple[int, int], ...]] = {}
        self.built_from: set[tuple[int, int]] = set()  # see `Timeline.built_from`
        self.trial = 0
        self.fresh_forks = False
        self.join_all = False
        self.fork_budget: int | None = None
        self.joined = False  # a branch whose arms matter was joined (in join_all mode)
        self.exited = False
        self.raised = False  # the path ends in an exception or `sys.exit()`: an error path
        # Set on the first run of the module body: the points later runs resume from, and what
        # that run reads from each on (`read_log`); on a later run, the first run it may rejoin.
        self.resume_points: ResumePoints | None = None
        self.read_log: ReadLog | None = None
        self.rejoin: FirstRun | None = None
        # A walk with every branch joined may stop once its outcome is known (`joined_walk`):
        # then how far its events are known to hold none a rule reads.
        self.stop_when_decided = False
        self._no_finding_before = 0

    def start_read_log(self) -> None:
        """Note what this run reads of the three containers runs that took other arms differ
        in (`read_log`): from now on, until the run ends."""
        log = self.read_log = ReadLog()
        self.models = LoggedDict(self.models, log, "models")
        self.assumed = LoggedDict(self.assumed, log, "assumed")
        self.events = LoggedList(self.events, log)

    # -- roots -------------------------------------------------------------------------------

    def define(self) -> list[cst.FunctionDef]:
        """Record the file's functions and classes; returns every top-level function (the
        candidate roots besides the module body; classes are rooted by `class_roots`)."""
        for stmt in self.module.body:
            if type(stmt) is cst.FunctionDef:
                self.functions[stmt.name.value] = stmt
            elif type(stmt) is cst.ClassDef:
                self.classes[stmt.name.value] = stmt
        return list(self.functions.values())

    def walk_root(self, root: Root, globals_: dict[str, Value]) -> Timeline:
        """One run over the module body (`root` None), a function nobody in the file calls (its
        parameters unknown) or a class (`ClassRoot`), with `self.decisions` fixing the arms of
        some branches."""
        if root is not None:
            self.module_scope.env.update(globals_)
        if isinstance(root, ClassRoot):
            self.walk_class(root, Walk(Scope(parent=self.module_scope)))
        else:
            if root is None:
                body, scope = self.module.body, self.module_scope
            else:
                body, scope = root.body.body, Scope(parent=self.module_scope)
                params = root.params
                for param in (*params.params, *params.posonly_params, *params.kwonly_params):
                    scope.env[param.name.value] = None  # unknown, and shadowing any global
            self.walk_block(body, Walk(scope))
        return self._finish()

    def resume(
        self, point: ResumePoint, decisions: dict[tuple, int], first: FirstRun | None = None
    ) -> Timeline:
        """The rest of the module body from a point an earlier run of it recorded (with this
        walker), as a new run with `decisions` would walk it: the state put back as it was
        there, the branches before it decided as that run took them (`resume.py`). `first`:
        the run that recorded the point, which this one may rejoin (`FirstRun.rejoined`)."""
        point.snapshot.restore()
        self.decisions = dict(decisions)
        self.forks = []
        self.rejoin = first
        try:
            self.walk_block(self.module.body, Walk(self.module_scope), start=point.index)
        finally:
            self.rejoin = None
        return self._finish()

    def _holds_finding_event(self) -> bool:
        """Has this run emitted an event a rule reads? (Read on from where the last answer
        left off: a joined walk appends events, and replaces one only with another of its kind,
        `joined_walk`.)"""
        events = self.events
        for index in range(self._no_finding_before, len(events)):
            if isinstance(events[index], FINDING_EVENTS):
                return True
        self._no_finding_before = len(events)
        return False

    def _finish(self) -> Timeline:
        """The run's timeline, once its root is walked (copies of the walker's containers: a
        walker that resumes another run from a recorded point changes them in place)."""
        if self.read_log is not None:
            # (The run is walked: what follows reads all of it, and later runs note nothing.)
            quieten(self.models, self.assumed, self.events)
        self._resolve_pending()
        self.finish_parts()
        for copy, source in self.copies.items():
            self.models[copy] = self.models[source]
        return Timeline(
            list(self.events),
            dict(self.models),
            dict(self.model_vars),
            files=dict(self.files),
            unseen_callbacks=frozenset(self.unseen_callbacks),
            built_from=frozenset(self.built_from),
        )

    def walk_class(self, root: ClassRoot, w: Walk) -> None:
        """An instance built with unknown arguments, then the root's methods in order; for a
        LightningModule, `Trainer.fit`'s order (see `objects.FIT_SETUP`)."""
        obj = self.construct(root.cls, root.cls, w, known_args=False)
        if root.fit and isinstance(obj, ModelRef):
            # The Trainer's callbacks are not in view: one (`BaseFinetuning`) may freeze any
            # part of the module before the optimizer is built.
            self.unseen_callbacks.add(obj.model)
        epoch = w.inner(Frame("loop", self.new_id()))
        for fn in root.methods:
            if self.exited:
                break
            # The training hooks run once per epoch.
            hook_w = epoch if root.fit and fn.name.value in FIT_EPOCH else w
            self.call_function(
                fn, fn, hook_w, given=[], bound=obj, owner=root.cls, known_args=False
            )

    # -- statements --------------------------------------------------------------------------

    def walk_block(self, body, w: Walk, start: int = 0) -> None:  # type: ignore[override]
        saved: list[dict] = []
        block = id(body)
        foreign = not self.here.main
        # (The module body walked as the root: where a later run may start again, `resume`.)
        points = self.resume_points if body is self.module.body and not w.trail else None
        for index in range(start, len(body)):
            stmt = body[index]
            if self.exited:
                break
            if foreign:
                self.fuel -= 1  # statements of other files walked (follow_imports.FUEL)
            if self.stop_when_decided and self.joined and self._holds_finding_event():
                raise Decided
            point = None
            if points is not None and not saved and may_fork(stmt, self.functions, self.classes):
                point = points.before(self, index)
            elif (
                self.rejoin is not None
                and index > start
                and not saved
                and body is self.module.body
                and not w.trail
                and self.rejoin.rejoined(self, index)
            ):
                return  # (the rest is the first run's: `FirstRun.rejoined`)
            sw = w.at(stmt, block)
            if type(stmt) is cst.SimpleStatementLine:
                for small in stmt.body:
                    self.small_statement(small, sw)
            elif is_a(stmt, cst.BaseSmallStatement):
                # The body of a one-line compound statement (`if name == "a": return a()`).
                self.small_statement(stmt, sw)
            else:
                self.compound_statement(stmt, sw)
            guard = _continue_guard(stmt) or _break_guard(stmt)
            if guard is not None:
                # (On what else changes per iteration, `count` counting only some items: the
                # items the rest runs for are not known.)
                saved.append(self.refine(guard, w.scope, negate=True, variant=w.variant))
            elif w.in_loop and type(stmt) is cst.If and own_statement(stmt, cst.Break):
                # `if name == "layer3": break`: the rest runs for the items before the first
                # one the condition holds for, which the analysis cannot name.
                saved.append(self.obscure(w.scope))
            if point is not None:
                points.after(self, point)  # type: ignore[union-attr]
        for entry in reversed(saved):
            self.restore(w.scope, entry)

    def small_statement(self, node: cst.BaseSmallStatement, w: Walk) -> None:
        if type(node) is cst.Assign:
            value = self.eval(node.value, w)
            for target in node.targets:
                self.assign(target.target, node.value, value, w, node)
        elif type(node) is cst.AnnAssign and node.value is not None:
            self.assign(node.target, node.value, self.eval(node.value, w), w, node)
        elif type(node) is cst.AugAssign:
            self.aug_assign(node, w)
        elif type(node) is cst.Expr:
            self.expression_statement(node, w)
        elif type(node) is cst.Return:
            w.scope.returns.append(self.eval(node.value, w))
            self.exited = not w.in_loop and w.certain
        elif type(node) in (cst.Import, cst.ImportFrom):
            self.import_statement(node, w)
        elif type(node) is cst.Global:
            w.scope.declared_global.update(item.name.value for item in node.names)
        elif type(node) is cst.Raise:
            self.eval(node.exc, w)
            self.exited = self.raised = not w.in_loop and w.certain

    def expression_statement(self, node: cst.Expr, w: Walk) -> None:
        expr = node.value
        if (
            type(expr) is cst.Comparison
            and type(expr.left) is cst.Attribute
            and expr.left.attr.value == "requires_grad"
            and any(type(c.operator) in (cst.Equal, cst.Is) for c in expr.comparisons)
        ):
            self.emit(IneffectiveFreeze, w, node, kind="comparison", target=code_of(expr))
            return
        if (
            type(expr) is cst.Call
            and type(expr.func) is cst.Attribute
            and expr.func.attr.value in ("append", "extend")
            and len(expr.args) == 1
        ):
            key = dotted(expr.func.value)
            found, current = self.lookup_key(key, w) if key else (False, None)
            if found and (
                isinstance(current, Params | Groups)
                or (isinstance(current, TupleValue) and self.built_list(current))
            ):
                item = self.eval(expr.args[0].value, w)
                self._grow(key, current, item, expr.func.attr.value, w)  # type: ignore[arg-type]
                return
            if self.grow_entry(expr.func.value, expr.args[0].value, w):
                return
        if type(expr) is cst.Call and dotted(expr.func) in EXITS:
            self.exited = self.raised = not w.in_loop and w.certain
        if (
            type(expr) is cst.Call
            and type(expr.func) is cst.Attribute
            and expr.func.attr.value in MUTATORS | CONFIG_MERGES
        ):
            self._forget_constant(expr.func.value, w)
        self.eval(expr, w)

    def grow_entry(
        self, target: cst.BaseExpression, item_node: cst.BaseExpression, w: Walk
    ) -> bool:
        """`groups["head"].append(p)` on a dict of parameter lists (`{"head": [], ...}`) with
        a key known here: that list grows. False when it is not such a call."""
        if (
            type(target) is not cst.Subscript
            or type(target.value) is not cst.Name
            or len(target.slice) != 1
            or type(target.slice[0].slice) is not cst.Index
        ):
            return False
        name = target.value.value
        found, table = w.scope.lookup(name)
        key = self.eval(target.slice[0].slice.value, w)
        if not found or not isinstance(table, DictValue) or not isinstance(key, Const):
            return False
        current = table.get(key.value) if key.decided else None
        if not isinstance(current, Params) or current.generator:
            return False
        item = self.eval(item_node, w)
        if not isinstance(item, ParamItem | Params | ModelRef):
            self._store(name, None, w)  # (something else put in: the dict is not followed)
            return True
        grown = Params(union(current.selection, self.selection_of(item)), False)
        items = tuple((k, grown if k == key.value else v) for k, v in table.items)
        self._store(name, DictValue(items), w)
        return True

    def _forget_constant(self, target: cst.BaseExpression, w: Walk) -> None:
        """A constant list or dict changed in place (`cfg["freeze"] = False`,
        `layers.append(...)`) is no longer known."""
        while type(target) in (cst.Subscript, cst.Attribute):
            target = target.value
        if type(target) is cst.Name:
            self.eval(target, w)  # (an imported config is bound where it is first used)
            found, value = w.scope.lookup(target.value)
            if found and isinstance(value, Const | DictValue | Namespace):
                self._store(target.value, None, w)

    def compound_statement(self, node: cst.BaseCompoundStatement, w: Walk) -> None:
        if type(node) is cst.If:
            self.if_statement(node, w)
        elif type(node) is cst.For:
            self.for_statement(node, w)
        elif type(node) is cst.While:
            self.while_statement(node, w)
        elif type(node) is cst.With:
            for item in node.items:
                value = self.eval(item.item, w)
                if item.asname is not None and type(item.asname.name) is cst.Name:
                    w.scope.env[item.asname.name.value] = value
            self.walk_block(node.body.body, w)
        elif type(node) in (cst.Try, cst.TryStar):
            self.try_statement(node, w)
        elif type(node) is cst.FunctionDef:
            if w.scope is not self.module_scope:
                self.functions.setdefault(node.name.value, node)
        elif type(node) is cst.ClassDef:
            self.classes.setdefault(node.name.value, node)
        elif type(node) is cst.Match:
            self.eval(node.subject, w)
            arms = [Arm(case.body.body, f"`case {code_of(case.pattern)}`") for case in node.cases]
            if not any(
                type(c.pattern) is cst.MatchAs and c.pattern.pattern is None for c in node.cases
            ):
                arms.append(Arm([], "no `case` matches"))
            self.branch(node, arms, w)
