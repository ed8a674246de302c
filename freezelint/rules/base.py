"""What a rule is: its fixed code, name and severity, its documentation (the module docstring, in
ruff's sections) and the query that turns a simulation into findings."""

from __future__ import annotations

import inspect
import pathlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import libcst as cst

from freezelint.findings.diagnostics import Finding, Severity
from freezelint.script.events import OptimizerBuilt, SchedulerBuilt
from freezelint.script.imports import ImportTable
from freezelint.script.selection import Path, format_path

if TYPE_CHECKING:
    from freezelint.simulation.replay import Simulation

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety")


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue (`rules.md`): its code, name, severity, fix and check."""

    code: str
    name: str
    severity: Severity
    needs_model: str  # as rules.md says it: "no", "yes", "for predicate freezes and counts" ...
    fix: str  # "safe", "unsafe", "safe or unsafe", "none"
    summary: str
    check: Callable[[Simulation], Iterator[Finding]]
    doc: str
    # A rule about the file's syntax alone, once per file rather than per path (FRZ020: a hook
    # that never runs is never walked): `check_module(module, imports or None, path or None)`.
    check_module: (
        Callable[[cst.Module, ImportTable | None, pathlib.Path | None], Iterator[Finding]] | None
    ) = None
    # Why a finding of this rule has no fix when the rule does not say more (`NO_FIX`).
    no_fix: str = "no fix for this form of the code: change it as the message says"

    @property
    def fixable(self) -> bool:
        return self.fix != "none"


def rule_from_module(module: ModuleType) -> Rule:
    """Build a rule from a rule module: its `CODE`, `NAME`, ... constants, `check` and docstring."""
    doc = inspect.cleandoc(module.__doc__ or "")
    summary = doc.split("\n", 1)[0].strip()
    return Rule(
        code=module.CODE,
        name=module.NAME,
        severity=module.SEVERITY,
        needs_model=module.NEEDS_MODEL,
        fix=module.FIX,
        summary=summary,
        check=module.check,
        doc=doc,
        check_module=getattr(module, "check_module", None),
        **({"no_fix": module.NO_FIX} if hasattr(module, "NO_FIX") else {}),
    )


def region_text(sim: Simulation, model: int, path: Path) -> str:
    """`model.features[0]`: how the script would spell a region."""
    var = sim.timeline.model_vars.get(model) or "model"
    return f"{var}{format_path(path)}"


def optimizer_text(event: OptimizerBuilt) -> str:
    return f"`{event.var}` ({event.cls})" if event.var else f"`{event.cls}`"


def scheduler_text(event: SchedulerBuilt) -> str:
    return f"`{event.var}` ({event.cls})" if event.var else f"`{event.cls}`"
