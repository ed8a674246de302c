"""Code actions: each fix of a diagnostic under the cursor as a quick fix, and the fix-all
action (what `freezelint check --fix` would write), worked out once per text of the document
and, for clients that resolve edits, only when chosen. A mixin of the server."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from freezelint.frontends.lsp.documents import (
    Checked,
    Document,
    fix_all_edits,
    fix_edits,
    is_safe,
    located,
)
from freezelint.frontends.lsp.locations import Located

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.freezelint"
FIX_ALL_TITLE = "freezelint: fix all safe fixes"


class CodeActions:
    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        owner = self.owner(uri)
        checked = await self.current(owner)
        if checked is None:
            return []
        only = params.context.only
        actions: list[types.CodeAction] = []
        if wanted(types.CodeActionKind.QuickFix, only):
            actions += self.quick_fixes(checked, uri, params.range)
        fixable = any(d.fix is not None and is_safe(d.fix) for d in checked.diagnostics)
        if wanted(FIX_ALL, only) and fixable:
            action = types.CodeAction(FIX_ALL_TITLE, kind=FIX_ALL, data={"uri": owner})
            if self.resolves_edits():
                actions.append(action)  # its edit is computed if it is chosen (resolve)
            elif (edits := await self.fix_all(checked.document)) is not None:
                action.edit = edits
                actions.append(action)
        return actions

    def resolves_edits(self) -> bool:
        """Whether the client fills in a code action's edit when it is chosen."""
        text = self.client_capabilities.text_document
        code_action = text.code_action if text else None
        resolve = code_action.resolve_support if code_action else None
        return bool(resolve and "edit" in resolve.properties)

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        """Fill in the fix-all action's edit (for the document as it is now)."""
        data = action.data if isinstance(action.data, dict) else {}
        document = self.snapshot(str(data.get("uri", "")))
        if action.kind == FIX_ALL and document is not None:
            action.edit = await self.fix_all(document)
        return action

    async def fix_all(self, document: Document) -> types.WorkspaceEdit | None:
        """What `check --fix` would write to the document, as a workspace edit (None if
        nothing): worked out once per text of the document (the editor asks at every move
        of the cursor)."""
        cached = self.fixed_all.get(document.uri)
        if cached is None or cached[0] != document:
            run = await asyncio.get_running_loop().run_in_executor(
                self.checks, self.check_now, document, True
            )
            cached = self.fixed_all[document.uri] = (document, fix_all_edits(run.checked))
        edits = cached[1]
        return self.workspace_edit(document, edits) if edits else None

    def quick_fixes(
        self, checked: Checked, uri: str, wanted_range: types.Range
    ) -> list[types.CodeAction]:
        out = []
        for where, d, shown in located(checked, self.encoding(), self.docs.link):
            if where != uri or d.fix is None or not overlaps(shown.range, wanted_range):
                continue
            safe = is_safe(d.fix)
            if not safe and not self.settings.unsafe_fixes:
                continue
            edits = fix_edits(checked, d.fix)
            if not edits:
                continue
            title = f"freezelint ({d.code}): {d.fix.message}" + ("" if safe else " (unsafe fix)")
            out.append(
                types.CodeAction(
                    title,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[shown],
                    is_preferred=safe,
                    edit=self.workspace_edit(checked.document, edits),
                )
            )
        return out

    def workspace_edit(
        self, document: Document, edits: dict[str, list[tuple[int, int, str]]]
    ) -> types.WorkspaceEdit:
        texts = document.texts()
        encoding = self.encoding()
        by_uri = {}
        for uri, found in edits.items():
            located = Located(texts[uri], encoding)
            by_uri[uri] = [located.edit(*edit) for edit in found]
        capabilities = self.client_capabilities.workspace
        edit_caps = capabilities.workspace_edit if capabilities else None
        if edit_caps and edit_caps.document_changes:
            versions = {uri: doc.version for uri, doc in self.workspace.text_documents.items()}
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        types.OptionalVersionedTextDocumentIdentifier(uri, versions.get(uri)),
                        text_edits,
                    )
                    for uri, text_edits in by_uri.items()
                ]
            )
        return types.WorkspaceEdit(changes=by_uri)


def wanted(kind: str, only: list[str] | None) -> bool:
    """An action of `kind` is wanted when no kinds are asked for, or `kind` is one of them or
    below one (`source.fixAll` covers `source.fixAll.freezelint`)."""
    return not only or any(kind == o or kind.startswith(f"{o}.") for o in only)


def overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
