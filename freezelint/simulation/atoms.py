"""A model's parameter table seen as simulation atoms: one atom per parameter. Resolves the
script's module paths (negative indexes, slices, the library's classifier) to parameters and
evaluates name predicates over the names the script would see."""

from __future__ import annotations

from dataclasses import dataclass, field

from freezelint.model.table import ParamTable
from freezelint.script.selection import (
    DYNAMIC,
    HEAD,
    NameWhere,
    Path,
    Region,
    Trainable,
    part_slice,
)
from freezelint.simulation.module_loops import ModuleLoop
from freezelint.simulation.predicate_runs import UNSUPPORTED, PredicateRuns, Raised


@dataclass
class PredicateOutcome:
    """What a name predicate did over the real names (for FRZ005 and FRZ013)."""

    leaf: NameWhere
    table: ParamTable
    names: list[str]  # the names the predicate saw (wrapper prefix included; read only)
    matched: int = 0
    raised: tuple[str, str] | None = None  # (first name it raises on, the error)
    unsupported: bool = False
    # The region holds parts the table does not know: names it did not see may match.
    partial: bool = False


@dataclass
class TableAtoms:
    """A model's atoms as its table gives them: one per parameter, found by path or by name."""

    model: int
    table: ParamTable
    # The runs of name predicates, shared by every simulation of one check (and its rules).
    runs: PredicateRuns = field(default_factory=PredicateRuns)
    outcomes: dict[int, PredicateOutcome] = field(default_factory=dict)
    _membership: dict[int, dict[Path, bool | None]] = field(default_factory=dict)

    def add_children(self, added: dict[str, list[str]]) -> None:
        """Modules the script adds under new names (`model.classifier = nn.Linear(...)` on a
        model whose head is elsewhere): they come last among their parent's children."""
        if added:
            self.added = added
            self._under, self._keyed = {}, {}  # no longer the table's alone: not shared

    def refine(self, named: set[Path]) -> None:
        """The paths the script names inside an unknown part (`self.model.fc` of an opaque
        `self.model`) are atoms of their own, as in a model without a table."""
        inside = sorted(
            p
            for p in named
            if p not in self.opaque and any(p[: len(o)] == o and p != o for o in self.opaque)
        )
        if inside:
            self.opaque = self.opaque + inside
            self.paths = self.paths + inside
            self._under, self._keyed = {}, {}  # no longer the table's alone: not shared

    def __post_init__(self) -> None:
        self.added: dict[str, list[str]] = {}
        # Modules the script swaps for one the table does not describe (see `ModuleLoop`).
        self.changed: frozenset[str] = frozenset()
        # A partial table's unknown parts are one atom each, of unknown contents.
        self.opaque: list[Path] = [tuple(o.split(".")) for o in self.table.opaque]
        self.paths: list[Path] = self.table.paths + self.opaque if self.opaque else self.table.paths
        self.param_paths: frozenset[Path] = self.table.path_set
        self._numel: dict[Path, int] = self.table.numel_by_path
        self._under: dict[Path, list[tuple[Path, bool]]] = self.table.under_memo
        self._keyed: dict[tuple[int, Path], list] = self.table.keyed_memo

    def numel(self, path: Path) -> int | None:
        """A parameter's element count; None where the table does not know it (a head built
        with a stand-in size)."""
        if path not in self._numel:
            return None if path in self.param_paths or path in self.opaque else 0
        return self._numel[path]

    def opaque_under(self, prefixes: list[str], certain: bool = True) -> dict[Path, bool]:
        """The unknown parts inside these module paths (each with `certain`), and those the
        paths lie inside (only part of them is meant: never certain)."""
        out: dict[Path, bool] = {}
        for prefix in prefixes:
            base = tuple(prefix.split(".")) if prefix else ()
            for region in self.opaque:
                if region[: len(base)] == base:
                    out[region] = certain
                elif base[: len(region)] == region and not self._covered(region, base):
                    out.setdefault(region, False)
        return out

    def _covered(self, region: Path, base: Path) -> bool:
        """Does a deeper unknown atom inside `region` hold all of `base`? (Then the rest of
        `region` is untouched by it.)"""
        return any(
            len(other) > len(region)
            and other[: len(region)] == region
            and base[: len(other)] == other
            for other in self.opaque
        )

    def resolve(self, path: Path) -> tuple[list[str], bool]:
        """Concrete module (or parameter) paths a script path names, and whether that is exact.
        A module also registered under another name is named by its first (`body.0` is
        `backbone`), and one holding such modules by what it holds (see `aliased`)."""
        current, certain, _ = self._resolve(path)
        if not self.table.aliases:
            return current, certain
        return [p for prefix in current for p in self._expand(prefix, 0)], certain

    def aliased(self, path: Path) -> bool:
        """Does the script path name a module holding modules registered first under other
        names? The names seen through it are then not the table's, nor its modules a slice
        of the table's."""
        if not self.table.aliases:
            return False
        return any(self.table.holds_aliases(p) for p in self._resolve(path)[0])

    def renamed(self, path: Path) -> bool:
        """Is the module the script path names held under its name as the item of a module
        that holds one registered elsewhere first (`body[0]`), or does it hold such items?
        Putting another module there is not putting it where it was registered first."""
        if not self.table.aliases:
            return False
        current, _, last = self._resolve(path)
        return last or any(self.table.holds_aliases(p) for p in current)

    def _expand(self, prefix: str, depth: int) -> list[str]:
        """A module holding modules registered elsewhere first, as its children in order (the
        tensors it yields); any other module as itself (the whole model holds each anyway)."""
        if not prefix or depth > 8 or not self.table.holds_aliases(prefix):
            return [prefix]
        return [p for child in self.table.children(prefix) for p in self._expand(child, depth + 1)]

    def _resolve(self, path: Path) -> tuple[list[str], bool, bool]:
        """`resolve` before expanding, and whether its last component was mapped to a name
        registered first."""
        current, certain, crossed = [""], True, False
        for part in path:
            nxt: list[str] = []
            crossed = False
            for base in current:
                if part == HEAD:
                    if self.table.classifier is None:
                        return [], False, crossed
                    nxt.append(self.table.classifier)
                elif part[:1].isdigit() or part[:1] in "-:*":
                    children = self.table.children(base) + [
                        f"{base}.{c}" if base else c for c in self.added.get(base, ())
                    ]
                    before = len(nxt)
                    if part == DYNAMIC:
                        nxt.extend(children)
                        certain = False
                    elif ":" in part:
                        nxt.extend(children[part_slice(part)])
                    else:
                        index = int(part)
                        if -len(children) <= index < len(children):
                            nxt.append(children[index])
                    prefix = f"{base}." if base else ""
                    crossed |= any(not c.startswith(prefix) for c in nxt[before:])
                else:
                    full = f"{base}.{part}" if base else part
                    crossed |= full in self.table.aliases
                    nxt.append(self.table.aliases.get(full, full))
            current = nxt
        return current, certain, crossed

    def under(self, path: Path) -> list[tuple[Path, bool]]:
        """Parameters inside a script path, each with whether that is exact (cached)."""
        if path not in self._under:
            prefixes, certain = self.resolve(path)
            out: dict[Path, bool] = {}
            for prefix in prefixes:
                for p in self.table.params_under(prefix):
                    out[tuple(p.name.split("."))] = certain
                for parent, names in self.added.items():
                    for name in names:
                        full = f"{parent}.{name}" if parent else name
                        if not prefix or full == prefix or full.startswith(f"{prefix}."):
                            out[tuple(full.split("."))] = certain  # an added module's atom
            out.update(self.opaque_under(prefixes, certain))
            self._under[path] = list(out.items())
        return self._under[path]

    def keyed_under(self, path: Path) -> list[tuple[tuple[int, Path], bool]]:
        """`under` as a simulation's keys, `((model, atom), exact)` (cached: read only)."""
        key = (self.model, path)
        found = self._keyed.get(key)
        if found is None:
            found = self._keyed[key] = [((self.model, a), c) for a, c in self.under(path)]
        return found

    def _positions(
        self, base: Region, positions: tuple[int | None, int | None], negated: bool
    ) -> dict[Path, bool | None]:
        """The parameters of a region at the positions of a slice, in `parameters()` order."""
        prefixes, certain = self.resolve(base.path)
        params: dict[Path, None] = {}
        for prefix in prefixes:
            for p in self.table.params_under(prefix):
                params[tuple(p.name.split("."))] = None
        order = list(params)
        if self.opaque:
            # Unknown parts hold tensors somewhere in `parameters()` order: no position is known.
            return dict.fromkeys([*order, *self.opaque_under(prefixes)])
        chosen = set(order[slice(*positions)])
        return {path: ((path in chosen) != negated) if certain else None for path in order}

    def _norms(self, base: Region, negated: bool) -> dict[Path, bool | None]:
        """The parameters of the BatchNorm layers in a region (or, negated, all the others)."""
        prefixes, certain = self.resolve(base.path)
        norms = set(self.table.norms)
        out: dict[Path, bool | None] = {}
        for prefix in prefixes:
            for p in self.table.params_under(prefix):
                chosen = (p.module in norms) != negated
                out[tuple(p.name.split("."))] = chosen if certain else None
        out.update(dict.fromkeys(self.opaque_under(prefixes)))
        return out

    def module_loop(self, leaf: NameWhere) -> ModuleLoop | None:
        """A filtered loop over the modules of the leaf's region, when the region is one
        module of the table."""
        if leaf.modules is None or not isinstance(leaf.base, Region):
            return None
        prefixes, certain = self.resolve(leaf.base.path)
        if not certain or len(prefixes) != 1 or prefixes[0] not in self.table.module_set:
            return None
        if self.table.holds_aliases(prefixes[0]):
            return None  # (its modules are not those under its path in the table)
        return ModuleLoop(self.table, prefixes[0], leaf.modules, self.changed)

    def membership(self, leaf: NameWhere) -> dict[Path, bool | None]:
        """Which parameters of the leaf's base region its predicate selects (None: unknown;
        read only). Worked out once per check where this model's atoms are the table's alone
        (nothing added, refined or swapped): every path's simulation asks again."""
        key = id(leaf)
        if key in self._membership:
            return self._membership[key]
        shared = self._under is self.table.under_memo and not self.changed
        found = self.runs.memberships.get((key, id(self.table))) if shared else None
        if found is None or found[0] is not leaf or found[1] is not self.table:
            found = (leaf, self.table, *self._membership_of(leaf))
            if shared:
                self.runs.memberships[(key, id(self.table))] = found
        _, _, result, outcome = found
        self._membership[key] = result
        if outcome is not None:
            # Kept per predicate as written (`matched` counts where it is true, negated or not).
            self.outcomes.setdefault(id(leaf.predicate), outcome)
        return result

    def _membership_of(
        self, leaf: NameWhere
    ) -> tuple[dict[Path, bool | None], PredicateOutcome | None]:
        result: dict[Path, bool | None] = {}
        base = leaf.base
        outer: dict[Path, bool | None] | None = None
        if isinstance(base, NameWhere):
            # A filter inside a filter (`elif` after an `if` in a parameter loop): both hold.
            outer = self.membership(base)
            while isinstance(base, NameWhere):
                base = base.base
        if leaf.positions is not None and isinstance(base, Region) and outer is None:
            return self._positions(base, leaf.positions, leaf.negated), None
        if leaf.norms and isinstance(base, Region) and outer is None:
            return self._norms(base, leaf.negated), None
        if leaf.modules is not None:
            loop = self.module_loop(leaf)
            result = dict(loop.selected()) if loop is not None else {}
            if loop is not None:
                result.update(dict.fromkeys(self.opaque_under([loop.root])))
            return result, None
        trainable = isinstance(base, Trainable) and isinstance(base.base, Region) and not outer
        if trainable:
            # Over the trainable ones (`if not p.requires_grad: continue` first): what the
            # predicate leaves out is certain; what it picks, only if trainable then.
            base = base.base  # type: ignore[union-attr]
        if leaf.predicate is None or not isinstance(base, Region) or leaf.name_var is None:
            return result, None
        prefixes, certain = self.resolve(base.path)
        if self.aliased(base.path):
            # The names it sees are not the table's (`body.0.` for `backbone.`): unknown.
            for path, _ in self.under(base.path):
                result[path] = None
            return result, None
        names, full = self.runs.names(self.table, prefixes, leaf.name_prefix)
        outcome = PredicateOutcome(leaf, self.table, names)
        runs = self.runs.run(leaf.predicate, leaf.name_var, leaf.env, names, leaf.derived)
        for seen, name, ran in zip(names, full, runs, strict=True):
            path = tuple(name.split("."))
            if ran is UNSUPPORTED:
                outcome.unsupported = True
                result[path] = None
                continue
            if isinstance(ran, Raised):
                if outcome.raised is None:
                    outcome.raised = (seen, ran.message)
                result[path] = None
                continue
            value = bool(ran)
            outcome.matched += value
            result[path] = (value != leaf.negated) if certain else None
        hidden = self.opaque_under(prefixes)
        if hidden:
            outcome.partial = True
            result.update(dict.fromkeys(hidden))
        if outcome.raised is not None:
            # The script crashes at this filter: what it would have selected is moot.
            result = dict.fromkeys(result, None)
        if outer is not None:
            result = {
                path: False
                if outer.get(path) is False or chosen is False
                else (True if outer.get(path) and chosen else None)
                for path, chosen in result.items()
            }
        if trainable:
            result = {path: False if chosen is False else None for path, chosen in result.items()}
        return result, outcome
