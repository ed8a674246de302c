"""Symbolic simulation: replay a timeline over each model's named regions.

Without a parameter table a model is cut into *atoms*: one per module path the script names (the
whole model is `()`), each atom standing for the parameters under that path that no deeper named
path covers. An atom has a status (trainable "T", frozen "F", unknown "?"), a generation (bumped
when the module is replaced: new tensors) and whether it is known to hold any parameter. Name
predicates and other subsets the analysis cannot describe make the atoms they may touch unknown:
unknown never becomes a diagnostic.

Emptiness is the one assumption: a path the script names on its own (frozen, replaced, handed
to an optimizer) holds parameters, and a whole model minus one named part still holds some.
"""

from __future__ import annotations

from collections.abc import Mapping

from freezelint.model.table import ParamTable
from freezelint.script.events import (
    BranchArm,
    BranchJoin,
    Event,
    IteratorConsumed,
    ModelBuilt,
    ModelSpec,
    ModeSet,
    ModuleReplaced,
    OptimizerBuilt,
    ParamGroupAdded,
    ParamsListed,
    RequiresGradSet,
    Timeline,
)
from freezelint.script.selection import (
    NameWhere,
    Path,
    Region,
    Selection,
    Trainable,
    leaves,
    path_relation,
    regions,
)
from freezelint.simulation.arms import JoinedArms
from freezelint.simulation.atoms import TableAtoms
from freezelint.simulation.holdings import MAYBE, YES, Atom, Holding, Key, OptimizerState
from freezelint.simulation.module_loops import changed_modules, loop_of, loop_outcome
from freezelint.simulation.predicate_runs import PredicateRuns
from freezelint.simulation.queries import Queries
from freezelint.simulation.snapshots import Snapshot

__all__ = ["MAYBE", "YES", "Atom", "Key", "OptimizerState", "Simulation", "Snapshot"]


class Simulation(Holding, Queries):
    def __init__(
        self,
        timeline: Timeline,
        tables: Mapping[int, ParamTable] | None = None,
        runs: PredicateRuns | None = None,
    ) -> None:
        """`runs`: the name predicates' runs of the check this simulation is part of (shared by
        its paths: `predicate_runs.py`); this simulation's own without one."""
        self.timeline = timeline
        self.events = timeline.events
        runs = PredicateRuns() if runs is None else runs
        # Models whose parameter table is known: one atom per parameter.
        self.tables = {m: TableAtoms(m, t, runs) for m, t in (tables or {}).items()}
        self.paths: dict[int, list[Path]] = {}
        self.state: dict[Key, Atom] = {}
        self.optimizers: dict[int, OptimizerState] = {}
        # The state just before each unfreeze and each `.train()` (what FRZ008 and FRZ009 ask).
        self.before: dict[int, Snapshot] = {}
        self.consumed: set[int] = set()  # bound parameter iterators used up so far
        self._arms: JoinedArms | None = None
        self._selected: dict[int, tuple[NameWhere | Trainable, dict[Key, bool | None]]] = {}
        # Bound parameter lists: what each held when bound, and whether that is fully known.
        self.listed: dict[int, tuple[dict[tuple[int, Path, int], str], bool]] = {}
        # The freezes of one filtered loop over modules (`if ...: m.requires_grad_(True)
        # else: m.requires_grad_(False)`): they act module by module, together.
        self.loops: dict[int, list[RequiresGradSet]] = {}
        for event in self.events:
            if isinstance(event, RequiresGradSet) and loop_of(event):
                self.loops.setdefault(loop_of(event), []).append(event)
        self._collect_paths()
        self._run()

    # -- atoms -------------------------------------------------------------------------------

    def _collect_paths(self) -> None:
        found: dict[int, set[Path]] = {m: {()} for m in self.timeline.models}
        replaced: dict[int, list[ModuleReplaced]] = {}  # (by the model they replace in)
        for event in self.events:
            for region in _event_regions(event):
                found.setdefault(region.model, {()}).add(region.path)
            if isinstance(event, ModuleReplaced):
                replaced.setdefault(event.model, []).append(event)
        self.named = {m: frozenset(paths) for m, paths in found.items()}
        ordered: dict[int, list[Path]] = {}
        for model, atoms in self.tables.items():
            if model in replaced:
                mine = replaced[model]
                atoms.add_children(_added_children(mine, model, atoms))
                atoms.changed = changed_modules(mine, self.timeline.models, model, atoms)
            named = found.get(model, set())
            if model not in replaced and named <= _ROOT_ONLY:
                # (A model no event of this path names: nothing to refine, no path of its own.
                # Most of the models of a projection, `checking/projection.py`.)
                if atoms.paths is atoms.table.paths:
                    ordered[model] = atoms.table.paths_by_depth
                    found.setdefault(model, set())
                else:
                    found[model] = set(atoms.paths)
                continue
            atoms.refine(named)
            # Keep a script path as an atom of its own only where it names no parameter (a
            # replaced `Identity`, a typo): every other path resolves to parameters.
            modules = atoms.table.module_set
            # A path inside a module the model does not have (`model.model.head` on a model
            # without `model`) is where the script raises: no atom, nothing to report.
            extra = {
                p
                for p in named
                if p and not atoms.under(p) and (len(p) == 1 or ".".join(p[:-1]) in modules)
            }
            if not extra and atoms.paths is atoms.table.paths:
                # (The usual case: sorted once, and no set of every path made per simulation.)
                ordered[model] = atoms.table.paths_by_depth
                found.setdefault(model, set())  # (its place among the models kept)
            else:
                found[model] = set(atoms.paths) | extra
        self.paths = {
            m: ordered[m] if m in ordered else sorted(paths, key=lambda p: (len(p), p))
            for m, paths in found.items()
        }

    def atoms_under(self, model: int, path: Path) -> list[tuple[Key, bool]]:
        """Atoms inside region `path` of `model`, each with whether that is certain."""
        if model in self.tables:
            found = self.tables[model].keyed_under(path)  # (read only)
            if not found and path in self.paths.get(model, []):
                found = [((model, path), True)]
            return found
        out = []
        for atom in self.paths.get(model, [()]):
            rel = path_relation(path, atom)
            if rel in ("equal", "contains"):
                out.append(((model, atom), True))
            elif rel == "unknown" or (rel == "within" and not self._covered(model, path, atom)):
                # `path` lies inside this atom's own part (or may): part of it is touched.
                out.append(((model, atom), False))
        return out

    def _covered(self, model: int, path: Path, atom: Path) -> bool:
        """Is `path` (inside `atom`) covered by a deeper named atom? Then `atom` is untouched."""
        return any(
            path_relation(other, path) in ("equal", "contains")
            and path_relation(atom, other) == "contains"
            for other in self.paths.get(model, [])
        )

    def _initial_nonempty(self, model: int, atom: Path, has_params: bool | None) -> bool | None:
        if model in self.tables:
            atoms = self.tables[model]
            if atom in atoms.param_paths:
                return True
            if atom not in atoms.opaque or atom not in self.named.get(model, ()):
                return None
            # An unknown part of a partial table the script names on its own holds parameters
            # (the one assumption, as for a model without a table).
            return _rest_of_unknown(atom, atoms.opaque)
        deeper = [p for p in self.paths[model] if path_relation(atom, p) == "contains"]
        if not deeper:
            return True if atom else has_params
        if atom == ():
            top = {p for p in deeper if not any(path_relation(q, p) == "contains" for q in deeper)}
            spec = self.timeline.models.get(model)
            if spec is not None and spec.parts is not None:
                return _rest_of_composite(spec, top)
            return True if len(top) == 1 and has_params is not False else None
        return _rest_of_unknown(atom, deeper) if self._unknown_part(model, atom) else None

    def _unknown_part(self, model: int, atom: Path) -> bool:
        """Is `atom` a part of a composite that the analysis cannot build (an unknown value
        the script uses as a module: `self.features = make_features()`), or inside one?"""
        spec = self.timeline.models.get(model)
        if spec is None or spec.parts is None or not atom:
            return False
        parts = dict(spec.parts)
        return atom[0] in parts and parts[atom[0]] is None

    # -- replay ------------------------------------------------------------------------------

    def _run(self) -> None:
        forks: list[tuple[int, dict[Key, Atom], list[dict[Key, Atom]]]] = []
        for event in self.events:
            if isinstance(event, RequiresGradSet | ModeSet):
                self.before[event.seq] = Snapshot(dict(self.state), self.optimizers)
            if isinstance(event, BranchArm):
                if event.arm == 0:
                    forks.append((event.ident, dict(self.state), []))
                else:
                    forks[-1][2].append(self.state)
                    self.state = dict(forks[-1][1])
            elif isinstance(event, BranchJoin) and forks:
                _, _, arms = forks.pop()
                self.state = _join([*arms, self.state])
            elif isinstance(event, ModelBuilt):
                spec = event.spec
                status = "T" if spec.trainable else "?"
                if event.copy_of is not None:
                    self._copy(event.model, *event.copy_of)
                    continue
                built = self._built_from_table(event.model, status)
                if built is None:
                    built = self._built(event.model, status, spec.has_params)
                self.state.update(built)
            elif isinstance(event, RequiresGradSet):
                group = self.loops.get(loop_of(event), [event])
                if len(group) == 1:
                    self._set(event.selection, event.value)
                elif event is group[0]:
                    self._set_loop(group)
            elif isinstance(event, ModuleReplaced):
                self._replace(event)
            elif isinstance(event, IteratorConsumed):
                self.consumed.add(event.binding)
            elif isinstance(event, ParamsListed):
                listed: dict[tuple[int, Path, int], str] = {}
                complete = all(self._hold(leaf, listed, YES) for leaf in leaves(event.selection))
                self.listed[event.binding] = (listed, complete)
            elif isinstance(event, OptimizerBuilt):
                opt = OptimizerState(event)
                for group in event.groups:
                    self._add_group(opt, group)
                opt.built_state = dict(self.state)
                self.optimizers[event.optimizer] = opt
            elif isinstance(event, ParamGroupAdded) and event.optimizer in self.optimizers:
                self._add_group(self.optimizers[event.optimizer], event.group, event)

    def _built(self, model: int, status: str, has_params: bool | None) -> dict[Key, Atom]:
        """The atoms of a model as it is built: `status` (trainable or not known) but in the
        parts the analysis cannot build, and whether each holds parameters."""
        out: dict[Key, Atom] = {}
        for atom in self.paths.get(model, [()]):
            unknown = self._unknown_part(model, atom) or (
                model in self.tables and atom in self.tables[model].opaque
            )
            nonempty = self._initial_nonempty(model, atom, has_params)
            out[(model, atom)] = Atom("?" if unknown else status, 0, nonempty)
        return out

    def _built_from_table(self, model: int, status: str) -> dict[Key, Atom] | None:
        """`_built` for a model with a table and no part the analysis cannot build (the usual
        case, hundreds of atoms per model, so in one pass): each atom with `status`, holding
        parameters exactly when the table has it as one; None for other models. Read only:
        where the model's atoms are its table's parameters, as usual, it is the table's for
        every simulation of a process that builds this model (`ParamTable.built_memo`)."""
        atoms = self.tables.get(model)
        if atoms is None or atoms.opaque:
            return None
        spec = self.timeline.models.get(model)
        if spec is not None and spec.parts is not None and any(p is None for _, p in spec.parts):
            return None
        params = atoms.param_paths
        paths = self.paths.get(model, [()])
        table = atoms.table
        shared = paths is table.paths_by_depth and params is table.path_set
        found = table.built_memo.get((model, status)) if shared else None
        if found is None:
            held, unsure = Atom(status, 0, True), Atom(status, 0, None)
            found = {(model, a): held if a in params else unsure for a in paths}
            if shared:
                table.built_memo[(model, status)] = found
        return found

    def _copy(self, model: int, source: int, prefix: Path) -> None:
        """A deep copy starts with the state the module it copies has now: atom for atom when
        both tables hold the same tensors (a head replaced before is copied as it is now);
        without tables, as far as the original's named parts tell (`_carried`); unknown where
        the original has modules the copy's table lacks (added under new names)."""
        found = self._atoms_at(source, prefix) or []
        paths = self.paths.get(model, [()])
        if model in self.tables and source in self.tables:
            mine = dict(found)
            if any(self.tables[source].added.values()) or any(
                rel not in set(paths) for rel in mine
            ):
                mine = {}  # (modules the copy's table does not hold: its state is not known)
            for atom in paths:
                self.state[(model, atom)] = mine.get(atom, Atom("?", 0, None))
            return
        statuses = self._index(found)
        spec = self.timeline.models.get(model)
        for atom in paths:
            self.state[(model, atom)] = Atom(
                self._carried(atom, statuses) or "?",
                0,
                self._initial_nonempty(model, atom, spec.has_params if spec else None),
            )

    def atom(self, key: Key) -> Atom:
        atom = self.state.get(key)
        if atom is None:
            atom = self.state[key] = _UNKNOWN
        return atom

    def _set(self, sel: Selection, value: bool | None) -> None:
        new = "?" if value is None else ("T" if value else "F")
        for leaf in leaves(sel):
            if isinstance(leaf, Region):
                state = self.state
                for key, certain in self.atoms_under(leaf.model, leaf.path):
                    atom = state.get(key)  # (`atom` and `_status`, inline: hundreds per freeze)
                    if atom is None:
                        atom = state[key] = _UNKNOWN
                    status = new if certain or atom.status == new else "?"
                    if atom.status != status:
                        state[key] = Atom(status, atom.gen, atom.nonempty)
            elif isinstance(leaf, Trainable) and value is not None:
                if value:
                    continue  # re-enabling what is already trainable changes nothing
                if any(isinstance(inner, NameWhere) for inner in leaves(leaf.base)):
                    # The trainable ones among a filter's parameters (`if "fc" not in name:
                    # if p.requires_grad:`): freezing them is freezing what the filter picks.
                    self._set(leaf.base, False)
                    continue
                for region in regions(leaf.base):
                    for key, _ in self.atoms_under(region.model, region.path):
                        status = self.atom(key).status
                        self._status(key, "F" if status in ("T", "F") else "?")
            elif isinstance(leaf, NameWhere | Trainable):
                exact = self.selected(leaf)
                for region in regions(leaf.base):
                    for key, _ in self.atoms_under(region.model, region.path):
                        chosen = exact.get(key)
                        if chosen is True:
                            self._status(key, new)
                        elif chosen is None and self.atom(key).status != new:
                            self._status(key, "?")

    def _set_loop(self, group: list[RequiresGradSet]) -> None:
        """The freezes of one filtered loop over modules, run module by module (the loop
        visits a module's containers before it: the deepest picked module sets it last)."""
        leaves_ = [e.selection for e in group]
        base = leaves_[0].base  # type: ignore[union-attr]
        atoms = self.tables.get(base.model)
        loops = [
            atoms.module_loop(leaf)  # type: ignore[arg-type]
            if atoms is not None and leaf.base == base  # type: ignore[union-attr]
            else None
            for leaf in leaves_
        ]
        # Conditions on the module inside the loop (`if hasattr(m, "weight"):`) are in the
        # filters; other branches around one freeze and not another are not known to be taken.
        joined = {e.ident for e in self.events if isinstance(e, BranchArm)}
        shapes = {tuple(f for f in e.ctx if f.kind != "branch" or f.ident in joined) for e in group}
        if atoms is None or None in loops or len(shapes) > 1:
            for event in group:
                self._set(event.selection, None)
            return
        statuses = ["?" if e.value is None else ("T" if e.value else "F") for e in group]
        outcome = loop_outcome(zip(loops, statuses, strict=True))  # type: ignore[arg-type]
        for key, _ in self.atoms_under(base.model, base.path):
            status = outcome.get(key[1])
            if status is not None:
                self._status(key, status)
            elif key[1] not in atoms.param_paths:
                self._status(key, "?")  # a module the script added: not in the loop's table

    def _status(self, key: Key, status: str) -> None:
        atom = self.atom(key)
        if atom.status != status:
            self.state[key] = Atom(status, atom.gen, atom.nonempty)

    def selected(self, leaf: NameWhere | Trainable) -> dict[Key, bool | None]:
        """For a name predicate over a model with a table: which atoms it selects exactly
        (worked out once per filter; read only)."""
        found = self._selected.get(id(leaf))
        if found is None:
            found = self._selected[id(leaf)] = (leaf, self._select(leaf))
        return found[1]

    def _select(self, leaf: NameWhere | Trainable) -> dict[Key, bool | None]:
        if not isinstance(leaf, NameWhere):
            return {}
        base = leaf.base
        while isinstance(base, NameWhere):
            base = base.base
        if isinstance(base, Trainable):
            base = base.base  # (`atoms.membership` says what that leaves certain)
        if not isinstance(base, Region) or base.model not in self.tables:
            return {}
        atoms = self.tables[base.model]
        return {(base.model, path): chosen for path, chosen in atoms.membership(leaf).items()}

    def _replace(self, event: ModuleReplaced) -> None:
        atoms = self.tables.get(event.model)
        if atoms is not None and atoms.renamed(event.path):
            # Put in as the item of a module holding one registered first elsewhere (`body[0]
            # = ...` where `body.0` is `backbone`): not where the table has it. Unknown.
            for key, _ in self.atoms_under(event.model, event.path):
                self.state[key] = Atom("?", -1, None)
            return
        fresh = "T" if event.trainable else "?"
        removed = self._removed(event)
        statuses = self._statuses(event)
        depth = len(event.path)
        for key, certain in self.atoms_under(event.model, event.path):
            atom = self.atom(key)
            status = self._carried(key[1][depth:], statuses) or fresh
            gen = atom.gen if event.added else (atom.gen + 1 if atom.gen >= 0 else -1)
            if certain and len(key[1]) == depth and path_relation(event.path, key[1]) == "equal":
                nonempty = (
                    event.adds_params
                    if event.adds_params is False
                    else (atom.nonempty if atom.nonempty is not None else event.adds_params)
                )
                if nonempty and event.model not in self.tables:
                    nonempty = self._rest_of_part(event.model, key[1])
                self.state[key] = Atom(status, gen, nonempty)
            elif certain:
                # A parameter of the replaced module (from the table): the new module has its
                # own tensors, which are there exactly when it has parameters (and the module
                # put in had not lost that part: `self.resnet.fc = None` inside it).
                nonempty = event.adds_params if event.model in self.tables else None
                if event.model in self.tables and (event.taken_from is not None or event.added):
                    # The part's table is the submodule's, or the part a composite is first
                    # given is in its table as it is built: each parameter there is real.
                    real = (
                        event.taken_from is not None
                        or key[1] in self.tables[event.model].param_paths
                    )
                    nonempty = True if real else None
                rel = key[1][len(event.path) :]
                if nonempty and any(rel[: len(atom)] == atom for atom in removed):
                    nonempty = False
                self.state[key] = Atom(status, gen, nonempty)
            else:
                self.state[key] = Atom("?", -1, atom.nonempty)

    def _rest_of_part(self, model: int, path: Path) -> bool | None:
        """Does a part put in at `path` hold tensors outside the sub-paths the script names?
        Unknown without its table when it names more than one (`features` and `classifier`
        may be all of it); the rest of a part that names one (`fc`) is the network around it."""
        deeper = [p for p in self.paths.get(model, []) if path_relation(path, p) == "contains"]
        top = {p for p in deeper if not any(path_relation(q, p) == "contains" for q in deeper)}
        return True if len(top) <= 1 else None

    def _source_atoms(self, event: ModuleReplaced) -> list[tuple[Path, Atom]] | None:
        """The atoms of the module put in, by their path inside it, where its state lives (its
        own model, or the model holding it: `Wrapper().model`); None when not built in view."""
        model, prefix = event.state_of or event.taken_from or (event.new_module, ())
        return self._atoms_at(model, prefix)

    def _atoms_at(self, model: int | None, prefix: Path) -> list[tuple[Path, Atom]] | None:
        """The atoms of `model` under `prefix`, by their path inside it, in the state now."""
        if model is None or model not in self.paths:
            return None
        found = [
            (atom[len(prefix) :], self.state[(model, atom)])
            for atom in self.paths[model]
            if atom[: len(prefix)] == prefix and (model, atom) in self.state
        ]
        if prefix and all(path for path, _ in found):
            # A submodule inside a coarser atom (`densenet.features` of an untouched model):
            # its tensors no deeper atom holds are in the deepest one holding it.
            holding = [a for a in self.paths[model] if prefix[: len(a)] == a]
            held = [a for a in holding if (model, a) in self.state]
            if held:
                found.append(((), self.state[(model, max(held, key=len))]))
        return found

    def _removed(self, event: ModuleReplaced) -> list[Path]:
        """The sub-paths the module put in had lost before (a submodule set to None)."""
        found = self._source_atoms(event) or []
        return [path for path, atom in found if path and atom.nonempty is False]

    def _statuses(self, event: ModuleReplaced) -> _Statuses | None:
        """The status of each atom of the module put in, when it was built in view (for
        `_carried`, indexed once per replacement)."""
        return self._index(self._source_atoms(event))

    @staticmethod
    def _index(found: list[tuple[Path, Atom]] | None) -> _Statuses | None:
        if found is None:
            return None
        own: dict[Path, str] = {}
        below: dict[Path, set[str]] = {}
        for atom, state in found:
            status = state.status
            own[atom] = status
            for depth in range(len(atom)):
                below.setdefault(atom[:depth], set()).add(status)
        return own, below

    @staticmethod
    def _carried(rel: Path, statuses: _Statuses | None) -> str | None:
        """The status the module put in (or copied) had at `rel`, its path inside that module
        (frozen before it was put in the model), when it was built in view and its state is
        known: that of the atoms holding `rel` or inside it."""
        if statuses is None:
            return None
        own, below = statuses
        found = {own[rel[:depth]] for depth in range(len(rel) + 1) if rel[:depth] in own}
        found |= below.get(rel, set())
        return found.pop() if len(found) == 1 else ("?" if found else None)


_UNKNOWN = Atom("?", 0, None)  # (an atom first met after its model was built)

# An inserted module's atoms: each one's status, and the statuses found below each path.
_Statuses = tuple[dict[Path, str], dict[Path, set[str]]]


def _added_children(events: list[Event], model: int, atoms: TableAtoms) -> dict[str, list[str]]:
    """Modules put into `model` under names its table lacks, by parent, in order."""
    modules = {m for m, _ in atoms.table.modules}
    out: dict[str, list[str]] = {}
    for event in events:
        if not isinstance(event, ModuleReplaced) or event.model != model or not event.path:
            continue
        parent, name = ".".join(event.path[:-1]), event.path[-1]
        full = f"{parent}.{name}" if parent else name
        known = out.setdefault(parent, []) if parent in modules else []
        if parent in modules and full not in modules and name.isidentifier() and name not in known:
            known.append(name)
    return {parent: names for parent, names in out.items() if names}


_ROOT_ONLY: frozenset[Path] = frozenset({()})


def _event_regions(event: Event) -> list[Region]:
    if isinstance(event, RequiresGradSet):
        return list(regions(event.selection))
    if isinstance(event, ModuleReplaced):
        return [Region(event.model, event.path)]
    if isinstance(event, OptimizerBuilt):
        return [r for g in event.groups for r in regions(g.selection)]
    if isinstance(event, ParamGroupAdded):
        return list(regions(event.group.selection))
    return []


def _join(states: list[dict[Key, Atom]]) -> dict[Key, Atom]:
    out: dict[Key, Atom] = {}
    for key in set().union(*states):
        # An arm that lacks the atom never built its model: the others decide its state.
        atoms = [s[key] for s in states if key in s]
        first = atoms[0]
        assert first is not None
        same = all(a == first for a in atoms)
        out[key] = (
            first
            if same
            else Atom(
                first.status if all(a.status == first.status for a in atoms) else "?",  # type: ignore[union-attr]
                first.gen if all(a.gen == first.gen for a in atoms) else -1,  # type: ignore[union-attr]
                first.nonempty if all(a.nonempty == first.nonempty for a in atoms) else None,  # type: ignore[union-attr]
            )
        )
    return out


def _rest_of_unknown(atom: Path, atoms: list[Path]) -> bool | None:
    """Does a part the analysis cannot build (named on its own) hold parameters outside the
    sub-paths the script names inside it? As a model it cannot build: yes with none, and what
    one named module (not a weight) leaves of it (`self.model` minus `self.model.fc`)."""
    deeper = [p for p in atoms if len(p) > len(atom) and p[: len(atom)] == atom]
    top = {p for p in deeper if not any(len(q) < len(p) and p[: len(q)] == q for q in deeper)}
    if not top:
        return True
    return True if len(top) == 1 and next(iter(top))[-1] not in ("weight", "bias") else None


def _rest_of_composite(spec: ModelSpec, named: set[Path]) -> bool | None:
    """Does a composite (a user module whose `__init__` was read) hold parameters outside the
    parts the script names? Its own `nn.Parameter`s do; the parts it was given that the script
    does not name do when they have some; a part the analysis could not tell may or may not."""
    if spec.own_params:
        return True
    if any(
        part is not None and any(item is not None and item.same_as for _, item in part.parts or ())
        for _, part in spec.parts or ()
    ):
        return None  # a part holding its other parts again: the script's paths alias
    rest = [part for attr, part in spec.parts or () if (attr,) not in named]
    if any(part is None or part.has_params is None for part in rest):
        return None
    return any(part.has_params for part in rest)  # type: ignore[union-attr]
