"""Where the walker is: scopes of names (with their abstract values) and the loops and
branches around the current statement."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from freezelint.events import (
    Frame,
)
from freezelint.values import (
    ModuleItem,
    ParamItem,
    Value,
)

Ctx = tuple[Frame, ...]


@dataclass
class Scope:
    env: dict[str, Value] = field(default_factory=dict)
    parent: Scope | None = None
    returns: list[Value] = field(default_factory=list)

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

    def inner(self, frame: Frame) -> Walk:
        return Walk(
            self.scope,
            (*self.ctx, frame),
            self.site,
            self.statement,
            self.block,
            self.origin,
            self.pinned,
        )

    def at(self, statement: cst.CSTNode, block: int) -> Walk:
        """The walk for one statement of a block (a helper's statements keep the call's, and
        the body of a loop over parameters keeps the loop)."""
        if self.site is not None or self.pinned:
            return self
        return Walk(self.scope, self.ctx, None, statement, block, self.scope)

    def pin(self) -> Walk:
        return Walk(self.scope, self.ctx, self.site, self.statement, self.block, self.origin, True)


def _visible_items(scope: Scope) -> set[str]:
    out: set[str] = set()
    cur: Scope | None = scope
    while cur is not None:
        out.update(k for k, v in cur.env.items() if isinstance(v, ParamItem | ModuleItem))
        cur = cur.parent
    return out
