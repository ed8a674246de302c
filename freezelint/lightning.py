"""`freezelint.lightning.FreezeAudit`, where users import it; the callback is
`freezelint.runtime.lightning` (Lightning is imported when the class is first asked for)."""

from __future__ import annotations

from typing import Any

from freezelint.runtime.lightning import FreezeAuditWarning as FreezeAuditWarning


def __getattr__(name: str) -> Any:
    if name == "FreezeAudit":
        from freezelint.runtime import lightning

        return lightning.FreezeAudit
    raise AttributeError(name)
