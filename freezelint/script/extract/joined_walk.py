"""A root's walk with every branch joined, stopped once its outcome is known (issue 24).

`paths.explore` first walks a root with every undecided branch joined: most roots (a library's
functions) have no branch that matters or nothing a rule reads, and then that walk is their
one path. Once that walk has joined a branch whose arms matter and holds an event a rule reads
(`FINDING_EVENTS`), both stay true to its end (`joined` is only ever set; such an event is
only ever replaced by another of those kinds), so the root's paths are explored whatever the
rest does: the walk stops there (`Decided`).

What the rest would still have given is what every walk adds to the file's facts: the
functions it inlined (no roots of their own then), whether it set a learning rate by hand
(`Timeline.lr_scheduled`), and the fuel it spent in other files (`follow_imports`). So a walk
stops early only in a file that can read no other file of the project (`reads_no_project_file`:
no walk spends fuel, and the order of the walks does not matter), and once the paths are
explored, the rest is walked after all when it could add a fact they did not (`FileNames.
may_add`): a function or class of the file not inlined yet that some code names, or a learning
rate set by hand where the file's text could set one.
"""

from __future__ import annotations

import pathlib
import re
from collections import Counter
from collections.abc import Set

import libcst as cst

from freezelint.script import project, recognize
from freezelint.script.events import (
    IneffectiveFreeze,
    OptimizerBuilt,
    ParamGroupAdded,
    RequiresGradSet,
)
from freezelint.script.extract.syntax import child_nodes, literal_string
from freezelint.script.imports import ImportTable

# Events some rule reads to find a mistake (a timeline without them has no finding on any path).
FINDING_EVENTS = (RequiresGradSet, IneffectiveFreeze, OptimizerBuilt, ParamGroupAdded)
# The string subscripts whose assignment sets a learning rate by hand (`assignments.py`).
_LR_KEYS = frozenset({"lr", "initial_lr"})
# An identifier as a word of the text; one of those keys between quotes (`FileNames`).
_WORD = re.compile(r"[A-Za-z_]\w*")
_QUOTED_LR_KEY = re.compile(r"""(['"])(?:initial_)?lr\1""")


class Decided(Exception):
    """A walk with every branch joined has joined one whose arms matter and holds an event a
    rule reads: its root's paths are explored, whatever the rest of it does."""


def reads_no_project_file(table: ImportTable, path: pathlib.Path | None) -> bool:
    """Can no walk of this file read another file of the project? (Every import that could,
    `follow_imports.load`, names a library or nothing; a file with no path reads none.)"""
    if path is None:
        return True
    for module, level, attr in table.sources.values():
        if project.resolve(module, level, path) is not None:
            return False
        if attr is not None:
            sub = f"{module}.{attr}" if module else attr
            if project.resolve(sub, level, path) is not None:
                return False
    return all(project.resolve(module, level, path) is None for module, level in table.stars)


class FileNames:
    """What a file's text names, read once and only when asked: how often each identifier
    occurs, and whether a string literal is a key that sets a learning rate.

    With the file's `text` (ASCII, without a backslash), read from the text instead of the
    tree: each identifier as a word, each such key as a quoted word. That over-counts
    (comments, strings) and so can only make `may_add` say yes more often (the rest walked, as
    without the stop), never less: a name of the tree is written as it is in the text, and so
    is a key with no escape in it."""

    def __init__(self, module: cst.Module, text: str | None = None) -> None:
        self._module = module
        plain = text is not None and text.isascii() and "\\" not in text
        self._text = text if plain else None
        self._counts: Counter[str] | None = None
        self._lr_key = False

    def _read(self) -> Counter[str]:
        if self._counts is None and self._text is not None:
            self._counts = Counter(_WORD.findall(self._text))
            self._lr_key = _QUOTED_LR_KEY.search(self._text) is not None
        if self._counts is None:
            counts: Counter[str] = Counter()
            stack: list[cst.CSTNode] = [self._module]
            while stack:
                node = stack.pop()
                kind = type(node)
                if kind is cst.Name:
                    counts[node.value] += 1  # type: ignore[attr-defined]
                elif kind is cst.SimpleString and literal_string(node) in _LR_KEYS:
                    self._lr_key = True
                stack.extend(child_nodes(node))
            self._counts = counts
        return self._counts

    def may_add(self, inlined: Set[str], lr_scheduled: bool) -> bool:
        """Could a walk of this file add to what walks found so far, `inlined` and
        `lr_scheduled`, something the roots depend on (`paths.extract_paths`)? A top-level
        function not inlined yet that is named besides its `def` (it may be called), a class
        that is named besides its `class` with a method not inlined yet, or a learning rate
        set by hand (a scheduler that sets it, a `["lr"]` key) where none was yet."""
        counts = self._read()
        if not lr_scheduled and (
            self._lr_key or any(counts[name] for name in recognize.LR_SETTING_SCHEDULERS)
        ):
            return True
        for stmt in self._module.body:
            if type(stmt) is cst.FunctionDef:
                name = stmt.name.value
                if name not in inlined and counts[name] > 1:
                    return True
            elif type(stmt) is cst.ClassDef and counts[stmt.name.value] > 1:
                owner = stmt.name.value
                keys = {f"{owner}.__init__", f"{owner}.configure_optimizers"}
                keys.update(
                    f"{owner}.{s.name.value}" for s in stmt.body.body if type(s) is cst.FunctionDef
                )
                if not keys <= inlined:
                    return True
        return False
