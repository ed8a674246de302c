"""A composite model given, as a part, a module that already sits inside some model: what a
wrapper's `__call__` returns (`self.backbone = Backbone()()`: the wrapper's own `self.model`),
`Wrapper().model`, or a part narrowed to its own submodule (`self.backbone = self.backbone()`).
The part is then that module itself (its spec and table are its own), and its state (what was
frozen) is read where it lived; when that cannot be told, the part is unknown."""

from __future__ import annotations

from freezelint.script.events import Event, ModeSet, ModuleReplaced
from freezelint.script.extract.calls import CallEvaluator
from freezelint.script.selection import Path, path_relation, regions
from freezelint.script.values import ModelRef, Value

# (the module put in, where its state lives), or None: not such a move.
Move = tuple[ModelRef, tuple[int, Path]]


class PartMoves(CallEvaluator):
    def part_move(self, ref: ModelRef, value: Value) -> Move | bool | None:
        """For `ref = value` on a composite: the module moved in and where its state lives;
        None when `value` is no module inside a model; False when it is one but its state
        cannot be told (the part must stay unknown)."""
        if (
            not isinstance(value, ModelRef)
            or not value.path
            or value.wrappers
            or ref.wrappers
            or len(ref.path) != 1
            or ref.model not in self.parts
        ):
            return None
        inner = self.object_at(value)
        known = isinstance(inner, ModelRef) and inner.model in self.models
        if value.model == ref.model:
            if len(value.path) < 2 or value.path[0] != ref.path[0]:
                return None  # another name for a part it holds (see `_held_as`)
            # `self.backbone = self.backbone()`: the part narrowed to its own submodule, whose
            # state is still the wrapper's unless something reached it through this model.
            wrapper = self.parts[ref.model].get(ref.path[0])
            if not known or wrapper is None or self._touched(ref.model, ref.path[0]):
                return False
            return inner, (wrapper, value.path[1:])  # type: ignore[return-value]
        if any(value.model in held.values() for held in self.parts.values()) or not known:
            return None  # inside a model held by another one: its state lives there
        return inner, (value.model, value.path)  # type: ignore[return-value]

    def _touched(self, model: int, attr: str) -> bool:
        """Did an event since `model` was given part `attr` reach into that part?"""
        for event in reversed(self.events):
            if isinstance(event, ModuleReplaced) and event.model == model and event.path == (attr,):
                return not event.added
            if _reaches(event, model, (attr,)):
                return True
        return True


def _reaches(event: Event, model: int, path: Path) -> bool:
    found: list[tuple[int, Path]] = []
    if isinstance(event, ModuleReplaced | ModeSet):
        found.append((event.model, event.path))
    for field in ("selection", "group", "groups"):
        value = getattr(event, field, None)
        for sel in value if isinstance(value, tuple) else (value,):
            sel = getattr(sel, "selection", sel)
            if sel is not None:
                found.extend((r.model, r.path) for r in regions(sel))
    if not found and getattr(event, "model", None) == model:
        return True
    return any(m == model and path_relation(p, path) != "disjoint" for m, p in found)
