"""An open document checked as `freezelint check` would check its file: a Python buffer, or a
notebook's cells as one program. Diagnostics become LSP diagnostics on the document (or each
cell), and a fix becomes text edits on the document (or the cells it changes)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from lsprotocol import types

from freezelint.findings.diagnostics import Diagnostic, Related, Severity
from freezelint.findings.fixes import SAFE, Fix, apply
from freezelint.frontends.lsp.locations import Located, changes
from freezelint.model.resolve import Verifier
from freezelint.run.discovery import DiscoveredPath
from freezelint.run.ipython_lines import IPythonExport
from freezelint.run.notebooks import Notebook
from freezelint.run.runner import FileResult, Options, run_source
from freezelint.script.source import read_source

SOURCE = "freezelint"


@dataclass(frozen=True)
class Cell:
    uri: str
    text: str
    code: bool  # a code cell (else markdown: kept out of the program)


@dataclass(frozen=True)
class Document:
    """What is checked: a Python file's buffer (`cells` None) or a notebook's cells."""

    uri: str
    path: Path  # absolute: configuration and project imports are found from it
    version: int | None
    text: str = ""
    cells: tuple[Cell, ...] | None = None

    @property
    def notebook(self) -> bool:
        return self.cells is not None

    def raw(self) -> bytes:
        if self.cells is None:
            return self.text.encode("utf-8")
        data = {
            "cells": [
                {"cell_type": "code" if c.code else "markdown", "source": c.text}
                for c in self.cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        return json.dumps(data, indent=1).encode("utf-8")

    def texts(self) -> dict[str, str]:
        """Each text document's text, by URI (the cells of a notebook)."""
        if self.cells is None:
            return {self.uri: self.text}
        return {c.uri: c.text for c in self.cells}

    def found(self) -> DiscoveredPath:
        path = self.path
        if self.notebook and path.suffix != ".ipynb":
            path = path.with_name(f"{path.name}.ipynb")  # an untitled notebook is still one
        return DiscoveredPath(path, str(path), explicit=True)


@dataclass
class Checked:
    """A document's check: its diagnostics (rows inside their cell for a notebook) and what is
    needed to turn their fixes into edits."""

    document: Document
    diagnostics: list[Diagnostic]
    errors: list[str] = field(default_factory=list)
    unverified: dict[str, str] = field(default_factory=dict)
    output: str | None = None  # checked with `fix`: the fixed text (a notebook's JSON)
    # Found through the document's imports in other files of the project (absolute paths).
    elsewhere: list[Diagnostic] = field(default_factory=list)

    def program(self) -> tuple[str, Callable[[str], dict[str, str]]]:
        """The text the rules saw (fix edits are offsets into it), and how a fixed program
        becomes each text document's new text."""
        document = self.document
        if document.cells is None:
            export = IPythonExport.of(document.text)
            if export is None:
                return document.text, lambda fixed: {document.uri: fixed}
            return export.text, lambda fixed: {document.uri: export.restore(fixed)}
        notebook = self.notebook
        assert notebook is not None
        return notebook.text, lambda fixed: cell_texts(document, notebook.with_code(fixed))

    @cached_property
    def notebook(self) -> Notebook | None:
        """A notebook document as the checker read it (its program and rows), parsed once."""
        return Notebook.parse(self.document.raw()) if self.document.cells is not None else None


def cell_texts(document: Document, notebook_json: bytes | str) -> dict[str, str]:
    """The cells' texts in a notebook JSON written from `document`'s cells, by cell URI."""
    cells = json.loads(notebook_json)["cells"]
    out = {}
    for cell, written in zip(document.cells or (), cells, strict=True):
        source = written.get("source", "")
        out[cell.uri] = "".join(source) if isinstance(source, list) else source
    return out


def check(
    document: Document,
    codes: frozenset[str],
    options: Options,
    verifier: Verifier | None,
) -> Checked:
    """The document checked (or, with `options.fix`, fixed: see `fix_all_edits`)."""
    raw = document.raw()
    text = raw.decode("utf-8")
    if verifier is not None:
        verifier.unverified.clear()
    result: FileResult = run_source(
        document.found(), codes, options, (text, raw, None), True, verifier
    )
    own = [d for d in result.diagnostics if d.path == result.path]
    elsewhere = [
        replace(d, path=os.path.abspath(d.path))
        for d in result.diagnostics
        if d.path != result.path
    ]
    return Checked(document, own, result.errors, result.unverified, result.output, elsewhere)


def fix_all_edits(fixed: Checked) -> dict[str, list[tuple[int, int, str]]]:
    """What a check with `options.fix` wrote (`freezelint check --fix`: safe fixes, re-checked
    until none is left), as line-wise edits per text document: offsets into its text."""
    document = fixed.document
    if fixed.output is None or fixed.errors:
        return {}
    after = (
        {document.uri: fixed.output}
        if document.cells is None
        else cell_texts(document, fixed.output)
    )
    return _edits(document, after)


def fix_edits(checked: Checked, fix: Fix) -> dict[str, list[tuple[int, int, str]]]:
    """One diagnostic's fix as edits per text document (offsets into each one's text)."""
    document = checked.document
    if document.cells is None and IPythonExport.of(document.text) is None:
        return {document.uri: [(e.start, e.end, e.content) for e in fix.edits]}
    program, restore = checked.program()
    return _edits(document, restore(apply(program, [fix])[0]))


def _edits(document: Document, after: dict[str, str]) -> dict[str, list[tuple[int, int, str]]]:
    """Line-wise edits per text document that give it its text in `after` (none if same)."""
    before = document.texts()
    return {uri: edits for uri, text in after.items() if (edits := changes(before[uri], text))}


# --- LSP shapes --------------------------------------------------------------------------------


def located(
    checked: Checked, encoding: str, docs: Callable[[str], str | None]
) -> list[tuple[str, Diagnostic, types.Diagnostic]]:
    """Each diagnostic with the text document it is on (a notebook's cell) and its LSP form."""
    document = checked.document
    texts = {uri: Located(text, encoding) for uri, text in document.texts().items()}
    rows = None
    if document.cells is not None and checked.diagnostics:
        rows = checked.notebook.rows  # program row -> (cell, row in the cell)
    elsewhere = places(encoding, "", "", texts.get(document.uri, Located("")))

    def place(r: Related, own: str) -> tuple[str, Located, Related] | None:
        """Where a related place is: this document, one of its cells, or another file."""
        if r.path != own:
            return elsewhere(r)
        if document.cells is None:
            return document.uri, texts[document.uri], r
        start = rows[r.row] if rows is not None and r.row < len(rows) else None
        end = rows[r.end_row] if rows is not None and r.end_row < len(rows) else None
        if start is None:
            return None
        end_row = end[1] if end and end[0] == start[0] else start[1]
        uri = document.cells[start[0] - 1].uri
        return uri, texts[uri], replace(r, row=start[1], end_row=end_row)

    out = []
    for d in checked.diagnostics:
        uri = document.uri
        if document.cells is not None:
            number = d.extra.get("cell")
            first = next((c.uri for c in document.cells if c.code), None)
            uri = document.cells[number - 1].uri if number else first
            if uri is None:
                continue
            if not number:
                d = replace(d, row=1, end_row=1)  # a whole-notebook problem: on its first cell
        shown = lsp_diagnostic(d, texts[uri], docs, lambda r, own=d.path: place(r, own))
        out.append((uri, d, shown))
    return out


def places(
    encoding: str, path: str, uri: str, text: Located
) -> Callable[[Related], tuple[str, Located, Related]]:
    """Where a related place is: in the file at `path` (open as `uri`, with `text`), or in
    another file, read from disk once."""
    files: dict[str, Located] = {}

    def place(r: Related) -> tuple[str, Located, Related]:
        if r.path == path:
            return uri, text, r
        if r.path not in files:
            read, _, _ = read_source(Path(r.path))
            files[r.path] = Located(read or "", encoding)
        return Path(os.path.abspath(r.path)).as_uri(), files[r.path], r

    return place


def diagnostics_by_uri(
    checked: Checked, encoding: str, docs: Callable[[str], str | None]
) -> dict[str, list[types.Diagnostic]]:
    """The LSP diagnostics to publish, per text document (every cell of a notebook gets a list,
    empty ones too, so that fixed cells are cleared)."""
    out: dict[str, list[types.Diagnostic]] = {uri: [] for uri in checked.document.texts()}
    for uri, _, diagnostic in located(checked, encoding, docs):
        out[uri].append(diagnostic)
    return out


def lsp_diagnostic(
    d: Diagnostic,
    located: Located,
    docs: Callable[[str], str | None],
    place: Callable[[Related], tuple[str, Located, Related] | None],
) -> types.Diagnostic:
    """`d` on the text `located`; `place` says where each related place is (None: nowhere
    the editor has)."""
    href = docs(d.code)
    related = []
    for r in d.related:
        where = place(r)
        if where is not None:
            uri, text, r = where
            location = types.Location(uri, _range(text, r))
            related.append(types.DiagnosticRelatedInformation(location, r.message))
    return types.Diagnostic(
        range=_range(located, d),
        message=d.message,
        severity=(
            types.DiagnosticSeverity.Error
            if d.severity == Severity.ERROR
            else types.DiagnosticSeverity.Warning
        ),
        code=d.code,
        code_description=types.CodeDescription(href) if href else None,
        source=SOURCE,
        related_information=related or None,
        data={"fix": d.fix.applicability if d.fix else None},
    )


def _range(located: Located, where) -> types.Range:
    return types.Range(
        located.position(where.row - 1, where.column - 1),
        located.position(where.end_row - 1, where.end_column - 1),
    )


def is_safe(fix: Fix) -> bool:
    return fix.applicability == SAFE
