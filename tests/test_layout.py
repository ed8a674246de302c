"""The package's layout by stage: folders in pipeline order, imports only downwards, no import
circle, and the public names users import still where they import them.

The import graph is read from the source (every `import` and `from ... import`, inside
functions and `TYPE_CHECKING` blocks too), so a lazy import cannot hide a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "freezelint"

# The stages, lowest first. A module may import modules of its own stage and of stages before
# it; the package root (`freezelint`, for `__version__`) is allowed everywhere, since importing
# any submodule runs it anyway.
STAGES = (
    "script",
    "model",
    "simulation",
    "findings",
    "rules",
    "checking",
    "fixing",
    "output",
    "runtime",
    "run",
    "frontends",
)
# Modules at the top of the package: its face, `python -m freezelint`, and the public paths
# users import (`freezelint.lightning.FreezeAudit`, libcst's `codemod.FixFreezing`).
FACES = {"__init__", "__main__", "lightning", "codemod"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the freezelint modules it imports (a name imported from a package is the
    submodule when there is one of that name)."""
    paths = {module_name(p): p for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    found.add(sub if sub in paths else source)
        graph[name] = {m for m in found if m in paths and m != name}
    return graph


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a lower stage into a higher one, or of a face by a stage."""
    rank = {stage: i for i, stage in enumerate(STAGES)}
    wrong = []
    for module, imported in sorted(graph.items()):
        stage = stage_of(module)
        if stage is None:
            continue  # a face: it may hand on anything
        for target in sorted(imported):
            if target == "freezelint":
                continue
            target_stage = stage_of(target)
            if target_stage is None or rank[target_stage] > rank[stage]:
                wrong.append(f"{module} -> {target}")
    return wrong


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles (strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle() -> None:
    assert circles(import_graph()) == []


def test_no_stage_imports_a_higher_one() -> None:
    assert upward_imports(import_graph()) == []


def test_the_checks_themselves_can_fail() -> None:
    graph = {
        "freezelint.script.events": {"freezelint.rules.base"},
        "freezelint.rules.base": {"freezelint.script.events"},
        "freezelint.output.report": {"freezelint.lightning"},
    }
    assert circles(graph) == [["freezelint.rules.base", "freezelint.script.events"]]
    assert upward_imports(graph) == [
        "freezelint.output.report -> freezelint.lightning",
        "freezelint.script.events -> freezelint.rules.base",
    ]


def test_the_top_holds_stages_and_faces_only() -> None:
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose == FACES
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(STAGES)
    for face in [*PACKAGE.glob("*.py"), *(PACKAGE / s / "__init__.py" for s in STAGES)]:
        assert len(face.read_text(encoding="utf-8").splitlines()) < 40, face


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_owns_and_may_import(stage: str) -> None:
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
    assert doc is not None and "may import" in doc.lower(), stage


def test_public_names_are_where_users_import_them() -> None:
    import freezelint
    import freezelint.codemod
    import freezelint.lightning

    assert callable(freezelint.audit)
    assert issubclass(freezelint.FreezeError, RuntimeError)
    assert freezelint.AuditFinding.__name__ == "AuditFinding"
    assert freezelint.lightning.FreezeAudit.__name__ == "FreezeAudit"
    assert issubclass(freezelint.lightning.FreezeAuditWarning, UserWarning)
    from libcst.codemod import Codemod

    assert issubclass(freezelint.codemod.FixFreezing, Codemod)
    (flake8,) = metadata.entry_points(group="flake8.extension", name="FRZ")
    assert flake8.load().name == "freezelint"
    (script,) = metadata.entry_points(group="console_scripts", name="freezelint")
    assert callable(script.load())


def test_python_dash_m_freezelint() -> None:
    import freezelint

    out = subprocess.run(
        [sys.executable, "-m", "freezelint", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert freezelint.__version__ in out.stdout
