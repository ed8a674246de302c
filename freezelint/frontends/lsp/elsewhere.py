"""Findings a document's check makes in other files of the project: a helper it imports builds
the optimizer, and the mistake is on the helper's line, visible only through the caller's
model (`freezelint check` reports it there too). Each checking document's share is kept, and
shown on the other file while it is open and as saved (the rows are those of the saved file)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from freezelint.findings.diagnostics import Diagnostic
from freezelint.script.source import read_source


class Elsewhere:
    def __init__(self) -> None:
        # checking document URI -> absolute path -> the diagnostics its check put there
        self._by_owner: dict[str, dict[str, list[Diagnostic]]] = {}

    def update(self, owner: str, found: Iterable[Diagnostic]) -> set[str]:
        """Record `owner`'s findings in other files; the paths whose share changed."""
        new: dict[str, list[Diagnostic]] = {}
        for d in found:
            new.setdefault(d.path, []).append(d)
        old = self._by_owner.get(owner, {})
        if new:
            self._by_owner[owner] = new
        else:
            self._by_owner.pop(owner, None)
        return {path for path in old.keys() | new.keys() if old.get(path) != new.get(path)}

    def remove(self, owner: str) -> set[str]:
        """Forget a closed document's findings; the paths they were on."""
        return set(self._by_owner.pop(owner, {}))

    def on(self, path: Path, buffer: str) -> list[Diagnostic]:
        """What the other documents found in the file at `path`, each finding once; nothing
        while its buffer differs from the file on disk (the findings are the saved file's)."""
        key = os.path.abspath(path)
        found: dict[tuple[str, int, int], Diagnostic] = {}
        for shares in self._by_owner.values():
            for d in shares.get(key, ()):
                found.setdefault((d.code, d.row, d.column), d)
        if not found:
            return []
        saved, _, _ = read_source(path)
        if saved != buffer:
            return []
        return sorted(found.values(), key=Diagnostic.sort_key)
