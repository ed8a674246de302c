"""Hover on an optimizer's constructor line: the trainability map of what that optimizer will
train (`freezelint show`, issue 26), as plain text in the editor."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from freezelint.frontends.lsp.documents import Document


class Hovers:
    """Mixed into the server (which has `snapshot`, `selections`, `settings`, `root` and
    `in_check_thread`)."""

    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        """On an optimizer's constructor line: the trainability map of what it will train
        (`freezelint show`), as plain text."""
        document = self.snapshot(params.text_document.uri)
        if document is None or document.notebook:
            return None
        line = params.position.line + 1
        text = await self.in_check_thread(document.uri, self.map_at, document, line)
        if not text:
            return None
        return types.Hover(
            contents=types.MarkupContent(types.MarkupKind.Markdown, f"```text\n{text}```\n")
        )

    def map_at(self, document: Document, line: int) -> str:
        """In the check thread: the maps of the optimizers built on `line`, as text."""
        from freezelint.checking.trainability import Trainability, trainability
        from freezelint.output.report import plain
        from freezelint.output.trainability_map import write_text

        _, _, verifier, _ = self.selections.of(document.path, self.settings, self.root())
        shown = []
        for found in trainability(document.text, str(document.path), verifier):
            here = [o for o in found.optimizers if o.line == line]
            if here:
                shown.append(Trainability(found.path, found.paths, found.conditions, here))
        if not shown:
            return ""
        out = io.StringIO()
        write_text(out, shown, plain)
        return out.getvalue()
