"""Imports of the project's own files: `from models import build_model`, `from .nets import Net`,
`import utils`, `from model import *`. The imported file (`project.resolve`) is parsed, never
imported: its body is walked once per run, where the import is, in its own module context (as
Python runs it on import; `if __name__ == "__main__":` there is false), and the names it binds
(functions, classes, module-level values) become the importer's. A call into its functions or
classes reads them in their own module (`ModuleContext`).
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst

from freezelint.script import project
from freezelint.script.events import UNKNOWN
from freezelint.script.extract.assumptions import ConditionMemory
from freezelint.script.extract.config_objects import config_objects
from freezelint.script.extract.scope import ModuleContext, Scope, Walk
from freezelint.script.extract.syntax import identifiers, mentions_freezing
from freezelint.script.imports import dotted
from freezelint.script.source import might_freeze
from freezelint.script.values import (
    Const,
    Constructor,
    Definition,
    DictValue,
    Namespace,
    ProjectModule,
    Value,
)

MAX_MODULES = 24  # project files followed per run
MAX_WALKED = 8  # of which at most this many have their top level walked
# A project file bigger than this is not followed: training code's helpers, models and configs
# are far smaller; a library's model zoo file is not (timm's are 30-150 KB).
IMPORT_MAX_BYTES = 48_000
# Statements of other files walked per run, and per checked file (all its runs together): a
# project's own helpers take tens or hundreds; a library's source (a tree like timm's, each
# file calling into builders and registries) would take without end. Past the budget, calls
# into other files are unknown and their top level is read for definitions only.
FUEL_PER_RUN = 1_500
FUEL_PER_FILE = 10_000
# Names that say another file's function builds a model (it is followed even when handed
# nothing tracked), besides those of freezing (`syntax.mentions_freezing`).
BUILDERS = frozenset({"create_model", "from_pretrained", "from_name", "models", "timm"})
SHORT_FUNCTION = 12  # statements: a short function (a factory picking a class by name)
_RELEVANT: dict[int, bool] = {}  # id of a parsed function -> worth following (per process)
# Per process: the constants of each parsed project file walked for definitions only.
_CONSTANTS: dict[tuple[object, int], dict[str, Value]] = {}


class ImportFollower(ConditionMemory):
    def __init__(self, module: cst.Module, imports) -> None:  # type: ignore[no-untyped-def]
        super().__init__(module, imports)
        self.loaded: dict[str, ModuleContext | None] = {}  # path -> context (None: loading)
        self.files: dict[str, project.ParsedModule] = {}  # the project files read, by path
        self.home: dict[int, ModuleContext] = {}  # id of a def -> the module defining it
        self.walked = 0  # project files whose top level was walked in this run
        # Statements of other files this run may still walk (see FUEL).
        self.fuel = FUEL_PER_RUN

    @contextmanager
    def inside(self, ctx: ModuleContext | None) -> Iterator[None]:
        """Read code of module `ctx` (no change when None or already there)."""
        if ctx is None or ctx is self.here:
            yield
            return
        saved = self.here
        self.here = ctx
        try:
            yield
        finally:
            self.here = saved

    def home_of(self, node: cst.CSTNode) -> ModuleContext | None:
        return self.home.get(id(node))

    # -- loading -----------------------------------------------------------------------------

    @functools.cached_property
    def builds_networks(self) -> bool:
        """Does the checked file train networks rather than define them (it builds an
        optimizer or a trainer, and defines no `nn.Module`)? A big file of the project that
        defines one is then read (its own copy of a zoo's ResNet); for a model zoo's file
        importing its layers, or a library's helper, it is not."""
        if any(
            type(stmt) is cst.ClassDef
            and any((dotted(base.value) or "").split(".")[-1] == "Module" for base in stmt.bases)
            for stmt in self.module.body
        ):
            return False
        words = identifiers(self.module)
        return "Trainer" in words or any("optim" in word for word in words)

    def load(self, module: str, level: int) -> ModuleContext | None:
        """The project module an import names, walked once (None: not a project file, a
        cycle, or past the budget)."""
        importer = self.here.path
        if importer is None:
            return None
        path = project.resolve(module, level, importer)
        if path is None:
            return None
        return self.load_file(path, module if not level else f"{'.' * level}{module}")

    def load_file(self, path: pathlib.Path, name: str) -> ModuleContext | None:
        """The project file at `path`, imported as `name`, walked once per run."""
        key = str(path)
        if key in self.loaded:
            return self.loaded[key]
        if len(self.loaded) >= MAX_MODULES:
            return None
        try:
            too_big = path.stat().st_size > IMPORT_MAX_BYTES
        except OSError:
            too_big = True
        parsed = None if too_big else project.parse_file(path, name, self.builds_networks)
        if parsed is None:
            self.loaded[key] = None
            return None
        self.loaded[key] = None  # an import cycle stops here
        ctx = ModuleContext(parsed.imports, Scope(), path=path, name=name.strip(".") or "pkg")
        for stmt in parsed.module.body:
            if type(stmt) is cst.FunctionDef:
                ctx.functions[stmt.name.value] = stmt
                self.home[id(stmt)] = ctx
            elif type(stmt) is cst.ClassDef:
                ctx.classes[stmt.name.value] = stmt
                self.home[id(stmt)] = ctx
                for method in stmt.body.body:
                    if type(method) is cst.FunctionDef:
                        self.home[id(method)] = ctx
        self.files[key] = parsed
        if self.walked < MAX_WALKED and self.fuel > 0 and might_freeze(parsed.text.encode("utf-8")):
            # A file that may freeze or build an optimizer: its top level runs as on import
            # (a model built and frozen there is the importer's).
            self.walked += 1
            exited, raised = self.exited, self.raised
            with self.inside(ctx):
                self.walk_block(parsed.module.body, Walk(ctx.scope))
                ctx.scope.env.update(self._config_objects(parsed, ctx))
            self.exited, self.raised = exited, raised
        else:
            # Any other file (model factories, configs, a library's own modules): its
            # definitions, its constants (worked out once per process) and what its star
            # imports bring.
            ctx.scope.env.update(self._constants(parsed, ctx))
            with self.inside(ctx):
                for stmt in parsed.module.body:
                    if type(stmt) is cst.SimpleStatementLine:
                        for small in stmt.body:
                            if type(small) is cst.ImportFrom:
                                self.import_statement(small, Walk(ctx.scope))
        self.loaded[key] = ctx
        return ctx

    def _constants(self, parsed: project.ParsedModule, ctx: ModuleContext) -> dict[str, Value]:
        """The top-level names a file binds to constants (no call among them), once per file."""
        key = (parsed.path, id(parsed.module))
        if key not in _CONSTANTS:
            found: dict[str, Value] = {}
            with self.inside(ctx):
                for stmt in parsed.module.body:
                    if type(stmt) is not cst.SimpleStatementLine:
                        continue
                    for small in stmt.body:
                        target, value = _simple_binding(small)
                        if target is None or value is None or _has_call(value):
                            continue
                        bound = self.eval(value, Walk(ctx.scope))
                        if isinstance(bound, Const | Constructor | DictValue):
                            found[target] = ctx.scope.env[target] = bound
                found.update(self._config_objects(parsed, ctx))
            if any(_names_definitions(v) for v in found.values()):
                return found  # (a registry of the project's classes is read in each run)
            _CONSTANTS[key] = found
        return _CONSTANTS[key]

    def _config_objects(
        self, parsed: project.ParsedModule, ctx: ModuleContext
    ) -> dict[str, Namespace]:
        """The config objects the file fills in at its top level (`config_objects`)."""
        walk = Walk(ctx.scope)

        def evaluate(node: cst.BaseExpression) -> Value:
            return None if _has_call(node) else self.eval(node, walk)

        with self.inside(ctx):
            return config_objects(parsed.module.body, parsed.imports, evaluate)

    def import_statement(self, node: cst.Import | cst.ImportFrom, w: Walk) -> None:
        """`from m import *` of a project file binds its names now; any other import of one
        binds them when the code first uses them (`imported_name`), so that a file importing
        much but using little reads little."""
        if self.here.path is None or type(node) is not cst.ImportFrom:
            return
        if type(node.names) is not cst.ImportStar:
            return
        base = _dotted(node.module) if node.module is not None else ""
        ctx = self.load(base, len(node.relative))
        if ctx is not None:
            for name in _public(ctx):
                self._bind_from(ctx, name, name, w)
            # What its imports bind comes along too (`torch`, `models`, `nn`...).
            self.here.imports = self.here.imports.with_star(ctx.imports)

    def _bind_from(self, ctx: ModuleContext, name: str, local: str, w: Walk) -> bool:
        if name in ctx.functions:
            self.functions[local] = ctx.functions[name]
        elif name in ctx.classes:
            self.classes[local] = ctx.classes[name]
        elif name in ctx.scope.env:
            w.scope.env[local] = ctx.scope.env[name]
        else:
            return False
        return True

    def imported_name(self, name: str, w: Walk) -> None:
        """A name the code uses that an import not walked yet binds (the imports of a function
        walked as a root ran in the module body): follow that import now."""
        if self.here.path is None or name in self.functions or name in self.classes:
            return
        source = self.imports.sources.get(name)
        if source is None:
            return
        module, level, attr = source
        if attr is None:
            ctx = self.load(module, level)
            if ctx is not None and ctx.path is not None:
                self.module_scope.env.setdefault(name, ProjectModule(str(ctx.path)))
            return
        ctx = self.load(module, level)
        if ctx is not None and self._bind_from(ctx, attr, name, Walk(self.module_scope)):
            return
        sub = self.load(f"{module}.{attr}" if module else attr, level)  # `from pkg import mod`
        if sub is not None and sub.path is not None:
            self.module_scope.env.setdefault(name, ProjectModule(str(sub.path)))

    def worth_following(self, fn: cst.FunctionDef, values: list[Value], bound: Value) -> bool:
        """Is a call into another file's function worth walking? When it is handed a model,
        parameters, an optimizer or an object, when it is short, or when its code builds,
        freezes or optimizes."""
        if bound is not UNKNOWN and bound is not None and not isinstance(bound, Const):
            return True
        if any(v is not None and not isinstance(v, Const) for v in values):
            return True
        key = id(fn)
        if key not in _RELEVANT:
            _RELEVANT[key] = _statements(fn) <= SHORT_FUNCTION or mentions_freezing(fn, BUILDERS)
        return _RELEVANT[key]

    def project_definition(self, node: cst.BaseExpression, w: Walk) -> Definition | None:
        """A function or class of the project that `node` names without calling it (`BaseModel`,
        `models.BaseModel`), as a value; None when it names none (or a variable shadows it)."""
        found: cst.CSTNode | None = None
        if type(node) is cst.Name:
            if w.scope.lookup(node.value)[0]:
                return None
            self.imported_name(node.value, w)
            found = self.classes.get(node.value) or self.functions.get(node.value)
        elif type(node) is cst.Attribute:
            owner = self.eval(node.value, w)
            if isinstance(owner, ProjectModule):
                found = self.module_member(owner, node.attr.value)
        return self.definition_of(found)

    def definition_of(self, found: object) -> Definition | None:
        """A def of the project's (a class or function node) as a value."""
        if type(found) not in (cst.ClassDef, cst.FunctionDef):
            return None
        home = self.home_of(found)
        if home is None or home.path is None:
            return Definition(found)
        return Definition(found, str(home.path), home.name)

    def definition_node(self, value: Definition) -> cst.FunctionDef | cst.ClassDef | None:
        """The def a `Definition` names, with its file loaded in this run (a registry read in
        an earlier run names it; None when the file cannot be loaded now)."""
        if value.path is None or self.home_of(value.node) is not None:
            return value.node
        ctx = self.load_file(pathlib.Path(value.path), value.module)
        if ctx is None:
            return None
        name = value.node.name.value
        found = (ctx.classes if type(value.node) is cst.ClassDef else ctx.functions).get(name)
        return found

    def module_member(self, value: ProjectModule, attr: str) -> Value | cst.CSTNode:
        """`models.build_model` / `models.Net` / `config.NET`: a def node, or a value."""
        ctx = self.loaded.get(value.path)
        if ctx is None:
            return None
        if attr in ctx.functions:
            return ctx.functions[attr]
        if attr in ctx.classes:
            return ctx.classes[attr]
        return ctx.scope.env.get(attr)


def _dotted(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


def _public(ctx: ModuleContext) -> list[str]:
    names = [*ctx.functions, *ctx.classes, *ctx.scope.env]
    return [n for n in dict.fromkeys(names) if not n.startswith("_") and "." not in n]


def _simple_binding(
    small: cst.BaseSmallStatement,
) -> tuple[str | None, cst.BaseExpression | None]:
    if (
        type(small) is cst.Assign
        and len(small.targets) == 1
        and type(small.targets[0].target) is cst.Name
    ):
        return small.targets[0].target.value, small.value
    if type(small) is cst.AnnAssign and type(small.target) is cst.Name:
        return small.target.value, small.value
    return None, None


def _names_definitions(value: Value) -> bool:
    """Does a module constant hold a function or class of the project (a registry)?"""
    if isinstance(value, Definition):
        return True
    return isinstance(value, DictValue) and any(_names_definitions(v) for _, v in value.items)


def _has_call(node: cst.CSTNode) -> bool:
    stack = [node]
    while stack:
        cur = stack.pop()
        if type(cur) in (cst.Call, cst.Lambda, cst.ListComp, cst.DictComp, cst.GeneratorExp):
            return True
        stack.extend(cur.children)
    return False


def _statements(fn: cst.FunctionDef) -> int:
    """How many statements a function runs at most (nested ones included): of an `if`/`elif`
    chain only its longest arm (a factory picking one of many classes by name is short)."""
    return _block_statements(fn.body)


def _block_statements(node: cst.CSTNode) -> int:
    if type(node) is cst.If:
        arms: list[cst.CSTNode] = []
        cur: cst.CSTNode | None = node
        while type(cur) is cst.If:
            arms.append(cur.body)
            cur = cur.orelse
        if type(cur) is cst.Else:
            arms.append(cur.body)
        return 1 + max(_block_statements(arm) for arm in arms)
    count = 1 if isinstance(node, cst.SimpleStatementLine | cst.BaseCompoundStatement) else 0
    if isinstance(node, cst.BaseSuite | cst.BaseCompoundStatement | cst.ExceptHandler):
        count += sum(_block_statements(child) for child in node.children)
    return count
