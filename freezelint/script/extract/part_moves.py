"""A composite model given, as a part, a module that already sits inside some model: what a
wrapper's `__call__` returns (`self.backbone = Backbone()()`: the wrapper's own `self.model`),
`Wrapper().model`, a part narrowed to its own submodule (`self.backbone = self.backbone()`) or
to a slice of its own children (`self.backbone = nn.Sequential(*list(self.backbone.children())
[:-2])`). The part is then that module itself (its spec and table are its own), and its state
(what was frozen) is read where it lived; when that cannot be told, the part is unknown.

Also a Sequential of modules the composite holds already (`self.body = nn.Sequential(
self.backbone, self.head)`, new layers among them or not): torch registers those twice and
lists their tensors once, where they were registered first. Its items are then those modules
(`same_as`), and the table names them by their first names (`ParamTable.aliases`)."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.script.events import Event, ModelBuilt, ModeSet, ModuleReplaced
from freezelint.script.extract.calls import CallEvaluator
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import PARAMETER_NAMES
from freezelint.script.selection import HEAD, Path, path_relation, regions
from freezelint.script.values import ModelRef, Value

# (the module put in, where its state lives), or None: not such a move.
Move = tuple[ModelRef, tuple[int, Path]]


class PartMoves(CallEvaluator):
    def part_move(self, ref: ModelRef, value: Value) -> Move | bool | None:
        """For `ref = value` on a composite: the module moved in and where its state lives;
        None when `value` is no module inside a model; False when it is one but its state
        cannot be told (the part must stay unknown)."""
        if (
            isinstance(value, ModelRef)
            and not value.path
            and not value.wrappers
            and not ref.wrappers
            and value.model in self.cut_from
        ):
            return self._cut_move(ref, value)
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

    def _cut_move(self, ref: ModelRef, value: ModelRef) -> Move | bool | None:
        """`self.backbone = nn.Sequential(*list(self.backbone.children())[:-2])`: the part
        narrowed to a slice of its own children (the same modules), when it is a library model
        nothing reached into since it was built: the part is that Sequential, whose table is
        cut from the model's. False when it is such a cut but that cannot be told."""
        model, attr, start, stop = self.cut_from[value.model]
        if ref.model != model or ref.path != (attr,):
            return None
        whole = self.parts[model].get(attr)
        if (
            not isinstance(whole, int)
            or not self.is_library_model(whole)
            or self._touched(model, attr)
            or not self._untouched_since_built(whole, model)
        ):
            return False
        spec = self.models[value.model]
        self.built_from.add((value.model, whole))
        self.models[value.model] = replace(
            spec,
            children_of=(self.models[whole], start, stop),
            has_params=True if start in (None, 0) else spec.has_params,
        )
        return value, (model, (attr,))

    def _untouched_since_built(self, model: int, holder: int) -> bool:
        """Did nothing but putting it into `holder` reach model `model` since it was built?"""
        for event in self.events:
            if isinstance(event, ModelBuilt) or (
                isinstance(event, ModuleReplaced)
                and event.model == holder
                and event.new_module == model
                and event.added
            ):
                continue
            if _reaches(event, model, ()):
                return False
        return True

    def shared_items(self, ref: ModelRef, value: Value) -> dict[str, int | tuple[int, Path]] | None:
        """`self.body = nn.Sequential(self.backbone, nn.Linear(...))` given to a composite as
        a new part: its items, each a layer built for it (its model id) or a module the
        composite holds already (the composite and that module's path there). None when it
        is no such Sequential, or an item is neither (the composite is then `shared`)."""
        if (
            not isinstance(value, ModelRef)
            or value.path
            or value.wrappers
            or ref.wrappers
            or len(ref.path) != 1
            or ref.model not in self.parts
            or ref.path[0] in self.parts[ref.model]
            or value.model not in self.held_items
        ):
            return None
        held = self.parts[ref.model]
        given = {m for parts in self.parts.values() for m in parts.values() if isinstance(m, int)}
        items: dict[str, int | tuple[int, Path]] = {}
        for index, item in enumerate(self.held_items[value.model]):
            if not isinstance(item, ModelRef) or item.wrappers:
                return None
            if item.model == ref.model:
                path = item.path
                if (
                    not path
                    or path[0] not in held
                    or path[-1] in PARAMETER_NAMES
                    or any(p == HEAD or not (p.isidentifier() or p.isdigit()) for p in path)
                ):
                    return None
                items[str(index)] = (ref.model, path)
            elif (
                item.path
                or item.model not in self.models
                or item.model in given
                or item.model in self.holds_parts_of
            ):
                return None  # (a module of another model, or one held elsewhere)
            else:
                items[str(index)] = item.model
        return items

    def give_shared(
        self,
        ref: ModelRef,
        value: ModelRef,
        items: dict[str, int | tuple[int, Path]],
        w: Walk,
        stmt: cst.CSTNode,
    ) -> None:
        """The composite given a Sequential of modules it holds (see `shared_items`): nothing is
        new but the layers built for it, each put in at its item."""
        model, attr = ref.model, ref.path[0]
        self.parts[model][attr] = value.model
        self.parts[value.model] = items
        self.held_again.setdefault(model, set()).update(
            item[1][0] for item in items.values() if isinstance(item, tuple)
        )
        cls = self.instance_class.get(model)
        for scope_var, bound in list(w.scope.env.items()):
            if isinstance(bound, ModelRef) and not bound.path and bound.model == value.model:
                w.scope.env[scope_var] = ModelRef(model, (attr,), ref.wrappers)
        for index, item in items.items():
            if isinstance(item, tuple):
                continue
            spec = self.models[item]
            self.emit(
                ModuleReplaced,
                w,
                stmt,
                model=model,
                path=(attr, index),
                adds_params=spec.has_params,
                trainable=spec.trainable,
                new_module=item,
                added=True,
                used=None if cls is None else self.forward_uses(cls, attr),
            )

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
