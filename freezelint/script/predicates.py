"""A small, safe interpreter for name predicates (`'fc' in name`, `name.startswith(...)`,
`int(name.split('.')[1]) < 3`, `any(k in name for k in keys)`, `re.match(...)`).

A libcst expression is compiled once into nested closures (`compile_predicate`), then run over
each parameter name and the constants the script defines, with no `eval`, no attribute access
beyond a fixed set of `str` methods and no calls beyond a fixed set of builtins. Anything outside
that raises `Unsupported`, which the caller treats as "unknown" (no diagnostic). An error the
real code would raise too (IndexError from `split('.')[1]`, ValueError from `int('conv_stem')`)
is re-raised as `PredicateRaised`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from freezelint.script.literals import literal_value

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
# Match objects (`re.search(...)` held in a name): the groups a predicate reads.
MATCH_METHODS = frozenset({"group", "groups", "start", "end"})
RANGE_LIMIT = 4096  # `range(...)` longer than this is not iterated


def _range(*args: Any) -> range:
    if not all(type(a) is int for a in args):
        raise Unsupported("range")
    steps = range(*args)
    if len(steps) > RANGE_LIMIT:
        raise Unsupported("range")
    return steps


BUILTINS: dict[str, Callable[..., Any]] = {
    "range": _range,
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


Env = dict[str, Any]
Fn = Callable[[Env], Any]
Predicate = Callable[[Mapping[str, Any]], Any]


def evaluate(node: cst.BaseExpression, env: Mapping[str, Any]) -> Any:
    """The value of `node` in `env` (compiles it first: use `compile_predicate` for many names)."""
    return compile_predicate(node)(env)


# `compile_predicate`'s answers by the id of the node (kept with it: syntax trees do not
# change), at most `_COMPILED_LIMIT` of them: the rules and every path's simulation ask again.
_COMPILED: dict[int, tuple[cst.BaseExpression, Predicate]] = {}
_COMPILED_LIMIT = 4096


def compile_predicate(node: cst.BaseExpression) -> Predicate:
    """`node` as a function of the environment, raising `Unsupported` for what the interpreter
    does not model and `PredicateRaised` for errors the script would raise too. What is
    unsupported is only raised when evaluation reaches it, as in the script (`a or b()`)."""
    known = _COMPILED.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    run = _compiled(node)
    _COMPILED[id(node)] = (node, run)
    return run


def _compiled(node: cst.BaseExpression) -> Predicate:
    try:
        fn = _compile(node)
    except RecursionError:
        fn = _unsupported("too deep")

    def run(env: Mapping[str, Any]) -> Any:
        try:
            return fn(env if isinstance(env, dict) else dict(env))
        except (Unsupported, PredicateRaised):
            raise
        except RecursionError as error:
            raise Unsupported("too deep") from error
        except (IndexError, ValueError, TypeError, AttributeError, KeyError, re.error) as error:
            raise PredicateRaised(error) from error

    return run


def _unsupported(what: str) -> Fn:
    def fn(env: Env) -> Any:
        raise Unsupported(what)

    return fn


def _then_unsupported(first: Fn, what: str) -> Fn:
    """Evaluate `first` (its errors come first, as in the script), then refuse."""

    def fn(env: Env) -> Any:
        first(env)
        raise Unsupported(what)

    return fn


def _constant(value: Any) -> Fn:
    return lambda env: value


_CONSTANT_NAMES = {"True": True, "False": False, "None": None}


def _compile(node: cst.CSTNode) -> Fn:
    compiler = _COMPILERS.get(type(node))
    return compiler(node) if compiler is not None else _unsupported(type(node).__name__)


def _name(node: cst.Name) -> Fn:
    key = node.value
    if key in _CONSTANT_NAMES:
        return _constant(_CONSTANT_NAMES[key])

    def fn(env: Env) -> Any:
        if key in env:
            return env[key]
        raise Unsupported(key)

    return fn


def _literal(node: cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString) -> Fn:
    try:
        value = literal_value(node)  # (the common forms without `ast.literal_eval`)
    except Exception as error:  # raised when reached, as the script would
        caught = error

        def fn(env: Env) -> Any:
            raise caught

        return fn
    return _constant(value)


def _fstring(node: cst.FormattedString) -> Fn:
    parts: list[Fn] = []
    for part in node.parts:
        if type(part) is cst.FormattedStringText:
            parts.append(_constant(part.value))
        elif part.format_spec or part.conversion:
            parts.append(_unsupported("format spec"))
        else:
            inner = _compile(part.expression)
            parts.append(lambda env, inner=inner: str(inner(env)))
    return lambda env: "".join(p(env) for p in parts)


def _sequence(node: cst.Tuple | cst.List | cst.Set) -> Fn:
    items = [_compile(e.value) for e in node.elements if type(e) is not cst.StarredElement]
    starred = len(items) != len(node.elements)
    make = set if type(node) is cst.Set else tuple

    def fn(env: Env) -> Any:
        values = [item(env) for item in items]
        if starred:
            raise Unsupported("starred")
        return make(values)

    return fn


def _unary(node: cst.UnaryOperation) -> Fn:
    inner = _compile(node.expression)
    if type(node.operator) is cst.Not:
        return lambda env: not inner(env)
    if type(node.operator) is cst.Minus:
        return lambda env: -inner(env)
    return _then_unsupported(inner, "unary")


def _boolean(node: cst.BooleanOperation) -> Fn:
    left, right = _compile(node.left), _compile(node.right)
    if type(node.operator) is cst.And:
        return lambda env: left(env) and right(env)
    return lambda env: left(env) or right(env)


COMPARISONS: dict[type, Callable[[Any, Any], bool]] = {
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
    cst.Is: operator.is_,
    cst.IsNot: operator.is_not,
}


def _comparison(node: cst.Comparison) -> Fn:
    first = _compile(node.left)
    steps = [(COMPARISONS.get(type(t.operator)), _compile(t.comparator)) for t in node.comparisons]

    def fn(env: Env) -> bool:
        left = first(env)
        for compare, comparator in steps:
            right = comparator(env)
            if compare is None:
                raise Unsupported("comparison")
            if not compare(left, right):
                return False
            left = right
        return True

    return fn


def _binary(node: cst.BinaryOperation) -> Fn:
    left, right = _compile(node.left), _compile(node.right)
    op = node.operator

    def fn(env: Env) -> Any:
        a, b = left(env), right(env)
        if type(op) is cst.Add:
            return a + b
        if type(op) is cst.Subtract:
            return a - b
        if type(op) is cst.Modulo and isinstance(a, int):
            return a % b
        raise Unsupported("operator")

    return fn


def _subscript(node: cst.Subscript) -> Fn:
    value = _compile(node.value)
    if len(node.slice) != 1:
        return _then_unsupported(value, "subscript")
    index = node.slice[0].slice
    if type(index) is cst.Index:
        key = _compile(index.value)
        bounds = None
    elif type(index) is cst.Slice:
        parts = [None if p is None else _compile(p) for p in (index.lower, index.upper, index.step)]
        key = None
        bounds = parts
    else:
        return _then_unsupported(value, "slice")

    def fn(env: Env) -> Any:
        target = value(env)
        if not isinstance(target, str | tuple | list):
            raise Unsupported("subscript")
        if bounds is None:
            return target[key(env)]  # type: ignore[misc]
        return target[slice(*[None if p is None else p(env) for p in bounds])]

    return fn


def _call(node: cst.Call) -> Fn:
    func = node.func
    if any(arg.keyword is not None or arg.star for arg in node.args):
        return _unsupported("keywords")
    args = [_compile(a.value) for a in node.args]
    if type(func) is cst.Attribute:
        return _method(func, args)
    if type(func) is cst.Name and func.value in BUILTINS:
        builtin = BUILTINS[func.value]
        if (
            func.value in ("any", "all")
            and len(node.args) == 1
            and type(node.args[0].value) in (cst.GeneratorExp, cst.ListComp)
        ):
            items = _comprehension(node.args[0].value)
            return lambda env: builtin(items(env))
        return lambda env: builtin(*[a(env) for a in args])
    return _unsupported("call")


def _method(func: cst.Attribute, args: list[Fn]) -> Fn:
    owner = func.value
    method = func.attr.value
    qual = f"{owner.value}.{method}" if type(owner) is cst.Name else ""
    regex = REGEX.get(qual)
    target = _compile(owner) if method in STR_METHODS | MATCH_METHODS else None

    def fn(env: Env) -> Any:
        if regex is not None and "re" not in env:
            values = [a(env) for a in args]
            if not all(isinstance(v, str) for v in values[:2]) or len(values) != 2:
                raise Unsupported("regex arguments")
            return regex(*values)  # the match (or None), as the script gets it
        if target is None:
            raise Unsupported("method")
        receiver = target(env)
        if isinstance(receiver, re.Match) and method in MATCH_METHODS:
            values = [a(env) for a in args]
            if not all(type(v) is int for v in values):
                raise Unsupported("group name")
            return getattr(receiver, method)(*values)
        if not isinstance(receiver, str) or method not in STR_METHODS:
            raise Unsupported("method of a non-string")
        values = [a(env) for a in args]
        if method == "join":
            return receiver.join(values[0])
        return getattr(receiver, method)(*values)

    return fn


def _if_expression(node: cst.IfExp) -> Fn:
    test, body, orelse = _compile(node.test), _compile(node.body), _compile(node.orelse)
    return lambda env: body(env) if test(env) else orelse(env)


def _comprehension(node: cst.GeneratorExp | cst.ListComp) -> Fn:
    comp = node.for_in
    if comp.inner_for_in is not None or type(comp.target) is not cst.Name:
        return _unsupported("comprehension")
    source, element = _compile(comp.iter), _compile(node.elt)
    conditions = [_compile(cond.test) for cond in comp.ifs]
    var = comp.target.value

    def fn(env: Env) -> list[Any]:
        out = []
        for item in source(env):
            inner = {**env, var: item}
            if all(cond(inner) for cond in conditions):
                out.append(element(inner))
        return out

    return fn


_COMPILERS: dict[type, Callable[[Any], Fn]] = {
    cst.Name: _name,
    cst.Integer: _literal,
    cst.Float: _literal,
    cst.SimpleString: _literal,
    cst.ConcatenatedString: _literal,
    cst.FormattedString: _fstring,
    cst.Tuple: _sequence,
    cst.List: _sequence,
    cst.Set: _sequence,
    cst.UnaryOperation: _unary,
    cst.BooleanOperation: _boolean,
    cst.Comparison: _comparison,
    cst.BinaryOperation: _binary,
    cst.Subscript: _subscript,
    cst.Call: _call,
    cst.IfExp: _if_expression,
}
