"""The rule registry: every `frzNNN_*` module of this package, in code order. Adding a rule is
adding one module (with its docs and check) and its fixtures; nothing here changes.

`CODES` is known without importing any rule (the command line validates `--select` with it
before any file needs parsing); `RULES` imports the rule modules on first use.

Rules are stage 5 of the pipeline. They may import: `script`, `model`, `simulation`, `findings`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from freezelint.rules.base import Rule

_MODULES = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("frz"))
CODES: tuple[str, ...] = tuple(name[:6].upper() for name in _MODULES)


def _load() -> dict[str, Rule]:
    from freezelint.rules.base import rule_from_module

    rules = [rule_from_module(importlib.import_module(f"{__name__}.{name}")) for name in _MODULES]
    return {rule.code: rule for rule in rules}


def __getattr__(name: str) -> Any:
    if name == "RULES":
        rules = _load()
        globals()["RULES"] = rules
        return rules
    raise AttributeError(name)


__all__ = ["CODES", "RULES"]
