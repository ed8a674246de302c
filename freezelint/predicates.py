"""A small, safe interpreter for name predicates (`'fc' in name`, `name.startswith(...)`,
`int(name.split('.')[1]) < 3`, `any(k in name for k in keys)`, `re.match(...)`).

It evaluates a libcst expression over one parameter name and the constants the script defines,
with no `eval`, no attribute access beyond a fixed set of `str` methods and no calls beyond a
fixed set of builtins. Anything outside that raises `Unsupported`, which the caller treats as
"unknown" (no diagnostic). An error the real code would raise too (IndexError from
`split('.')[1]`, ValueError from `int('conv_stem')`) is re-raised as `PredicateRaised`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

STR_METHODS = frozenset(
    {
        "startswith",
        "endswith",
        "split",
        "rsplit",
        "replace",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "find",
        "rfind",
        "count",
        "isdigit",
        "isnumeric",
        "partition",
        "rpartition",
        "join",
        "index",
    }
)
BUILTINS: dict[str, Callable[..., Any]] = {
    "int": int,
    "len": len,
    "str": str,
    "float": float,
    "bool": bool,
    "any": any,
    "all": all,
}
REGEX = {"re.match": re.match, "re.search": re.search, "re.fullmatch": re.fullmatch}


class Unsupported(Exception):
    """The expression uses something the interpreter does not model."""


class PredicateRaised(Exception):
    """The predicate raises on this name, as the script would."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


def evaluate(node: cst.BaseExpression, env: Mapping[str, Any]) -> Any:
    try:
        return _eval(node, dict(env))
    except (Unsupported, PredicateRaised):
        raise
    except RecursionError as error:
        raise Unsupported("too deep") from error
    except (IndexError, ValueError, TypeError, AttributeError, KeyError, re.error) as error:
        raise PredicateRaised(error) from error


def _eval(node: cst.CSTNode, env: dict[str, Any]) -> Any:
    if isinstance(node, cst.Name):
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        if node.value in env:
            return env[node.value]
        raise Unsupported(node.value)
    if isinstance(node, cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString):
        return node.evaluated_value
    if isinstance(node, cst.FormattedString):
        return "".join(
            p.value if isinstance(p, cst.FormattedStringText) else _format(p, env)
            for p in node.parts
        )
    if isinstance(node, cst.Tuple | cst.List | cst.Set):
        items = [
            _eval(e.value, env) for e in node.elements if not isinstance(e, cst.StarredElement)
        ]
        if len(items) != len(node.elements):
            raise Unsupported("starred")
        return set(items) if isinstance(node, cst.Set) else tuple(items)
    if isinstance(node, cst.UnaryOperation):
        value = _eval(node.expression, env)
        if isinstance(node.operator, cst.Not):
            return not value
        if isinstance(node.operator, cst.Minus):
            return -value
        raise Unsupported("unary")
    if isinstance(node, cst.BooleanOperation):
        left = _eval(node.left, env)
        if isinstance(node.operator, cst.And):
            return left and _eval(node.right, env)
        return left or _eval(node.right, env)
    if isinstance(node, cst.Comparison):
        return _compare(node, env)
    if isinstance(node, cst.BinaryOperation):
        left, right = _eval(node.left, env), _eval(node.right, env)
        if isinstance(node.operator, cst.Add):
            return left + right
        if isinstance(node.operator, cst.Subtract):
            return left - right
        if isinstance(node.operator, cst.Modulo) and isinstance(left, int):
            return left % right
        raise Unsupported("operator")
    if isinstance(node, cst.Subscript):
        return _subscript(node, env)
    if isinstance(node, cst.Call):
        return _call(node, env)
    if isinstance(node, cst.IfExp):
        return _eval(node.body if _eval(node.test, env) else node.orelse, env)
    raise Unsupported(type(node).__name__)


def _format(part: cst.FormattedStringExpression, env: dict[str, Any]) -> str:
    if part.format_spec or part.conversion:
        raise Unsupported("format spec")
    return str(_eval(part.expression, env))


def _compare(node: cst.Comparison, env: dict[str, Any]) -> bool:
    left = _eval(node.left, env)
    for target in node.comparisons:
        right = _eval(target.comparator, env)
        op = target.operator
        if isinstance(op, cst.In):
            ok = left in right
        elif isinstance(op, cst.NotIn):
            ok = left not in right
        elif isinstance(op, cst.Equal):
            ok = left == right
        elif isinstance(op, cst.NotEqual):
            ok = left != right
        elif isinstance(op, cst.LessThan):
            ok = left < right
        elif isinstance(op, cst.LessThanEqual):
            ok = left <= right
        elif isinstance(op, cst.GreaterThan):
            ok = left > right
        elif isinstance(op, cst.GreaterThanEqual):
            ok = left >= right
        elif isinstance(op, cst.Is):
            ok = left is right
        elif isinstance(op, cst.IsNot):
            ok = left is not right
        else:
            raise Unsupported("comparison")
        if not ok:
            return False
        left = right
    return True


def _subscript(node: cst.Subscript, env: dict[str, Any]) -> Any:
    value = _eval(node.value, env)
    if not isinstance(value, str | tuple | list) or len(node.slice) != 1:
        raise Unsupported("subscript")
    index = node.slice[0].slice
    if isinstance(index, cst.Index):
        return value[_eval(index.value, env)]
    if isinstance(index, cst.Slice):
        parts = [
            None if p is None else _eval(p, env) for p in (index.lower, index.upper, index.step)
        ]
        return value[slice(*parts)]
    raise Unsupported("slice")


def _call(node: cst.Call, env: dict[str, Any]) -> Any:
    func = node.func
    if any(arg.keyword is not None or arg.star for arg in node.args):
        raise Unsupported("keywords")
    if isinstance(func, cst.Attribute):
        owner = func.value
        qual = f"{owner.value}.{func.attr.value}" if isinstance(owner, cst.Name) else ""
        if qual in REGEX and "re" not in env:
            args = [_eval(a.value, env) for a in node.args]
            return REGEX[qual](*args) is not None
        if func.attr.value in STR_METHODS:
            target = _eval(owner, env)
            if not isinstance(target, str):
                raise Unsupported("method of a non-string")
            args = [_eval(a.value, env) for a in node.args]
            if func.attr.value == "join":
                return target.join(args[0])
            return getattr(target, func.attr.value)(*args)
        raise Unsupported("method")
    if isinstance(func, cst.Name) and func.value in BUILTINS:
        if (
            func.value in ("any", "all")
            and len(node.args) == 1
            and isinstance(node.args[0].value, cst.GeneratorExp | cst.ListComp)
        ):
            return BUILTINS[func.value](_comprehension(node.args[0].value, env))
        return BUILTINS[func.value](*[_eval(a.value, env) for a in node.args])
    raise Unsupported("call")


def _comprehension(node: cst.GeneratorExp | cst.ListComp, env: dict[str, Any]) -> list[Any]:
    comp = node.for_in
    if comp.inner_for_in is not None or not isinstance(comp.target, cst.Name):
        raise Unsupported("comprehension")
    out = []
    for item in _eval(comp.iter, env):
        inner = {**env, comp.target.value: item}
        if all(_eval(cond.test, inner) for cond in comp.ifs):
            out.append(_eval(node.elt, inner))
    return out
