"""Path-sensitive extraction: a script's consistent paths, each as its own timeline.

A run walks one root (the module body, or a function nobody in the file calls) with some
branches' arms fixed. A branch the code decides (a constant, a parameter default, a keyword
argument at the call) walks one arm and is no fork. A branch it does not decide (a command-line
flag, a config value) whose arms matter is a fork: the run goes on down its first arm, from the
state it had before the arms were tried (`snapshots.Snapshot`), and each other arm is a run of
its own with the arms before it fixed; so each path is walked once. Such a run of the module
body starts at the top-level statement holding the first branch it takes another arm of, from
the state the first run had there (`resume.py`), and ends where its state has become the first
run's but for what the rest never reads (`FirstRun.rejoined`). The arms of one
`if`/`elif`/`else`, `match` or `try`/`except` are never mixed. Before any of these, a root is
walked once with every branch joined (most roots have one path); that walk stops as soon as
the paths are sure to be explored (`joined_walk.py`).

Paths are bounded (`PATH_LIMIT`): past it, the remaining undecided branches are joined as the
simulation always did (unknown where the arms differ).
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from freezelint.script.events import Timeline
from freezelint.script.extract.branches import Fork, InRunFork, share
from freezelint.script.extract.follow_imports import FUEL_PER_FILE, FUEL_PER_RUN
from freezelint.script.extract.independence import Links, forget
from freezelint.script.extract.joined_walk import (
    FINDING_EVENTS,
    Decided,
    FileNames,
    reads_no_project_file,
)
from freezelint.script.extract.objects import FIT_EPOCH, FIT_SETUP, ClassRoot
from freezelint.script.extract.resume import FirstRun, ResumePoints
from freezelint.script.extract.statements import Extractor, Root
from freezelint.script.extract.syntax import forget_children, mentions_freezing, method_calls
from freezelint.script.imports import ImportTable
from freezelint.script.values import Const, Constructor, Namespace, Value

PATH_LIMIT = 64

Decision = tuple[tuple, int]  # (branch key, arm)


@dataclass
class Path:
    """One consistent path through a root: its timeline and the undecided branches' arms."""

    timeline: Timeline
    decisions: tuple[Decision, ...] = ()
    raised: bool = False  # it ends in an exception or `sys.exit()`
    # Per fork the path took an arm of: the ids of the objects that arm created (`independence`).
    ranges: dict[tuple, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    # The links over this path's events that exploring it worked out, with the branches they
    # joined (`_Linked`): the same question asked again with those branches needs no new walk.
    links: tuple[dict[tuple, frozenset[int]], Links] | None = field(
        default=None, compare=False, repr=False
    )


@dataclass
class RootPaths:
    """Every path of one root, with how messages name each branch's arms."""

    paths: list[Path] = field(default_factory=list)
    labels: dict[tuple, tuple[str, ...]] = field(default_factory=dict)
    exceptional: set[Decision] = field(default_factory=set)  # arms that are `except` handlers
    complete: bool = True  # False when the budget was spent and some branches were joined
    # What each fork's arms touch of the objects before it (None: global; `independence`).
    touched: dict[tuple, frozenset[int] | None] = field(default_factory=dict)


@dataclass
class Run:
    """What one walk of a root gave. (Kept apart from the walker: the walker of the module
    body's first run is put back to points of that run for later ones, `resume.py`.)"""

    timeline: Timeline
    forks: list[InRunFork]
    raised: bool
    joined: bool
    arm_ranges: dict[tuple, tuple[tuple[int, int], ...]]
    walker: Extractor
    decided: bool = False  # a joined walk stopped once its paths were sure to be explored

    @classmethod
    def of(cls, walker: Extractor, timeline: Timeline) -> Run:
        ranges = dict(walker.arm_ranges)  # (its spans are tuples: the walker replaces them)
        return cls(timeline, list(walker.forks), walker.raised, walker.joined, ranges, walker)


Walk = Callable[[dict[tuple, int], bool, "int | None"], Run]


def explore(
    run: Walk,
    refuel: Callable[[], None] | None = None,
    product: bool = False,
    rest: Callable[[], None] | None = None,
) -> tuple[RootPaths, Run]:
    """All paths of one root; `run(decisions, join_all, budget)` walks it once (`budget`: a
    branch with more arms is joined). Also returns the run of the first path (its walker: what
    the module body leaves bound, once the runner has put it back as that run left it).

    A run goes down the first arm of each undecided branch that matters and says which it met
    (`Extractor.forks`); the other arms are runs of their own, with the arms before fixed. So
    each path is walked once. Branches are taken depth first while all paths fit in
    `PATH_LIMIT`. A root with more is explored again with the budget shared out (`refuel`:
    before that walk): each arm of a branch gets an equal part of what its path had (an arm
    that needs less hands the rest to the next), so every arm of an early choice (which
    model, whether it is frozen) is a path of its own and later choices, where the parts run
    out, are the ones joined, rather than the first arm taking it all.

    Branches independent of each other (`independence`) are not combined: a path that took
    another arm of one branch varies only the branches linked to it (`product`, for tests:
    every combination, as before).

    The first walk, with every branch joined, may stop as soon as the paths are sure to be
    explored (`Run.decided`, `joined_walk`); `rest` then walks what it left, once the paths
    are, for what that adds to the file's facts."""
    # First every branch joined, as one walk: most roots (a library's functions) have nothing
    # a rule reads, or no branch that matters, and then that walk is their one path.
    joined = run({}, True, None)
    if not joined.decided and (
        not joined.joined or not any(isinstance(e, FINDING_EVENTS) for e in joined.timeline.events)
    ):
        out = RootPaths()
        out.paths.append(Path(joined.timeline, (), joined.raised))
        return out, joined
    found = _explore_paths(run, refuel, product)
    if joined.decided and rest is not None:
        rest()
    return found


def _explore_paths(
    run: Walk, refuel: Callable[[], None] | None, product: bool
) -> tuple[RootPaths, Run]:
    """`explore` past the joined walk: the paths, with the budget shared out if need be."""
    walked: dict[tuple, Run] = {}

    def remembered(decisions: dict[tuple, int], budget: int | None) -> Run:
        # The second exploration reuses a walk of the first with the same decisions where
        # the budget would not have changed it (every branch it forked fits its part).
        key = tuple(decisions.items())
        if budget is None:
            walked[key] = extractor = run(decisions, False, None)
            return extractor
        earlier = walked.get(key)
        if earlier is not None and _fits(earlier.forks, budget):
            return earlier
        return run(decisions, False, budget)

    found = _explore(remembered, shared=False, product=product)
    if found is not None:
        return found
    if refuel is not None:
        refuel()
    shared = _explore(remembered, shared=True, product=product)
    assert shared is not None
    return shared


def _fits(forks: list[InRunFork], budget: int) -> bool:
    """Would a run with `budget` have forked every one of these branches as one without?"""
    for fork in forks:
        arms = len(fork.labels)
        if arms > budget:
            return False
        budget = share(budget, arms)
    return True


def _explore(
    run: Callable[[dict[tuple, int], int | None], Run], shared: bool, product: bool
) -> tuple[RootPaths, Run] | None:
    """The paths, depth first; with the budget `shared` out, or else None as soon as they
    do not all fit."""
    out = RootPaths()
    known: dict[tuple, frozenset[int] | None] = {}  # what each fork touched, when first met
    stack: list[tuple[tuple[Decision, ...], int]] = [((), PATH_LIMIT)]
    spare = 0  # budget a finished path did not need, for the next one
    first: Run | None = None
    while stack:
        decisions, budget = stack.pop()
        budget, spare = budget + spare, 0
        extractor = run(dict(decisions), budget if shared else None)
        for fork in extractor.forks:
            known.setdefault(fork.key, fork.touched)
        varies = _varied(extractor, decisions, known, product)
        others = sum(len(fork.labels) - 1 for fork in extractor.forks if varies(fork))
        if not shared and len(out.paths) + 1 + len(stack) + others > PATH_LIMIT:
            return None
        taken = decisions
        for fork in extractor.forks:
            out.labels[fork.key] = fork.labels
            out.exceptional.update(
                (fork.key, arm) for arm, flag in enumerate(fork.exceptional) if flag
            )
            arms = len(fork.labels)
            if not varies(fork):
                taken = (*taken, (fork.key, 0))
                continue
            for arm in reversed(range(1, arms)):
                stack.append(((*taken, (fork.key, arm)), share(budget, arms, arm)))
            taken = (*taken, (fork.key, 0))
            budget = share(budget, arms)  # the first arm's part: this run's
        links = varies.links if isinstance(varies, _Linked) else None
        out.paths.append(
            Path(extractor.timeline, taken, extractor.raised, extractor.arm_ranges, links)
        )
        if shared:
            spare = budget - 1
            out.complete = out.complete and not extractor.joined
        first = first or extractor
    assert first is not None
    out.touched = known
    return out, first


def _varied(
    extractor: Run,
    decisions: tuple[Decision, ...],
    known: dict[tuple, frozenset[int] | None],
    product: bool,
) -> Callable[[InRunFork], bool]:
    """Which of the forks a run met are worth their other arms on the path it took: all of
    them on the path that took every first arm; on a path that took another arm somewhere,
    those linked to the branches it took another arm of (`independence`); every one when
    one of those is global."""
    active = [key for key, arm in decisions if arm]
    if product or not active or any(known.get(key) is None for key in active):
        return lambda fork: True
    return _Linked(extractor, active, known)


class _Linked:
    """`_varied` for a path that took other arms of `active` branches: is a fork linked to
    one of them? The path's links are worked out once, when a fork first asks (`links`)."""

    def __init__(
        self, extractor: Run, active: list[tuple], known: dict[tuple, frozenset[int] | None]
    ) -> None:
        self._extractor = extractor
        self._active = active
        self._known = known
        self._touched = frozenset().union(*(known[key] for key in active))  # type: ignore[misc]
        self.links: tuple[dict[tuple, frozenset[int]], Links] | None = None

    def __call__(self, fork: InRunFork) -> bool:
        if fork.touched is None or fork.touched & self._touched:
            return True  # (global, or touching an object an active branch touches)
        if self.links is None:
            extractor = self._extractor
            branches: dict[tuple, frozenset[int]] = {
                key: self._known[key]  # type: ignore[misc]
                for key in self._active
            }
            branches.update((f.key, f.touched) for f in extractor.forks if f.touched is not None)
            timeline = extractor.timeline
            found = Links.of(timeline.events, branches, extractor.arm_ranges, timeline.built_from)  # type: ignore[arg-type]
            self.links = (branches, found)
        return any(self.links[1].linked(fork.key, k) for k in self._active)


def extract_paths(
    module: cst.Module,
    imports: ImportTable | None = None,
    aliases: dict[str, tuple[str, str]] | None = None,
    path: pathlib.Path | None = None,
    fresh_forks: bool = False,
    product: bool = False,
    rejoin: bool = True,
    early: bool = True,
    text: str | None = None,
) -> list[RootPaths]:
    """The paths of every root: the module body first, then the functions it does not call,
    then its classes. `path`: the file's own, for imports of the project's other files.
    `fresh_forks` (for tests): a run that meets a fork starts again from the root down its
    first arm, instead of going on from the state before the arms were tried; the paths must
    be the same. `product` (for tests): every combination of the arms of independent
    branches. `rejoin` (False for tests): a run that took another arm walks to the end, never
    taking the first run's rest as its own (`resume.FirstRun.rejoined`); the paths must be
    the same. `early` (False for tests): a walk with every branch joined runs to its end,
    even once its root's paths are sure to be explored (`joined_walk`); the paths must be the
    same. `text`: the source the module was parsed from, read instead of the tree where it
    can be (`FileNames`)."""
    forget()  # (what the previous file's objects named, and its nodes' children)
    forget_children()
    table = imports or ImportTable.of(module)
    roots_fns = Extractor(module, table).define()
    lr_scheduled = False
    inlined: set[str] = set()
    fuel = FUEL_PER_FILE  # statements of other files all runs may still walk
    # A joined walk may stop once its root's paths are sure to be explored (`joined_walk`):
    # where no walk spends fuel, so that the rest can be walked later, if need be, instead.
    stops = early and reads_no_project_file(table, path)
    names = FileNames(module, text)

    def refuel() -> None:
        # The walk again with the budget shared out has the file's fuel again.
        nonlocal fuel
        fuel = max(fuel, FUEL_PER_FILE)

    def runner(
        fn: Root, globals_: dict[str, Value]
    ) -> tuple[Walk, Callable[[], None], Callable[[], None]]:
        first: FirstRun | None = None  # the module body's, which later runs resume

        def run(decisions: dict[tuple, int], join_all: bool, budget: int | None) -> Run:
            nonlocal first, fuel
            records = fn is None and not decisions and not join_all and budget is None
            if first is not None and not join_all and budget is None:
                point = first.point_for(decisions, min(FUEL_PER_RUN, fuel))
                if point is not None:
                    try:
                        timeline = first.resume(point, decisions)
                    finally:
                        fuel -= first.fuel - max(first.walker.fuel, 0)
                    return _ran(first.walker, timeline)
            forked: list[InRunFork] = []
            while True:
                extractor = Extractor(module, table)
                extractor.here.path = path
                extractor.aliases = aliases or {}
                extractor.define()
                extractor.decisions = decisions
                extractor.join_all = join_all
                extractor.fork_budget = budget
                extractor.fresh_forks = fresh_forks
                if records and first is None and not fresh_forks:
                    extractor.resume_points = ResumePoints()
                    if rejoin:
                        extractor.start_read_log()
                extractor.fuel = start = min(FUEL_PER_RUN, fuel)
                extractor.stop_when_decided = join_all and stops
                try:
                    timeline = extractor.walk_root(fn, globals_)
                except Decided:
                    _ran(extractor, Timeline())
                    return Run(Timeline(), [], False, True, {}, extractor, decided=True)
                except Fork as fork:
                    # (`fresh_forks`: the run stopped at the fork; it starts again down the
                    # fork's first arm, as runs did before they went on from a snapshot.)
                    forked.append(InRunFork(fork.key, fork.labels, fork.exceptional, fork.touched))
                    decisions = {**decisions, fork.key: 0}
                    if budget is not None:
                        budget = share(budget, len(fork.labels))
                    continue
                finally:
                    fuel -= start - max(extractor.fuel, 0)
                extractor.forks[:0] = forked
                if extractor.resume_points is not None:
                    first = FirstRun(extractor, extractor.resume_points, start)
                    extractor.resume_points = None
                return _ran(extractor, timeline)

        def settle() -> None:
            if first is not None:
                first.settle()

        def rest() -> None:
            # What a joined walk stopped early left, walked when it could add to the facts.
            nonlocal stops
            if names.may_add(inlined, lr_scheduled):
                stops, was = False, stops
                try:
                    run({}, True, None)
                finally:
                    stops = was

        return run, settle, rest

    def _ran(walker: Extractor, timeline: Timeline) -> Run:
        nonlocal lr_scheduled
        lr_scheduled = lr_scheduled or walker.lr_scheduled
        inlined.update(walker.inlined)
        return Run.of(walker, timeline)

    run_body, settle, rest = runner(None, {})
    body, ran = explore(run_body, refuel, product, rest)
    settle()
    first = ran.walker
    roots = [body]
    globals_ = {
        k: v
        for k, v in first.module_scope.env.items()
        if isinstance(v, Const | Constructor | Namespace)
    }
    functions = set(first.functions.values())

    def explored(root: Root) -> RootPaths:
        run, _, rest = runner(root, globals_)
        return explore(run, refuel, product, rest)[0]

    walked: list[tuple[cst.FunctionDef, RootPaths]] = []
    for fn in roots_fns:
        if fn in functions and fn.name.value in inlined:
            continue
        walked.append((fn, explored(fn)))
    # A function another root calls is walked there, with its arguments.
    roots += [r for fn, r in walked if not (fn in functions and fn.name.value in inlined)]
    for root_class in class_roots(first, inlined):
        roots.append(explored(root_class))
    imported = frozenset(k for k in table.aliases if not k.startswith("*"))
    for root in roots:
        for path in root.paths:
            path.timeline.lr_scheduled = lr_scheduled
            path.timeline.imported = imported
    return roots


def class_roots(extractor: Extractor, inlined: set[str]) -> list[ClassRoot]:
    """The file's classes as roots: each method no other root calls and that does something
    freezing cares about (itself or through the methods it calls), after `__init__`; a
    LightningModule's fit hooks together, in the framework's order; a class nobody builds and
    without such methods, its `__init__` alone when that acts."""
    out: list[ClassRoot] = []
    for name, cls in list(extractor.classes.items()):
        if cls not in extractor.module.body:
            continue
        methods = [s for s in cls.body.body if type(s) is cst.FunctionDef]
        calls, acting = _method_facts(methods)
        called = set().union(*calls.values()) if calls else set()
        alone = [
            fn
            for fn in methods
            if fn.name.value != "__init__"
            and fn.name.value in acting
            and fn.name.value not in called
            and f"{name}.{fn.name.value}" not in inlined
        ]
        if extractor.is_lightning_class(cls):
            hooks = [
                found[0]
                for hook in (*FIT_SETUP, *FIT_EPOCH)
                if (found := extractor.find_method(cls, hook)) is not None
            ]
            if f"{name}.configure_optimizers" not in inlined:
                out.append(ClassRoot(cls, tuple(hooks), fit=True))
            alone = [fn for fn in alone if fn not in hooks]
        out.extend(ClassRoot(cls, (fn,)) for fn in alone)
        if (
            not any(r.cls is cls for r in out)
            and "__init__" in acting
            and f"{name}.__init__" not in inlined
        ):
            out.append(ClassRoot(cls, ()))
    return out


def _method_facts(methods: list[cst.FunctionDef]) -> tuple[dict[str, set[str]], set[str]]:
    """Per method, the methods of its class it calls (`self.freeze()`: walked there), and the
    methods that act on freezing, themselves or through those calls."""
    calls: dict[str, set[str]] = {}
    acting: set[str] = set()
    for fn in methods:
        calls[fn.name.value] = {m for name, m in method_calls(fn.body) if name == "self"}
        if mentions_freezing(fn.body):
            acting.add(fn.name.value)
    changed = True
    while changed:
        changed = False
        for method, callees in calls.items():
            if method not in acting and callees & acting:
                acting.add(method)
                changed = True
    return calls, acting


def extract(
    module: cst.Module,
    imports: ImportTable | None = None,
    aliases: dict[str, tuple[str, str]] | None = None,
    path: pathlib.Path | None = None,
) -> list[Timeline]:
    """Every path's timeline, roots in order (for `freezelint events` and tests).
    `aliases` maps a project's own model factories to a known architecture."""
    roots = extract_paths(module, imports, aliases, path)
    return [p.timeline for root in roots for p in root.paths]
