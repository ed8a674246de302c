"""The replay's atom states over time, without a copy of the whole state at every step.

The live state is one dict that every write goes through (`Journal.put`), each write logging the
value it replaces. A `Mark` taken before a freeze, a mode change or an optimizer costs nothing
more: the state it stands for is rebuilt on first use, from the live dict by undoing what was
written since (the same keys, values and order as a copy taken then). A branch arm or a join
starts a new live dict (`Journal.restart`); the dict it replaces is never written again, so
marks on it stay valid.
"""

from __future__ import annotations

from freezelint.simulation.holdings import Atom, Key, OptimizerState

_MISSING = object()


class Journal:
    """The live atom states, with a log of what each write replaced (since the last restart)."""

    def __init__(self) -> None:
        self.state: dict[Key, Atom] = {}
        self._log: list[tuple[Key, object]] = []

    def put(self, key: Key, atom: Atom) -> None:
        self._log.append((key, self.state.get(key, _MISSING)))
        self.state[key] = atom

    def restart(self, state: dict[Key, Atom]) -> None:
        """Go on from `state` (a dict no one else writes), as at a branch arm or a join."""
        self.state = state
        self._log = []

    def mark(self) -> Mark:
        return Mark(self.state, self._log, len(self._log))


class Mark:
    """The atom states at one point of the replay, rebuilt when first read (`atoms`)."""

    def __init__(self, state: dict[Key, Atom], log: list[tuple[Key, object]], at: int) -> None:
        self._state: dict[Key, Atom] | None = state
        self._log = log
        self._at = at
        self._atoms: dict[Key, Atom] = {}

    @property
    def atoms(self) -> dict[Key, Atom]:
        if self._state is not None:
            atoms = dict(self._state)
            for key, old in reversed(self._log[self._at :]):
                if old is _MISSING:
                    del atoms[key]
                else:
                    atoms[key] = old  # type: ignore[assignment]
            self._atoms, self._state, self._log = atoms, None, []
        return self._atoms


class Snapshot:
    """The state just before an event: its atoms, and each optimizer's param groups (lists
    that only grow, so their length then says what they held)."""

    def __init__(self, mark: Mark, optimizers: dict[int, OptimizerState]) -> None:
        self._mark = mark
        self._groups = [(i, o.groups, len(o.groups)) for i, o in optimizers.items()]

    @property
    def atoms(self) -> dict[Key, Atom]:
        return self._mark.atoms

    @property
    def optimizers(self) -> dict[int, list[dict[tuple[int, tuple[str, ...], int], str]]]:
        return {i: [dict(g) for g in groups[:n]] for i, groups, n in self._groups}
