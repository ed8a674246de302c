"""The rule registry: every rule module, in code order. Adding a rule = one module + fixtures."""

from __future__ import annotations

from freezelint.rules import (
    frz000_syntax_error,
    frz001_optimizer_includes_frozen,
    frz002_optimizer_before_head_replacement,
    frz003_freeze_after_head_replacement,
    frz004_ineffective_freeze,
    frz006_trainable_not_optimized,
    frz007_duplicate_param_groups,
    frz008_unfreeze_not_in_optimizer,
    frz010_zero_lr_group,
    frz011_no_trainable_params,
    frz012_exhausted_parameter_iterator,
)
from freezelint.rules.base import Rule, rule_from_module

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in map(
        rule_from_module,
        [
            frz000_syntax_error,
            frz001_optimizer_includes_frozen,
            frz002_optimizer_before_head_replacement,
            frz003_freeze_after_head_replacement,
            frz004_ineffective_freeze,
            frz006_trainable_not_optimized,
            frz007_duplicate_param_groups,
            frz008_unfreeze_not_in_optimizer,
            frz010_zero_lr_group,
            frz011_no_trainable_params,
            frz012_exhausted_parameter_iterator,
        ],
    )
}

__all__ = ["RULES", "Rule"]
