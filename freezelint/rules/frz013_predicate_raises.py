"""A name filter raises on one of the model's real parameter names.

## What it does
Evaluates each name-based selection over the real parameter names, in the order the script
would, and reports a filter that raises (e.g. `int(name.split('.')[1])` on `conv_stem.weight`),
naming the first parameter that makes it raise and the exception.

## Why is this bad?
The script crashes at that line, usually after the data loaders and the model were set up: a
slow way to find a typo, and on a cluster a lost job.

## Example
```python
import timm
model = timm.create_model("efficientnet_b0", pretrained=True)
for name, param in model.named_parameters():
    if int(name.split(".")[1]) < 3:
        param.requires_grad = False
```

## Use instead
```python
import timm
model = timm.create_model("efficientnet_b0", pretrained=True)
for name, param in model.named_parameters():
    if name.startswith("blocks.") and int(name.split(".")[1]) < 3:
        param.requires_grad = False
```

## Fix safety
Unsafe: guarding the parse changes which parameters the filter selects.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, NoFix, Severity
from freezelint.findings.fixes import UNSAFE, Fix, FixContext
from freezelint.simulation.atoms import PredicateOutcome
from freezelint.simulation.predicate_runs import UNSUPPORTED, PredicateRuns, Raised
from freezelint.simulation.replay import Simulation

CODE = "FRZ013"
NAME = "predicate-raises"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "yes"
FIX = "unsafe"


def check(sim: Simulation) -> Iterator[Finding]:
    for atoms in sim.tables.values():
        for outcome in atoms.outcomes.values():
            if outcome.raised is None or outcome.leaf.predicate is None:
                continue
            name, error = outcome.raised
            yield Finding(
                CODE,
                outcome.leaf.predicate,
                f"this filter raises {error} on `{name}`, a parameter of "
                f"{outcome.table.label()}: the script crashes here; guard the parse (e.g. check "
                f"the prefix first)",
                verified=outcome.table.verified(),
                fix=_fix(outcome, atoms.runs),
            )


def _fix(outcome: PredicateOutcome, runs: PredicateRuns):
    """Guard the filter with the prefixes of the modules it works on:
    `name.startswith("blocks.") and (...)` (unsafe: the other names are then not selected)."""
    leaf = outcome.leaf
    predicate, var = leaf.predicate, leaf.name_var
    if predicate is None or var is None:
        return NoFix(
            "the name filter is not one expression over one parameter name: the fix cannot guard it"
        )
    works: dict[str, bool] = {}
    ran = runs.run(predicate, var, leaf.env, outcome.names)
    if any(value is UNSUPPORTED for value in ran):
        return NoFix(
            "the name filter uses something freezelint does not evaluate: the names it works on "
            "are not known exactly"
        )
    for name, value in zip(outcome.names, ran, strict=True):
        top = name[len(leaf.name_prefix) :].split(".")[0]
        if isinstance(value, Raised):
            works[top] = False
        else:
            works.setdefault(top, True)
    good = [f"{leaf.name_prefix}{top}." for top, ok in works.items() if ok]
    if not good or len(good) == len(works):
        return NoFix(
            "no module prefix separates the names the filter works on from those it raises on"
        )

    def build(ctx: FixContext) -> Fix:
        q = ctx.quote
        prefixes = (
            f"{q}{good[0]}{q}"
            if len(good) == 1
            else "(" + ", ".join(f"{q}{g}{q}" for g in good) + ")"
        )
        return Fix(
            UNSAFE,
            "Check the name's prefix before parsing it",
            (ctx.replace(predicate, f"{var}.startswith({prefixes}) and ({ctx.code(predicate)})"),),
        )

    return build
