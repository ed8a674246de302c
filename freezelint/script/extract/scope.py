"""Where the walker is: scopes of names (with their abstract values) and the loops and
branches around the current statement."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.script.events import Frame
from freezelint.script.imports import ImportTable
from freezelint.script.values import ModuleItem, ParamItem, Value

Ctx = tuple[Frame, ...]


@dataclass
class ModuleContext:
    """One module the walker reads: the checked file, or a project file it imports (its names
    resolve through its own imports, globals, functions and classes)."""

    imports: ImportTable
    scope: Scope
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    path: Path | None = None
    name: str = "__main__"  # what `__name__` is there

    @property
    def main(self) -> bool:
        return self.name == "__main__"


@dataclass
class Scope:
    """The names one function run (or the module) binds, and where to look next."""

    env: dict[str, Value] = field(default_factory=dict)
    parent: Scope | None = None
    returns: list[Value] = field(default_factory=list)
    # Names a `global` statement of the function declares: bound in the module's scope.
    declared_global: set[str] = field(default_factory=set)

    def binding_scope(self, name: str) -> Scope:
        """Where binding `name` here stores it: the module's scope for a `global` name."""
        if name not in self.declared_global:
            return self
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def lookup(self, name: str) -> tuple[bool, Value]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.env:
                return True, scope.env[name]
            scope = scope.parent
        return False, None


@dataclass
class Walk:
    """Where the walker is: the scope, the loops/branches around, and the helper call site."""

    scope: Scope
    ctx: Ctx = ()
    site: cst.CSTNode | None = None
    statement: cst.CSTNode | None = None  # the statement being walked (see Event.statement)
    block: int = 0
    origin: Scope | None = None  # the scope `statement` belongs to
    pinned: bool = False  # inside a loop over parameters: the loop is the statement
    # Names whose value changes from one iteration of an enclosing loop to the next (a
    # condition on them is no script path); None: any name may (a helper called in a loop).
    variant: frozenset[str] | None = frozenset()
    trail: tuple[int, ...] = ()  # the helper calls being followed (ids of their call nodes)
    certain: bool = True  # every statement walked so far runs on this path
    calls: tuple[cst.CSTNode, ...] = ()  # the helper calls that handed a model here (Event.via)
    local: cst.CSTNode | None = None  # the statement being walked, in a helper too (Event.local)

    @property
    def in_loop(self) -> bool:
        return self.pinned or any(f.kind == "loop" for f in self.ctx)

    def changed(self, **fields: Any) -> Walk:
        """`dataclasses.replace(self, **fields)` without running `__init__` again (it checks
        nothing): the walker makes one per statement of a helper and per loop, branch and
        call."""
        new = object.__new__(type(self))
        new.__dict__ = {**self.__dict__, **fields}
        return new

    def inner(self, frame: Frame, variant: frozenset[str] = frozenset()) -> Walk:
        return self.changed(
            ctx=(*self.ctx, frame),
            certain=False,
            variant=None if self.variant is None else self.variant | variant,
        )

    def at(self, statement: cst.CSTNode, block: int) -> Walk:
        """The walk for one statement of a block (a helper's statements keep the call's, and
        the body of a loop over parameters keeps the loop)."""
        if self.pinned:
            return self
        if self.site is not None:
            return self.changed(local=statement)
        return Walk(
            self.scope,
            self.ctx,
            None,
            statement,
            block,
            self.scope,
            False,
            self.variant,
            self.trail,
            self.certain,
            self.calls,
            statement,
        )

    def pin(self, variant: frozenset[str] = frozenset()) -> Walk:
        return self.changed(
            pinned=True,
            variant=None if self.variant is None else self.variant | variant,
        )

    def call(self, scope: Scope, site: cst.CSTNode | None, call: cst.CSTNode) -> Walk:
        """The walk into a helper's body: its own scope, the caller's loops (a helper called
        in a loop may see different values at each iteration)."""
        return self.changed(
            scope=scope,
            site=site,
            pinned=False,
            variant=None if self.in_loop else frozenset(),
            trail=(*self.trail, id(call)),
            calls=(*self.calls, call) if site is not None else self.calls,
        )


def _visible_items(scope: Scope) -> set[str]:
    out: set[str] = set()
    cur: Scope | None = scope
    while cur is not None:
        out.update(k for k, v in cur.env.items() if isinstance(v, ParamItem | ModuleItem))
        cur = cur.parent
    return out
