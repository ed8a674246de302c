"""A name filter matches none of the model's parameters (or all of them).

## What it does
Evaluates each name-based selection used to freeze, unfreeze or build a param group
(`'x' in name`, `name.startswith(...)`, regexes, `any(k in name for k in ...)`) over the real
parameter names of the model the script builds, and reports a filter, or one of its
sub-conditions, that matches no parameter, or a whole filter that matches every parameter.

## Why is this bad?
The freeze silently does nothing (or everything). Typical causes: the head has another name in
this library (`_fc` in efficientnet-pytorch, `classifier` in timm's EfficientNet, `fc` in
ResNets, `head` in ViTs), or the names carry a wrapper's prefix (`module.` under DataParallel
or DDP, `_orig_mod.` under `torch.compile`).

## Example
```python
import timm
import torch
model = timm.create_model("efficientnet_b0", pretrained=True, num_classes=5)
for name, param in model.named_parameters():
    if "fc" not in name:
        param.requires_grad = False
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
```

## Use instead
```python
import timm
import torch
model = timm.create_model("efficientnet_b0", pretrained=True, num_classes=5)
for name, param in model.named_parameters():
    if not name.startswith("classifier."):
        param.requires_grad = False
optimizer = torch.optim.Adam(
    [p for p in model.parameters() if p.requires_grad], lr=1e-3
)
```

## Fix safety
Unsafe: the closest real name is a guess at what was meant.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.script.extract.syntax import child_nodes, code_of, names_in
from freezelint.script.literals import literal_value
from freezelint.script.node_kinds import is_a
from freezelint.simulation.atoms import PredicateOutcome
from freezelint.simulation.predicate_runs import PredicateRuns
from freezelint.simulation.replay import Simulation

CODE = "FRZ005"
NAME = "predicate-matches-nothing"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "yes"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    for atoms in sim.tables.values():
        for outcome in atoms.outcomes.values():
            if outcome.unsupported or outcome.raised or outcome.partial or not outcome.names:
                continue  # (a part the table does not know may hold the names it looks for)
            yield from _check(outcome, atoms.runs)


def filters_matching_nothing(sim: Simulation) -> set[int]:
    """The predicates (ids of their nodes) this rule reports on the simulation."""
    return {
        id(outcome.leaf.predicate)
        for atoms in sim.tables.values()
        for outcome in atoms.outcomes.values()
        if not (outcome.unsupported or outcome.raised or outcome.partial or not outcome.names)
        and any(True for _ in _check(outcome, atoms.runs))
    }


def _check(outcome: PredicateOutcome, runs: PredicateRuns) -> Iterator[Finding]:
    leaf = outcome.leaf
    assert leaf.predicate is not None and leaf.name_var is not None
    reported = False
    predicate, var = leaf.predicate, leaf.name_var
    conditions = runs.kept(  # (once per check: every path's simulation asks again)
        ("frz005 conditions", id(predicate), var),
        predicate,
        lambda: list(_string_conditions(predicate, var)),
    )
    for atom, literal in conditions:
        # `'fc' not in name` is tested as `'fc' in name`: does the string occur at all?
        negated = type(atom) is cst.Comparison and isinstance(
            atom.comparisons[0].operator, cst.NotIn
        )
        hits = runs.count(atom, leaf.name_var, leaf.env, outcome.names, negated)
        if hits == 0:
            reported = True
            yield Finding(
                CODE,
                atom,
                f"'{literal}' matches none of the {_of(outcome)}; {_hint(outcome, literal)}",
                fix=_fix(atom, literal, outcome),
                verified=outcome.table.verified(),
            )
    if reported:
        return
    total = len(outcome.names)
    if outcome.matched in (0, total):
        what = "none" if outcome.matched == 0 else "all"
        yield Finding(
            CODE,
            leaf.predicate,
            f"this filter matches {what} of the {_of(outcome)}; {_hint(outcome, None)}",
            verified=outcome.table.verified(),
            fix=NoFix(
                "no single string of the filter is at fault: it is the filter as a whole that "
                f"selects {what}, and what it should select is the script's choice"
            ),
        )


def _of(outcome: PredicateOutcome) -> str:
    prefix = outcome.leaf.name_prefix
    seen = f" as named through the wrapper (`{prefix}`...)" if prefix else ""
    return f"{len(outcome.names)} parameters of {outcome.table.label()}{seen}"


def _hint(outcome: PredicateOutcome, literal: str | None) -> str:
    table = outcome.table
    prefix = outcome.leaf.name_prefix
    tops = [c for c in table.children("") if table.params_under(c)]
    text = f"its top-level modules are {', '.join(tops[:8])}{', ...' if len(tops) > 8 else ''}"
    if table.classifier:
        text += f"; its head is '{prefix}{table.classifier}'"
    if literal:
        import difflib  # (here: only a finding of this rule needs it, not every check)

        candidates = sorted({prefix + m for m, _ in table.modules if m})
        wrapped = prefix + literal.lstrip(".")
        close = [c for c in candidates if c == wrapped.rstrip(".")] if prefix else []
        close = close or difflib.get_close_matches(literal, candidates, n=1, cutoff=0.5)
        if close:
            text += f"; closest name: '{close[0]}'"
    return text


def _string_conditions(node: cst.BaseExpression, var: str):
    """Sub-conditions that test the name against one string (`'fc' in name`,
    `name.startswith('fc')`, `re.match('fc', name)`), with that string."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if type(cur) in (cst.GeneratorExp, cst.ListComp, cst.Lambda):
            continue
        found = _condition(cur, var)
        if found is not None:
            yield cur, found
            continue
        if type(cur) in (cst.UnaryOperation, cst.BooleanOperation):
            # (A boolean operation's children are its two operands: each is visited once, not
            # once more per operation around it.)
            stack.extend(c for c in child_nodes(cur) if is_a(c, cst.BaseExpression))


def _condition(node: cst.CSTNode, var: str) -> str | None:
    if type(node) is cst.Comparison and len(node.comparisons) == 1:
        op = node.comparisons[0].operator
        right = node.comparisons[0].comparator
        if (
            type(op) in (cst.In, cst.NotIn)
            and type(right) is cst.Name
            and right.value == var
            and type(node.left) is cst.SimpleString
        ):
            value = literal_value(node.left)
            return value if isinstance(value, str) else None
        return None
    if type(node) is cst.Call and type(node.func) is cst.Attribute and node.args:
        owner = node.func.value
        first = node.args[0].value
        if (
            type(owner) is cst.Name
            and owner.value == var
            and node.func.attr.value in ("startswith", "endswith")
            and type(first) is cst.SimpleString
        ):
            value = literal_value(first)
            return value if isinstance(value, str) else None
        if (
            type(owner) is cst.Name
            and owner.value == "re"
            and len(node.args) == 2
            and var in names_in(node.args[1].value)
            and type(first) is cst.SimpleString
        ):
            value = literal_value(first)
            return value if isinstance(value, str) else None
    return None


def _code(node: cst.CSTNode) -> str:
    return f"`{code_of(node)}`"


HEAD_NAMES = frozenset({"fc", "_fc", "head", "heads", "classifier", "last_linear", "logits"})


def _replacement(literal: str, outcome: PredicateOutcome) -> str | None:
    """The real name the string most likely meant: the library's head for a head name, the
    wrapper-prefixed name, or the closest module name."""
    table, prefix = outcome.table, outcome.leaf.name_prefix
    dot = "." if literal.endswith(".") else ""
    bare = literal.rstrip(".")
    modules = {m for m, _ in table.modules if m}
    if bare in HEAD_NAMES and table.classifier:
        return f"{prefix}{table.classifier}{dot}"
    if prefix and bare in modules:
        return f"{prefix}{bare}{dot}"
    import difflib

    close = difflib.get_close_matches(bare, sorted(modules), n=1, cutoff=0.6)
    return f"{prefix}{close[0]}{dot}" if close else None


def _fix(atom: cst.CSTNode, literal: str, outcome: PredicateOutcome):
    if type(atom) is cst.Comparison:
        string = atom.left
    elif (
        type(atom) is cst.Call
        and type(atom.func) is cst.Attribute
        and atom.func.attr.value in ("startswith", "endswith")
    ):
        string = atom.args[0].value
    else:
        return NoFix(
            "a regular expression: the corrected name would need escaping, left to the author"
        )
    new = _replacement(literal, outcome)
    if new is None or type(string) is not cst.SimpleString or "\\" in new:
        return NoFix("no module name close to the one written was found to put in its place")

    def build(ctx: FixContext) -> Fix:
        code = ctx.code(string)
        quote = code[-1]
        start = code.index(quote)
        return Fix(
            UNSAFE, f"Use '{new}'", (ctx.replace(string, f"{code[:start]}{quote}{new}{quote}"),)
        )

    return build
