"""What the run-time audit reports: a finding on live objects, under a static rule's code."""

from __future__ import annotations

from dataclasses import dataclass, field

from freezelint.findings.diagnostics import Severity


@dataclass(frozen=True)
class AuditFinding:
    """A run-time finding: the same code, name and severity as the static rule, a message with
    the real counts, and the module paths involved (as the user spells them: `model.fc`,
    `model.module.fc` through DataParallel)."""

    code: str
    name: str
    severity: Severity
    message: str
    modules: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.code} [{self.name}] {self.message}"
