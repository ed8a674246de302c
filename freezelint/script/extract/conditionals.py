"""Conditionals: `if`/`elif`/`else` and `try`/`except` (and the arms of `match`) as exclusive
arms. An arm the code decides is walked alone; arms that are script paths fork the run
(`branch`, `paths.explore`); conditions on what changes per iteration of a loop are taken as run
for the loop items they pick; anything else is joined by the simulation (`exclusive_arms`).
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.events import BranchArm, BranchJoin, Frame
from freezelint.script.extract.branches import (
    MODEL_QUESTIONS,
    Arm,
    Fork,
    InRunFork,
    _is_main_guard,
    _merge,
    _module_receivers,
    _scope_chain,
    share,
)
from freezelint.script.extract.constants import NotConstant, truth
from freezelint.script.extract.independence import touched
from freezelint.script.extract.loops import LoopWalker, own_statement
from freezelint.script.extract.schedulers import SchedulerRef
from freezelint.script.extract.scope import Walk, _visible_items
from freezelint.script.extract.snapshots import Snapshot
from freezelint.script.extract.syntax import child_nodes, code_of, names_in, smalls, try_body
from freezelint.script.imports import dotted
from freezelint.script.values import (
    Const,
    ModelRef,
    ModuleItem,
    OptimizerRef,
    ParamItem,
    Value,
)


class ConditionalWalker(LoopWalker):
    """`if` and `try` statements, and exclusive arms; `statements.Extractor` builds on it."""

    decisions: dict[tuple, int]
    # The branches this run forked (`InRunFork`, in program order): it goes down their first
    # arm, and `paths.explore` runs the others. Inside `trial` (arms walked to see whether
    # they matter) a branch that matters stops the run instead (`Fork`), for the outer one.
    forks: list[InRunFork]
    trial: int
    fresh_forks: bool  # (tests: a fork stops the run, see `paths.extract_paths`)
    join_all: bool
    fork_budget: int | None  # a branch with more arms than this is joined (None: no bound)
    joined: bool
    # Per fork this run took an arm of: the ids of the objects each walk of that arm created.
    arm_ranges: dict[tuple, tuple[tuple[int, int], ...]]  # (tuples: a snapshot copies one level)

    def if_statement(self, node: cst.If, w: Walk) -> None:
        """Decide what the code decides; fork the rest (see `branch`)."""
        live: list[Arm] = []
        previous: list[cst.BaseExpression] = []
        cur: cst.If | cst.Else | None = node
        # Each `elif` is decided knowing the tests before it failed; an `else` (or the nothing
        # after the last `elif`) that no value can reach is no arm (`if x == "a": ... elif
        # x == "b": ...` with argparse `choices=["a", "b"]`).
        assumed = self.saved_facts()
        possible = True
        while cur is not None:
            if type(cur) is cst.Else:
                if possible:
                    live.append(Arm(cur.body.body, None, negated=tuple(previous)))
                break
            main = _is_main_guard(cur.test) and self.here.main
            decided = True if main else self.decide(cur.test, w)
            if decided is not False:
                live.append(Arm(cur.body.body, None, cur.test, tuple(previous)))
            if decided is True:
                break
            previous.append(cur.test)
            possible = self.assume(cur.test, False, w)
            cur = cur.orelse
            if not possible:
                break
        else:
            if possible:
                live.append(Arm([], None, negated=tuple(previous)))
        self.restore_facts(assumed)
        if not live:
            return  # (a path whose facts contradict each other: it does not happen)
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
        if isinstance(value, OptimizerRef | SchedulerRef):
            return True  # (`if scheduler:`: an optimizer or scheduler object is always true)
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

    def _option_table(self, arms: list[Arm], w: Walk) -> bool:
        """Do the arms test one command-line or config value for equality with literals
        (`if args.net == "a": ... elif args.net == "b": ...`)?"""
        subjects: set[str] = set()
        for arm in arms:
            if arm.test is None:
                continue
            test = arm.test
            if not (
                type(test) is cst.Comparison
                and len(test.comparisons) == 1
                and type(test.comparisons[0].operator) in (cst.Equal, cst.In)
                and _literals(test.comparisons[0].comparator)
            ):
                return False
            subjects.add(code_of(test.left))
        if len(subjects) != 1:
            return False
        value = self.eval(arms[0].test.left, w)  # type: ignore[union-attr]
        return isinstance(value, Const) and value.source is not None

    def _per_item(self, tests: list[cst.BaseExpression], w: Walk) -> bool:
        """Do the conditions pick among the items of a loop over parameters or modules?"""
        names = set().union(*(names_in(t) for t in tests))
        for var in _visible_items(w.scope):
            item = w.scope.lookup(var)[1]
            own = {var}
            if isinstance(item, ParamItem):
                own |= {item.name_var} if item.name_var else set()
                own |= {n for n, _ in item.derived} | item.index_vars
            elif isinstance(item, ModuleItem):
                own |= {item.name_var} if item.name_var else set()
                own |= {n for n, _ in item.derived}
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
            if type(cur) is cst.Call and dotted(cur.func) in MODEL_QUESTIONS and cur.args:
                asked = cur.args[0].value
            elif type(cur) is cst.Attribute and cur.attr.value == "training":
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
            self.walk_taken(key, arms[choice], w)
            return
        # What an arm can change: the names in scope and the attributes of every object.
        envs = [scope.env for scope in _scope_chain(w.scope)] + list(self.attributes.values())
        owners = list(self.attributes)  # (whose attributes the last `envs` are)
        if self.join_all or (self.fork_budget is not None and len(arms) > self.fork_budget):
            mark = len(self.events)
            before = [dict(env) for env in envs]
            self.exclusive_arms(arms, node, w)
            self.joined = self.joined or (
                _acted(self.events, mark)
                or any(env != old for env, old in zip(envs, before, strict=True))
            )
            if any(_leaves_the_block(arm.body) for arm in arms):
                # What follows may not run: a `raise` after it is not certain (a helper's
                # `if device == "cpu": return ...` then `raise ValueError`).
                self.may_have_returned = True
            return
        exceptional = tuple(a.exceptional for a in arms)
        mark = len(self.events)
        before = [dict(env) for env in envs]
        scopes = [(scope.returns, list(scope.returns)) for scope in _scope_chain(w.scope)]
        snapshot = None if self.trial else Snapshot(self)
        first_new = self._last_id + 1  # the first id an arm's new objects get
        assumed = self.saved_facts()
        exited, raised = self.exited, self.raised
        after: list[list[dict]] = []
        exits: list[bool] = []
        raises: list[bool] = []
        matters = nested = False
        # The first arm's trial, kept for this run to go on from should the arms matter: a
        # trial walks as a run does but for a branch inside that matters (it stops, `Fork`)
        # and for the budget of paths (shared out only once this branch forks).
        keeps = snapshot is not None and self.fork_budget is None
        first_arm: tuple[Snapshot, list[dict], list[list], int] | None = None
        trial = self.trial
        self.trial += 1
        try:
            for arm in arms:
                self.exited, self.raised = exited, raised
                try:
                    self.walk_arm(arm, w)
                except Fork:
                    # A branch inside this arm forks: the arms matter. This branch is decided
                    # first, the one inside on the path that takes this arm.
                    matters = nested = True
                    break
                after.append([dict(env) for env in envs])
                if keeps and first_arm is None:
                    returned = [list(r) for r, _ in scopes]
                    first_arm = (Snapshot(self), after[0], returned, self._last_id)
                exits.append(self.exited)
                raises.append(self.raised and not raised)
                _put_back(envs, before)
                self.restore_facts(assumed)
        finally:
            self.trial -= 1
        # An arm that only raises (`if name not in known: raise ValueError`) ends an error
        # path, which has no finding of its own (`checker.find`): the others go on.
        going = [i for i, r in enumerate(raises) if not r] or list(range(len(arms)))
        merges: list[dict] = []
        if not matters:
            matters = _acted(self.events, mark) or len({exits[i] for i in going}) > 1
        if not matters:
            table = self._option_table(arms, w)
            for index in range(len(envs)):
                merged = _merge([after[i][index] for i in going])
                if merged is None or (table and _lost_constant([after[i][index] for i in going])):
                    # (Constants chosen by a command-line option's value, `if args.net ==
                    # "resnet18": k = 45`: a later condition on the option picks its arm.)
                    matters = nested = True
                    break
                merges.append(merged)
        if matters:
            labels = tuple(a.label for a in arms)  # (code, generated only for a fork)
            if snapshot is None:
                raise Fork(key, labels, exceptional)  # (for the branch around: it matters)
            touched = None
            if not nested and len({exits[i] for i in going}) == 1:
                touched = self._fork_touches(mark, envs, owners, before, after, first_new)
            if self.fresh_forks:
                raise Fork(key, labels, exceptional, touched)
            if first_arm is not None:
                # This run goes on from the first arm as its trial left it.
                state, bindings, returned, last = first_arm
            else:
                # This run goes down the first arm, from the state before the arms were walked.
                state, bindings, returned = snapshot, before, [old for _, old in scopes]
                last = None
            state.restore()
            self.trial = trial  # (the first arm's state was kept during the trial)
            _put_back(envs, bindings)
            for (returns, _), old_returns in zip(scopes, returned, strict=True):
                returns[:] = old_returns
            arm = self.fork_here(key, labels, exceptional, touched)
            if last is None:
                self.walk_taken(key, arms[arm], w)
            else:
                self._arm_walked(key, first_new, last)
            return
        _put_back(envs, merges)
        del self.events[mark:]  # only the markers of arms joined inside, which did nothing
        self.exited = exits[going[0]] if arms else exited
        self.raised = raised or all(raises)

    def _fork_touches(
        self,
        mark: int,
        envs: list[dict],
        owners: list[int],
        before: list[dict],
        after: list[list[dict]],
        new: int,
    ) -> frozenset[int] | None:
        """What the arms just walked touch of the objects that existed before them (see
        `independence`): the ids their events name, bind differently or set attributes of."""
        scopes = len(envs) - len(owners)
        changes: list[tuple] = []
        setters: set[int] = set()
        for arm in after:
            for index, (now, then) in enumerate(zip(arm, before, strict=True)):
                if now == then:
                    continue
                for name in now.keys() | then.keys():
                    if now.get(name) != then.get(name):
                        changes.append((then.get(name), now.get(name)))
                if index >= scopes:
                    setters.add(owners[index - scopes])
        found = touched(self.events[mark:], changes, setters)
        return None if found is None else frozenset(i for i in found if i < new)

    def walk_taken(self, key: tuple, arm: Arm, w: Walk) -> None:
        """Walk the arm this run takes at a fork, noting the ids of the objects it creates (on
        this path, what the fork touches besides what existed before it)."""
        start = self._last_id + 1
        self.walk_arm(arm, w)
        self._arm_walked(key, start, self._last_id)

    def _arm_walked(self, key: tuple, start: int, end: int) -> None:
        """Note that this run walked an arm of fork `key` creating the objects `start`-`end`."""
        self.arm_ranges[key] = (*self.arm_ranges.get(key, ()), (start, end))

    def fork_here(
        self,
        key: tuple,
        labels: tuple[str, ...],
        exceptional: tuple[bool, ...],
        touched: frozenset[int] | None = None,
    ) -> int:
        """Fork at a branch whose arms matter: this run takes the first arm (with its part of
        the budget of paths), the others are left to `paths.explore`."""
        self.forks.append(InRunFork(key, labels, exceptional, touched))
        self.decisions[key] = 0
        if self.fork_budget is not None:
            self.fork_budget = share(self.fork_budget, len(labels))
        return 0

    def try_statement(self, node: cst.Try | cst.TryStar, w: Walk) -> None:
        """The `try` body running through (then `else`) and each handler are exclusive paths:
        a handler runs instead of what raised. A name the body used as a module
        (`x.parameters()`) is, in a handler for AttributeError, no module."""
        body = try_body(node)
        arms = [Arm(body, "the `try` block runs through")]
        modules = _module_receivers(node.body)
        for handler in node.handlers:
            caught = code_of(handler.type) if handler.type is not None else ""
            binds: tuple[tuple[str, Value], ...] = ()
            if not caught or any(e in caught for e in ("AttributeError", "TypeError", "Exception")):
                binds = tuple((name, Const("<not a module>")) for name in sorted(modules))
            label = f"`except {caught}` runs" if caught else "`except` runs"
            arms.append(Arm(handler.body.body, label, binds=binds, exceptional=True))
        if len(arms) > 1 and self.can_fork([], w):  # `try`/`finally` alone is no choice
            self.branch(node, arms, w)
        else:
            self.walk_block(body, w)
            for arm in arms[1:]:
                self.walk_arm(arm, w.changed(ctx=(*w.ctx, Frame("branch", self.new_id()))))
        if node.finalbody is not None:
            self.walk_block(node.finalbody.body.body, w)

    def loop_else(self, node: cst.For | cst.While, w: Walk) -> None:
        """A loop's `else` runs when no `break` ended the loop. Whether one does depends on
        the items (a name matched, a layer found), which the walk does not decide: with a
        `break` in the body, the `else` and nothing are arms the simulation joins."""
        if node.orelse is None:
            return
        if not own_statement(node.body, cst.Break):
            self.walk_block(node.orelse.body.body, w)
            return
        arms = [
            Arm(node.orelse.body.body, "the loop ends without `break`"),
            Arm([], "the loop ends at `break`"),
        ]
        self.exclusive_arms(arms, node, w)

    def exclusive_arms(self, arms: list[Arm], node: cst.CSTNode, w: Walk) -> None:
        """Arms the simulation joins (inside a loop, or past the budget of paths)."""
        ident = self.new_id()
        assumed = self.saved_facts()
        for index, arm in enumerate(arms):
            self.emit(BranchArm, w, node, ident=ident, arm=index, arms=len(arms))
            self.restore_facts(assumed)
            self.walk_arm(arm, w.inner(Frame("branch", ident)))
        self.restore_facts(assumed)
        self.emit(BranchJoin, w, node, ident=ident)


def _put_back(envs: list[dict], contents: list[dict]) -> None:
    """Make each environment hold its content again (in place: scopes and objects keep them)."""
    for env, content in zip(envs, contents, strict=True):
        env.clear()
        env.update(content)


def _leaves_the_block(body) -> bool:
    """Does an arm leave the function (a `return` among its own statements)?"""
    return any(type(small) is cst.Return for stmt in body for small in smalls(stmt))


def _literals(node: cst.BaseExpression) -> bool:
    """A string or integer literal, or a tuple, list or set of them."""
    if type(node) in (cst.Tuple, cst.List, cst.Set):
        return bool(node.elements) and all(_literals(e.value) for e in node.elements)
    return type(node) in (cst.SimpleString, cst.Integer)


def _lost_constant(envs: list[dict]) -> bool:
    """Do the arms bind a name to different constants (one joined to unknown)?"""
    for key in set().union(*envs):
        values = [env.get(key) for env in envs]
        if any(v != values[0] for v in values) and any(isinstance(v, Const) for v in values):
            return True
    return False


def _acted(events: list, mark: int) -> bool:
    """Did anything happen since `mark` besides the markers of arms joined inside?"""
    return any(not isinstance(e, BranchArm | BranchJoin) for e in events[mark:])
