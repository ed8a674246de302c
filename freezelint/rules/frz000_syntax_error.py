"""The file does not parse; nothing else in it can be checked.

## What it does
Reports a file that is not valid Python, at the position where the parser stopped.

## Why is this bad?
freezelint cannot see any freezing in a file it cannot parse, and Python will not run it either.
The file is never written to (no fix is ever applied to it); the other files are still checked.

## Example
```python
for p in model.parameters()
    p.requires_grad = False
```

## Use instead
```python
for p in model.parameters():
    p.requires_grad = False
```

## Fix safety
There is no fix.
"""

from __future__ import annotations

from collections.abc import Iterator

from freezelint.findings.diagnostics import Finding, Severity
from freezelint.simulation.replay import Simulation

CODE = "FRZ000"
NAME = "syntax-error"
SEVERITY = Severity.ERROR
NEEDS_MODEL = "no"
FIX = "none"
NO_FIX = "the file does not parse: nothing can be edited safely until it does"


def check(sim: Simulation) -> Iterator[Finding]:
    """Reported by the checker when parsing fails; there is nothing to query."""
    return iter(())
