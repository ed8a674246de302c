"""A value's identity, for the facts a path keeps of it (`assumptions`): a command-line or
config value's own (its `Const.source`), or, for a value nothing is known of, the name or
object attribute it was first bound to; names copied from it (`model_name = args.arch`), a
helper's parameter it is handed to (`build_model(cfg)`) and a constant item of it
(`cfg["model"]["name"]`) follow it (`origins`).
"""

from __future__ import annotations

import libcst as cst

from freezelint.script.extract.lightning import LightningCalls
from freezelint.script.extract.objects import _ident
from freezelint.script.extract.scope import Scope, Walk
from freezelint.script.values import Const, Value

Key = tuple[object, ...]
_UNSET = object()

# Calls that answer the same on every call of one run (a test of them keeps its truth).
MACHINE_QUERIES = frozenset(
    {
        "torch.cuda.is_available",
        "torch.cuda.device_count",
        "torch.backends.mps.is_available",
        "torch.backends.cudnn.is_available",
    }
)


class ValueIdentity(LightningCalls):
    def __init__(self, module: cst.Module, imports) -> None:  # type: ignore[no-untyped-def]
        super().__init__(module, imports)
        self.origins: dict[Key, Key] = {}
        self._scopes: list[Scope] = []

    # -- a value's identity ------------------------------------------------------------------

    def _slot(self, node: cst.BaseExpression, w: Walk) -> tuple[Key, Value] | None:
        """Where a bare name or attribute of a project object is bound, and its value."""
        if type(node) is cst.Name:
            scope: Scope | None = w.scope
            while scope is not None and node.value not in scope.env:
                scope = scope.parent
            if scope is None:
                return None
            return ("name", id(scope), node.value), scope.env[node.value]
        if type(node) is cst.Attribute:
            ident = _ident(self.eval(node.value, w))
            if ident is None or node.attr.value not in self.attributes.get(ident, {}):
                return None
            return ("attr", ident, node.attr.value), self.attributes[ident][node.attr.value]
        return None

    def value_key(self, node: cst.BaseExpression, w: Walk, value: object = _UNSET) -> Key | None:
        """The identity of the value a bare name or attribute holds, when it has one
        (`value`: the node's value, when the caller has it)."""
        if type(node) is cst.Call and not node.args:
            # A query of the machine that cannot change while the script runs.
            qual = self.imports.qualify(node.func)
            return ("machine", qual) if qual in MACHINE_QUERIES else None
        if type(node) is cst.Subscript:
            return self._item_key(node, w, value)
        if type(node) not in (cst.Name, cst.Attribute):
            return None
        if type(node) is cst.Attribute:
            if value is _UNSET:
                value = self.eval(node, w)
            if isinstance(value, Const) and value.source is not None:
                return ("flag", value.source, repr(value.value))
        slot = self._slot(node, w)
        if slot is None:
            return None
        key, bound = slot
        if isinstance(bound, Const) and bound.source is not None:
            return ("flag", bound.source, repr(bound.value))
        if bound is not None:
            return None
        seen = 0
        while key in self.origins and seen < 16:
            key, seen = self.origins[key], seen + 1
        return key

    def _item_key(self, node: cst.Subscript, w: Walk, value: object) -> Key | None:
        """`cfg["model"]["name"]` of an unknown config with an identity: an identity of its own
        (the config's and the constant keys), the same wherever the config is handed."""
        if len(node.slice) != 1 or type(node.slice[0].slice) is not cst.Index:
            return None
        if value is _UNSET:
            value = self.eval(node, w)
        if isinstance(value, Const) and value.source is not None:
            return ("flag", value.source, repr(value.value))
        if value is not None:
            return None
        index = self.eval(node.slice[0].slice.value, w)
        if not isinstance(index, Const) or not index.decided:
            return None
        if not isinstance(index.value, str | int) or isinstance(index.value, bool):
            return None
        if type(node.value) not in (cst.Name, cst.Attribute, cst.Subscript):
            return None
        base = self.value_key(node.value, w)
        if base is None or base[0] in ("flag", "machine"):
            return None
        return ("item", base, index.value)

    def note_copy(
        self,
        target: cst.BaseExpression,
        value_node: cst.BaseExpression,
        w: Walk,
        slot: tuple[Key, Value] | None = None,
    ) -> None:
        """After `target = value_node`: an unknown value copied keeps its identity (`slot`:
        where the target is bound, when not in `w`'s scope: a called function's parameter)."""
        slot = slot or self._slot(target, w)
        if slot is None:
            return
        key, value = slot
        source = None
        if value is None and type(value_node) in (cst.Name, cst.Attribute, cst.Subscript):
            source = self.value_key(value_node, w)
        if source is not None and source != key and source[0] != "flag":
            self.origins[key] = source
        else:
            self.origins.pop(key, None)

    def note_arguments(
        self, scope: Scope, names: list[tuple[str, cst.BaseExpression | None]], w: Walk
    ) -> None:
        """A called function's parameters, each bound to the argument expression handed for it
        (None: a default or nothing): an unknown value handed keeps its identity there
        (`build_model(cfg)`: a test of `cfg["model"]` inside is one of the caller's)."""
        self._scopes.append(scope)  # kept alive: its id names its values in `origins`
        for name, node in names:
            key = ("name", id(scope), name)
            if node is None:
                self.origins.pop(key, None)
            else:
                self.note_copy(node, node, w, (key, scope.env.get(name)))
