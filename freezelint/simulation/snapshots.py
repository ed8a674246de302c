"""The state just before a freeze or a mode change (what FRZ008, FRZ009 and FRZ016 ask).

Copying the atoms is cheap (a dict copy in C: about 2 ns an atom); copying every optimizer's
param groups at every freeze was not (a Python loop over every group of every optimizer so far,
quadratic in the script): the groups are kept as the lists they are, which only grow, with their
length then, and copied only when read.
"""

from __future__ import annotations

from freezelint.script.selection import Path
from freezelint.simulation.holdings import Atom, Key, OptimizerState


class Snapshot:
    """The atom states just before an event, and each optimizer's param groups then."""

    def __init__(self, atoms: dict[Key, Atom], optimizers: dict[int, OptimizerState]) -> None:
        self.atoms = atoms
        self._groups = [(i, o.groups, len(o.groups)) for i, o in optimizers.items()]

    @property
    def optimizers(self) -> dict[int, list[dict[tuple[int, Path, int], str]]]:
        return {i: [dict(g) for g in groups[:n]] for i, groups, n in self._groups}
