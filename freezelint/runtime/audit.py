"""The run-time audit: the rule catalogue checked on the live model, optimizers and schedulers.

`freezelint.audit(model, optimizer, schedulers=[scheduler])` is for what static analysis cannot
see (models from configs and registries, freezing driven by data). It reads what the objects hold
at the moment it is called: one pass over parameters and modules, no forward pass, no copies.
torch is imported only when it is called (`import freezelint` stays torch-free); the checks
themselves are in `runtime.checks`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from freezelint.findings.diagnostics import Severity
from freezelint.runtime.findings import AuditFinding


class FreezeError(RuntimeError):
    """Raised by `audit(..., strict=True)` when an error-severity finding is found."""

    def __init__(self, findings: list[AuditFinding]) -> None:
        self.findings = findings
        lines = "\n".join(f"{f.code} {f.message}" for f in findings)
        super().__init__(f"freezelint found {len(findings)} freezing error(s):\n{lines}")


def _optimizers(given: tuple[Any, ...]) -> list[Any]:
    """The optimizers `audit` was given, one list or tuple of them unpacked; a clear TypeError
    for anything that is not an optimizer (no `param_groups`)."""
    if len(given) == 1 and isinstance(given[0], list | tuple):
        given = tuple(given[0])
    for index, optimizer in enumerate(given):
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(
                f"audit() takes the model, then optimizers (objects with `param_groups`, as "
                f"`audit(model, opt)`, `audit(model, opt1, opt2)` or `audit(model, [opt1, "
                f"opt2])`): optimizer {index + 1} is {type(optimizer).__name__}"
            )
    return list(given)


def audit(
    model: Any,
    *optimizers: Any,
    schedulers: Iterable[Any] = (),
    strict: bool = False,
) -> list[AuditFinding]:
    """Check a model (or a list of models), the optimizers that train it and their learning-rate
    schedulers as they are now. Optimizers come as arguments (`audit(model, opt1, opt2)`) or as
    one list or tuple (`audit(model, [opt1, opt2])`). Returns the findings; with `strict`,
    raises `FreezeError` when one of them is an error."""
    from freezelint.runtime.checks import run_checks

    models = list(model) if isinstance(model, list | tuple) else [model]
    findings = run_checks(models, _optimizers(optimizers), list(schedulers))
    if strict:
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            raise FreezeError(errors)
    return findings
