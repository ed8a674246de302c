"""Taking back what walking some code did to a walker: the arms of a branch are walked to see
whether they matter before the run goes on down one of them (`ConditionalWalker.branch`).

A snapshot copies the walker's own containers two levels deep (the heap's per-object
attribute tables, the models, the events, the imported modules read) and restores them in
place, so that every other reference to them (a scope's environment, a list of environments)
sees the state as it was.
"""

from __future__ import annotations

from typing import Any

from freezelint.script.extract.scope import ModuleContext

_CONTAINERS = (dict, list, set)
_OWN = "freezelint.script.extract."
# What a walker keeps across the runs it makes, not a run's state (`resume.ResumePoints`).
_NOT_STATE = frozenset({"resume_points"})


def _copy(value: Any) -> Any:
    """A copy of a container and of the containers it holds (one level): for a dict or a list,
    (a flat copy, {key or index: a copy of the container held there}); for a set, a copy."""
    if isinstance(value, dict):
        return dict(value), {k: _shallow(v) for k, v in value.items() if isinstance(v, _CONTAINERS)}
    if isinstance(value, list):
        held = {i: _shallow(v) for i, v in enumerate(value) if isinstance(v, _CONTAINERS)}
        return list(value), held
    if isinstance(value, set):
        return set(value)
    return None


def _shallow(value: Any) -> Any:
    """A copy of a dict, list or set; None for anything else."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list | set):
        return type(value)(value)
    return None


def _refill(container: Any, content: Any) -> None:
    """Put `content` (from `_copy`) back into `container`, and into the containers it held."""
    container.clear()
    if isinstance(container, set):
        container.update(content)
        return
    flat, held = content
    for key, copied in held.items():
        inner = flat[key]
        inner.clear()
        if isinstance(inner, list):
            inner.extend(copied)
        else:
            inner.update(copied)
    if isinstance(container, dict):
        container.update(flat)
    else:
        container.extend(flat)


_HOLDS_STATE: dict[type, bool] = {}


def _holds_state(value: Any) -> bool:
    """Is a field's value one of the walker's own objects whose fields hold state (the modules
    reached by two names), not a module it reads? Answered once per type."""
    kind = type(value)
    known = _HOLDS_STATE.get(kind)
    if known is None:
        known = _HOLDS_STATE[kind] = (
            kind.__module__.startswith(_OWN)
            and hasattr(value, "__dict__")
            and not isinstance(value, ModuleContext)
        )
    return known


class Snapshot:
    """What `walker` holds now; `restore()` puts it back. Besides the walker's own
    containers, the modules it reads (`ModuleContext`: the checked file's and each imported
    one's names, functions and classes, bound as the walk meets imports)."""

    def __init__(self, walker: Any) -> None:
        self._walker = walker
        self._saved: dict[str, tuple[Any, Any]] = {}
        # Objects of the walker's own that hold state (the modules reached by two names): their
        # fields, as the walker's own containers are kept. (The modules it reads: below.)
        self._objects: list[tuple[Any, dict[str, tuple[Any, Any]]]] = []
        for name, value in vars(walker).items():
            if name in _NOT_STATE:
                continue
            self._saved[name] = (value, _copy(value) if isinstance(value, _CONTAINERS) else None)
            if _holds_state(value):
                fields = {k: (v, _shallow(v)) for k, v in vars(value).items()}
                self._objects.append((value, fields))
        contexts = {id(walker.here): walker.here}
        contexts.update((id(c), c) for c in walker.loaded.values() if c is not None)
        self._modules = [
            (c, dict(c.functions), dict(c.classes), dict(c.scope.env), list(c.scope.returns))
            for c in contexts.values()
        ]

    def restore(self) -> None:
        state = vars(self._walker)
        for name in [n for n in state if n not in self._saved and n not in _NOT_STATE]:
            del state[name]
        for name, (value, content) in self._saved.items():
            state[name] = value
            if content is not None:
                _refill(value, content)
        for value, fields in self._objects:
            for name, (held, copied) in fields.items():
                setattr(value, name, held)
                if copied is not None:
                    held.clear()
                    if isinstance(held, list):
                        held.extend(copied)
                    else:
                        held.update(copied)
        for context, functions, classes, env, returns in self._modules:
            for now, then in (
                (context.functions, functions),
                (context.classes, classes),
                (context.scope.env, env),
            ):
                now.clear()
                now.update(then)
            context.scope.returns[:] = returns
