"""Values the code fixes: arithmetic, comparisons, truth and a few pure methods over the Python
constants the walker knows (literals, module constants, parameter defaults, config dicts).

Everything here works on plain Python values and raises `NotConstant` for anything it does not
model; the caller then treats the expression as unknown. Nothing the linted script defines is
ever called.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import libcst as cst

from freezelint.script.predicates import COMPARISONS


class NotConstant(Exception):
    """The operation is not one this module evaluates."""


class ConstMap(tuple):
    """A dict of constants (`{"arch": "resnet50", "freeze": True}`), hashable like every
    constant the walker keeps: a tuple of `(key, value)` pairs."""

    def get(self, key: object, default: object = None) -> object:
        for k, v in self:
            if k == key:
                return v
        return default

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, int | slice):
            return tuple.__getitem__(self, key)
        for k, v in self:
            if k == key:
                return v
        raise NotConstant(f"no key {key!r}")

    def has(self, key: object) -> bool:
        return any(k == key for k, _ in self)


# The predicate interpreter's operators, with membership over constant containers and `is`
# as the script means it for constants (`x is None`, `flag is True`).
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    **COMPARISONS,
    cst.In: lambda a, b: a in _container(b),
    cst.NotIn: lambda a, b: a not in _container(b),
    cst.Is: lambda a, b: a is b if b is None or isinstance(b, bool) else a == b,
    cst.IsNot: lambda a, b: a is not b if b is None or isinstance(b, bool) else a != b,
}
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.FloorDivide: operator.floordiv,
    cst.Divide: operator.truediv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}
_SAFE_TYPES = (str, int, float, bool, type(None), tuple)
_STR_METHODS = frozenset(
    {"lower", "upper", "strip", "startswith", "endswith", "replace", "split", "format", "join"}
)


def _container(value: object) -> object:
    if isinstance(value, ConstMap):
        return [k for k, _ in value]
    if isinstance(value, str | tuple | frozenset):
        return value
    raise NotConstant("not a container")


def compare(op: cst.BaseCompOp, left: object, right: object) -> bool:
    fn = _COMPARE.get(type(op))
    if fn is None:
        raise NotConstant(type(op).__name__)
    try:
        return bool(fn(left, right))
    except TypeError as error:
        raise NotConstant(str(error)) from error


def binary(op: cst.BaseBinaryOp, left: object, right: object) -> object:
    fn = _BINARY.get(type(op))
    if fn is None or not isinstance(left, _SAFE_TYPES) or not isinstance(right, _SAFE_TYPES):
        raise NotConstant("operator")
    if type(op) is cst.Power and (not isinstance(right, int) or abs(right) > 64):
        raise NotConstant("power")
    if type(op) is cst.Multiply and (
        isinstance(left, str | tuple) or isinstance(right, str | tuple)
    ):
        raise NotConstant("repetition")
    try:
        return fn(left, right)
    except (TypeError, ArithmeticError, ValueError) as error:
        raise NotConstant(str(error)) from error


def truth(value: object) -> bool:
    if isinstance(value, _SAFE_TYPES):  # ConstMap is a tuple
        return bool(value)
    raise NotConstant("truth")


def call_method(value: object, name: str, args: list[object]) -> object:
    """`cfg.get("freeze", True)`, `cfg.keys()`, `arch.lower()`, `name.startswith("res")`."""
    if isinstance(value, ConstMap) and name == "get" and 1 <= len(args) <= 2:
        return value.get(args[0], args[1] if len(args) == 2 else None)
    if isinstance(value, ConstMap) and name == "keys" and not args:
        return tuple(k for k, _ in value)
    if isinstance(value, str) and name in _STR_METHODS:
        if name == "format":
            raise NotConstant("format")
        if not all(isinstance(a, str | tuple | int) for a in args):
            raise NotConstant("argument")
        try:
            result = getattr(value, name)(*args)
        except (TypeError, ValueError) as error:
            raise NotConstant(str(error)) from error
        return tuple(result) if isinstance(result, list) else result
    raise NotConstant(name)


def subscript(value: object, key: object) -> object:
    try:
        if isinstance(value, ConstMap):
            return value[key]
        if isinstance(value, str | tuple) and isinstance(key, int | slice):
            return value[key]
    except (IndexError, TypeError) as error:
        raise NotConstant(str(error)) from error
    raise NotConstant("subscript")
