"""The language server: keeps each open document's latest check, re-checks it after a change
(debounced), on save and when the settings or a configuration file change, publishes its
diagnostics, and answers code actions with its fixes.

Checks run one at a time in a worker thread, so the editor's requests are answered while a
file is checked. A model whose table is not cached is never built on the way: the check goes on
without it, the model is built in a background thread, and open documents are checked again
when its table arrives."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, TypeVar
from urllib.parse import urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from freezelint import __version__
from freezelint.frontends.lsp.actions import CodeActions
from freezelint.frontends.lsp.documents import (
    Cell,
    Checked,
    Document,
    check,
    diagnostics_by_uri,
    lsp_diagnostic,
    places,
)
from freezelint.frontends.lsp.elsewhere import Elsewhere
from freezelint.frontends.lsp.hover import Hovers
from freezelint.frontends.lsp.locations import Located
from freezelint.frontends.lsp.selection import Selections, under_root
from freezelint.frontends.lsp.settings import Settings
from freezelint.model.resolve import Unverified, Verifier
from freezelint.output.rule_docs import RuleDocs

CONFIG_FILES = ("**/pyproject.toml", "**/freezelint.toml")
log = logging.getLogger(__name__)


class Run(NamedTuple):
    """One check in the check thread: its result, what was wrong with the configuration or the
    settings, the verifier used, and the models it had to go without (to build)."""

    checked: Checked
    problems: list[str]
    verifier: Verifier | None
    pending: frozenset


T = TypeVar("T")


class FreezelintServer(CodeActions, Hovers, LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "freezelint",
            __version__,
            # The whole text at each change: pygls applies an incremental change on lines split
            # as `str.splitlines` splits them (form feeds and other separators too), not as
            # LSP does, and would corrupt its copy of such a buffer.
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        cells=[types.NotebookCellLanguage(language="python")], notebook="*"
                    )
                ],
                save=True,
            ),
        )
        self.settings = Settings()
        self.selections = Selections()
        self.docs = RuleDocs()
        self.checks = ThreadPoolExecutor(1, thread_name_prefix="freezelint-check")
        self.results: dict[str, Checked] = {}  # document (or notebook) URI -> latest check
        self.elsewhere = Elsewhere()  # what each document's check found in other files
        self.timers: dict[str, asyncio.TimerHandle] = {}
        # Document URI -> (the document, its fix-all edits), for the text it was worked out on.
        self.fixed_all: dict[str, tuple[Document, dict]] = {}
        self.building: set = set()  # specs being built in the background
        self.told: set[str] = set()  # messages already shown

    # --- the documents -------------------------------------------------------------------

    def owner(self, uri: str) -> str:
        """The checked document a text document belongs to (a cell's notebook, or itself)."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def snapshot(self, uri: str) -> Document | None:
        """The document as it is now, or None when it is closed or not Python."""
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is not None:
            cells = []
            for cell in notebook.cells:
                text = self.workspace.text_documents.get(cell.document)
                code = cell.kind == types.NotebookCellKind.Code and text is not None
                cells.append(Cell(cell.document, text.source if text else "", code))
            return Document(uri, self.path_of(uri), notebook.version, cells=tuple(cells))
        text = self.workspace.text_documents.get(uri)
        if text is None or not is_python(uri, text.language_id):
            return None
        return Document(uri, self.path_of(uri), text.version, text.source)

    def path_of(self, uri: str) -> Path:
        path = to_fs_path(uri) if urlparse(uri).scheme == "file" else None
        if path:
            return Path(path)
        root = self.workspace.root_path
        name = Path(urlparse(uri).path).name or "untitled.py"
        return Path(root or Path.cwd()) / name

    def root(self) -> Path | None:
        """The workspace's folder (relative paths in the settings are taken from it)."""
        return Path(self.workspace.root_path) if self.workspace.root_path else None

    def open_uris(self) -> list[str]:
        cells = {
            cell.document
            for notebook in self.workspace.notebook_documents.values()
            for cell in notebook.cells
        }
        texts = [uri for uri in self.workspace.text_documents if uri not in cells]
        return [*texts, *self.workspace.notebook_documents]

    # --- settings --------------------------------------------------------------------------

    def configure(self, value: object) -> None:
        self.settings, problems = Settings.read(value, self.settings)
        self.docs = RuleDocs(
            under_root(self.root(), self.settings.cache_dir) if self.settings.cache_dir else None,
            self.settings.rule_docs,
        )
        for problem in problems:
            self.tell(problem)

    async def pull_settings(self) -> bool:
        """Ask the client for the `freezelint` section, if it answers such requests."""
        workspace = self.client_capabilities.workspace
        if not (workspace and workspace.configuration):
            return False
        try:
            answer = await self.workspace_configuration_async(
                types.ConfigurationParams([types.ConfigurationItem(section="freezelint")])
            )
        except Exception as error:  # a client that fails the request keeps the settings
            log.warning("workspace/configuration failed: %s", error)
            return False
        if answer and answer[0] is not None:
            self.configure(answer[0])
        return True

    async def watch_configuration_files(self) -> None:
        """Ask to hear of configuration files changing (the client watches, if it can)."""
        workspace = self.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if not (watched and watched.dynamic_registration):
            return  # a changed file's modification time is noticed at the next check anyway
        options = types.DidChangeWatchedFilesRegistrationOptions(
            [types.FileSystemWatcher(glob_pattern=pattern) for pattern in CONFIG_FILES]
        )
        registration = types.Registration(
            "freezelint-configuration", types.WORKSPACE_DID_CHANGE_WATCHED_FILES, options
        )
        try:
            await self.client_register_capability_async(types.RegistrationParams([registration]))
        except Exception as error:
            log.warning("cannot watch configuration files: %s", error)

    # --- checking ------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float = 0.0) -> None:
        """Check `uri` after `delay` seconds, replacing a check already waiting for it."""
        waiting = self.timers.pop(uri, None)
        if waiting is not None:
            waiting.cancel()
        loop = asyncio.get_running_loop()
        self.timers[uri] = loop.call_later(delay, lambda: loop.create_task(self.refresh(uri)))

    def schedule_all(self, delay: float = 0.0) -> None:
        self.fixed_all.clear()  # settings, configuration or other files changed
        for uri in self.open_uris():
            self.schedule(uri, delay)

    async def refresh(self, uri: str) -> None:
        self.timers.pop(uri, None)
        document = self.snapshot(uri)
        if document is None:
            return
        run = await self.in_check_thread(uri, self.check_latest, document)
        if run is None:
            return  # changed while waiting (its own check is on the way), or failed
        for problem in run.problems:
            self.tell(problem)
        current = self.snapshot(uri)
        if current is None or current.version != document.version:
            return  # changed meanwhile: its own check is on the way
        self.results[uri] = run.checked
        self.publish(run.checked)
        for label, reason in sorted(run.checked.unverified.items()):
            if reason != Verifier.PENDING:  # said once, in the log: the CLI's unverified list
                self.note(f"{label} could not be verified: {reason}")
        if run.verifier is not None and run.pending:
            self.build_missing(run.verifier, run.pending)

    def version_of(self, uri: str) -> int | None:
        """The document's version now (read from the check thread: no text is copied)."""
        notebook = self.workspace.notebook_documents.get(uri)
        if notebook is not None:
            return notebook.version
        text = self.workspace.text_documents.get(uri)
        return text.version if text is not None else None

    def check_latest(self, document: Document) -> Run | None:
        """In the check thread: the check, unless the document changed while it waited (a
        burst of edits slower than the debounce runs only the newest check)."""
        if self.version_of(document.uri) != document.version:
            return None
        return self.check_now(document, False)

    def check_now(self, document: Document, fix: bool) -> Run:
        """In the check thread: the document's selection, then its check (or fix-all)."""
        codes, options, verifier, problems = self.selections.of(
            document.path, self.settings, self.root()
        )
        if fix:
            options = replace(options, fix=True, unsafe_fixes=False)
        checked = check(document, codes, options, verifier)
        pending = frozenset(verifier.pending) if verifier is not None else frozenset()
        return Run(checked, problems, verifier, pending)

    async def current(self, uri: str) -> Checked | None:
        """The check of the document as it is now (checked now if the last one is stale)."""
        document = self.snapshot(uri)
        if document is None:
            return None
        checked = self.results.get(uri)
        if checked is not None and checked.document == document:
            return checked
        run = await self.in_check_thread(uri, self.check_now, document, False)
        return run.checked if run is not None else None

    async def in_check_thread(self, uri: str, call: Callable[..., T | None], *args) -> T | None:
        """`call(*args)` in the check thread; None if it raised (the server's own bug: said,
        and the editor keeps working)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self.checks, call, *args)
        except Exception:
            self.report_error(f"internal error while checking {uri}", traceback.format_exc())
            return None

    def publish(self, checked: Checked) -> None:
        """A check's diagnostics on its document (each cell of a notebook), with what other
        open documents found in it; and again on the open files it found something in."""
        owner = checked.document.uri
        for uri, found in diagnostics_by_uri(checked, self.encoding(), self.docs.link).items():
            self.send(uri, found + self.found_elsewhere(uri, found))
        for error in checked.errors:
            first, _, rest = error.partition("\n")
            self.report_error(first, rest)
        self.republish(self.elsewhere.update(owner, checked.elsewhere), owner)

    def republish(self, paths: set[str], owner: str | None = None) -> None:
        """Publish again on the open files at `paths` (other than `owner`)."""
        if not paths:
            return
        for uri in self.workspace.text_documents:
            if uri == owner or self.owner(uri) != uri:
                continue  # the checking document itself, or a notebook cell
            if os.path.abspath(self.path_of(uri)) not in paths:
                continue
            checked = self.results.get(uri)
            own = (
                diagnostics_by_uri(checked, self.encoding(), self.docs.link).get(uri, [])
                if checked is not None
                else []
            )
            self.send(uri, own + self.found_elsewhere(uri, own))

    def found_elsewhere(self, uri: str, own: list[types.Diagnostic]) -> list[types.Diagnostic]:
        """What other documents' checks found in this one (once, not again if its own check
        found it too)."""
        text = self.workspace.text_documents.get(uri)
        if text is None or self.owner(uri) != uri:
            return []
        seen = {(d.code, d.range.start.line, d.range.start.character) for d in own}
        located_text = Located(text.source, self.encoding())
        path = os.path.abspath(self.path_of(uri))
        place = places(self.encoding(), path, uri, located_text)
        out = []
        for d in self.elsewhere.on(Path(path), text.source):
            shown = lsp_diagnostic(d, located_text, self.docs.link, place)
            if (shown.code, shown.range.start.line, shown.range.start.character) not in seen:
                out.append(shown)
        return out

    def send(self, uri: str, found: list[types.Diagnostic]) -> None:
        text = self.workspace.text_documents.get(uri)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri, found, text.version if text else None)
        )

    def forget(self, uri: str) -> None:
        """A closed document: its check, its fix-all and what it found in other files."""
        self.results.pop(uri, None)
        self.fixed_all.pop(uri, None)
        self.republish(self.elsewhere.remove(uri))

    def clear(self, uris: list[str]) -> None:
        for uri in uris:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def report_error(self, message: str, details: str = "") -> None:
        """An error: one line shown (once), the whole of it (a traceback) in the log."""
        if details:
            self.window_log_message(
                types.LogMessageParams(types.MessageType.Error, f"freezelint: {message}\n{details}")
            )
        self.tell(message, types.MessageType.Error)

    def note(self, message: str) -> None:
        """Log a message once (the editor's output panel for the server)."""
        if message not in self.told:
            self.told.add(message)
            self.window_log_message(
                types.LogMessageParams(types.MessageType.Info, f"freezelint: {message}")
            )

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show a message once (a bad setting is not repeated at every keystroke)."""
        self.window_log_message(types.LogMessageParams(kind, f"freezelint: {message}"))
        if message not in self.told:
            self.told.add(message)
            self.window_show_message(types.ShowMessageParams(kind, f"freezelint: {message}"))

    # --- background verification ----------------------------------------------------------

    def build_missing(self, verifier: Verifier, pending: frozenset) -> None:
        """Build, in the background, the tables the last check had to go without; check every
        open document again when they arrive."""
        wanted = [spec for spec in pending if spec not in self.building]
        if not wanted:
            return
        self.building.update(wanted)
        labels = ", ".join(sorted(spec.label() for spec in wanted))
        self.window_log_message(
            types.LogMessageParams(types.MessageType.Info, f"freezelint: verifying {labels}")
        )
        loop = asyncio.get_running_loop()

        def build() -> None:
            try:
                found = verifier.build_tables(wanted)  # a worker process; may take seconds
            except Exception as error:  # never leave the models pending for ever
                reason = Unverified(f"the verification failed: {error}")
                found = dict.fromkeys(wanted, reason)
            loop.call_soon_threadsafe(lambda: loop.create_task(self.built(verifier, found)))

        # A daemon thread: an editor closing while a model builds does not wait for it.
        threading.Thread(target=build, name="freezelint-build", daemon=True).start()

    async def built(self, verifier, found) -> None:
        await asyncio.get_running_loop().run_in_executor(self.checks, verifier.learn, found)
        self.building.difference_update(found)
        self.window_log_message(
            types.LogMessageParams(types.MessageType.Info, "freezelint: verified; re-checking")
        )
        self.schedule_all()


def is_python(uri: str, language: str | None) -> bool:
    if language:
        return language == "python"
    return uri.endswith((".py", ".pyi"))
