"""What the first run of a module body read, and when (issue 24): a later run that took another
arm of a fork walks on from the statement holding it (`resume.py`); once its state differs from
the first run's at a later statement only in what the first run never read from there on, the
rest of its walk is the first run's, and it rejoins it there (`Rejoin`).

The walker's state differs between such runs, past the statement that took another arm, in
three of its containers: the events (an arm's own), the models (the specs of the modules an arm
built) and the facts the path assumed (the flag's truth). During the first run those three are
`LoggedDict` and `LoggedList`, which note each read and write of a key (or an index) with the
clock: how many recorded points (`resume.ResumePoint`) the run had passed. Saving and putting
back the state (`Snapshot`, a branch's trial of its arms) goes through the base classes'
methods, which note nothing: it changes nothing the walk computes. (A copy is
`dict(dict.items(d))`: `dict(d)` and `dict.copy(d)` call the overridden `keys`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_ALL = object()  # a read of every value
_KEYS = object()  # a read of which keys there are (iteration, `len`)


class ReadLog:
    """The last clock at which each (container, key) was read or written, while the first run
    walks (`quieten` ends it)."""

    def __init__(self) -> None:
        self.clock = 0
        self.touched: dict[tuple[str, object], int] = {}
        self.events_low: dict[int, int] = {}  # per clock: the lowest event index read or set

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def note(self, name: str, key: object) -> None:
        self.touched[(name, key)] = self.clock

    def note_event(self, index: int) -> None:
        low = self.events_low.get(self.clock)
        if low is None or index < low:
            self.events_low[self.clock] = index

    def since(self, name: str, key: object, clock: int) -> bool:
        """Was `key` of container `name` (or all of it) read or written at `clock` or later?"""
        touched = self.touched
        return touched.get((name, key), -1) >= clock or touched.get((name, _ALL), -1) >= clock

    def keys_since(self, name: str, clock: int) -> bool:
        """Was the key set of container `name` read at `clock` or later?"""
        touched = self.touched
        return touched.get((name, _KEYS), -1) >= clock or touched.get((name, _ALL), -1) >= clock

    def lowest_event_since(self, clock: int) -> int | None:
        """The lowest event index read or set at `clock` or later (None: none)."""
        found = [low for at, low in self.events_low.items() if at >= clock]
        return min(found) if found else None


class QuietDict(dict):
    """A `LoggedDict` once its run is walked: a plain dict again, in place (`quieten`)."""

    __slots__ = ("_log", "_name")


class QuietList(list):
    """A `LoggedList` once its run is walked (`quieten`)."""

    __slots__ = ("_log",)


def quieten(*containers: object) -> None:
    """Stop noting reads of these `LoggedDict` and `LoggedList`: they keep their identity (the
    first run's snapshots refill them) and read at the base classes' speed."""
    for container in containers:
        if type(container) is LoggedDict:
            container.__class__ = QuietDict
        elif type(container) is LoggedList:
            container.__class__ = QuietList


class LoggedDict(dict):
    """A dict that notes its reads and writes in a `ReadLog` under `name`."""

    __slots__ = ("_log", "_name")

    def __init__(self, content: dict, log: ReadLog, name: str) -> None:
        dict.__init__(self, content)
        self._log = log
        self._name = name

    def __getitem__(self, key: object) -> Any:
        self._log.note(self._name, key)
        return dict.__getitem__(self, key)

    def get(self, key: object, default: Any = None) -> Any:
        self._log.note(self._name, key)
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        self._log.note(self._name, key)
        return dict.__contains__(self, key)

    def __setitem__(self, key: object, value: Any) -> None:
        self._log.note(self._name, key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: object) -> None:
        self._log.note(self._name, key)
        dict.__delitem__(self, key)

    def setdefault(self, key: object, default: Any = None) -> Any:
        self._log.note(self._name, key)
        return dict.setdefault(self, key, default)

    def pop(self, key: object, *default: Any) -> Any:
        self._log.note(self._name, key)
        return dict.pop(self, key, *default)

    def __iter__(self) -> Iterator:
        self._log.note(self._name, _KEYS)
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._log.note(self._name, _KEYS)
        return dict.__len__(self)

    def keys(self) -> Any:
        self._log.note(self._name, _KEYS)
        return dict.keys(self)

    def values(self) -> Any:
        self._log.note(self._name, _ALL)
        return dict.values(self)

    def items(self) -> Any:
        self._log.note(self._name, _ALL)
        return dict.items(self)

    # Anything else that reads or changes the whole dict, noted as touching all of it.
    def copy(self) -> dict:
        self._log.note(self._name, _ALL)
        return dict.copy(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._log.note(self._name, _ALL)
        dict.update(self, *args, **kwargs)

    def clear(self) -> None:
        self._log.note(self._name, _ALL)
        dict.clear(self)

    def popitem(self) -> Any:
        self._log.note(self._name, _ALL)
        return dict.popitem(self)

    def __or__(self, other: Any) -> Any:
        self._log.note(self._name, _ALL)
        return dict.__or__(self, other)

    def __ror__(self, other: Any) -> Any:
        self._log.note(self._name, _ALL)
        return dict.__ror__(self, other)

    def __ior__(self, other: Any) -> Any:
        self._log.note(self._name, _ALL)
        return dict.__ior__(self, other)

    def __eq__(self, other: object) -> bool:
        self._log.note(self._name, _ALL)
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._log.note(self._name, _ALL)
        return dict.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        raise TypeError("a LoggedDict is not copied or pickled")


class LoggedList(list):
    """The events list, noting the lowest index each read or write reaches (its length is
    not a read: runs are compared at equal lengths)."""

    __slots__ = ("_log",)

    def __init__(self, content: list, log: ReadLog) -> None:
        list.__init__(self, content)
        self._log = log

    def __getitem__(self, index: Any) -> Any:
        self._note(index)
        return list.__getitem__(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._note(index)
        list.__setitem__(self, index, value)

    def __delitem__(self, index: Any) -> None:
        self._note(index)
        list.__delitem__(self, index)

    def _note(self, index: Any) -> None:
        if type(index) is slice:
            start = index.start or 0
            self._log.note_event(start if start >= 0 else max(list.__len__(self) + start, 0))
        else:
            self._log.note_event(index if index >= 0 else list.__len__(self) + index)

    def __iter__(self) -> Iterator:
        self._log.note_event(0)
        return list.__iter__(self)

    def __add__(self, other: Any) -> Any:
        self._log.note_event(0)
        return list.__add__(self, other)

    def __reversed__(self) -> Iterator:
        index = list.__len__(self)
        while index > 0:
            index -= 1
            self._log.note_event(index)
            yield list.__getitem__(self, index)

    def __contains__(self, value: object) -> bool:
        self._log.note_event(0)
        return list.__contains__(self, value)

    def index(self, *args: Any) -> int:
        self._log.note_event(0)
        return list.index(self, *args)

    def count(self, value: object) -> int:
        self._log.note_event(0)
        return list.count(self, value)

    def copy(self) -> list:
        self._log.note_event(0)
        return list.copy(self)

    def __eq__(self, other: object) -> bool:
        self._log.note_event(0)
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self._log.note_event(0)
        return list.__ne__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def insert(self, index: Any, value: Any) -> None:
        self._log.note_event(0)
        list.insert(self, index, value)

    def remove(self, value: Any) -> None:
        self._log.note_event(0)
        list.remove(self, value)

    def pop(self, *index: Any) -> Any:
        self._log.note_event(0)
        return list.pop(self, *index)

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._log.note_event(0)
        list.sort(self, *args, **kwargs)

    def reverse(self) -> None:
        self._log.note_event(0)
        list.reverse(self)

    def __reduce__(self) -> Any:
        raise TypeError("a LoggedList is not copied or pickled")
