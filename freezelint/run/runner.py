"""Checking (and fixing) one file, as a function of plain data, so that many files can be spread
over a process pool: read, decode, skip cheaply, notebook or script, check or fix, write."""

from __future__ import annotations

import gc
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from freezelint.findings.diagnostics import Diagnostic, Severity
from freezelint.run.discovery import DiscoveredPath
from freezelint.run.ipython_lines import IPythonExport
from freezelint.script.source import decode_source, might_freeze, read_source
from freezelint.script.text_lines import split_lines

if TYPE_CHECKING:
    from freezelint.model.resolve import Verifier

SYNTAX_ERROR = "FRZ000"


@dataclass(frozen=True)
class Options:
    """How every file of a run is checked (the same for all: a pool's processes share it)."""

    verify: bool = True
    cache_dir: Path | None = None
    no_cache: bool = False
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    aliases: tuple[tuple[str, tuple[str, str]], ...] = ()


@dataclass
class FileResult:
    """What checking (or fixing) one file gives the command line to report."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: str | None = None  # the checked text, for code frames
    path: str = ""  # the checked file, as shown
    errors: list[str] = field(default_factory=list)  # one line each, for stderr
    diff: str = ""
    changed: bool = False
    fixed: int = 0
    fixed_codes: list[str] = field(default_factory=list)  # the rule of each fix applied
    unverified: dict[str, str] = field(default_factory=dict)
    # Read from standard input with --fix: the text to write to standard output (fixed or not).
    output: str | None = None


_VERIFIERS: dict[Options, object] = {}


def _verifier(options: Options):
    """One verifier (and so one in-memory table memo) per process and set of options."""
    if not options.verify:
        return None
    if options not in _VERIFIERS:
        from freezelint.model.cache import TableCache, default_cache_dir
        from freezelint.model.resolve import Verifier

        cache = None if options.no_cache else TableCache(options.cache_dir or default_cache_dir())
        _VERIFIERS[options] = Verifier(cache)
    return _VERIFIERS[options]


def preload(options: Options | None) -> None:
    """Import everything checking a file needs (libcst and its native parser, the extractor,
    every rule, the verifier for `options`, if any), so that processes forked after this share
    it; a long-running process (the language server) gets the same collector settings."""
    import freezelint.checking.checker  # noqa: F401
    from freezelint.rules import RULES
    from freezelint.script.parse import parse_module

    parse_module("pass\n")  # (libcst loads its native parser on the first parse)

    for code in RULES:
        RULES[code]
    if options is not None:
        _verifier(options)
    # What is imported now lives as long as the process: keep the collector off it, and let it
    # run less often (libcst allocates many objects and creates few reference cycles). -7% time
    # on a large tree (benchmarks/speed.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _cannot_parse(found: DiscoveredPath, why: object) -> Diagnostic:
    return Diagnostic(
        SYNTAX_ERROR, f"cannot parse: {why}", found.display, 1, 1, 1, 1, Severity.ERROR
    )


def run_file(
    found: DiscoveredPath,
    codes: frozenset[str],
    options: Options,
    stdin: bytes | None = None,
    verifier: Verifier | None = None,
) -> FileResult:
    """Check (or fix) one file; with `stdin`, those bytes as if they were the file's, and a fix
    goes to `FileResult.output` instead of the file. `verifier` stands in for the one the options
    describe (the language server's, which never blocks on a model build)."""
    if found.error is not None and stdin is None:
        return FileResult(path=found.display, errors=[f"{found.display}: {found.error}"])
    read = read_source(found.path) if stdin is None else decode_source(stdin)
    result = run_source(found, codes, options, read, stdin is not None, verifier)
    if stdin is not None and options.fix and result.output is None and not result.errors:
        result.output = read[0]  # nothing fixed (or nothing to check): the text as it came
    return result


def run_file_in_pool(found: DiscoveredPath, codes: frozenset[str], options: Options) -> FileResult:
    """`run_file` in a process of the pool (`cli`), which checks its share of one run's files
    and ends: what the check leaves is then frozen (`gc.freeze`), so that the collector never
    walks it again. What stays is meant to (the file's tree, kept for other files that import
    it: `project.parse_file`, and the tables' memos), and a check makes no reference cycles
    (tests/test_reference_cycles.py) that freezing would keep alive; the collector, set off
    every 50,000 new objects, only walked the trees kept: 3% of a process's time on
    benchmarks/speed.py's (b)."""
    result = run_file(found, codes, options)
    gc.freeze()
    return result


def _drives_project_code(found: DiscoveredPath, raw: bytes, stdin: bool) -> bool:
    """A script with no freezing code that hands a model to the project's (see
    `project.drives_project_code`); a buffer from standard input as the file it stands for."""
    if b"__main__" not in raw or (stdin and found.display == "-"):
        return False
    from freezelint.script.project import drives_project_code

    return drives_project_code(found.path.absolute(), raw)


def run_source(
    found: DiscoveredPath,
    codes: frozenset[str],
    options: Options,
    read: tuple[str | None, bytes, str | None],
    stdin: bool,
    verifier: Verifier | None = None,
) -> FileResult:
    result = FileResult(path=found.display)
    text, raw, error = read
    if text is None:
        if error and ("binary" in error or "decode" in error):
            if SYNTAX_ERROR in codes:
                result.diagnostics.append(_cannot_parse(found, error))
        else:
            result.errors.append(f"{found.display}: {error}")
        return result
    if not might_freeze(raw) and not _drives_project_code(found, raw, stdin):
        return result
    notebook = None
    if found.path.suffix == ".ipynb":
        from freezelint.run.notebooks import Notebook, NotebookError

        try:
            notebook = Notebook.parse(raw)
        except NotebookError as problem:
            result.diagnostics.append(_cannot_parse(found, problem))
            return result
        text = notebook.text
    export = IPythonExport.of(text) if notebook is None else None
    original = text
    if export is not None:
        text = export.text  # `!pip install ...` lines stood in for (ipython_lines.py)
    label = notebook.line_label if notebook is not None else str
    # A buffer from standard input: its imports are followed from the file it stands for.
    importer = found.path if stdin and found.display != "-" else None
    if verifier is None:
        verifier = _verifier(options)
    aliases = dict(options.aliases)
    try:
        if options.fix or options.diff:
            from freezelint.fixing.loop import fix_source

            fixed = fix_source(
                text, found.display, codes, verifier, options.unsafe_fixes, aliases, label, importer
            )
            if fixed.text != text:
                result.changed, result.fixed = True, fixed.fixed
                result.fixed_codes = fixed.codes
                before, after = text, fixed.text
                if notebook is not None:
                    before = raw.decode("utf-8", "replace")
                    after = notebook.with_code(fixed.text).decode("utf-8")
                elif export is not None:
                    before, after = original, export.restore(fixed.text)
                if options.diff:
                    result.diff = unified_diff(found.display, before, after)
                elif stdin:
                    result.output = after
                else:
                    write_atomically(found.path, raw if notebook is None else b"", after)
                text = fixed.text
                original = after
            found_here = fixed.remaining
        else:
            from freezelint.checking.checker import check_source

            found_here = check_source(
                text, found.display, codes, verifier, aliases, label, importer
            )
    except Exception:  # one file's internal error must not stop the run
        import traceback

        result.errors.append(
            f"internal error while checking {found.display}; please report "
            f"it:\n{traceback.format_exc()}"
        )
        return result
    if verifier is not None:
        result.unverified = dict(verifier.unverified)
    if notebook is not None:
        result.diagnostics = [notebook.locate(d) for d in found_here]
    else:
        result.diagnostics = found_here
        result.source = (original if export is not None else text) if found_here else None
    return result


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib  # (here: a plain check never needs it)

    lines = difflib.unified_diff(
        split_lines(before, keepends=True), split_lines(after, keepends=True), path, path
    )
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)


def write_atomically(path: Path, raw: bytes, text: str) -> None:
    """Write `text` where `raw` was read: same encoding (BOM included), same file mode; a
    temporary file renamed over the original, so a reader never sees half a file."""
    encoding, _ = tokenize.detect_encoding(iter(raw.splitlines(keepends=True)).__next__)
    data = text.encode(encoding)
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
