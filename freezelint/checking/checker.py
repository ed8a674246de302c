"""Checking one source text: parse, extract, simulate, run the selected rules, locate findings.

Positions are computed (`positions.py`) only when there is something to report, so a
clean file costs one parse and one walk.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection
from dataclasses import replace
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from freezelint.checking.call_agreement import DISAGREE, CallAgreement
from freezelint.checking.projection import Projections
from freezelint.findings.diagnostics import Diagnostic, Finding, NoFix, Related, Severity
from freezelint.findings.fixes import Fix, FixContext
from freezelint.findings.line_length import line_length_for
from freezelint.findings.suppressions import without_suppressed
from freezelint.model.resolve import Verifier
from freezelint.rules import RULES
from freezelint.script.events import Timeline
from freezelint.script.extract import RootPaths, extract_paths
from freezelint.script.extract.independence import Links
from freezelint.script.extract.syntax import code_of
from freezelint.script.imports import ImportTable
from freezelint.script.parse import parse_module
from freezelint.script.positions import positions as positions_of
from freezelint.script.project import ParsedModule, display, parse_file
from freezelint.simulation.predicate_runs import PredicateRuns
from freezelint.simulation.replay import Simulation

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

SYNTAX_ERROR = "FRZ000"


def check_source(
    text: str,
    path: str,
    codes: Collection[str] | None = None,
    verifier: Verifier | None = None,
    aliases: dict[str, tuple[str, str]] | None = None,
    line_label: Callable[[int], str] = str,
    importer: Path | None = None,
) -> list[Diagnostic]:
    """Diagnostics for one file's text (`codes`: the selected rule codes; None means all).
    With a `verifier`, models the script builds are checked against their parameter tables.
    Its imports are followed from `path` when that is a file, or from `importer` (a buffer
    read from standard input for a file not saved yet)."""
    selected = set(RULES) if codes is None else set(codes)
    too_deep = _too_deep(text, path)
    if too_deep is not None:
        return [too_deep] if SYNTAX_ERROR in selected else []
    file = Path(path).absolute() if path and Path(path).is_file() else importer
    try:
        module, imports = parse_text(text, file)
    except cst.ParserSyntaxError as error:
        if SYNTAX_ERROR not in selected:
            return []
        return [_syntax_error(error, text, path)]
    except RecursionError:
        if SYNTAX_ERROR not in selected:
            return []
        return [
            Diagnostic(
                SYNTAX_ERROR,
                "file is too deeply nested to parse",
                path,
                1,
                1,
                1,
                1,
                RULES[SYNTAX_ERROR].severity,
            )
        ]
    findings, files = find(module, selected, verifier, aliases, file, imports, text)
    located = locate(module, findings, path, text, line_label, files)
    here = [d for d in located if d.path == path]
    # A finding in another file of the project (reached through an import) obeys that file's
    # suppression comments.
    elsewhere = [d for d in located if d.path != path]
    for parsed in files.values():
        shown = display(parsed.path)
        elsewhere = [
            *[d for d in elsewhere if d.path != shown],
            *without_suppressed(parsed.text, [d for d in elsewhere if d.path == shown]),
        ]
    out = without_suppressed(text, here) + elsewhere
    out.sort(key=Diagnostic.sort_key)
    return out


def parse_text(text: str, file: Path | None) -> tuple[cst.Module, ImportTable | None]:
    """The text parsed, with its imports when they are known already: a file of the project
    other files import is parsed once per process (the same tree and import table serve both,
    `project.parse_file`)."""
    if file is not None:
        parsed = parse_file(file, "__main__", networks=True)
        if parsed is not None and parsed.text == text:
            return parsed.module, parsed.imports
    return parse_module(text), None


def find(
    module: cst.Module,
    selected: Collection[str],
    verifier: Verifier | None = None,
    aliases: dict[str, tuple[str, str]] | None = None,
    file: Path | None = None,
    imports: ImportTable | None = None,
    text: str | None = None,
) -> tuple[list[Finding], dict[str, ParsedModule]]:
    """The rules' findings over every consistent path of every root, and the project files
    the walk read (`file`: the checked file's path, for its imports; `imports`: the module's
    import table, when parsing made it already; `text`: the source it was parsed from, which
    `extract_paths` may read instead of the tree). A finding that holds on
    some paths of a root but not all names the branch arms it needs (`when ...`); identical
    findings from several paths are one."""
    rules = [RULES[c] for c in sorted(selected) if c in RULES and c != SYNTAX_ERROR]
    roots = extract_paths(module, imports, aliases, file, text=text)
    files: dict[str, ParsedModule] = {}
    for root in roots:
        for path in root.paths:
            files.update(path.timeline.files)
    if verifier is not None:
        # Resolve every path's models at once (one worker run for whatever is not cached).
        verifier.tables_for([p.timeline for root in roots for p in root.paths])
    findings: dict[tuple, Finding] = {}
    reported: set[tuple[str, int]] = set()
    agreement = CallAgreement()  # fixes inside helpers: every call must agree
    runs = PredicateRuns()  # name predicates run once over a table's names, for every path
    for root in roots:
        # Per rule and line: the wordings of the first path it holds on (its numbers), each
        # with the paths that word it so, and every path it holds on at all.
        holds: dict[tuple[str, int], tuple[int, dict[str, tuple[Finding, set[int]]]]] = {}
        anywhere: dict[tuple[str, int], set[int]] = {}
        normal = {i for i in range(len(root.paths)) if not _error_path(root, i)}
        groups = _varied_together(root)

        def run_rules(timeline: Timeline, tables) -> list[Finding]:
            return run_rule_list(Simulation(timeline, tables, runs), rules)

        projections = Projections(root, run_rules)
        for index, path in enumerate(root.paths):
            timeline = path.timeline
            if not timeline.events:
                continue
            tables = verifier.tables_for([timeline]) if verifier is not None else {}
            found = projections.found(index, tables)
            if found is None:
                found = run_rules(timeline, tables)
            if index == 0:
                projections.first(found, tables)
            via = {id(e.node): e.via for e in reversed(timeline.events) if e.via}
            if index in normal:
                agreement.add_path(timeline, found)
            for finding in found:
                if finding.event is not None:
                    finding = replace(finding, via=finding.event.via)
                elif id(finding.node) in via and not finding.via:
                    finding = replace(finding, via=via[id(finding.node)])
                key = (finding.code, id(finding.node))
                first, wordings = holds.setdefault(key, (index, {}))
                anywhere.setdefault(key, set()).add(index)
                if first == index:
                    wordings.setdefault(finding.message, (finding, set()))
                if finding.message in wordings:
                    wordings[finding.message][1].add(index)
        for key, (_, wordings) in holds.items():
            if key in reported or not anywhere[key] & normal:
                # Only on error paths (an `except` handler ran, or the path ends raising): the
                # recipe is what runs when nothing goes wrong.
                continue
            everywhere = normal <= anywhere[key]
            for finding, same in wordings.values():
                if not normal <= same:
                    # Its numbers are those of the paths that word it so: name what they share.
                    where = same & normal or same
                    among = normal if same & normal else set(range(len(root.paths)))
                    when = _condition(root, sorted(where), _unrelated(groups, where, among))
                    note = f"on every path; counted when {when}" if everywhere else f"when {when}"
                    finding = replace(finding, message=f"{finding.message} ({note})")
                findings[(*key, finding.message)] = finding
            reported.add(key)
    for rule in rules:
        if rule.check_module is not None:
            for finding in rule.check_module(module, None, file):
                findings[(finding.code, id(finding.node), finding.message)] = finding
    for index, finding in findings.items():
        if agreement.covers(index[:2]):
            agreed = agreement.fix(index[:2])
            if agreed is DISAGREE and finding.fix is None:
                continue  # (no fix on the first path: its own reason says more)
            findings[index] = replace(finding, fix=agreed)
    return list(findings.values()), files


def run_rule_list(sim: Simulation, rules: list) -> list[Finding]:
    """The findings of `rules` on one simulated path, once per statement."""
    return _once_per_statement([f for rule in rules for f in rule.check(sim)])


def _once_per_statement(found: list[Finding]) -> list[Finding]:
    """One finding of a rule at a statement the path runs more than once from the same place
    (a loop over a list of models unrolled): the first run's. One mistake in the code,
    reported once. A helper called from two places is two findings, each naming its call
    (rules.md, "Where a finding points")."""
    first: dict[tuple, object] = {}
    out = []
    for finding in found:
        calls = finding.event.via if finding.event is not None else finding.via
        key = (finding.code, id(finding.node), tuple(map(id, calls)))
        event = first.setdefault(key, finding.event)
        if finding.event is None or event is None or event is finding.event:
            out.append(finding)
    return out


def _error_path(root: RootPaths, index: int) -> bool:
    """Does the path end raising, or run an `except` handler?"""
    path = root.paths[index]
    return path.raised or bool(root.exceptional & set(path.decisions))


def _varied_together(root: RootPaths) -> list[tuple[set[tuple], list[int]]]:
    """The branches that paths take other arms than the first of together (`paths.explore`
    combines only branches linked to each other), each group with those paths."""
    together = Links()
    varied = [[key for key, arm in path.decisions if arm] for path in root.paths]
    for keys in varied:
        for key in keys:
            together.join(key, keys[0])
    groups: dict[object, tuple[set[tuple], list[int]]] = {}
    for index, keys in enumerate(varied):
        for key in keys:
            groups.setdefault(together.find(key), (set(), []))[0].add(key)
        if keys:
            groups[together.find(keys[0])][1].append(index)
    return list(groups.values())


def _unrelated(
    groups: list[tuple[set[tuple], list[int]]], where: set[int], among: set[int]
) -> set[tuple]:
    """The branches a finding does not depend on: those of a group whose paths all agree
    with the first path (every first arm) on whether it holds there."""
    base = 0 in where
    out: set[tuple] = set()
    for keys, indices in groups:
        if all((index in where) == base for index in indices if index in among):
            out |= keys
    return out


def _condition(
    root: RootPaths, where: list[int], unrelated: set[tuple] = frozenset(), limit: int = 3
) -> str:
    """The branch arms the paths in `where` share, and for a branch all of them decide but in
    different arms (not all of them), those arms (`a` or `b`); those of the first path when
    that says nothing. Branches the finding does not depend on (`unrelated`) are not named."""
    decided = [dict(root.paths[index].decisions) for index in where]
    first = [(key, arm) for key, arm in root.paths[where[0]].decisions if key not in unrelated]
    parts: list[str] = []
    for key, arm in first:
        arms = {d.get(key) for d in decided}
        if arms == {arm}:
            parts.append(root.labels[key][arm])
        elif None not in arms and len(arms) < len(root.labels[key]):
            taken = sorted(a for a in arms if a is not None)
            shown = [root.labels[key][a] for a in taken[:limit]]
            more = f" or {len(taken) - limit} more" if len(taken) > limit else ""
            parts.append(" or ".join(shown) + more)
    if not parts:
        parts = [root.labels[key][arm] for key, arm in first]
    if len(parts) > limit:
        parts = [*parts[:limit], f"{len(parts) - limit} more conditions"]
    return " and ".join(parts) or "on some paths"


def _build_fix(finding: Finding, context: FixContext, shown: str, path: str) -> Fix | str:
    """The finding's fix, or why it has none."""
    if shown != path:
        return f"the code is in `{shown}`, reached from this file: fixes edit only the file checked"
    if finding.fix is None:
        return finding.no_fix or RULES[finding.code].no_fix
    try:
        fix = finding.fix(context)
    except KeyError:  # a node without a position (synthesised): no fix rather than a wrong one
        fix = NoFix("the code the fix would change is not written in this file as such")
    if isinstance(fix, NoFix):
        return fix.reason
    return fix if fix is not None else RULES[finding.code].no_fix


def locate(
    module: cst.Module,
    findings: list[Finding],
    path: str,
    text: str = "",
    line_label: Callable[[int], str] = str,
    files: dict[str, ParsedModule] | None = None,
) -> list[Diagnostic]:
    if not findings:
        return []
    positions = positions_of(module, text)
    context = FixContext(text, positions, module, line_length_for(path))
    sources = [(path, positions, line_label)] + [
        (display(parsed.path), positions_of(parsed.module, parsed.text), str)
        for parsed in (files or {}).values()
    ]

    def place(
        node: cst.CSTNode, near: cst.CSTNode | None = None
    ) -> tuple[str, CodeRange, Callable[[int], str]]:
        for shown, known, label in sources:
            try:
                return shown, known.near(node, near), label
            except KeyError:
                continue
        raise KeyError(node)

    def line_of(node: cst.CSTNode, here: str) -> str:
        shown, where, label = place(node)
        line = f"line {label(where.start.line)}"
        return line if shown == here else f"{line} of {shown}"

    def number_of(node: cst.CSTNode) -> str:
        _, where, label = place(node)
        return label(where.start.line)

    def related(node: cst.CSTNode, text: str) -> Related:
        shown, where, _ = place(node)
        return Related(
            shown,
            where.start.line,
            where.start.column + 1,
            where.end.line,
            where.end.column + 1,
            text,
        )

    out = []
    for finding in findings:
        shown, where, _ = place(finding.node, _statement_of(finding))
        also = tuple(
            related(call, f"`{_callee(call)}(...)` leads here") for call in finding.via
        ) + tuple(related(node, "referred to by the message") for node in finding.related)
        message = finding.message_with_lines(partial(line_of, here=shown), number_of)
        if finding.via:
            calls = ", then ".join(
                f"`{_callee(call)}(...)` on {line_of(call, shown)}" for call in finding.via
            )
            message = f"{message} (reached through {calls})"
        fix = _build_fix(finding, context, shown, path)
        out.append(
            Diagnostic(
                code=finding.code,
                message=message,
                path=shown,
                row=where.start.line,
                column=where.start.column + 1,
                end_row=where.end.line,
                end_column=where.end.column + 1,
                severity=RULES[finding.code].severity,
                verified=finding.verified,
                fix=fix if isinstance(fix, Fix) else None,
                related=also,
                no_fix=None if isinstance(fix, Fix) else fix,
            )
        )
    out.sort(key=Diagnostic.sort_key)
    return out


def _statement_of(finding: Finding) -> cst.CSTNode | None:
    """The statement that most likely holds the finding's node: its event's (see
    `Positions.near`)."""
    event = finding.event
    return getattr(event, "local", None) if event is not None else None


def _callee(call: cst.CSTNode) -> str:
    return code_of(call.func if type(call) is cst.Call else call)


def _syntax_error(error: cst.ParserSyntaxError, text: str, path: str) -> Diagnostic:
    """FRZ000 where the parser stopped. CPython's own parser (`ast.parse`: parsing only, nothing
    runs) words it better ("expected ':'") and places it more precisely, so it is asked first."""
    row, column = error.raw_line, error.raw_column + 1
    message = error.message.strip().splitlines()[0] if error.message.strip() else "invalid syntax"
    try:
        ast.parse(text)
    except SyntaxError as py_error:
        if py_error.lineno:
            row, column = py_error.lineno, max(1, py_error.offset or 1)
            message = py_error.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    return Diagnostic(
        SYNTAX_ERROR,
        f"syntax error: {message}",
        path,
        row,
        column,
        row,
        column,
        RULES[SYNTAX_ERROR].severity,
    )


_BRACKET = re.compile(r"[()\[\]{}]")
_DEPTH = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}
MAX_NESTING = 200  # CPython's own limit ("too many nested parentheses")


def _too_deep(text: str, path: str) -> Diagnostic | None:
    """FRZ000 for bracket nesting deeper than CPython allows, found without the libcst parser
    (whose native stack overflows on such input). Brackets inside strings can make the quick
    count too high; CPython's parser (parse only) then has the last word."""
    if text.count("(") + text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    depth = max(accumulate(_DEPTH[c] for c in _BRACKET.findall(text)), default=0)
    if depth <= MAX_NESTING:
        return None
    try:
        ast.parse(text)
    except SyntaxError as error:
        row, column = error.lineno or 1, max(1, error.offset or 1)
        return Diagnostic(
            SYNTAX_ERROR,
            f"syntax error: {error.msg}",
            path,
            row,
            column,
            row,
            column,
            Severity.ERROR,
        )
    except (ValueError, RecursionError, MemoryError):
        return Diagnostic(
            SYNTAX_ERROR, "syntax error: too deeply nested", path, 1, 1, 1, 1, Severity.ERROR
        )
    return None
