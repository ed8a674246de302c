"""The fix loop: apply the fixes of a check, check the result again, repeat until nothing
fixable is left (bounded), never keeping a pass whose result does not parse or trains less."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from freezelint.checking.checker import check_source
from freezelint.findings.fixes import SAFE, Fix, apply, parses

if TYPE_CHECKING:
    from pathlib import Path

    from freezelint.findings.diagnostics import Diagnostic
    from freezelint.model.resolve import Verifier

MAX_PASSES = 10


@dataclass
class FixResult:
    text: str
    fixed: int
    remaining: list[Diagnostic]
    codes: list[str] = field(default_factory=list)  # the rule of each fix applied


def fix_source(
    text: str,
    path: str,
    codes: Collection[str] | None,
    verifier: Verifier | None,
    unsafe: bool,
    aliases: dict[str, tuple[str, str]] | None = None,
    line_label: Callable[[int], str] = str,
    importer: Path | None = None,
) -> FixResult:
    """Apply fixes, re-check, repeat (bounded); a pass whose result does not parse is dropped."""
    fixed = 0
    fixed_codes: list[str] = []
    diagnostics = check_source(text, path, codes, verifier, aliases, line_label, importer)
    # A fix whose finding is still there after it was applied (the analysis does not see what
    # it wrote) is not applied again: once, not once per pass.
    done: set[tuple[str, str, tuple[str, ...]]] = set()
    for _ in range(MAX_PASSES):
        wanted = [
            (d.code, d.fix)
            for d in diagnostics
            if d.fix is not None and (d.fix.applicability == SAFE or unsafe)
        ]
        wanted = [(code, fix) for code, fix in wanted if _identity(code, fix) not in done]
        if not wanted:
            break
        if any(code in RUNS_FIRST for code, _ in wanted):
            # They change which code runs: the other findings may not hold once they are made.
            wanted = [(code, fix) for code, fix in wanted if code in RUNS_FIRST]
        applied_at: list[int] = []
        new_text, applied = apply(text, [fix for _, fix in wanted], applied_at)
        if applied == 0 or new_text == text or not parses(new_text):
            break
        done.update(_identity(code, fix) for code, fix in wanted)
        checked = check_source(new_text, path, codes, verifier, aliases, line_label, importer)
        if _breaks(diagnostics, checked):
            break  # judged on the whole script, this pass made it worse: not written
        text, fixed, diagnostics = new_text, fixed + applied, checked
        fixed_codes += [wanted[i][0] for i in applied_at]
    return FixResult(text, fixed, diagnostics, fixed_codes)


# Fixes that change which of the script's code runs at all (a hook Lightning never calls,
# renamed to one it calls): applied in a pass of their own, before any other, since the others
# were found on the script as it runs without that code (an optimizer filtered to the trainable
# tensors would leave out what the renamed hook unfreezes).
RUNS_FIRST = frozenset({"FRZ020"})

# Findings of a script that raises or trains nothing: a pass of fixes that adds one is dropped,
# whatever each of its edits meant (a list bound before a head swap, then filtered, left an
# optimizer with an empty list).
BREAKING = frozenset({"FRZ011", "FRZ012", "FRZ013", "FRZ017"})


def _breaks(before: list[Diagnostic], after: list[Diagnostic]) -> bool:
    counts = Counter(d.code for d in before if d.code in BREAKING)
    counts.subtract(d.code for d in after if d.code in BREAKING)
    return any(n < 0 for n in counts.values())


def _identity(code: str, fix: Fix) -> tuple[str, str, tuple[str, ...]]:
    """A fix as it reads, wherever it lands (an earlier pass's edits move offsets)."""
    return code, fix.message, tuple(e.content for e in fix.edits)
