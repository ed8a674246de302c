"""What a check reports: severities, findings (tied to a CST node) and located diagnostics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from freezelint.findings.no_fix import NoFix

if TYPE_CHECKING:
    import libcst as cst

    from freezelint.findings.fixes import Fix, FixBuilder


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """A rule's verdict before positions are known: the node it points at and what it says."""

    code: str
    node: cst.CSTNode
    message: str
    # Nodes the message refers to by line: "@L0" in the message becomes the first one's line.
    related: tuple[cst.CSTNode, ...] = ()
    verified: dict[str, Any] | None = None  # the parameter table behind the finding, if any
    fix: FixBuilder | None = None  # builds the fix once positions are known (NoFix: none)
    via: tuple[cst.CSTNode, ...] = ()  # the calls that brought the model here (see Event.via)
    # The event it is about (an `events.Event`): its calls are the finding's `via`, and a fix
    # inside a helper must suit every run of it (`call_agreement`).
    event: Any = None
    no_fix: str | None = None  # why `fix` is None, when the rule knows

    def __post_init__(self) -> None:
        if isinstance(self.fix, NoFix):  # (a rule's `fix=_fix(...)` that said why not)
            object.__setattr__(self, "no_fix", self.fix.reason)
            object.__setattr__(self, "fix", None)

    def message_with_lines(
        self,
        phrase: Callable[[cst.CSTNode], str],
        number: Callable[[cst.CSTNode], str],
    ) -> str:
        """The message with its marks filled in: "line @L0" by `phrase` of the first related
        node ("line 12", "line 3 of helpers.py"), a bare "@L0" by its `number`."""
        message = self.message
        for index, node in enumerate(self.related):
            message = message.replace(f"line @L{index}", phrase(node))
            message = message.replace(f"@L{index}", number(node))
        return message


@dataclass(frozen=True)
class Related:
    """Another place a diagnostic refers to: a call that led to the wrong code, the line its
    message names (JSON `related`, SARIF `relatedLocations`)."""

    path: str
    row: int
    column: int
    end_row: int
    end_column: int
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """A finding located in a file (1-based rows, 1-based columns, as ruff reports them)."""

    code: str
    message: str
    path: str
    row: int
    column: int
    end_row: int
    end_column: int
    severity: Severity
    verified: dict[str, Any] | None = None
    fix: Fix | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    related: tuple[Related, ...] = ()
    no_fix: str | None = None  # why there is no fix (None: there is one, or FRZ000)

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.extra.get("cell", 0), self.row, self.column, self.code)
