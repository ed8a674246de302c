"""What a path has assumed about values the code does not fix.

Taking an arm of `if args.freeze:` assumes the flag is set; a later `if freeze:` on the same
value (`freeze = args.freeze`, `self.feature_extract = feature_extract`) is then decided, so the
arms of two conditions on one value are never mixed. A value has an identity when it is a
command-line or config value (its `Const.source`) or, for a value nothing is known of, the name
or object attribute it was first bound to (names copied from it follow it: `origins`). Only bare
conditions (`x`, `obj.x`, `not x`) are remembered; `x > 3` is not `x`.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.extract.lightning import LightningCalls
from freezelint.script.extract.objects import _ident
from freezelint.script.extract.scope import Scope, Walk
from freezelint.script.values import Const, Value

Key = tuple[object, ...]


class ConditionMemory(LightningCalls):
    def __init__(self, module: cst.Module, imports) -> None:  # type: ignore[no-untyped-def]
        super().__init__(module, imports)
        self.assumed: dict[Key, bool] = {}
        self.origins: dict[Key, Key] = {}

    def _slot(self, node: cst.BaseExpression, w: Walk) -> tuple[Key, Value] | None:
        """Where a bare name or attribute of a project object is bound, and its value."""
        if isinstance(node, cst.Name):
            scope: Scope | None = w.scope
            while scope is not None and node.value not in scope.env:
                scope = scope.parent
            if scope is None:
                return None
            return ("name", id(scope), node.value), scope.env[node.value]
        if isinstance(node, cst.Attribute):
            ident = _ident(self.eval(node.value, w))
            if ident is None or node.attr.value not in self.attributes.get(ident, {}):
                return None
            return ("attr", ident, node.attr.value), self.attributes[ident][node.attr.value]
        return None

    def value_key(self, node: cst.BaseExpression, w: Walk) -> Key | None:
        """The identity of the value a bare name or attribute holds, when it has one."""
        if isinstance(node, cst.Attribute):
            value = self.eval(node, w)
            if isinstance(value, Const) and value.source is not None:
                return ("flag", value.source, repr(value.value))
        slot = self._slot(node, w)
        if slot is None:
            return None
        key, value = slot
        if isinstance(value, Const) and value.source is not None:
            return ("flag", value.source, repr(value.value))
        if value is not None:
            return None
        seen = 0
        while key in self.origins and seen < 16:
            key, seen = self.origins[key], seen + 1
        return key

    def note_copy(
        self, target: cst.BaseExpression, value_node: cst.BaseExpression, w: Walk
    ) -> None:
        """After `target = value_node`: an unknown value copied keeps its identity."""
        slot = self._slot(target, w)
        if slot is None:
            return
        key, value = slot
        source = None
        if value is None and isinstance(value_node, cst.Name | cst.Attribute):
            source = self.value_key(value_node, w)
        if source is not None and source != key and source[0] != "flag":
            self.origins[key] = source
        else:
            self.origins.pop(key, None)

    def _bare(self, test: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
        negated = False
        while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            test, negated = test.expression, not negated
        return test, negated

    def assume(self, test: cst.BaseExpression, truth: bool, w: Walk) -> None:
        bare, negated = self._bare(test)
        key = self.value_key(bare, w)
        if key is not None:
            self.assumed[key] = truth != negated

    def assumed_truth(self, test: cst.BaseExpression, w: Walk) -> bool | None:
        if not self.assumed:
            return None
        bare, negated = self._bare(test)
        key = self.value_key(bare, w)
        if key is None or key not in self.assumed:
            return None
        return self.assumed[key] != negated
