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
    if isinstance(value, dict):
        return {k: (v, _shallow(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [(v, _shallow(v)) for v in value]
    if isinstance(value, set):
        return set(value)
    return None


def _shallow(value: Any) -> Any:
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
    pairs = content.values() if isinstance(container, dict) else content
    for inner, copied in pairs:
        if copied is None:
            continue
        inner.clear()
        if isinstance(inner, list):
            inner.extend(copied)
        else:
            inner.update(copied)
    if isinstance(container, dict):
        container.update({k: inner for k, (inner, _) in content.items()})
    else:
        container.extend(inner for inner, _ in content)


class Snapshot:
    """What `walker` holds now; `restore()` puts it back. Besides the walker's own
    containers, the modules it reads (`ModuleContext`: the checked file's and each imported
    one's names, functions and classes, bound as the walk meets imports)."""

    def __init__(self, walker: Any) -> None:
        self._walker = walker
        self._saved = {
            name: (value, _copy(value) if isinstance(value, _CONTAINERS) else None)
            for name, value in vars(walker).items()
            if name not in _NOT_STATE
        }
        # Objects of the walker's own that hold state (the modules reached by two names): their
        # fields, as the walker's own containers are kept. (The modules it reads: below.)
        self._objects = [
            (value, {k: (v, _shallow(v)) for k, v in vars(value).items()})
            for name, value in vars(walker).items()
            if name not in _NOT_STATE
            and type(value).__module__.startswith(_OWN)
            and hasattr(value, "__dict__")
            and not isinstance(value, ModuleContext)
        ]
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
