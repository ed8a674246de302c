"""Name tests inside a parameter-name predicate (FRZ015): the sub-conditions that look for
strings in the name (`'fc' in name`, `name.startswith(...)`, `any(k in name for k in keys)`),
the strings each one looks for, and the same test anchored to a module's path
(`name.startswith("fc.")`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst

from freezelint.script.extract.syntax import code_of, names_in
from freezelint.script.predicates import PredicateRaised, Unsupported, compile_predicate

IN_KINDS = frozenset({"in", "not in", "any in"})
FAILED = (Unsupported, PredicateRaised)
# How to rewrite a node: (the module path before the key, the file's quote) -> the new code.
Rewrite = Callable[[str, str], str]


@dataclass(frozen=True)
class NameTest:
    """A sub-condition testing the name against strings: `K in name`, `K not in name`,
    `name.startswith(K)` (K a string or a tuple), `any(K in name for k in ITEMS)`,
    `any(name.startswith(K) for k in ITEMS)`."""

    node: cst.BaseExpression
    kind: str  # "in" | "not in" | "startswith" | "any in" | "any startswith"
    key: cst.BaseExpression  # the string (or tuple) expression
    var: str
    # any(): its element (what a fix rewrites), its items and the name `key` reads each by
    target: cst.BaseExpression | None = None
    items: cst.BaseExpression | None = None
    item: str = ""

    def hits(self, key: str, name: str) -> bool:
        return key in name if self.kind in IN_KINDS else name.startswith(key)

    def hit_names(self, key: str, names: list[str]) -> list[str]:
        """The names `key` hits, in order (`hits` over a list, without a call per name)."""
        if self.kind in IN_KINDS:
            return [name for name in names if key in name]
        return [name for name in names if name.startswith(key)]

    def keys(self, env: Mapping[str, Any]) -> list[str] | None:
        """The strings the test looks for (each item's, for `any()`), or None."""
        key = compile_predicate(self.key)
        try:
            if self.items is None:
                values = key(env)
                values = list(values) if isinstance(values, tuple | list) else [values]
            else:
                items = compile_predicate(self.items)(env)
                if not isinstance(items, tuple | list | range):
                    return None
                values = [key({**env, self.item: item}) for item in items]
        except FAILED:
            return None
        return values if all(isinstance(v, str) for v in values) else None


def name_tests(predicate: cst.BaseExpression, var: str, inner: set[str]) -> Iterator[NameTest]:
    """The name tests among the predicate's sub-conditions (through `and`, `or`, `not`) whose
    strings do not depend on the name (`inner`: the name and what is computed from it)."""
    stack: list[cst.BaseExpression] = [predicate]
    while stack:
        node = stack.pop()
        if type(node) is cst.BooleanOperation:
            stack += [node.right, node.left]
        elif type(node) is cst.UnaryOperation and type(node.operator) is cst.Not:
            stack.append(node.expression)
        elif (test := _test(node, var)) is not None:
            reads = names_in(test.key) - {test.item}
            if test.items is not None:
                reads |= names_in(test.items)
            if not reads & inner:
                yield test


def _is_var(node: cst.CSTNode, var: str) -> bool:
    return type(node) is cst.Name and node.value == var


def _test(node: cst.BaseExpression, var: str) -> NameTest | None:
    if type(node) is cst.Comparison and len(node.comparisons) == 1:
        op, right = node.comparisons[0].operator, node.comparisons[0].comparator
        if type(op) in (cst.In, cst.NotIn) and _is_var(right, var):
            return NameTest(node, "in" if type(op) is cst.In else "not in", node.left, var)
        return None
    if type(node) is not cst.Call or len(node.args) != 1 or node.args[0].keyword:
        return None
    arg, func = node.args[0].value, node.func
    if type(func) is cst.Attribute and _is_var(func.value, var):
        return NameTest(node, "startswith", arg, var) if func.attr.value == "startswith" else None
    if not (_is_var(func, "any") and type(arg) in (cst.GeneratorExp, cst.ListComp)):
        return None
    comp = arg.for_in
    if comp.ifs or comp.inner_for_in is not None or type(comp.target) is not cst.Name:
        return None
    inner = _test(arg.elt, var) if type(arg.elt) in (cst.Comparison, cst.Call) else None
    if inner is None or inner.kind == "not in":
        return None
    item = comp.target.value
    return NameTest(node, f"any {inner.kind}", inner.key, var, arg.elt, comp.iter, item)


def rewrites(
    test: NameTest, counts: set[int], anchor: Callable[[int], bool]
) -> list[tuple[cst.CSTNode, Rewrite | None]] | None:
    """What anchoring the test rewrites: each node with how (None: left as it is), given how
    many strings it looks for in each run (`counts`) and which of a tuple's strings to anchor
    (`anchor(index)`). One node, except for the strings of a literal tuple."""
    var, key = test.var, test.key
    if test.kind in ("in", "not in"):
        neg = "not " if test.kind == "not in" else ""
        return [(test.node, lambda h, q: f"{neg}{var}.startswith({anchored(key, h, q)})")]
    if test.target is not None:
        return [(test.target, lambda h, q: f"{var}.startswith({anchored(key, h, q)})")]
    if type(key) is not cst.Tuple:
        return [(key, lambda h, q: anchored(key, h, q))] if counts == {1} else None
    values = [e.value for e in key.elements if type(e) is cst.Element]
    if len(values) != len(key.elements) or counts != {len(values)}:
        return None
    return [
        (v, (lambda h, q, v=v: anchored(v, h, q)) if anchor(i) else None)
        for i, v in enumerate(values)
    ]


def anchored(node: cst.BaseExpression, head: str, quote: str) -> str:
    """The key as a module's path and a dot (`head` before it): `"fc."`, `f"blocks.{i}."`,
    `KEY + "."`."""
    code = code_of(node)
    if type(node) in (cst.SimpleString, cst.FormattedString) and not node.lpar:
        start = next(i for i, c in enumerate(code) if c in "'\"")
        width = 3 if code[start : start + 3] in ('"""', "'''") else 1
        body = code[start + width : len(code) - width]
        dot = "" if body.endswith(".") else "."
        return f"{code[: start + width]}{head}{body}{dot}{code[len(code) - width :]}"
    simple = type(node) in (cst.Name, cst.Attribute, cst.Subscript, cst.Call)
    lead = f"{quote}{head}{quote} + " if head else ""
    return f"{lead}{code if simple else f'({code})'} + {quote}.{quote}"
