"""Name predicates run over a table's names once per check, not once per path and rule.

Every path of a script is simulated on its own, and FRZ005 and FRZ013 look at a filter again
after the simulation did: each would run the same predicate over the same names. `PredicateRuns`
(one per check of a file, handed to each simulation) keeps what a run gave, name by name, by
what decides it: the expression (by identity: the file's syntax tree outlives the check), the
name variable, the constants it reads, what is computed from the name first, and the names.
A constant the key cannot describe by value (an object of the analysis) is not kept: that run
is done again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from freezelint.model.table import ParamTable
from freezelint.script.predicates import PredicateRaised, Unsupported, compile_predicate


class Raised:
    """A run that raised as the script would (`PredicateRaised`), with its message."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


UNSUPPORTED = object()  # a run that left what the interpreter models
# Per name: the predicate's value, or `Raised`, or `UNSUPPORTED`.
Runs = list[Any]


class PredicateRuns:
    """The runs of name predicates of one check, and the names they ran over."""

    def __init__(self) -> None:
        self._names: dict[tuple, tuple[ParamTable, list[str], list[str]]] = {}
        self._runs: dict[tuple, tuple[object, Runs]] = {}
        self._counts: dict[tuple[int, bool], tuple[Runs, int | None]] = {}
        self._envs: dict[tuple, tuple[object, list[dict[str, Any]] | None]] = {}
        # What a filter selects of a table's atoms, with its outcome, by the ids of both
        # (`TableAtoms.membership`: held with both, whose ids stay their own).
        self.memberships: dict[tuple[int, int], tuple[object, object, dict, Any]] = {}
        self._kept: dict[tuple, tuple[object, Any]] = {}

    def kept(self, key: tuple, held: object, compute: Callable[[], Any]) -> Any:
        """What `compute` gives for `key`, once per check (`held`: the objects whose ids the
        key names, kept with the answer so that their ids stay theirs; read only)."""
        found = self._kept.get(key)
        if found is None:
            found = self._kept[key] = (held, compute())
        return found[1]

    def names(
        self, table: ParamTable, prefixes: list[str], seen_prefix: str
    ) -> tuple[list[str], list[str]]:
        """The parameters under these module paths, in order: their names as the script sees
        them (`seen_prefix` and the path relative to the prefix) and their table names. The
        same lists for the same question: read only."""
        key = (id(table), tuple(prefixes), seen_prefix)
        found = self._names.get(key)
        if found is None:
            seen: list[str] = []
            full: list[str] = []
            for prefix in prefixes:
                for p in table.params_under(prefix):
                    rel = p.name[len(prefix) + 1 :] if prefix else p.name
                    seen.append(seen_prefix + rel)
                    full.append(p.name)
            found = self._names[key] = (table, seen, full)
        return found[1], found[2]

    def run(
        self,
        node: cst.CSTNode,
        var: str,
        env: tuple[tuple[str, object], ...],
        names: list[str],
        derived: tuple[tuple[str, cst.BaseExpression], ...] = (),
    ) -> Runs:
        """`node` run with `var` set to each name (what `derived` computes from it first), over
        the constants `env`: per name its value, `Raised` or `UNSUPPORTED`."""
        try:
            key = (id(node), var, _frozen(env), id(names), tuple((n, id(e)) for n, e in derived))
        except _Unkeyable:
            return self._run(node, var, env, names, derived)
        found = self._runs.get(key)
        if found is None:
            # (The nodes and names are held with the runs: their ids stay theirs.)
            found = self._runs[key] = (
                (node, names, derived),
                self._run(node, var, env, names, derived),
            )
        return found[1]

    def environments(
        self,
        var: str,
        env: tuple[tuple[str, object], ...],
        names: list[str],
        derived: tuple[tuple[str, cst.BaseExpression], ...] = (),
    ) -> list[dict[str, Any]] | None:
        """What a predicate reads for each name: the constants `env`, `var` set to the name and
        what `derived` computes from it (read only); None where a computation raises or leaves
        the interpreter."""
        try:
            key = (var, _frozen(env), id(names), tuple((n, id(e)) for n, e in derived))
        except _Unkeyable:
            return self._environments(var, env, names, derived)
        found = self._envs.get(key)
        if found is None:
            found = self._envs[key] = (
                (names, derived),
                self._environments(var, env, names, derived),
            )
        return found[1]

    def _environments(
        self,
        var: str,
        env: tuple[tuple[str, object], ...],
        names: list[str],
        derived: tuple[tuple[str, cst.BaseExpression], ...],
    ) -> list[dict[str, Any]] | None:
        computed = [(name, compile_predicate(expression)) for name, expression in derived]
        out = []
        try:
            for name in names:
                values = {**dict(env), var: name}
                for inner, compute in computed:
                    values[inner] = compute(values)
                out.append(values)
        except (Unsupported, PredicateRaised):
            return None
        return out

    def count(
        self,
        node: cst.CSTNode,
        var: str,
        env: tuple[tuple[str, object], ...],
        names: list[str],
        negated: bool = False,
    ) -> int | None:
        """For how many names `node` is true (false, with `negated`); None where it raises or
        leaves the interpreter on one."""
        ran = self.run(node, var, env, names)
        found = self._counts.get((id(ran), negated))
        if found is None:
            failed = any(value is UNSUPPORTED or isinstance(value, Raised) for value in ran)
            counted = None if failed else sum(bool(value) != negated for value in ran)
            found = self._counts[(id(ran), negated)] = (ran, counted)
        return found[1]

    def _run(
        self,
        node: cst.CSTNode,
        var: str,
        env: tuple[tuple[str, object], ...],
        names: list[str],
        derived: tuple[tuple[str, cst.BaseExpression], ...],
    ) -> Runs:
        predicate = compile_predicate(node)  # type: ignore[arg-type]
        computed = [(name, compile_predicate(expression)) for name, expression in derived]
        values = dict(env)
        out: Runs = []
        for name in names:
            try:
                values[var] = name
                for inner, compute in computed:
                    values[inner] = compute(values)
                out.append(predicate(values))
            except Unsupported:
                out.append(UNSUPPORTED)
            except PredicateRaised as error:
                out.append(Raised(str(error)))
        return out


class _Unkeyable(Exception):
    pass


def _frozen(value: object) -> object:
    """A hashable stand-in for a constant, equal only for constants of the same types, values
    and order."""
    if value is None or isinstance(value, str | int | float | bytes):
        return (type(value), value)
    if isinstance(value, list | tuple | set | frozenset):
        return (type(value), tuple(_frozen(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((_frozen(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, range):
        return (range, value.start, value.stop, value.step)
    raise _Unkeyable
