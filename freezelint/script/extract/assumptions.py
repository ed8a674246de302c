"""What a path has assumed about values the code does not fix: the facts of the path.

Taking an arm of `if args.freeze:` assumes the flag is set; a later `if freeze:` on the same
value (`freeze = args.freeze`, `self.feature_extract = feature_extract`) is then decided, so the
arms of two conditions on one value are never mixed. A value has an identity when it is a
command-line or config value (its `Const.source`) or, for a value nothing is known of, the name
or object attribute it was first bound to (names copied from it follow it: `origins`).

A path keeps three kinds of facts about such a value:
- its truth (`if x:`, `if not obj.x:`);
- its domain: `x == "vgg16"` pins it (from then on it *is* "vgg16": `x.startswith("vgg")` is
  decided, and so is a model built from it), `x != "a"` and `x not in (...)` exclude values,
  `x in (...)` and argparse `choices=` allow only some (`Domain`);
- any other test of it alone with constants (`x.startswith("vgg")`, `"vit" in x`), by its text
  with the value's spelling taken out, so that the same test has the same truth wherever it is
  made and however the value is reached (`model_name`, `self.model_name`).
A fact that contradicts the path's facts makes the arm that needs it impossible (`assume`
returns False); no message can then name a contradictory condition.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from freezelint.script.extract.identities import Key, ValueIdentity
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import child_nodes
from freezelint.script.node_kinds import is_a
from freezelint.script.values import Const, Value

# Markers among a path's facts: some value is pinned (names must be looked up against the
# pins), some test was remembered by its shape.
_PINNED, _TESTS = ("pinned",), ("tests",)
# Comparisons that say something of a value's domain: (positive operator, its negation).
_EQUALITY = (cst.Equal, cst.Is)
_INEQUALITY = (cst.NotEqual, cst.IsNot)


@dataclass(frozen=True)
class Domain:
    """The values one value may hold on a path: `allowed` (None: any) minus `excluded`."""

    allowed: frozenset | None = None
    excluded: frozenset = frozenset()

    @property
    def possible(self) -> frozenset | None:
        return None if self.allowed is None else self.allowed - self.excluded

    @property
    def pinned(self) -> tuple[bool, object]:
        possible = self.possible
        if possible is not None and len(possible) == 1:
            return True, next(iter(possible))
        return False, None

    def holds(self, values: frozenset) -> bool | None:
        """Does the value lie in `values`? None when the path does not tell."""
        possible = self.possible
        if possible is not None and possible <= values:
            return True
        if (possible is not None and not possible & values) or values <= self.excluded:
            return False
        return None

    def narrowed(self, values: frozenset, inside: bool) -> Domain:
        if inside:
            allowed = values if self.allowed is None else self.allowed & values
            return Domain(allowed, self.excluded)
        return Domain(self.allowed, self.excluded | values)


class ConditionMemory(ValueIdentity):
    def __init__(self, module: cst.Module, imports) -> None:  # type: ignore[no-untyped-def]
        super().__init__(module, imports)
        # The path's facts: a value's truth (by its key), its domain (`("domain", key)`) and
        # other tests of it (`("test", key, text)`). Saved and restored with the arms.
        self.assumed: dict[Key, object] = {}

    def saved_facts(self) -> dict[Key, object]:
        """A copy of what the path assumed, to put back with `restore_facts` (the walker's own
        dict is kept, refilled in place: see `read_log`)."""
        return dict(dict.items(self.assumed))

    def restore_facts(self, saved: dict[Key, object]) -> None:
        dict.clear(self.assumed)
        dict.update(self.assumed, saved)

    def forget_facts(self, target: cst.Subscript, w: Walk) -> None:
        """`cfg["model"]["name"] = ...`: what the path assumed of that item (or of items
        inside it) no longer holds."""
        key = self._item_key(target, w, None)
        if key is None or not self.assumed:
            return
        for fact in list(self.assumed):
            if _within(fact, key):
                del self.assumed[fact]

    # -- a pinned value is that value --------------------------------------------------------

    def eval(self, node: cst.BaseExpression | None, w: Walk) -> Value:
        value = super().eval(node, w)
        if (
            _PINNED in self.assumed
            and type(node) in (cst.Name, cst.Attribute, cst.Subscript)
            and (value is None or (isinstance(value, Const) and value.source is not None))
        ):
            key = self.value_key(node, w, value)  # type: ignore[arg-type]
            domain = self.assumed.get(("domain", key)) if key is not None else None
            if isinstance(domain, Domain):
                pinned, held = domain.pinned
                if pinned:
                    return Const(held)
        return value

    # -- facts -------------------------------------------------------------------------------

    def _bare(self, test: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
        negated = False
        while type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            test, negated = test.expression, not negated
        return test, negated

    def _domain(self, key: Key, value: Value) -> Domain:
        known = self.assumed.get(("domain", key))
        if isinstance(known, Domain):
            return known
        choices = value.choices if isinstance(value, Const) else None
        return Domain(frozenset(choices) if choices else None)

    def _membership(
        self, test: cst.BaseExpression, w: Walk
    ) -> tuple[Key, Domain, frozenset, bool] | None:
        """`x == c`, `x != c`, `x is None`, `x in (c, d)`, `x not in ...` (or `c == x`) on a
        value with an identity: (its key, its domain, the constants, whether the test says
        the value is among them)."""
        if type(test) is not cst.Comparison or len(test.comparisons) != 1:
            return None
        op = test.comparisons[0].operator
        left, right = test.left, test.comparisons[0].comparator
        if type(op) in (cst.In, cst.NotIn):
            sides = [(left, right)]
        elif isinstance(op, (*_EQUALITY, *_INEQUALITY)):
            sides = [(left, right), (right, left)]
        else:
            return None
        for subject, other in sides:
            constant = self.eval(other, w)
            if not isinstance(constant, Const) or not constant.decided:
                continue
            value = self.eval(subject, w)
            if isinstance(value, Const) and value.decided:
                continue
            key = self.value_key(subject, w, value)
            if key is None:
                continue
            if type(op) in (cst.In, cst.NotIn):
                if not isinstance(constant.value, tuple | frozenset | set | list):
                    return None
                values = constant.value
            else:
                values = (constant.value,)
            try:
                members = frozenset(values)
            except TypeError:
                return None
            inside = isinstance(op, (cst.In, *_EQUALITY))
            return key, self._domain(key, value), members, inside
        return None

    def _test_text(self, test: cst.BaseExpression, w: Walk) -> tuple[Key, str] | None:
        """A test of one value with identity and constants only, as (the value's key, the test's
        shape with the value's spelling taken out and constants written as their values)."""
        leaves = _leaves(test)
        if not leaves:
            return None
        subject: Key | None = None
        marks: dict[int, str] = {}
        for leaf in leaves:
            value = self.eval(leaf, w)
            if isinstance(value, Const) and value.decided:
                marks[id(leaf)] = f"#{value.value!r}"
                continue
            key = self.value_key(leaf, w, value)
            if key is None or (subject is not None and key != subject):
                return None
            subject = key
            marks[id(leaf)] = "@"
        if subject is None:
            return None
        return subject, _shape(test, marks)

    def assume(self, test: cst.BaseExpression, truth: bool, w: Walk) -> bool:
        """Take `test` as having `truth` on this path; False when that contradicts what the
        path has assumed (the arm that needs it cannot run)."""
        bare, negated = self._bare(test)
        truth = truth != negated
        consistent = True
        if type(bare) is cst.BooleanOperation and (type(bare.operator) is cst.And) == truth:
            # `a and b` taken as true (`a or b` as false): so is each of its operands.
            for operand in (bare.left, bare.right):
                consistent = self.assume(operand, truth, w) and consistent
        key = self.value_key(bare, w)
        if key is not None:
            consistent = self.assumed.get(key, truth) == truth
            self.assumed[key] = truth
        member = self._membership(bare, w)
        if member is not None:
            key, domain, values, inside = member
            narrowed = domain.narrowed(values, inside == truth)
            if narrowed.possible is not None and not narrowed.possible:
                consistent = False
            self.assumed[("domain", key)] = narrowed
            if narrowed.pinned[0]:
                self.assumed[_PINNED] = True
        text = self._test_text(bare, w)
        if text is not None:
            fact = ("test", *text)
            consistent = consistent and self.assumed.get(fact, truth) == truth
            self.assumed[fact] = truth
            self.assumed[_TESTS] = True
        return consistent

    def assumed_truth(self, test: cst.BaseExpression, w: Walk) -> bool | None:
        if not self.assumed:
            return None
        bare, negated = self._bare(test)
        found = self._assumed(bare, w)
        return None if found is None else found != negated

    def _assumed(self, bare: cst.BaseExpression, w: Walk) -> bool | None:
        key = self.value_key(bare, w)
        if key is not None and key in self.assumed:
            return bool(self.assumed[key])
        if type(bare) in (cst.Name, cst.Attribute, cst.Subscript):
            # A test of one value: its test fact (`@`) is set and dropped with `key`'s, so it
            # holds nothing `key` did not (`assume`, `forget_facts`).
            return None
        member = self._membership(bare, w)
        if member is not None:
            _, domain, values, inside = member
            held = domain.holds(values)
            if held is not None:
                return held == inside
        text = self._test_text(bare, w) if _TESTS in self.assumed else None
        if text is not None:
            found = self.assumed.get(("test", *text))
            if isinstance(found, bool):
                return found
        return None


_COMPOSITE = (
    cst.Comparison,
    cst.ComparisonTarget,
    cst.BooleanOperation,
    cst.UnaryOperation,
    cst.BinaryOperation,
    cst.Tuple,
    cst.List,
    cst.Set,
    cst.Element,
    cst.Arg,
)  # (their operators and punctuation are not values)
_LITERALS = (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)
_VALUE_PARTS = (cst.BaseExpression, cst.ComparisonTarget, cst.BaseElement, cst.Arg)


@functools.lru_cache(maxsize=4096)
def _leaves(node: cst.CSTNode) -> tuple[cst.BaseExpression, ...] | None:
    """The values a test reads: names, attribute chains and subscripts (a method's receiver,
    not its name; a called function's arguments, not the function). None when the test has a
    part whose value this cannot tell (an f-string, a lambda, a comprehension)."""
    if type(node) in (cst.Name, cst.Attribute, cst.Subscript):
        return (node,)
    if is_a(node, _LITERALS):
        return ()
    if type(node) is cst.Call:
        func = node.func
        if type(func) is cst.Attribute:
            parts = [func.value, *(a.value for a in node.args)]
        elif type(func) is cst.Name:
            parts = [a.value for a in node.args]
        else:
            return None
    elif is_a(node, _COMPOSITE):
        parts = [c for c in child_nodes(node) if is_a(c, _VALUE_PARTS)]
    else:
        return None
    out: list[cst.BaseExpression] = []
    for part in parts:
        found = _leaves(part)
        if found is None:
            return None
        out += found
    return tuple(out)


def _shape(node: cst.CSTNode, marks: dict[int, str]) -> str:
    """A test's structure as text, with the marked leaves written as their marks (`@` for the
    value, `#'vgg16'` for a constant), whatever its spacing and parentheses."""
    mark = marks.get(id(node))
    if mark is not None:
        return mark
    if type(node) is cst.Name:
        return node.value
    if type(node) in (cst.SimpleString, cst.Integer, cst.Float):
        return node.value
    inner = ",".join(_shape(child, marks) for child in child_nodes(node))
    return f"{type(node).__name__}({inner})"


def _within(fact: object, key: Key) -> bool:
    """Does a fact's key name `key`, or an item inside it?"""
    if fact == key:
        return True
    return isinstance(fact, tuple) and any(_within(part, key) for part in fact)
