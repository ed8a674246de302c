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
from freezelint.extract.assignments import AssignmentWalker
from freezelint.extract.branches import (
    EXITS,
    MODEL_QUESTIONS,
    MUTATORS,
    Arm,
    Fork,
    _continue_guard,
    _decides_on,
    _derived_from_name,
    _is_main_guard,
    _merge,
    _module_receivers,
    _scope_chain,
    _unrollable,
)
from freezelint.extract.constants import NotConstant, truth
from freezelint.extract.objects import FIT_EPOCH, ClassRoot
from freezelint.extract.scope import Scope, Walk, _visible_items
from freezelint.extract.syntax import (
    assigned_names,
    child_nodes,
    code_of,
    mentions_requires_grad,
    names_in,
)
from freezelint.imports import ImportTable, dotted
from freezelint.selection import (
    NameWhere,
)
from freezelint.values import (
    Const,
    DictValue,
    Groups,
    ModelRef,
    ModuleItem,
    Modules,
    ParamItem,
    Params,
    Value,
)

Root = cst.FunctionDef | ClassRoot | None


class Extractor(AssignmentWalker):
    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        super().__init__(module, imports)
        self._pending: list[tuple[int, ModelRef, cst.CSTNode, str]] = []
        # Path sensitivity (`paths.explore`): the arm each branch takes in this run, whether
        # undecided branches are joined instead (past the budget), and whether the path has
        # left the function being walked (`return`, `raise`).
        self.decisions: dict[tuple, int] = {}
        self.join_all = False
        self.joined = False  # a branch whose arms matter was joined (in join_all mode)
        self.exited = False
        self.raised = False  # the path ends in an exception or `sys.exit()`: an error path

    # -- roots -------------------------------------------------------------------------------

    def define(self) -> list[cst.FunctionDef]:
        """Record the file's functions and classes; returns every top-level function (the
        candidate roots besides the module body; classes are rooted by `class_roots`)."""
        for stmt in self.module.body:
            if isinstance(stmt, cst.FunctionDef):
                self.functions[stmt.name.value] = stmt
            elif isinstance(stmt, cst.ClassDef):
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
        self._resolve_pending()
        self.finish_parts()
        return Timeline(
            self.events,
            dict(self.models),
            dict(self.model_vars),
            files=dict(self.files),
            unseen_callbacks=frozenset(self.unseen_callbacks),
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

    def walk_block(self, body, w: Walk) -> None:  # type: ignore[override]
        saved: list[dict] = []
        block = id(body)
        for stmt in body:
            if self.exited:
                break
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
            self.exited = not w.in_loop and w.certain
        elif isinstance(node, cst.Import | cst.ImportFrom):
            self.import_statement(node, w)
        elif isinstance(node, cst.Raise):
            self.eval(node.exc, w)
            self.exited = self.raised = not w.in_loop and w.certain

    def expression_statement(self, node: cst.Expr, w: Walk) -> None:
        expr = node.value
        if (
            isinstance(expr, cst.Comparison)
            and isinstance(expr.left, cst.Attribute)
            and expr.left.attr.value == "requires_grad"
            and any(isinstance(c.operator, cst.Equal | cst.Is) for c in expr.comparisons)
        ):
            self.emit(IneffectiveFreeze, w, node, kind="comparison", target=code_of(expr))
            return
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in ("append", "extend")
            and len(expr.args) == 1
        ):
            key = dotted(expr.func.value)
            found, current = self.lookup_key(key, w) if key else (False, None)
            if found and isinstance(current, Params | Groups):
                item = self.eval(expr.args[0].value, w)
                self._grow(key, current, item, expr.func.attr.value, w)  # type: ignore[arg-type]
                return
        if isinstance(expr, cst.Call) and dotted(expr.func) in EXITS:
            self.exited = self.raised = not w.in_loop and w.certain
        if (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in MUTATORS
        ):
            self._forget_constant(expr.func.value, w)
        self.eval(expr, w)

    def _forget_constant(self, target: cst.BaseExpression, w: Walk) -> None:
        """A constant list or dict changed in place (`cfg["freeze"] = False`,
        `layers.append(...)`) is no longer known."""
        while isinstance(target, cst.Subscript | cst.Attribute):
            target = target.value
        if isinstance(target, cst.Name):
            found, value = w.scope.lookup(target.value)
            if found and isinstance(value, Const | DictValue):
                self._store(target.value, None, w)

    def compound_statement(self, node: cst.BaseCompoundStatement, w: Walk) -> None:
        if isinstance(node, cst.If):
            self.if_statement(node, w)
        elif isinstance(node, cst.For):
            self.for_statement(node, w)
        elif isinstance(node, cst.While):
            self.eval(node.test, w)
            variant = self.enter_loop(node.body, w)
            self.walk_block(node.body.body, w.inner(Frame("loop", self.new_id()), variant))
            if node.orelse is not None:
                self.walk_block(node.orelse.body.body, w)
        elif isinstance(node, cst.With):
            for item in node.items:
                value = self.eval(item.item, w)
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    w.scope.env[item.asname.name.value] = value
            self.walk_block(node.body.body, w)
        elif isinstance(node, cst.Try | cst.TryStar):
            self.try_statement(node, w)
        elif isinstance(node, cst.FunctionDef):
            if w.scope is not self.module_scope:
                self.functions.setdefault(node.name.value, node)
        elif isinstance(node, cst.ClassDef):
            self.classes.setdefault(node.name.value, node)
        elif isinstance(node, cst.Match):
            self.eval(node.subject, w)
            arms = [Arm(case.body.body, f"`case {code_of(case.pattern)}`") for case in node.cases]
            if not any(
                isinstance(c.pattern, cst.MatchAs) and c.pattern.pattern is None for c in node.cases
            ):
                arms.append(Arm([], "no `case` matches"))
            self.branch(node, arms, w)

    def if_statement(self, node: cst.If, w: Walk) -> None:
        """Decide what the code decides; fork the rest (see `branch`)."""
        live: list[Arm] = []
        previous: list[cst.BaseExpression] = []
        cur: cst.If | cst.Else | None = node
        while cur is not None:
            if isinstance(cur, cst.Else):
                live.append(Arm(cur.body.body, None, negated=tuple(previous)))
                break
            main = _is_main_guard(cur.test) and self.here.main
            decided = True if main else self.decide(cur.test, w)
            if decided is not False:
                live.append(Arm(cur.body.body, None, cur.test, tuple(previous)))
            if decided is True:
                break
            previous.append(cur.test)
            cur = cur.orelse
        else:
            live.append(Arm([], None, negated=tuple(previous)))
        if len(live) == 1:
            self.walk_arm(live[0], w)
        elif self.can_fork(previous, w):
            self.branch(node, live, w)
        elif len(live) == 2 and not live[1].body and live[0].test is not None:
            # Inside a loop, on what changes at each iteration: taken as run (for the items
            # it holds for, when the loop is over parameters or modules).
            saved = self.refine(live[0].test, w.scope, negate=False, variant=w.variant)
            self.walk_block(live[0].body, w.inner(Frame("branch", self.new_id())))
            self.restore(w.scope, saved)
        elif self._per_item(previous, w):
            # `if "layer4" in name: ... else: ...` over parameters: each arm acts on the items
            # its condition picks (the item is narrowed in it); together they cover them all.
            ident = self.new_id()
            for arm in live:
                self.walk_arm(arm, w.inner(Frame("branch", ident)))
        else:
            self.exclusive_arms(live, node, w)

    def decide(self, test: cst.BaseExpression, w: Walk) -> bool | None:
        """True or False when the code fixes the condition's value, or this path already
        assumed it (`walk_arm`); None otherwise."""
        value = self.eval(test, w)
        if isinstance(value, Const) and value.decided:
            try:
                return truth(value.value)
            except NotConstant:
                return None
        return self.assumed_truth(test, w)

    def can_fork(self, tests: list[cst.BaseExpression], w: Walk) -> bool:
        """Are the arms script paths? Not a condition on what changes at each iteration of a
        loop around it (`if epoch == 5`, `if 'fc' in name`): those are taken per iteration."""
        if w.variant is None:
            return False
        names = set().union(*(names_in(t) for t in tests))
        if any(isinstance(w.scope.lookup(n)[1], ParamItem | ModuleItem) for n in names):
            return False  # a filter over parameters or modules (`isinstance(m, nn.BatchNorm2d)`)
        if any(self._asks_model(t, w) for t in tests):
            return False
        return not w.in_loop or not names & w.variant

    def _per_item(self, tests: list[cst.BaseExpression], w: Walk) -> bool:
        """Do the conditions pick among the items of a loop over parameters or modules?"""
        names = set().union(*(names_in(t) for t in tests))
        for var in _visible_items(w.scope):
            item = w.scope.lookup(var)[1]
            own = {var}
            if isinstance(item, ParamItem):
                own |= {item.name_var} if item.name_var else set()
                own |= {n for n, _ in item.derived} | item.index_vars
            if names & own:
                return True
        return False

    def _asks_model(self, test: cst.BaseExpression, w: Walk) -> bool:
        """`hasattr(model, "fc")`, `isinstance(model, nn.DataParallel)`, `model.training`: a
        fact about the model the analysis may not know, not a choice the script makes."""
        stack: list[cst.CSTNode] = [test]
        while stack:
            cur = stack.pop()
            asked = None
            if isinstance(cur, cst.Call) and dotted(cur.func) in MODEL_QUESTIONS and cur.args:
                asked = cur.args[0].value
            elif isinstance(cur, cst.Attribute) and cur.attr.value == "training":
                asked = cur.value
            if dotted(asked) is not None and isinstance(self.eval(asked, w), ModelRef):
                return True
            stack.extend(child_nodes(cur))
        return False

    def walk_arm(self, arm: Arm, w: Walk) -> None:
        """Walk one arm; what its conditions say of unknown values holds from then on (on this
        path: `if args.freeze:` taken, a later `if freeze:` on the same value is decided)."""
        for test in arm.negated:
            self.assume(test, False, w)
        if arm.test is not None:
            self.assume(arm.test, True, w)
        saved = [self.refine(t, w.scope, negate=True) for t in arm.negated]
        if arm.test is not None:
            saved.append(self.refine(arm.test, w.scope, negate=False))
        for name, value in arm.binds:
            saved.append({name: (name in w.scope.env, w.scope.env.get(name))})
            w.scope.env[name] = value
        self.walk_block(arm.body, w)
        for entry in reversed(saved):
            self.restore(w.scope, entry)

    def branch(self, node: cst.CSTNode, arms: list[Arm], w: Walk) -> None:
        """Exclusive arms that are script paths. A decision made for this run walks one arm;
        otherwise the arms are walked to see whether they matter (events, bindings, an exit):
        when they do, the run stops and is run again once per arm (`paths.explore`); when the
        budget of paths is spent, they are joined as before."""
        key = (id(node), w.trail)
        choice = self.decisions.get(key)
        if choice is not None and choice < len(arms):
            self.walk_arm(arms[choice], w)
            return
        # What an arm can change: the names in scope and the attributes of every object.
        envs = [scope.env for scope in _scope_chain(w.scope)] + list(self.attributes.values())
        if self.join_all:
            mark = len(self.events)
            before = [dict(env) for env in envs]
            self.exclusive_arms(arms, node, w)
            self.joined = self.joined or (
                any(not isinstance(e, BranchArm | BranchJoin) for e in self.events[mark:])
                or any(env != old for env, old in zip(envs, before, strict=True))
            )
            return
        mark = len(self.events)
        before = [dict(env) for env in envs]
        assumed = dict(self.assumed)
        exited = self.exited
        after: list[list[dict]] = []
        exits: list[bool] = []
        for arm in arms:
            self.exited = exited
            try:
                self.walk_arm(arm, w)
            except Fork:
                # A branch inside this arm forks: the arms matter. This branch is decided
                # first, the one inside on the path that takes this arm.
                raise Fork(
                    key, tuple(a.label for a in arms), tuple(a.exceptional for a in arms)
                ) from None
            after.append([dict(env) for env in envs])
            exits.append(self.exited)
            for env, old in zip(envs, before, strict=True):
                env.clear()
                env.update(old)
            self.assumed = dict(assumed)
        matters = len(self.events) > mark or len(set(exits)) > 1
        if not matters:
            for index, env in enumerate(envs):
                merged = _merge([states[index] for states in after])
                if merged is None:
                    matters = True
                    break
                env.clear()
                env.update(merged)
        if matters:
            raise Fork(key, tuple(a.label for a in arms), tuple(a.exceptional for a in arms))
        self.exited = exits[0] if exits else exited

    def try_statement(self, node: cst.Try | cst.TryStar, w: Walk) -> None:
        """The `try` body running through (then `else`) and each handler are exclusive paths:
        a handler runs instead of what raised. A name the body used as a module
        (`x.parameters()`) is, in a handler for AttributeError, no module."""
        body = list(node.body.body)
        if node.orelse is not None:
            body += list(node.orelse.body.body)
        arms = [Arm(body, "the `try` block runs through")]
        modules = _module_receivers(node.body)
        for handler in node.handlers:
            caught = code_of(handler.type) if handler.type is not None else ""
            binds: tuple[tuple[str, Value], ...] = ()
            if not caught or any(e in caught for e in ("AttributeError", "TypeError", "Exception")):
                binds = tuple((name, Const("<not a module>")) for name in sorted(modules))
            label = f"`except {caught}` runs" if caught else "`except` runs"
            arms.append(Arm(handler.body.body, label, binds=binds, exceptional=True))
        if self.can_fork([], w):
            self.branch(node, arms, w)
        else:
            self.walk_block(body, w)
            for arm in arms[1:]:
                self.walk_arm(arm, replace(w, ctx=(*w.ctx, Frame("branch", self.new_id()))))
        if node.finalbody is not None:
            self.walk_block(node.finalbody.body.body, w)

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

    def exclusive_arms(self, arms: list[Arm], node: cst.CSTNode, w: Walk) -> None:
        """Arms the simulation joins (inside a loop, or past the budget of paths)."""
        ident = self.new_id()
        assumed = dict(self.assumed)
        for index, arm in enumerate(arms):
            self.emit(BranchArm, w, node, ident=ident, arm=index, arms=len(arms))
            self.assumed = dict(assumed)
            self.walk_arm(arm, w.inner(Frame("branch", ident)))
        self.assumed = assumed
        self.emit(BranchJoin, w, node, ident=ident)

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
