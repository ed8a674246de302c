"""What a class's own code says about its instances, read from its body (never run): the
attributes only its `__init__` sets, whether it adds members by name (where a walk cannot see
which), and which of its attributes a method reads."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import libcst as cst

from freezelint.script.extract.syntax import assigned_names, child_nodes
from freezelint.script.imports import dotted


@functools.lru_cache(maxsize=1024)
def set_in_init_only(cls: cst.ClassDef) -> frozenset[str]:
    """The attributes a class sets as `self.x = ...` in its `__init__` and nowhere else in its
    body, when nothing else in the body could give them (no `__getattr__`, no `setattr`, no
    class-level binding)."""
    in_init: set[str] = set()
    elsewhere: set[str] = set()
    for stmt in cls.body.body:
        if type(stmt) is cst.FunctionDef:
            if stmt.name.value in ("__getattr__", "__getattribute__", "__setattr__"):
                return frozenset()
            found = _self_assignments(stmt)
            if found is None:
                return frozenset()
            (in_init if stmt.name.value == "__init__" else elsewhere).update(found)
        else:
            elsewhere.update(assigned_names(stmt))
    return frozenset(in_init - elsewhere)


def _self_assignments(fn: cst.FunctionDef) -> set[str] | None:
    """`self.x` targets a method assigns (None when it calls `setattr` or `self.__dict__`)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [fn.body]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Call and dotted(cur.func) in ("setattr", "self.__dict__.update"):
            return None
        targets: list[cst.BaseExpression] = []
        if type(cur) is cst.Assign:
            targets = [t.target for t in cur.targets]
        elif type(cur) in (cst.AnnAssign, cst.AugAssign):
            targets = [cur.target]
        for target in targets:
            for part in [*(target.elements if type(target) in (cst.Tuple, cst.List) else [target])]:
                node = part.value if type(part) is cst.Element else part
                if (
                    type(node) is cst.Attribute
                    and type(node.value) is cst.Name
                    and node.value.value == "self"
                ):
                    out.add(node.attr.value)
        stack.extend(child_nodes(cur))
    return out


_BY_NAME = ("setattr", "add_module", "register_module", "register_parameter", "__dict__")


@functools.lru_cache(maxsize=1024)
def adds_by_name(cls: cst.ClassDef) -> bool:
    """Does the class give itself members by name (`setattr(self, ...)`, `add_module`,
    `register_parameter`), where the walk may not see which?"""
    stack: list[cst.CSTNode] = [cls.body]
    while stack:
        cur = stack.pop()
        if (
            type(cur) in (cst.Name, cst.Attribute)
            and (dotted(cur) or "").rsplit(".", 1)[-1] in _BY_NAME
        ):
            return True
        stack.extend(child_nodes(cur))
    return False


_GENERIC = frozenset(
    {"children", "named_children", "modules", "named_modules", "_modules", "__dict__", "apply"}
)


@functools.lru_cache(maxsize=1024)
def self_reads(fn: cst.FunctionDef) -> frozenset[str] | None:
    """The attributes of `self` a method reads (`self.head`, `self.blocks[i]`), None when it
    reaches them generically (`self.children()`, `getattr(self, name)`, `vars(self)`)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [fn.body]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Attribute and type(cur.value) is cst.Name:
            if cur.value.value == "self":
                if cur.attr.value in _GENERIC:
                    return None
                out.add(cur.attr.value)
                continue
        elif type(cur) is cst.Call and dotted(cur.func) in ("getattr", "vars", "setattr"):
            if any(type(a.value) is cst.Name and a.value.value == "self" for a in cur.args):
                return None
        elif type(cur) is cst.Name and cur.value == "self":
            # `self` handed on whole (`helper(self, x)`, `return self`): anything may be used.
            return None
        stack.extend(child_nodes(cur))
    return frozenset(out)


def forward_reads(
    cls: cst.ClassDef,
    find_method: Callable[[cst.ClassDef, str], tuple[cst.FunctionDef, Any] | None],
) -> frozenset[str] | None:
    """The attributes of `self` that `forward` and the methods it calls read; None when it has
    no `forward` or reaches them generically."""
    if find_method(cls, "forward") is None:
        return None
    seen: set[str] = set()
    reads: set[str] = set()
    todo = ["forward"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        method = find_method(cls, name)
        if method is None:
            continue
        found = self_reads(method[0])
        if found is None:
            return None
        reads |= found
        todo.extend(found)
    return frozenset(reads)
