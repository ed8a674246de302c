"""What the statement walker's path sensitivity is built from: exclusive arms and the signal
that a run met an undecided one (`Fork`), how a message names an arm, how bindings merge after
arms that emitted nothing, and what a loop or branch body says about itself (the names it
computes from a parameter's name, whether it branches on its item, the modules it uses)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from freezelint.script.extract.builtins import UNROLL_LIMIT
from freezelint.script.extract.constants import ConstMap
from freezelint.script.extract.scope import Scope
from freezelint.script.extract.syntax import child_nodes, code_of, method_calls, names_in, smalls
from freezelint.script.values import Const, ModelRef, Value

MODEL_QUESTIONS = frozenset({"hasattr", "isinstance", "getattr", "callable", "type"})


EXITS = frozenset({"exit", "quit", "sys.exit", "os._exit"})
MUTATORS = frozenset(
    {"append", "extend", "insert", "update", "pop", "remove", "clear", "setdefault", "sort"}
)


class Fork(Exception):
    """A run met a branch whose arms matter and that its decisions do not fix. `exceptional`
    marks the arms that run only when something raised (`except` handlers)."""

    def __init__(
        self,
        key: tuple,
        labels: tuple[str, ...],
        exceptional: tuple[bool, ...] = (),
        touched: frozenset[int] | None = None,
    ) -> None:
        super().__init__(key)
        self.key = key
        self.labels = labels
        self.exceptional = exceptional or (False,) * len(labels)
        self.touched = touched


@dataclass(frozen=True)
class InRunFork:
    """A branch whose arms matter that a run met undecided and went on down its first arm:
    how messages name its arms, and which are `except` handlers. `touched`: the objects
    that existed before it and that its arms touch (`independence.touched`); None: global."""

    key: tuple
    labels: tuple[str, ...]
    exceptional: tuple[bool, ...]
    touched: frozenset[int] | None = None


def share(budget: int, arms: int, arm: int = 0) -> int:
    """The part of a budget of paths one arm of a fork gets: an equal part, the first arms
    one more while the rest lasts."""
    return budget // arms + (arm < budget % arms)


@dataclass(frozen=True)
class Arm:
    """One exclusive arm: its statements, how a message names it, the condition that holds in
    it (and those that do not), and names it binds (a handler's view of the `try` body)."""

    body: Sequence[cst.BaseStatement]
    text: str | None  # how a message names it; None: from its condition (worked out if asked)
    test: cst.BaseExpression | None = None
    negated: tuple[cst.BaseExpression, ...] = ()
    binds: tuple[tuple[str, Value], ...] = ()
    exceptional: bool = False  # an `except` handler: runs only when the `try` body raised

    @property
    def label(self) -> str:
        if self.text is not None:
            return self.text
        if self.test is not None:
            return f"`{code_of(self.test)}`"
        return _otherwise(list(self.negated))


def _otherwise(previous: list[cst.BaseExpression]) -> str:
    if len(previous) == 1:
        return f"not `{code_of(previous[0])}`"
    return "none of " + ", ".join(f"`{code_of(t)}`" for t in previous) + " holds"


def _scope_chain(scope: Scope) -> list[Scope]:
    out = []
    cur: Scope | None = scope
    while cur is not None:
        out.append(cur)
        cur = cur.parent
    return out


def _merge(envs: list[dict]) -> dict | None:
    """The bindings after arms that emitted nothing: equal ones kept, differing constants
    unknown; None when the arms bind a model, parameters or an optimizer differently."""
    out: dict = {}
    for key in set().union(*envs):
        values = [env.get(key) for env in envs]
        first = values[0]
        if all(v == first for v in values):
            out[key] = first
        elif all(v is None or isinstance(v, Const) for v in values) or _one_attribute(values):
            out[key] = None
        else:
            return None
    return out


def _one_attribute(values: list) -> bool:
    """`if feature_dim is None: feature_dim = model.num_features`: one attribute of a model in
    some arms, constants in the others; what it holds after them is not known (a later use of
    it is unknown, never wrong). Two different parts (`model.fc`, `model.classifier`) fork."""
    tracked = {v for v in values if v is not None and not isinstance(v, Const)}
    return len(tracked) == 1 and all(
        isinstance(v, ModelRef) and v.path and not v.wrappers for v in tracked
    )


def _unrollable(value: Value) -> tuple | None:
    if (
        isinstance(value, Const)
        and isinstance(value.value, tuple)
        and not isinstance(value.value, ConstMap)
        and 0 < len(value.value) <= UNROLL_LIMIT
    ):
        return value.value
    return None


def _derived_from_name(
    body: cst.BaseSuite, name_var: str | None
) -> tuple[tuple[str, cst.BaseExpression], ...]:
    """`x = <expression>` statements at the top of a loop body over named parameters, each the
    only assignment of `x` in the body, whose expression reads the name (or an earlier one)."""
    if name_var is None or type(body) is not cst.IndentedBlock:
        return ()
    counts: dict[str, int] = {}
    found: list[tuple[str, cst.BaseExpression]] = []
    for stmt in body.body:
        if type(stmt) is not cst.SimpleStatementLine:
            continue
        for small in stmt.body:
            if (
                type(small) is cst.Assign
                and len(small.targets) == 1
                and type(small.targets[0].target) is cst.Name
            ):
                target = small.targets[0].target.value
                reads = names_in(small.value)
                if name_var in reads or reads & {n for n, _ in found}:
                    found.append((target, small.value))
    for name in _assignment_targets(body):
        counts[name] = counts.get(name, 0) + 1
    return tuple((n, e) for n, e in found if counts.get(n) == 1)


def _assignment_targets(body: cst.CSTNode) -> list[str]:
    """Every plain name a block assigns, once per assignment."""
    out: list[str] = []
    stack: list[cst.CSTNode] = [body]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Assign:
            out += [t.target.value for t in cur.targets if type(t.target) is cst.Name]
        elif type(cur) in (cst.AugAssign, cst.AnnAssign, cst.For) and isinstance(
            cur.target, cst.Name
        ):
            out.append(cur.target.value)
        stack.extend(child_nodes(cur))
    return out


@functools.lru_cache(maxsize=4096)
def _decides_on(body: cst.CSTNode, name: str) -> bool:
    """Does a loop body branch on its loop variable (`if phase == "train"`), hand it to a
    call, or index with it (`model.blocks[i]`)? Only then is the loop worth running item by
    item. (One walk: each node with whether it is read as a test, a `match` subject, a call's
    argument or an index, where the variable counts, as `names_in` reads them.)"""
    stack: list[tuple[cst.CSTNode, bool]] = [(body, False)]
    while stack:
        cur, read = stack.pop()
        kind = type(cur)
        if kind is cst.Name:
            if read and cur.value == name:  # type: ignore[attr-defined]
                return True
            continue
        if kind is cst.Attribute:
            stack.append((cur.value, read))  # type: ignore[attr-defined]
            continue
        if read:
            stack.extend((child, True) for child in child_nodes(cur))
            continue
        if kind in (cst.If, cst.IfExp):
            inner: tuple[cst.CSTNode, ...] = (cur.test,)  # type: ignore[attr-defined]
        elif kind is cst.Match:
            inner = (cur.subject,)  # type: ignore[attr-defined]
        elif kind is cst.Subscript:
            inner = tuple(cur.slice)  # type: ignore[attr-defined]
        else:
            inner = ()
        for child in child_nodes(cur):
            if kind is cst.Call and type(child) is cst.Arg:
                stack.append((child.value, True))  # (its keyword is no read)
            else:
                stack.append((child, child in inner))
    return False


MODULE_METHODS = frozenset(
    {"parameters", "named_parameters", "children", "modules", "named_modules"}
)


def _module_receivers(body: cst.CSTNode) -> frozenset[str]:
    """Names a block calls module methods on (`x.parameters()`, `x.children()`)."""
    return frozenset(name for name, method in method_calls(body) if method in MODULE_METHODS)


def _is_main_guard(test: cst.BaseExpression | None) -> bool:
    return (
        type(test) is cst.Comparison
        and type(test.left) is cst.Name
        and test.left.value == "__name__"
    )


def _continue_guard(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """`if cond: continue` (no else): the rest of the loop body runs only when `not cond`."""
    if type(stmt) is cst.If and stmt.orelse is None:
        body = stmt.body.body
        last = body[-1] if body else None
        if last is not None and any(type(s) is cst.Continue for s in smalls(last)):
            return stmt.test
    return None


def _break_guard(stmt: cst.CSTNode) -> cst.BaseExpression | None:
    """`if i >= k: break` (no else, `i` a name compared upward: `>=`, `>`, `k <= i`): the
    rest of the loop body runs for the iterations before the first one where it holds, which
    for a counter of the loop are exactly those where `not cond` holds."""
    if type(stmt) is not cst.If or stmt.orelse is not None:
        return None
    body = stmt.body.body
    last = body[-1] if body else None
    if last is None or not any(type(s) is cst.Break for s in smalls(last)):
        return None
    test = stmt.test
    if type(test) is not cst.Comparison or len(test.comparisons) != 1:
        return None
    op = test.comparisons[0].operator
    right = test.comparisons[0].comparator
    if type(op) in (cst.GreaterThan, cst.GreaterThanEqual) and type(test.left) is cst.Name:
        return test
    if type(op) in (cst.LessThan, cst.LessThanEqual) and type(right) is cst.Name:
        return test
    return None
