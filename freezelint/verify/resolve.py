"""Parameter tables for verification specs: from the cache, else from one worker process for all
the missing ones. A library that is not installed, a spec the worker cannot build, a crash or a
time-out all make the model "unverified", never a failed run."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata

from freezelint.events import Timeline
from freezelint.verify.cache import TableCache
from freezelint.verify.spec import VerifySpec, verify_spec
from freezelint.verify.table import ParamTable

DISTRIBUTIONS = {
    "timm": "timm",
    "torchvision": "torchvision",
    "efficientnet_pytorch": "efficientnet-pytorch",
}
WORKER_TIMEOUT = 180.0
INSTALL_HINT = "pip install 'freezelint[verify]'"


@dataclass(frozen=True)
class Unverified:
    reason: str
    cacheable: bool = False  # the build itself failed: the same spec fails again


@functools.cache
def library_version(library: str) -> str | None:
    """The installed version of a model library (None without it or torch), once per process."""
    try:
        metadata.version("torch")
        return metadata.version(DISTRIBUTIONS[library])
    except metadata.PackageNotFoundError:
        return None


def resolve(
    specs: list[VerifySpec], cache: TableCache | None
) -> dict[VerifySpec, ParamTable | Unverified]:
    out: dict[VerifySpec, ParamTable | Unverified] = {}
    missing: list[tuple[VerifySpec, str]] = []
    for spec in dict.fromkeys(specs):
        version = library_version(spec.library)
        if version is None:
            out[spec] = Unverified(
                f"torch or {DISTRIBUTIONS[spec.library]} is not installed ({INSTALL_HINT})"
            )
            continue
        cached = cache.get(spec, version) if cache is not None else None
        if isinstance(cached, str):
            out[spec] = Unverified(cached)
        elif cached is not None:
            out[spec] = cached
        else:
            missing.append((spec, version))
    if missing:
        for (spec, version), result in zip(
            missing, _run_worker([s for s, _ in missing]), strict=True
        ):
            if isinstance(result, dict):
                if cache is not None:
                    cache.put(spec, version, result)
                out[spec] = ParamTable.from_json(result)
            else:
                if result.cacheable and cache is not None:
                    cache.put(spec, version, {"error": result.reason})
                out[spec] = result
    return out


def _run_worker(specs: list[VerifySpec]) -> list[dict | Unverified]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONWARNINGS": "ignore",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "freezelint.verify.worker"],
            input=json.dumps([s.as_json() for s in specs]),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
            env=env,
            check=False,
        )
        results = json.loads(done.stdout) if done.returncode == 0 else None
    except subprocess.TimeoutExpired:
        return [Unverified("the verification worker timed out")] * len(specs)
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

    def __init__(self, cache: TableCache | None) -> None:
        self.cache = cache
        self._known: dict[VerifySpec, ParamTable | Unverified] = {}  # resolved in this run
        self.unverified: dict[str, str] = {}  # spec label -> reason
        self.verified: set[str] = set()

    def tables_for(self, timelines: list[Timeline]) -> dict[int, ParamTable]:
        wanted: dict[int, VerifySpec] = {}
        for timeline in timelines:
            for model, spec in timeline.models.items():
                if spec.library is None or spec.library == "torch.nn":
                    continue
                vspec, why = verify_spec(spec)
                if vspec is None:
                    self.unverified[f"{spec.library}:{spec.name or '?'}"] = why
                else:
                    wanted[model] = vspec
        if not wanted:
            return {}
        missing = [spec for spec in wanted.values() if spec not in self._known]
        if missing:
            self._known.update(resolve(missing, self.cache))
        found = self._known
        tables: dict[int, ParamTable] = {}
        for model, vspec in wanted.items():
            result = found[vspec]
            if isinstance(result, ParamTable):
                tables[model] = result.with_unknown_head() if vspec.head_unknown else result
                self.verified.add(vspec.label())
            else:
                self.unverified[vspec.label()] = result.reason
        return tables
