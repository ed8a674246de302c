"""Which arm of a joined branch each event sits in.

Past the budget of paths (or inside a loop) the arms of an if/else are joined: the simulation
runs each from the state before it and merges them. Two events in different arms of one such
branch never both happen on one run, unless a loop around the branch runs one arm on a turn and
the other on the next.
"""

from __future__ import annotations

from freezelint.script.events import BranchArm, BranchJoin, Event, Frame


class JoinedArms:
    """Each event's (branch, arm) of the joined branches it sits in."""

    def __init__(self, events: list[Event]) -> None:
        self.of: dict[int, tuple[tuple[int, int], ...]] = {}
        stack: list[tuple[int, int]] = []
        for event in events:
            if isinstance(event, BranchArm):
                while stack and stack[-1][0] != event.ident and event.arm > 0:
                    stack.pop()
                if event.arm > 0 and stack:
                    stack.pop()
                stack.append((event.ident, event.arm))
            elif isinstance(event, BranchJoin):
                while stack and stack[-1][0] != event.ident:
                    stack.pop()
                if stack:
                    stack.pop()
            else:
                self.of[event.seq] = tuple(stack)

    def exclusive(self, first: Event, later: Event, renewed: Event | None = None) -> bool:
        """Are the two in different arms of one branch with no loop around it that both turn
        in? `renewed`: an event before both that each turn of a loop it sits in runs again
        (an iterator bound anew): what one arm did to it on an earlier turn does not reach
        the other arm's on a later one, so such loops do not count."""
        mine = dict(self.of.get(first.seq, ()))
        anew: set[int] = set()
        if renewed is not None and renewed.seq < first.seq:
            anew = {frame.ident for frame in renewed.ctx if frame.kind == "loop"}
        for ident, arm in self.of.get(later.seq, ()):
            if mine.get(ident, arm) == arm:
                continue
            if not (loops_outside(first.ctx, ident) & loops_outside(later.ctx, ident)) - anew:
                return True
        return False


def loops_outside(ctx: tuple[Frame, ...], branch: int) -> set[int]:
    """The loops an event's context has around the branch `branch`."""
    out: set[int] = set()
    for frame in ctx:
        if frame.kind == "branch" and frame.ident == branch:
            return out
        if frame.kind == "loop":
            out.add(frame.ident)
    return out
