"""The protocol's messages wired to the server: which notification re-checks what, and the
requests it answers. `main` runs it over standard input and output (`freezelint server`)."""

from __future__ import annotations

from lsprotocol import types

from freezelint.frontends.lsp.actions import FIX_ALL
from freezelint.frontends.lsp.server import FreezelintServer
from freezelint.model.resolve import stop_workers
from freezelint.run.runner import preload


def create() -> FreezelintServer:
    """A server with every handler registered."""
    server = FreezelintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: FreezelintServer, params: types.InitializeParams) -> None:
        ls.configure(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: FreezelintServer, params: types.InitializedParams) -> None:
        await ls.watch_configuration_files()
        await ls.pull_settings()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: FreezelintServer, params: types.DidOpenTextDocumentParams) -> None:
        if ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: FreezelintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(ls.owner(params.text_document.uri), ls.settings.debounce / 1000)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: FreezelintServer, params: types.DidSaveTextDocumentParams) -> None:
        # Other open files may import this one: they are checked again too.
        ls.schedule_all()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: FreezelintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)
        ls.clear([params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: FreezelintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(
        ls: FreezelintServer, params: types.DidChangeNotebookDocumentParams
    ) -> None:
        ls.schedule(params.notebook_document.uri, ls.settings.debounce / 1000)
        structure = params.change.cells.structure if params.change.cells else None
        if structure is not None and structure.did_close:
            ls.clear([cell.uri for cell in structure.did_close])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: FreezelintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.schedule_all()

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: FreezelintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri)
        ls.clear([cell.uri for cell in params.cell_text_documents])

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def configuration_changed(
        ls: FreezelintServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if not await ls.pull_settings():
            ls.configure(params.settings)
        ls.schedule_all()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def files_changed(ls: FreezelintServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.selections.forget()
        ls.schedule_all()

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True
        ),
    )
    async def code_action(
        ls: FreezelintServer, params: types.CodeActionParams
    ) -> list[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(
        ls: FreezelintServer, params: types.CodeAction
    ) -> types.CodeAction:
        return await ls.resolve(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: FreezelintServer, params: types.HoverParams) -> types.Hover | None:
        return await ls.hover(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: FreezelintServer, params: None) -> None:
        for waiting in ls.timers.values():
            waiting.cancel()
        ls.checks.shutdown(wait=False, cancel_futures=True)
        stop_workers()  # a model being built in the background

    return server


def main() -> None:
    server = create()
    preload(None)  # the checker imported before the first document, the collector tuned
    server.start_io()
