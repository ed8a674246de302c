"""Imports of the project's own files: `from models import build_model`, `from .nets import Net`,
`import utils`, `from model import *`. The imported file (`project.resolve`) is parsed, never
imported: its body is walked once per run, where the import is, in its own module context (as
Python runs it on import; `if __name__ == "__main__":` there is false), and the names it binds
(functions, classes, module-level values) become the importer's. A call into its functions or
classes reads them in their own module (`ModuleContext`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import libcst as cst

from freezelint import project
from freezelint.extract.assumptions import ConditionMemory
from freezelint.extract.scope import ModuleContext, Scope, Walk
from freezelint.values import ProjectModule, Value

MAX_MODULES = 24  # project files followed per run


class ImportFollower(ConditionMemory):
    def __init__(self, module: cst.Module, imports) -> None:  # type: ignore[no-untyped-def]
        super().__init__(module, imports)
        self.loaded: dict[str, ModuleContext | None] = {}  # path -> context (None: loading)
        self.files: dict[str, project.ParsedModule] = {}  # the project files read, by path
        self.home: dict[int, ModuleContext] = {}  # id of a def -> the module defining it

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

    def load(self, module: str, level: int) -> ModuleContext | None:
        """The project module an import names, walked once (None: not a project file, a
        cycle, or past the budget)."""
        importer = self.here.path
        if importer is None:
            return None
        path = project.resolve(module, level, importer)
        if path is None:
            return None
        key = str(path)
        if key in self.loaded:
            return self.loaded[key]
        if len(self.loaded) >= MAX_MODULES:
            return None
        name = module if not level else f"{'.' * level}{module}"
        parsed = project.parse_file(path, name)
        if parsed is None:
            self.loaded[key] = None
            return None
        self.loaded[key] = None  # an import cycle stops here
        ctx = ModuleContext(parsed.imports, Scope(), path=path, name=name.strip(".") or "pkg")
        for stmt in parsed.module.body:
            if isinstance(stmt, cst.FunctionDef):
                ctx.functions[stmt.name.value] = stmt
                self.home[id(stmt)] = ctx
            elif isinstance(stmt, cst.ClassDef):
                ctx.classes[stmt.name.value] = stmt
                self.home[id(stmt)] = ctx
                for method in stmt.body.body:
                    if isinstance(method, cst.FunctionDef):
                        self.home[id(method)] = ctx
        self.files[key] = parsed
        exited, raised = self.exited, self.raised
        with self.inside(ctx):
            self.walk_block(parsed.module.body, Walk(ctx.scope))
        self.exited, self.raised = exited, raised
        self.loaded[key] = ctx
        return ctx

    def import_statement(self, node: cst.Import | cst.ImportFrom, w: Walk) -> None:
        """Bind what an import of the project's own files binds."""
        if self.here.path is None:
            return
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = _dotted(alias.name)
                ctx = self.load(name, 0)
                if ctx is not None and ctx.path is not None:
                    local = _dotted(alias.asname.name) if alias.asname else name.split(".")[0]
                    if alias.asname or "." not in name:
                        w.scope.env[local] = ProjectModule(str(ctx.path))
            return
        base = _dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        ctx = self.load(base, level)
        if isinstance(node.names, cst.ImportStar):
            if ctx is not None:
                for name in _public(ctx):
                    self._bind_from(ctx, name, name, w)
                # What its imports bind comes along too (`torch`, `models`, `nn`...).
                self.here.imports = self.here.imports.with_star(ctx.imports)
            return
        for alias in node.names:
            name = _dotted(alias.name)
            local = _dotted(alias.asname.name) if alias.asname is not None else name
            if ctx is not None and self._bind_from(ctx, name, local, w):
                continue
            sub = self.load(f"{base}.{name}" if base else name, level)
            if sub is not None and sub.path is not None:
                w.scope.env[local] = ProjectModule(str(sub.path))

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
        if ctx is not None:
            self._bind_from(ctx, attr, name, Walk(self.module_scope))

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
    from freezelint.imports import dotted

    return dotted(node) or ""


def _public(ctx: ModuleContext) -> list[str]:
    names = [*ctx.functions, *ctx.classes, *ctx.scope.env]
    return [n for n in dict.fromkeys(names) if not n.startswith("_") and "." not in n]
