"""Taking back what walking some code did to a walker: the arms of a branch are walked to see
whether they matter before the run goes on down one of them (`ConditionalWalker.branch`).

A snapshot copies the walker's own containers two levels deep (the heap's per-object
attribute tables, the models, the events, the imported modules read) and restores them in
place, so that every other reference to them (a scope's environment, a list of environments)
sees the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from freezelint.script.extract.scope import ModuleContext

_CONTAINERS = (dict, list, set)
_OWN = "freezelint.script.extract."
# What a walker keeps across the runs it makes, not a run's state (`resume.ResumePoints`).
_NOT_STATE = frozenset({"resume_points", "read_log", "rejoin"})


# What `_copy` gives for an empty container, shared: most of the walker's containers are empty
# at most points, and a content is only read (`_refill`, `_same`; `Snapshot.content` copies).
_NO_ITEMS: dict[type, Any] = {dict: ({}, {}), list: ([], {}), set: frozenset()}


def _copy(value: Any) -> Any:
    """A copy of a container and of the containers it holds (one level): for a dict or a list,
    (a flat copy, {key or index: a copy of the container held there}); for a set, a copy.
    (The base classes' methods: a container that notes its reads, `read_log`, notes none.)"""
    kind = type(value)
    if kind is dict:  # (the walker's usual container: without `_shallow`'s dispatch)
        if not value:
            return _NO_ITEMS[dict]
        flat = value.copy()
    elif isinstance(value, dict | list):
        flat = _shallow(value)
        if not flat:
            return _NO_ITEMS[dict if isinstance(value, dict) else list]
    elif isinstance(value, set):
        return set.copy(value) if set.__len__(value) else _NO_ITEMS[set]
    else:
        return None
    keyed = type(flat) is dict
    if flat and _holds_containers(flat.values() if keyed else flat):
        pairs = flat.items() if keyed else enumerate(flat)
        return flat, {k: _shallow(v) for k, v in pairs if isinstance(v, _CONTAINERS)}
    return flat, {}


_IS_CONTAINER: dict[type, bool] = {}


def _holds_containers(items: Any) -> bool:
    """Is any of these a dict, list or set? Asked of the few types among them (`map(type)`
    runs in C), not of each item: a snapshot copies the events and the walker's other long
    containers at every point a run may resume from, and few of them hold containers."""
    for kind in set(map(type, items)):
        known = _IS_CONTAINER.get(kind)
        if known is None:
            known = _IS_CONTAINER[kind] = issubclass(kind, _CONTAINERS)
        if known:
            return True
    return False


def _shallow(value: Any) -> Any:
    """A copy of a dict, list or set; None for anything else."""
    if isinstance(value, dict):
        return value.copy() if type(value) is dict else dict(dict.items(value))
    if isinstance(value, list):
        return list.copy(value)
    if isinstance(value, set):
        return set.copy(value)
    return None


def _put(container: Any, content: Any) -> None:
    """Make a dict, list or set hold `content` again (in place)."""
    if isinstance(container, dict):
        dict.clear(container)
        dict.update(container, content)
    elif isinstance(container, list):
        list.clear(container)
        list.extend(container, content)
    else:
        set.clear(container)
        set.update(container, content)


def _refill(container: Any, content: Any) -> None:
    """Put `content` (from `_copy`) back into `container`, and into the containers it held."""
    if isinstance(container, set):
        _put(container, content)
        return
    flat, held = content
    if not flat:
        (dict.clear if isinstance(container, dict) else list.clear)(container)
        return
    for key, copied in held.items():
        _put(flat[key], copied)
    _put(container, flat)


def _same(now: Any, content: Any) -> bool:
    """Does a container hold what `_copy` copied of it (its containers compared by content)?"""
    if isinstance(now, set):
        return set.__eq__(now, content) is True
    flat, held = content
    if isinstance(now, dict):
        if dict.__len__(now) != len(flat) or dict.keys(now) != flat.keys():
            return False
        pairs = dict.items(now)
    else:
        if list.__len__(now) != len(flat):
            return False
        pairs = enumerate(list.copy(now))
    for key, value in pairs:
        if key in held:
            if not _same_shallow(value, held[key]):
                return False
        elif value is not flat[key] and value != flat[key]:
            return False
    return True


def _same_shallow(now: Any, copied: Any) -> bool:
    if isinstance(now, dict):
        return isinstance(copied, dict) and dict.__eq__(now, copied) is True
    if isinstance(now, list):
        return isinstance(copied, list) and list.__eq__(now, copied) is True
    if isinstance(now, set):
        return isinstance(copied, set) and set.__eq__(now, copied) is True
    return False


def _holds_state(value: Any) -> bool:
    """Is a field's value one of the walker's own objects whose fields hold state (the modules
    reached by two names), not a module it reads?"""
    return (
        type(value).__module__.startswith(_OWN)
        and hasattr(value, "__dict__")
        and not isinstance(value, ModuleContext)
    )


# What a snapshot does with a field's value, by its type (asked once per type): copy it (a
# container), keep its fields (an object holding state), both, or neither (kept as it is).
_CONTAINER, _STATEFUL = 1, 2
_KINDS: dict[type, int] = {}


def _kind(value: Any) -> int:
    kind = (_CONTAINER if isinstance(value, _CONTAINERS) else 0) | (
        _STATEFUL if _holds_state(value) else 0
    )
    _KINDS[type(value)] = kind
    return kind


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
        saved = self._saved
        for name, value in vars(walker).items():
            if name in _NOT_STATE:
                continue
            kind = _KINDS.get(type(value))
            if kind is None:
                kind = _kind(value)
            saved[name] = (value, _copy(value) if kind & _CONTAINER else None)
            if kind & _STATEFUL:
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
                    _put(held, copied)
        for context, functions, classes, env, returns in self._modules:
            for now, then in (
                (context.functions, functions),
                (context.classes, classes),
                (context.scope.env, env),
            ):
                now.clear()
                now.update(then)
            context.scope.returns[:] = returns

    def content(self, name: str) -> Any:
        """A copy of what field `name` held (a container's containers as they were)."""
        value, content = self._saved[name]
        if content is None or isinstance(value, set):
            return content
        flat, held = content
        if isinstance(flat, dict):
            return {k: held.get(k, v) for k, v in flat.items()}
        return [held.get(i, v) for i, v in enumerate(flat)]

    def differences(
        self, walker: Any, free: frozenset[str], keyed: frozenset[str], listed: str
    ) -> Differences | None:
        """How `walker` (the one this snapshot is of) differs from what it held then: per
        dict named in `keyed`, the keys whose values differ; for the list named `listed`, the
        indexes (same length); fields in `free` are not compared. None when anything else
        differs, or `listed` has another length."""
        state = vars(walker)
        if {n for n in state if n not in _NOT_STATE} != self._saved.keys():
            return None
        out = Differences()
        for name, (value, content) in self._saved.items():
            if name in free:
                continue
            now = state[name]
            if name == listed or name in keyed:
                if now is not value or not isinstance(now, list | dict) or content[1]:
                    return None  # (rebound, or holding containers: not compared by key)
                flat = content[0]
                if name == listed:
                    items = list.copy(now)
                    if len(items) != len(flat):
                        return None
                    out.indexes = [
                        i
                        for i, (a, b) in enumerate(zip(items, flat, strict=True))
                        if a is not b and a != b
                    ]
                else:
                    mine = _shallow(now)
                    if mine.keys() != flat.keys():
                        out.key_sets.add(name)
                    out.keys[name] = {
                        k
                        for k in mine.keys() | flat.keys()
                        if k not in mine
                        or k not in flat
                        or (mine[k] is not flat[k] and mine[k] != flat[k])
                    }
                continue
            if content is None:
                if now is not value and now != value:
                    return None
            elif type(now) is not type(value) or not _same(now, content):
                return None
        for value, fields in self._objects:
            if vars(value).keys() != fields.keys():
                return None
            for name, (held, copied) in fields.items():
                now = getattr(value, name)
                if copied is not None:
                    if not _same_shallow(now, copied):
                        return None
                elif now is not held and now != held:
                    return None
        for context, functions, classes, env, returns in self._modules:
            if (
                context.functions != functions
                or context.classes != classes
                or context.scope.env != env
                or context.scope.returns != returns
            ):
                return None
        return out


@dataclass
class Differences:
    """What differs between a walker and a snapshot of it (`Snapshot.differences`)."""

    keys: dict[str, set] = field(default_factory=dict)
    key_sets: set[str] = field(default_factory=set)
    indexes: list[int] = field(default_factory=list)
