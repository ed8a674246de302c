"""freezelint: find, prove and fix layer-freezing mistakes in PyTorch fine-tuning scripts."""

from __future__ import annotations

__version__ = "0.1.0"

# The run-time audit: torch is imported when it is called, not here.
from freezelint.runtime.audit import FreezeError, audit
from freezelint.runtime.findings import AuditFinding

__all__ = ["AuditFinding", "FreezeError", "__version__", "audit"]
