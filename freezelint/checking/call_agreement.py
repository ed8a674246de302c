"""Fixes inside helpers: a finding in code reached through calls (a helper handed the model, a
method of a trainer) is fixed where the code is only when every call that reaches it agrees.

A helper called for two models on one path (`make_optimizer(backbone)`, `make_optimizer(head)`)
runs its code twice. A fix edits the one text both calls share, so it is offered only when each
call has the finding and every call's fix makes the same edits; across paths and roots, the
fixes of the calls that have the finding must make the same edits too. Paths where the finding
does not hold at all do not count, as for code that is not in a helper.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from freezelint.findings.diagnostics import Finding, NoFix
from freezelint.findings.fixes import Fix, FixBuilder, FixContext
from freezelint.script.events import Timeline

Key = tuple[str, int]  # (rule code, id of the node it points at)
DISAGREE = NoFix(
    "the code runs more than once through calls (see `related`), and not every run has "
    "this finding or the runs need different fixes: one edit cannot suit them all"
)


class CallAgreement:
    """The fixes of findings reached through calls, gathered over every path of every root."""

    def __init__(self) -> None:
        self._builders: dict[Key, list[FixBuilder]] = {}
        self._disagree: set[Key] = set()

    def add_path(self, timeline: Timeline, findings: Iterable[Finding]) -> None:
        """One path's findings about events reached through calls, each checked against the
        number of times its event's code ran on the path."""
        runs = Counter((id(e.node), type(e)) for e in timeline.events if e.via)
        fixes: dict[Key, list[FixBuilder | None]] = {}
        ran: dict[Key, int] = {}
        for finding in findings:
            event = finding.event
            if event is None or not event.via:
                continue
            key = (finding.code, id(finding.node))
            fixes.setdefault(key, []).append(finding.fix)
            ran[key] = max(ran.get(key, 0), runs[(id(event.node), type(event))])
        for key, found in fixes.items():
            if len(found) < ran[key] or any(f is None for f in found):
                self._disagree.add(key)  # a call without the finding, or without a fix
            else:
                self._builders.setdefault(key, []).extend(f for f in found if f is not None)

    def covers(self, key: Key) -> bool:
        """Is this finding reached through calls (its fix decided here)?"""
        return key in self._disagree or key in self._builders

    def fix(self, key: Key) -> FixBuilder | NoFix | None:
        """The fix every call agrees on, or why there is none (None: no call had a fix)."""
        if key in self._disagree:
            return DISAGREE
        if key not in self._builders:
            return None
        builders = self._builders[key]
        if len(builders) == 1:
            return builders[0]

        def build(ctx: FixContext) -> Fix | NoFix | None:
            fixes = [builder(ctx) for builder in builders]
            first = fixes[0]
            if not isinstance(first, Fix):
                return first
            if any(not isinstance(f, Fix) or f.edits != first.edits for f in fixes[1:]):
                return DISAGREE
            return first

        return build
