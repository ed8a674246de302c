"""freezelint: find, prove and fix layer-freezing mistakes in PyTorch fine-tuning scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from freezelint.runtime.audit import FreezeError, audit
    from freezelint.runtime.findings import AuditFinding


def __getattr__(name: str) -> Any:
    """The run-time audit, imported when first asked for (`freezelint.audit`): the command
    line, which imports this package first, never needs it. torch is imported only when
    `audit` is called."""
    if name in ("FreezeError", "audit"):
        from freezelint.runtime import audit as module

        return getattr(module, name)
    if name == "AuditFinding":
        from freezelint.runtime.findings import AuditFinding

        return AuditFinding
    raise AttributeError(f"module 'freezelint' has no attribute {name!r}")


__all__ = ["AuditFinding", "FreezeError", "__version__", "audit"]
