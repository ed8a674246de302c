"""A name test meant for one module also matches parameters elsewhere in the model.

## What it does
Evaluates each name test used to freeze, unfreeze or build a param group (`'fc' in name`,
`name.startswith(...)`, `any(k in name for k in keys)`, an f-string per loop item) over the
real parameter names, and reports a test whose string is the path of a module from the
model's root (or ends the head's path) and that also matches other modules: a longer index
(`blocks.1` in `blocks.10`), the head's name inside a longer name deeper in the model (the
squeeze-excitation `fc1`/`fc2` besides the head `fc`, `talking_head1` besides `head`), or a
numbered top-level module's name in blocks whose siblings the test leaves out (every block's
`conv1`/`bn1` besides the stem's). Only where those matches change what is selected; a test
meant for a kind of layer (`'norm' in name`: the final `norm` and every `norm1`/`norm2`) is
left alone.

## Why is this bad?
The freeze (or unfreeze, or param group) covers more than meant, silently: the head trains
with every squeeze-excitation layer, the stem freeze takes a conv from every block, "freeze
the first two blocks" also freezes the last two.

## Example
```python
import timm
import torch
model = timm.create_model("seresnet18", pretrained=True, num_classes=10)
for name, param in model.named_parameters():
    param.requires_grad = "fc" in name
optimizer = torch.optim.Adam(
    [p for p in model.parameters() if p.requires_grad], lr=1e-3
)
```

## Use instead
```python
import timm
import torch
model = timm.create_model("seresnet18", pretrained=True, num_classes=10)
for name, param in model.named_parameters():
    param.requires_grad = name.startswith("fc.")
optimizer = torch.optim.Adam(
    [p for p in model.parameters() if p.requires_grad], lr=1e-3
)
```

## Fix safety
Unsafe: anchoring the test to the module's path (`name.startswith("fc.")`) changes what the
code selects. It is offered only where, on the real parameter table, the anchored test keeps
exactly the intended tensors and drops exactly the extra ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixBuilder, FixContext
from freezelint.model.table import ParamTable
from freezelint.rules.common import plural
from freezelint.rules.name_tests import FAILED, IN_KINDS, NameTest, name_tests, rewrites
from freezelint.script.events import Event, OptimizerBuilt, ParamGroupAdded, RequiresGradSet
from freezelint.script.extract.syntax import code_of
from freezelint.script.predicates import compile_predicate
from freezelint.script.selection import NameWhere, Region, Selection, Trainable, leaves
from freezelint.simulation.predicate_runs import PredicateRuns
from freezelint.simulation.replay import Simulation

CODE = "FRZ015"
NAME = "predicate-overmatches"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "yes"
FIX = "unsafe"

HEAD_NAMES = frozenset({"fc", "_fc", "head", "classifier", "last_linear", "logits"})
HOLE = "__freezelint_test__"  # stands for the test inside its predicate
# An auxiliary classifier (`aux1.fc1` in GoogLeNet) is a head too: its layers are meant.
AUXILIARY = re.compile(r"(^|\.)aux", re.IGNORECASE)


@dataclass
class Use:
    """One run of a predicate: an event's filter over one model's names as the script sees
    them (wrapper prefix included), with the values the predicate reads for each name."""

    event: Event
    leaf: NameWhere
    table: ParamTable
    base: str  # the table path the names are relative to
    names: list[str]
    envs: list[dict[str, Any]]
    head: str | None  # the model's classifier, as the filter sees it
    runs: PredicateRuns  # the check's, which remembers what each use's names give
    keys: list[str] = field(default_factory=list)
    modules: list[dict[str, str]] = field(default_factory=list)  # per key: name -> module
    extra: list[set[str]] = field(default_factory=list)  # per key: the names it overmatches

    def seen(self, param: str) -> str:
        return self.leaf.name_prefix + (param[len(self.base) + 1 :] if self.base else param)

    @property
    def group(self) -> tuple:
        """Filters of one statement run for several items (a loop) act as one."""
        event, leaf = self.event, self.leaf
        value = event.value if isinstance(event, RequiresGradSet) else id(leaf)
        return (leaf.base, leaf.name_prefix, leaf.negated, value)


@dataclass
class Result:
    """What a file's name filters pick beyond what they mean to (FRZ015)."""

    uses: list[Use]
    intended: dict[str, None]  # the intended tensors (names as seen)
    modules: dict[str, None]  # the intended modules
    extra: dict[str, None]  # the tensors whose selection the extra matches change
    corrected: set[str]  # what the filters select without the extra matches


_UNKNOWN_USES = NoFix(
    "the filter is used on a model whose table is not known: an anchored test cannot be checked "
    "against every use"
)


def check(sim: Simulation) -> Iterator[Finding]:
    pairs: dict[int, list[tuple[Event, NameWhere]]] = {}
    for event in sim.events:
        selections = (
            [event.selection]
            if isinstance(event, RequiresGradSet)
            else [g.selection for g in event.groups]
            if isinstance(event, OptimizerBuilt)
            else [event.group.selection]
            if isinstance(event, ParamGroupAdded)
            else []
        )
        for selection in selections:
            for leaf in _name_leaves(selection):
                pairs.setdefault(id(leaf.predicate), []).append((event, leaf))
    for found in pairs.values():
        yield from _check_predicate(sim, found)


def _name_leaves(selection: Selection) -> Iterator[NameWhere]:
    for leaf in leaves(selection):
        if isinstance(leaf, Trainable):
            yield from _name_leaves(leaf.base)
        elif isinstance(leaf, NameWhere) and leaf.predicate is not None and leaf.name_var:
            yield leaf


def _use(sim: Simulation, event: Event, leaf: NameWhere) -> Use | None:
    """The names a filter sees, when its model has a table and its region is exact."""
    base = leaf.base
    if not isinstance(base, Region) or leaf.positions is not None or leaf.norms or leaf.modules:
        return None
    atoms = sim.tables.get(base.model)
    if atoms is None or any(atoms.added.values()):
        return None
    prefixes, certain = atoms.resolve(base.path)
    if not certain or len(prefixes) != 1 or atoms.opaque_under(prefixes):
        return None  # (names in parts the table does not know are not seen)
    if atoms.aliased(base.path):
        return None  # (nor are those of modules registered first under other names)
    root, table, var = prefixes[0], atoms.table, str(leaf.name_var)
    classifier = table.classifier
    if classifier is not None and root:
        classifier = classifier[len(root) + 1 :] if classifier.startswith(f"{root}.") else None
    head = None if classifier is None else leaf.name_prefix + classifier
    seen, _ = atoms.runs.names(table, [root], leaf.name_prefix)
    envs = atoms.runs.environments(var, leaf.env, seen, leaf.derived)
    if envs is None:
        return None
    return Use(event, leaf, table, root, [env[var] for env in envs], envs, head, atoms.runs)


def _check_predicate(sim: Simulation, pairs: list[tuple[Event, NameWhere]]) -> Iterator[Finding]:
    predicate, var = pairs[0][1].predicate, str(pairs[0][1].name_var)
    assert predicate is not None
    uses = [_use(sim, event, leaf) for event, leaf in pairs]
    known = [use for use in uses if use is not None]
    inner = {name for name, _ in pairs[0][1].derived} | {var}
    for test in name_tests(predicate, var, inner) if known else ():
        groups: dict[tuple, list[Use]] = {}
        for use in known:
            groups.setdefault(use.group, []).append(use)
        matches = [_matches(test, group) for group in groups.values()]
        if not any(m is not None and any(any(use.extra) for use in m[0]) for m in matches):
            continue  # no name matched outside its module: the selections cannot differ
        holed = compile_predicate(_holed(predicate, test.node))
        results = [None if m is None else _selection(test, holed, m) for m in matches]
        found = [r for r in results if r is not None and r.extra]
        if not found:
            continue
        fix: FixBuilder | NoFix | None = _UNKNOWN_USES
        if len(known) == len(uses) and None not in results:
            fix = _fix(test, predicate, [r for r in results if r is not None])
        for result in found:
            message = _message(test, result)
            for use in result.uses:
                verified = use.table.verified()
                yield Finding(CODE, test.node, message, verified=verified, fix=fix, event=use.event)


# The predicate with a test replaced by `HOLE`, by the ids of both (kept with them): every
# path's simulation asks again, and its compiled form is remembered by node.
_HOLED: dict[tuple[int, int], tuple[cst.CSTNode, cst.CSTNode, cst.BaseExpression]] = {}


def _holed(predicate: cst.BaseExpression, test: cst.BaseExpression) -> cst.BaseExpression:
    known = _HOLED.get((id(predicate), id(test)))
    if known is not None and known[0] is predicate and known[1] is test:
        return known[2]
    if len(_HOLED) >= 1024:
        _HOLED.clear()
    holed = predicate.deep_replace(test, cst.Name(HOLE))
    _HOLED[(id(predicate), id(test))] = (predicate, test, holed)  # type: ignore[assignment]
    return holed  # type: ignore[return-value]


def _modules(test: NameTest, use: Use, key: str) -> dict[str, str]:
    """Per name the key matches in a module of its own, that module (`_module`); once per
    check for the same names (the same environments), prefix, head and key (every path's
    simulation asks again: read only)."""
    var = str(use.leaf.name_var)  # (the names are what the environments give it)
    memo = (_modules, test.kind, id(use.envs), var, use.leaf.name_prefix, use.head, key)
    return use.runs.kept(
        memo, use.envs, lambda: {n: m for n in use.names if (m := _module(test, use, key, n))}
    )


def _module(test: NameTest, use: Use, key: str, name: str) -> str | None:
    """The module a key names by its path (from the names' root, or the model's head) that
    holds `name`, if any."""
    core = key.rstrip(".")
    if not core or key.startswith(".") or ".." in key or not test.hits(key, name):
        return None
    candidates = [core, use.leaf.name_prefix + core]
    if use.head and test.kind in IN_KINDS and use.head.endswith(f".{core}"):
        candidates.append(use.head)
    for module in candidates:
        if name == module or name.startswith(f"{module}."):
            return module
    return None


def _head_like(use: Use, module: str) -> bool:
    if use.head is not None:
        head = use.head
        return module == head or head.startswith(f"{module}.") or module.startswith(f"{head}.")
    prefix = use.leaf.name_prefix
    return (
        use.table.classifier is None
        and module.startswith(prefix)
        and (module[len(prefix) :] in HEAD_NAMES)
    )


def _elsewhere(test: NameTest, use: Use, key: str, name: str, own: set[str]) -> bool:
    """Is this match of `key` (whose own modules are `own`) in another module, rather than in
    a module of the same kind the test may well mean?"""
    prefix, core = use.leaf.name_prefix, key.rstrip(".")
    numbered = re.fullmatch(r"(.*\D)\d+", core)
    top = name[len(prefix) :].split(".")[0]
    # (Inside the head's own top-level module, `head.fc_norm` is the head's too.)
    head = "." not in core and any(
        _head_like(use, m) and m[len(prefix) :].split(".")[0] != top for m in own
    )
    starts = [m.start() for m in re.finditer(re.escape(key), name)]
    for start in starts if test.kind in IN_KINDS else [0]:
        before, after = name[:start], name[start + len(key) :]
        if before in ("", prefix):
            if key[-1].isdigit() and after[:1].isdigit():
                return True  # `blocks.1` in `blocks.10...`
            continue
        whole = before.endswith(".") and after[:1] in ("", ".")
        if head and not whole and not AUXILIARY.search(before):
            return True  # the head's name inside another name: `se.fc1`, `talking_head1`
        if (
            whole
            and numbered
            and {core, prefix + core} & own
            and _unselected_sibling(test, use, before[:-1], core, numbered.group(1))
        ):
            return True  # `layer1.0.conv1` beside an unselected `conv2`, for the stem's `conv1`
    return False


def _unselected_sibling(test: NameTest, use: Use, parent: str, core: str, stem: str) -> bool:
    prefix = use.leaf.name_prefix
    rel = parent[len(prefix) :] if prefix and parent.startswith(prefix) else parent
    for child in use.table.children(f"{use.base}.{rel}" if use.base else rel):
        last = child.rsplit(".", 1)[-1]
        if last == core or not re.fullmatch(re.escape(stem) + r"\d+", last):
            continue
        seen = [use.seen(p.name) for p in use.table.params_under(child)]
        if seen and not any(test.hits(k, s) for k in use.keys for s in seen):
            return True
    return False


# A group of uses with the test's keys, the names each key overmatches (`Use.extra`) set on
# them, and the intended tensors and modules.
Matches = tuple[list[Use], dict[str, None], dict[str, None]]


def _matches(test: NameTest, uses: list[Use]) -> Matches | None:
    """The keys' matches in their own modules and elsewhere (None when a key is not known or
    nothing is intended)."""
    intended: dict[str, None] = {}
    modules: dict[str, None] = {}
    for use in uses:
        keys = test.keys(dict(use.leaf.env))
        if keys is None:
            return None
        use.keys = keys
        use.modules = [_modules(test, use, key) for key in keys]
        for found in use.modules:
            intended.update(dict.fromkeys(found))
            modules.update(dict.fromkeys(found.values()))
    if not intended:
        return None
    for use in uses:
        use.extra = [
            {
                n
                for n in test.hit_names(key, use.names)
                if n not in intended and _elsewhere(test, use, key, n, set(own.values()))
            }
            if own
            else set()
            for key, own in zip(use.keys, use.modules, strict=True)
        ]
    return uses, intended, modules


def _selection(test: NameTest, holed: Callable, matches: Matches) -> Result | None:
    """What the filters select with and without the extra matches; None where one raises or
    selects nothing or everything (FRZ013's or FRZ005's)."""
    uses, intended, modules = matches
    before: set[str] = set()
    after: set[str] = set()
    for use in uses:
        both = _selected_both(holed, use, test)
        if both is None or len(both[0]) in (0, len(use.names)):
            return None
        before |= both[0]
        after |= both[1]
    extra = {n: None for n in uses[0].names if n in before ^ after}
    return Result(uses, intended, modules, extra, after)


def _selected_both(run: Callable, use: Use, test: NameTest) -> tuple[set[str], set[str]] | None:
    """What a filter selects with the test's value given to the predicate, and without the
    test's extra matches: the predicate runs a second time only on a name whose test value
    that changes. None where it raises or leaves the interpreter."""
    chosen: set[str] = set()
    corrected: set[str] = set()
    flip, negated = test.kind == "not in", use.leaf.negated
    for name, env in zip(use.names, use.envs, strict=True):
        hitting = [i for i, k in enumerate(use.keys) if test.hits(k, name)]
        hit = bool(hitting)
        kept = any(name not in use.extra[i] for i in hitting)
        try:
            value = bool(run({**env, HOLE: hit != flip})) != negated
            fixed = value if kept == hit else bool(run({**env, HOLE: kept != flip})) != negated
        except FAILED:
            return None
        if value:
            chosen.add(name)
        if fixed:
            corrected.add(name)
    return chosen, corrected


def _selected(run: Callable, use: Use) -> set[str] | None:
    """What a filter selects; None where it raises or leaves the interpreter."""
    out = set()
    for name, env in zip(use.names, use.envs, strict=True):
        try:
            if bool(run(env)) != use.leaf.negated:
                out.add(name)
        except FAILED:
            return None
    return out


def _message(test: NameTest, result: Result) -> str:
    code = code_of(test.node)
    subject = f"`{code}`" if len(code) <= 60 and "\n" not in code else "this name test"
    modules, extra = list(result.modules), list(result.extra)
    return (
        f"{subject} is meant for {_few(modules)} ({plural(len(result.intended), 'tensor')}) but "
        f"also matches {plural(len(extra), 'other tensor')} of "
        f"{result.uses[0].table.label()} ({_few(extra)}); anchor it to the module path, e.g. "
        f'`{test.var}.startswith("{modules[0]}.")`'
    )


def _few(items: list[str], limit: int = 3) -> str:
    text = ", ".join(f"`{item}`" for item in items[:limit])
    return f"{text}, {len(items) - limit} more" if len(items) > limit else text


def _fix(test: NameTest, predicate: cst.BaseExpression, results: list[Result]):
    """Anchor the test to the intended module's path, when that selects, on the real table,
    exactly what the filters select without the extra matches."""
    uses = [use for result in results for use in result.uses]
    targets = rewrites(test, {len(u.keys) for u in uses}, lambda i: any(u.extra[i] for u in uses))
    if targets is None:
        return NoFix("the name test cannot be anchored by rewriting its string")
    heads: list[set[str]] = [set() for _ in targets]
    for use in uses:
        for index, (key, found) in enumerate(zip(use.keys, use.modules, strict=True)):
            core = key.rstrip(".")
            heads[index if len(targets) > 1 else 0].update(
                m[: -len(core)] if m.endswith(core) else "?" for m in found.values()
            )
    if any(len(h) > 1 or "?" in h for h in heads):
        return NoFix(
            "the intended module is not at one place in the model: no single anchored name selects"
            " it"
        )
    anchors = [
        (node, min(head, default=""), rewrite)
        for (node, rewrite), head in zip(targets, heads, strict=True)
        if rewrite is not None
    ]

    def texts(quote: str) -> list[tuple[cst.CSTNode, str]]:
        return [(node, rewrite(head, quote)) for node, head, rewrite in anchors]

    fixed: Any = predicate
    try:
        for node, text in texts('"'):
            fixed = fixed.deep_replace(node, cst.parse_expression(text))
    except cst.ParserSyntaxError:
        return NoFix("the anchored test would not be valid Python as written")
    run = compile_predicate(fixed)
    for result in results:
        chosen = [_selected(run, use) for use in result.uses]
        if None in chosen or set().union(*chosen) != result.corrected:  # type: ignore[arg-type]
            return NoFix("no anchored test selects, on the real table, exactly what was meant")

    def build(ctx: FixContext) -> Fix:
        edits = tuple(ctx.replace(node, text) for node, text in texts(ctx.quote))
        return Fix(UNSAFE, "Anchor the name test to the module's path", edits)

    return build
