"""Why a finding has no fix: a rule's fix builder returns a `NoFix` instead of a fix (or of
None), at once or once positions are known; `--show-fixes` and JSON (`no_fix_reason`) say it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NoFix:
    """Why a finding has no fix (said in the report instead of a fix)."""

    reason: str
