"""A name test meant for one module also matches parameters elsewhere in the model.

## What it does
Evaluates each name test used to freeze, unfreeze or build a param group (`'fc' in name`,
`name.startswith(...)`, `any(k in name for k in keys)`, an f-string per loop item) over the
real parameter names of the model the script builds, and reports a test whose string names a
module by its path from the model's root (or the model's head) and also matches names of
other modules: the squeeze-excitation `fc1`/`fc2` of every block besides the head `fc`, every
block's `conv1`/`bn1` besides the stem's, `blocks.10` and `blocks.11` besides `blocks.1`, the
attention `talking_head1/2` besides the `head`. Reported only when those extra names change
what the test selects, never when they all sit inside the intended module.

What counts as "elsewhere" is narrow on purpose, so that a test meant for a kind of layer is
left alone (`'norm' in name` over the final `norm` and every block's `norm1`/`norm2`):
- a longer index after the string (`blocks.1` in `blocks.10`);
- for the model's head (or a top-level `fc`/`head`/`classifier` of a model without a known
  head), the string inside a longer name deeper in the model (`se.fc1`, `talking_head1`);
- for a numbered top-level module (`conv1`, `bn1`), the same module name inside blocks whose
  siblings (`conv2`, `bn2`) the test leaves out.

## Why is this bad?
The freeze (or unfreeze, or param group) covers more than meant, silently: the head trains
with every squeeze-excitation layer, the stem freeze takes a conv from every block, "freeze
the first two blocks" also freezes the last two.

## Example
```python
import timm
import torch
model = timm.create_model("seresnet50", pretrained=True, num_classes=10)
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
model = timm.create_model("seresnet50", pretrained=True, num_classes=10)
for name, param in model.named_parameters():
    param.requires_grad = name.startswith("fc.")
optimizer = torch.optim.Adam(
    [p for p in model.parameters() if p.requires_grad], lr=1e-3
)
```

## Fix safety
Unsafe: the fix anchors the test to the module's path (`name.startswith("fc.")`), which
changes what the code selects. It is offered only where, on the real parameter table, the
anchored test selects exactly the intended tensors and drops exactly the extra ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from freezelint.diagnostics import Finding, Severity
from freezelint.events import Event, OptimizerBuilt, ParamGroupAdded, RequiresGradSet
from freezelint.extract.syntax import code_of, names_in
from freezelint.fixes import UNSAFE, Fix, FixContext
from freezelint.predicates import PredicateRaised, Unsupported, compile_predicate
from freezelint.rules.common import plural
from freezelint.selection import NameWhere, Region, Selection, Trainable, leaves
from freezelint.simulate import Simulation
from freezelint.verify.table import ParamTable

CODE = "FRZ015"
NAME = "predicate-overmatches"
SEVERITY = Severity.WARNING
NEEDS_MODEL = "yes"
FIX = "unsafe"

HEAD_NAMES = frozenset({"fc", "_fc", "head", "classifier", "last_linear", "logits"})
HOLE = "__freezelint_test__"  # stands for the test inside its predicate
IN_KINDS = frozenset({"in", "not in", "any in"})
FAILED = (Unsupported, PredicateRaised)


@dataclass(frozen=True)
class Test:
    """A sub-condition testing the name against strings: `K in name`, `K not in name`,
    `name.startswith(K)` (K a string or a tuple), `any(k in name for k in K)`,
    `any(name.startswith(k) for k in K)`."""

    node: cst.BaseExpression
    kind: str  # "in" | "not in" | "startswith" | "any in" | "any startswith"
    key: cst.BaseExpression  # the string (tuple) expression, or the iterable of any()
    var: str
    target: cst.BaseExpression | None = None  # any()'s element (what its fix rewrites)

    def hits(self, key: str, name: str) -> bool:
        return key in name if self.kind in IN_KINDS else name.startswith(key)


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
    uses: list[Use]
    intended: dict[str, None]  # the intended tensors (names as seen)
    modules: dict[str, None]  # the intended modules
    extra: dict[str, None]  # the tensors whose selection the extra matches change
    corrected: set[str]  # what the filters select without the extra matches


def check(sim: Simulation) -> Iterator[Finding]:
    pairs: dict[int, list[tuple[Event, NameWhere]]] = {}
    for event in sim.events:
        for selection in _selections(event):
            for leaf in _name_leaves(selection):
                pairs.setdefault(id(leaf.predicate), []).append((event, leaf))
    for found in pairs.values():
        yield from _check_predicate(sim, found)


def _selections(event: Event) -> list[Selection]:
    if isinstance(event, RequiresGradSet):
        return [event.selection]
    if isinstance(event, OptimizerBuilt):
        return [group.selection for group in event.groups]
    if isinstance(event, ParamGroupAdded):
        return [event.group.selection]
    return []


def _name_leaves(selection: Selection) -> Iterator[NameWhere]:
    for leaf in leaves(selection):
        if isinstance(leaf, Trainable):
            yield from _name_leaves(leaf.base)
        elif isinstance(leaf, NameWhere) and leaf.predicate is not None and leaf.name_var:
            yield leaf


def _use(sim: Simulation, event: Event, leaf: NameWhere) -> Use | None:
    """The names a filter sees, when its model has a table and its region is exact."""
    base = leaf.base
    if not isinstance(base, Region) or leaf.positions is not None or leaf.norms:
        return None
    atoms = sim.tables.get(base.model)
    if atoms is None or any(atoms.added.values()):
        return None
    prefixes, certain = atoms.resolve(base.path)
    if not certain or len(prefixes) != 1:
        return None
    root, table, var = prefixes[0], atoms.table, str(leaf.name_var)
    classifier = table.classifier
    if classifier is not None and root:
        classifier = classifier[len(root) + 1 :] if classifier.startswith(f"{root}.") else None
    head = None if classifier is None else leaf.name_prefix + classifier
    use = Use(event, leaf, table, root, [], [], head)
    derived = [(name, compile_predicate(expression)) for name, expression in leaf.derived]
    try:
        for p in table.params_under(root):
            env = {**dict(leaf.env), var: use.seen(p.name)}
            for name, compute in derived:
                env[name] = compute(env)
            use.names.append(env[var])
            use.envs.append(env)
    except FAILED:
        return None
    return use


def _check_predicate(sim: Simulation, pairs: list[tuple[Event, NameWhere]]) -> Iterator[Finding]:
    predicate, var = pairs[0][1].predicate, str(pairs[0][1].name_var)
    assert predicate is not None
    uses = [_use(sim, event, leaf) for event, leaf in pairs]
    known = [use for use in uses if use is not None]
    inner = {name for name, _ in pairs[0][1].derived} | {var}
    for test in _tests(predicate, var, inner) if known else ():
        groups: dict[tuple, list[Use]] = {}
        for use in known:
            groups.setdefault(use.group, []).append(use)
        holed = compile_predicate(predicate.deep_replace(test.node, cst.Name(HOLE)))  # type: ignore[arg-type]
        results = [_analyse(test, holed, group) for group in groups.values()]
        found = [r for r in results if r is not None and r.extra]
        if not found:
            continue
        fix = None
        if len(known) == len(uses) and None not in results:
            fix = _fix(test, predicate, [r for r in results if r is not None])
        for result in found:
            message = _message(test, result)
            for use in result.uses:
                verified = use.table.verified()
                yield Finding(CODE, test.node, message, verified=verified, fix=fix, event=use.event)


def _tests(predicate: cst.BaseExpression, var: str, inner: set[str]) -> Iterator[Test]:
    """The name tests among the predicate's sub-conditions (through `and`, `or`, `not`)."""
    stack: list[cst.BaseExpression] = [predicate]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.BooleanOperation):
            stack += [node.right, node.left]
        elif isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
            stack.append(node.expression)
        elif (test := _test(node, var)) is not None and not names_in(test.key) & inner:
            yield test


def _is_var(node: cst.CSTNode, var: str) -> bool:
    return isinstance(node, cst.Name) and node.value == var


def _test(node: cst.BaseExpression, var: str) -> Test | None:
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        op, right = node.comparisons[0].operator, node.comparisons[0].comparator
        if isinstance(op, cst.In | cst.NotIn) and _is_var(right, var):
            return Test(node, "in" if isinstance(op, cst.In) else "not in", node.left, var)
        return None
    if not isinstance(node, cst.Call) or len(node.args) != 1 or node.args[0].keyword:
        return None
    arg, func = node.args[0].value, node.func
    if isinstance(func, cst.Attribute) and _is_var(func.value, var):
        return Test(node, "startswith", arg, var) if func.attr.value == "startswith" else None
    if not (_is_var(func, "any") and isinstance(arg, cst.GeneratorExp | cst.ListComp)):
        return None
    comp = arg.for_in
    if comp.ifs or comp.inner_for_in is not None or not isinstance(comp.target, cst.Name):
        return None
    inner = _test(arg.elt, var) if isinstance(arg.elt, cst.Comparison | cst.Call) else None
    if inner is None or not _is_var(inner.key, comp.target.value) or inner.kind == "not in":
        return None
    return Test(node, f"any {inner.kind}", comp.iter, var, target=arg.elt)


def _keys(test: Test, use: Use) -> list[str] | None:
    try:
        value = compile_predicate(test.key)(dict(use.leaf.env))
    except FAILED:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _module(test: Test, use: Use, key: str, name: str) -> str | None:
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


def _elsewhere(test: Test, use: Use, key: str, name: str, own: set[str]) -> bool:
    """Is this match of `key` (whose own modules are `own`) in another module, rather than in
    a module of the same kind the test may well mean?"""
    prefix, core = use.leaf.name_prefix, key.rstrip(".")
    numbered = re.fullmatch(r"(.*\D)\d+", core)
    head = "." not in core and any(_head_like(use, m) for m in own)
    starts = [m.start() for m in re.finditer(re.escape(key), name)]
    for start in starts if test.kind in IN_KINDS else [0]:
        before, after = name[:start], name[start + len(key) :]
        if before in ("", prefix):
            if key[-1].isdigit() and after[:1].isdigit():
                return True  # `blocks.1` in `blocks.10...`
            continue
        whole = before.endswith(".") and after[:1] in ("", ".")
        if head and not whole:
            return True  # the head's name inside another name: `se.fc1`, `talking_head1`
        if (
            whole
            and numbered
            and {core, prefix + core} & own
            and _unselected_sibling(test, use, before[:-1], core, numbered.group(1))
        ):
            return True  # `layer1.0.conv1` beside an unselected `conv2`, for the stem's `conv1`
    return False


def _unselected_sibling(test: Test, use: Use, parent: str, core: str, stem: str) -> bool:
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


def _analyse(test: Test, holed: Callable, uses: list[Use]) -> Result | None:
    intended: dict[str, None] = {}
    modules: dict[str, None] = {}
    for use in uses:
        keys = _keys(test, use)
        if keys is None:
            return None
        use.keys = keys
        use.modules = [
            {n: m for n in use.names if (m := _module(test, use, key, n))} for key in keys
        ]
        for found in use.modules:
            intended.update(dict.fromkeys(found))
            modules.update(dict.fromkeys(found.values()))
    if not intended:
        return None
    for use in uses:
        use.extra = [
            {
                n
                for n in use.names
                if own
                and test.hits(key, n)
                and n not in intended
                and _elsewhere(test, use, key, n, set(own.values()))
            }
            for key, own in zip(use.keys, use.modules, strict=True)
        ]
    before: set[str] = set()
    after: set[str] = set()
    for use in uses:
        chosen = _selected(holed, test, use, lambda i, n: False)
        if chosen is None or not chosen or len(chosen) == len(use.names):
            return None  # raises, or selects nothing or everything: FRZ013's or FRZ005's
        fixed = _selected(holed, test, use, lambda i, n, u=use: n in u.extra[i])
        if fixed is None:
            return None
        before |= chosen
        after |= fixed
    extra = {n: None for n in uses[0].names if n in before ^ after}
    return Result(uses, intended, modules, extra, after)


def _selected(holed: Callable, test: Test, use: Use, dropped: Callable) -> set[str] | None:
    """What a filter selects with each key's matches on `dropped(key index, name)` names taken
    away (None: it raises, or uses what the interpreter does not model)."""
    out = set()
    for name, env in zip(use.names, use.envs, strict=True):
        hit = any(test.hits(k, name) and not dropped(i, name) for i, k in enumerate(use.keys))
        try:
            if bool(holed({**env, HOLE: hit != (test.kind == "not in")})) != use.leaf.negated:
                out.add(name)
        except FAILED:
            return None
    return out


def _message(test: Test, result: Result) -> str:
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


Rewrite = Callable[[str, str], str]  # (text before the key, quote) -> the new code


def _fix(test: Test, predicate: cst.BaseExpression, results: list[Result]):
    """Anchor the test to the intended module's path, when that selects, on the real table,
    exactly what the filters select without the extra matches."""
    targets = _targets(test, [use for result in results for use in result.uses])
    if targets is None:
        return None
    heads: list[set[str]] = [set() for _ in targets]
    for use in (use for result in results for use in result.uses):
        for index, (key, found) in enumerate(zip(use.keys, use.modules, strict=True)):
            core = key.rstrip(".")
            heads[index if len(targets) > 1 else 0].update(
                m[: -len(core)] if m.endswith(core) else "?" for m in found.values()
            )
    if any(len(h) > 1 or "?" in h for h in heads):
        return None
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
        return None
    run = compile_predicate(fixed)
    for result in results:
        chosen: set[str] = set()
        for use in result.uses:
            for name, env in zip(use.names, use.envs, strict=True):
                try:
                    if bool(run(env)) != use.leaf.negated:
                        chosen.add(name)
                except FAILED:
                    return None
        if chosen != result.corrected:
            return None

    def build(ctx: FixContext) -> Fix:
        edits = tuple(ctx.replace(node, text) for node, text in texts(ctx.quote))
        return Fix(UNSAFE, "Anchor the name test to the module's path", edits)

    return build


def _targets(test: Test, uses: list[Use]) -> list[tuple[cst.CSTNode, Rewrite | None]] | None:
    """What the fix rewrites: each node with how (None: left as it is)."""
    var, key = test.var, test.key
    if test.kind in ("in", "not in"):
        neg = "not " if test.kind == "not in" else ""
        return [(test.node, lambda h, q: f"{neg}{var}.startswith({_anchored(key, h, q)})")]
    elt = test.target
    if elt is not None:
        item = elt.left if isinstance(elt, cst.Comparison) else elt.args[0].value  # type: ignore[union-attr]
        return [(elt, lambda h, q: f"{var}.startswith({_anchored(item, h, q)})")]
    if not isinstance(key, cst.Tuple):
        return (
            [(key, lambda h, q: _anchored(key, h, q))]
            if all(len(u.keys) == 1 for u in uses)
            else None
        )
    values = [e.value for e in key.elements if isinstance(e, cst.Element)]
    if len(values) != len(key.elements) or any(len(u.keys) != len(values) for u in uses):
        return None
    return [
        (v, (lambda h, q, v=v: _anchored(v, h, q)) if any(u.extra[i] for u in uses) else None)
        for i, v in enumerate(values)
    ]


def _anchored(node: cst.BaseExpression, head: str, quote: str) -> str:
    """The key as the module's path and a dot: `"fc."`, `f"blocks.{i}."`, `KEY + "."`."""
    code = code_of(node)
    if isinstance(node, cst.SimpleString | cst.FormattedString) and not node.lpar:
        start = next(i for i, c in enumerate(code) if c in "'\"")
        width = 3 if code[start : start + 3] in ('"""', "'''") else 1
        body = code[start + width : len(code) - width]
        dot = "" if body.endswith(".") else "."
        return f"{code[: start + width]}{head}{body}{dot}{code[len(code) - width :]}"
    simple = isinstance(node, cst.Name | cst.Attribute | cst.Subscript | cst.Call)
    lead = f"{quote}{head}{quote} + " if head else ""
    return f"{lead}{code if simple else f'({code})'} + {quote}.{quote}"
