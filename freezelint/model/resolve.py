"""Parameter tables for verification specs: from the cache, else from one worker process for all
the missing ones; a composite model's table put together from its parts' tables. A library that
is not installed, a spec the worker cannot build, a crash or a time-out all make the model
"unverified", never a failed run."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from freezelint.model import prebuilt
from freezelint.model.cache import BUILDS, TableCache
from freezelint.model.spec import TORCH_NN, CompositeSpec, VerifySpec, model_label, verify_spec
from freezelint.model.table import ParamTable
from freezelint.script.events import ModelSpec, Timeline
from freezelint.script.installed_versions import installed_version
from freezelint.script.layers import PARAM_FREE

DISTRIBUTIONS = {
    "timm": "timm",
    "torchvision": "torchvision",
    "efficientnet_pytorch": "efficientnet-pytorch",
    TORCH_NN: "torch",
}
WORKER_TIMEOUT = 180.0
INSTALL_HINT = "pip install 'freezelint[verify]'"

TORCH_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


@dataclass(frozen=True)
class Unverified:
    """Why a model's table could not be had (the finding then says so)."""

    reason: str
    cacheable: bool = False  # the build itself failed: the same spec fails again


@functools.cache
def library_version(library: str) -> str | None:
    """The installed version of a model library (None without it or torch), once per process."""
    if installed_version("torch") is None:
        return None
    return installed_version(DISTRIBUTIONS[library])


Spec = VerifySpec | CompositeSpec


def resolve(
    specs: list[VerifySpec] | list[Spec],
    cache: TableCache | None,
    known: Mapping[Spec, ParamTable | Unverified] | None = None,
    build: bool = True,
) -> dict[Spec, ParamTable | Unverified]:
    """The table of each spec (a library model's or a layer's as built, stand-ins and all; a
    composite's with its parts' unknown sizes marked), or why there is none. The parts of a
    composite are resolved along with everything else (one worker run in all), except those
    `known` already; the answer has them too. With `build` false no worker is run: a spec
    needing a build (itself or a part) is left out of the answer."""
    known = known or {}
    wanted = list(dict.fromkeys(specs))
    leaves = [
        leaf
        for spec in wanted
        for leaf in (spec.leaves() if isinstance(spec, CompositeSpec) else (spec,))
        if leaf not in known
    ]
    out: dict[Spec, ParamTable | Unverified] = dict(_resolve_leaves(leaves, cache, build))
    for spec in wanted:
        if isinstance(spec, CompositeSpec) and all(
            leaf in out or leaf in known for leaf in spec.leaves()
        ):
            out[spec] = compose(spec, ChainMap(out, known))
    return out


def finish(spec: VerifySpec, table: ParamTable) -> ParamTable:
    """The table a script's model gets from its spec's table: what was built with a stand-in
    size has unknown element counts (a library model's head, all of a layer)."""
    if not spec.standins:
        return table
    if spec.library == TORCH_NN:
        return table.with_unknown(("",), spec.standins)
    return table.with_unknown_head()


def compose(
    spec: CompositeSpec, known: Mapping[Spec, ParamTable | Unverified], path: str = ""
) -> ParamTable | Unverified:
    """A composite's table from its parts' (in `known`); a part without one (the worker could
    not build it) is a region the table does not know, as the parts the script did not let the
    analysis build. Unverified when no part has a table."""
    if spec.children_of is not None:
        base, start, stop = spec.children_of
        leaf = known[base]
        if isinstance(leaf, Unverified):
            return Unverified(f"{spec.label()}: {leaf.reason}")
        return finish(base, leaf).children_slice(start, stop)
    if spec.submodule_of is not None:
        base, sub = spec.submodule_of
        leaf = known[base]
        if isinstance(leaf, Unverified):
            return Unverified(f"{spec.label()}: {leaf.reason}")
        whole = finish(base, leaf)
        if sub not in whole.module_set:
            return Unverified(f"{base.label()} has no submodule `{sub}`")
        return whole.subtable(sub)
    parts: list[tuple[str, ParamTable]] = []
    opaque = list(spec.opaque)
    why: Unverified | None = None
    for attr, part in spec.parts:
        where = f"{path}{attr}"
        if isinstance(part, CompositeSpec) and part.same_as is not None:
            continue  # a module the composite holding this one names (see `aliases`)
        if isinstance(part, CompositeSpec):
            result = compose(part, known, f"{where}.")
        else:
            leaf = known[part]
            result = (
                Unverified(f"part `{where}` ({part.label()}): {leaf.reason}")
                if isinstance(leaf, Unverified)
                else finish(part, leaf)
            )
        if isinstance(result, Unverified):
            why = why or result
            opaque.append(attr)
            continue
        parts.append((attr, result))
    if why is not None and not parts:
        return why
    # The script's own class (not a Sequential of layers): it derives from `nn.Module` (or
    # a LightningModule) through the project's classes, never from a torch layer class.
    own = spec.name not in TORCH_CONTAINERS
    table = ParamTable.composed(
        spec.name, parts, tuple(opaque), project_class=own, aliases=_aliases(spec, parts)
    )
    for item, target in table.aliases.items():
        if target not in table.module_set and not any(
            target == o or target.startswith(f"{o}.") for o in table.opaque
        ):
            return Unverified(f"`{item}` holds `{target}`, which {spec.label()} does not have")
    return table


def _aliases(spec: CompositeSpec, built: list[tuple[str, ParamTable]]) -> dict[str, str]:
    """The items of its parts (those `built`) that are modules it holds already
    (`self.body = nn.Sequential(self.backbone, ...)`: `body.0` is `backbone`)."""
    names = {attr for attr, _ in built}
    return {
        f"{attr}.{item}": inner.same_as
        for attr, part in spec.parts
        if isinstance(part, CompositeSpec) and attr in names
        for item, inner in part.parts
        if isinstance(inner, CompositeSpec) and inner.same_as is not None
    }


# Told the labels of the models whose tables are about to be built (a worker run: seconds);
# the command line sets it when standard error is a terminal.
announce: Callable[[list[str]], None] | None = None


def _resolve_leaves(
    specs: list[VerifySpec], cache: TableCache | None, build: bool = True
) -> dict[VerifySpec, ParamTable | Unverified]:
    out: dict[VerifySpec, ParamTable | Unverified] = {}
    missing: list[tuple[VerifySpec, str]] = []
    for spec in dict.fromkeys(specs):
        version = library_version(spec.library)
        if version is None:
            # Not installed here (the light pre-commit hook): the table a run with the
            # library left in the cache, else the one freezelint ships; each says its version.
            latest = cache.get_latest(spec) if cache is not None else None
            if latest is not None:
                out[spec] = latest
                continue
            shipped = prebuilt.get(spec)  # (the tables freezelint ships, which say their version)
            if shipped is not None:
                out[spec] = shipped
                continue
            if spec.library == TORCH_NN and spec.name in PARAM_FREE:
                out[spec] = ParamTable(TORCH_NN, spec.name, "", {}, [], [("", spec.name)], [], None)
                continue
            dist = DISTRIBUTIONS[spec.library]
            what = "torch" if dist == "torch" else f"torch or {dist}"
            out[spec] = Unverified(f"{what} is not installed ({INSTALL_HINT})")
            continue
        if spec.library == TORCH_NN and spec.name in PARAM_FREE:
            # No parameters, no submodules, whatever the arguments: nothing to build.
            modules = [("", spec.name)]
            out[spec] = ParamTable(TORCH_NN, spec.name, version, {}, [], modules, [], None)
            continue
        cached = cache.get(spec, version) if cache is not None else None
        if isinstance(cached, str):
            out[spec] = Unverified(cached)
        elif cached is not None:
            out[spec] = cached
        else:
            missing.append((spec, version))
    if missing and build:
        if announce is not None:
            announce([spec.label() for spec, _ in missing])
        for (spec, version), result in zip(
            missing, _run_worker([s for s, _ in missing]), strict=True
        ):
            if isinstance(result, dict):
                if cache is not None:
                    cache.put(spec, version, result)
                out[spec] = ParamTable.from_json(result)
            else:
                if result.cacheable and cache is not None:
                    cache.put(spec, version, {"error": result.reason, "builds": BUILDS})
                out[spec] = result
    return out


_REMEMBERED = 4096  # script specs a verifier keeps what it found of (`_Asked`)


@dataclass
class _Asked:
    """What a verifier found of one script spec (kept by the spec object's id, with it): the
    spec it is verified with, or why not; once known, its table and label. A check asks again
    for each of its paths, whose timelines share most of their specs."""

    spec: ModelSpec
    verified: Spec | None
    why: str
    table: ParamTable | None = None
    label: str = ""


_RUNNING: set[subprocess.Popen] = set()  # worker processes now running (see stop_workers)


def stop_workers() -> None:
    """Kill the worker processes still running (a language server that exits while a model is
    built in the background)."""
    for process in list(_RUNNING):
        process.kill()


def _run_worker(specs: list[VerifySpec]) -> list[dict | Unverified]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "freezelint.model.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        ) as process:
            _RUNNING.add(process)
            try:
                stdout, _ = process.communicate(
                    json.dumps([s.as_json() for s in specs]), timeout=WORKER_TIMEOUT
                )
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
                return [Unverified("the verification worker timed out")] * len(specs)
            except BaseException:  # interrupted: the worker does not outlive the wait
                process.kill()
                raise
            finally:
                _RUNNING.discard(process)
        results = json.loads(stdout) if process.returncode == 0 else None
    except (OSError, ValueError):
        results = None
    if not isinstance(results, list) or len(results) != len(specs):
        return [Unverified("the verification worker failed")] * len(specs)
    out: list[dict | Unverified] = []
    for result in results:
        if "table" in result:
            out.append(result["table"])
        else:
            out.append(Unverified(f"the model could not be built: {result.get('error')}", True))
    return out


class Verifier:
    """What a run of `freezelint check` uses to get tables: one cache, and the models it could
    not verify (for the summary)."""

    # What a model whose table is being built elsewhere (`build=False`) is reported as.
    PENDING = "being verified in the background"

    def __init__(self, cache: TableCache | None, build: bool = True) -> None:
        self.cache = cache
        self.build = build  # else only cached tables are used, the rest are left `pending`
        self._known: dict[Spec, ParamTable | Unverified] = {}  # resolved in this run
        self.unverified: dict[str, str] = {}  # spec label -> reason
        self.verified: set[str] = set()
        self.pending: set[Spec] = set()  # needed a build that `build=False` did not run
        self._asked: dict[int, _Asked] = {}  # by the id of the script spec asked about

    def build_tables(self, specs: list[Spec]) -> dict[Spec, ParamTable | Unverified]:
        """Build (a worker process) and cache these specs' tables; for another thread to
        `learn` from. Reads what is known without changing it."""
        return resolve(specs, self.cache, dict(self._known))

    def learn(self, found: Mapping[Spec, ParamTable | Unverified]) -> None:
        """Take tables resolved elsewhere (a background build) as known."""
        self._known.update(found)
        self.pending.difference_update(found)

    def tables_for(self, timelines: list[Timeline]) -> dict[int, ParamTable]:
        """The tables of the library models and composite models of these timelines (a
        `torch.nn` layer gets one only as a part of a composite)."""
        wanted: dict[int, _Asked] = {}
        asked = self._asked
        for timeline in timelines:
            for model, spec in timeline.models.items():
                found = asked.get(id(spec))
                if found is None or found.spec is not spec:
                    if spec.parts is None and spec.library in (None, TORCH_NN):
                        continue
                    if any(part is not None and part.same_as for _, part in spec.parts or ()):
                        continue  # a part holding its composite's modules: in that one's table
                    if len(asked) >= _REMEMBERED:
                        asked.clear()  # (a long session: what older files asked goes)
                    found = asked[id(spec)] = _Asked(spec, *verify_spec(spec))
                if found.verified is None:
                    self.unverified[model_label(spec)] = found.why
                else:
                    wanted[model] = found
        if not wanted:
            return {}
        missing = [
            a.verified for a in wanted.values() if a.table is None and a.verified not in self._known
        ]
        if missing:
            self._known.update(resolve(missing, self.cache, self._known, self.build))
        tables: dict[int, ParamTable] = {}
        for model, found in wanted.items():
            if found.table is None:
                vspec = found.verified
                result = self._known.get(vspec)
                if result is None:  # not cached, not built (`build=False`)
                    self.pending.add(vspec)
                    self.unverified[vspec.label()] = self.PENDING
                    continue
                if not isinstance(result, ParamTable):
                    self.unverified[vspec.label()] = result.reason
                    continue
                found.table = finish(vspec, result) if isinstance(vspec, VerifySpec) else result
                found.label = vspec.label()
            tables[model] = found.table
            self.verified.add(found.label)
        return tables
