"""The rule registry: every `frzNNN_*` module of this package, in code order. Adding a rule is
adding one module (with its docs and check) and its fixtures; nothing here changes."""

from __future__ import annotations

import importlib
import pkgutil

from freezelint.rules.base import Rule, rule_from_module


def _load() -> dict[str, Rule]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("frz"))
    rules = [rule_from_module(importlib.import_module(f"{__name__}.{name}")) for name in names]
    return {rule.code: rule for rule in rules}


RULES: dict[str, Rule] = _load()

__all__ = ["RULES", "Rule"]
