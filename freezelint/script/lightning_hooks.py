"""Lightning hooks the installed Lightning never calls, and what a script does in them.

Lightning 1.8 removed a set of hooks (`on_epoch_start`, `on_epoch_end`, `on_pretrain_routine_*`
on modules and callbacks; `on_batch_*`, `on_init_*` and two set-up hooks on callbacks). 1.8 and
1.9 refuse a module or callback defining one (`RuntimeError` at `fit`); 2.0 dropped that check,
so from 2.0 on a class defining one fits without a word and the hook never runs. Before 1.8 they
ran. The version is read from the installed distribution's metadata (nothing is imported); with
no Lightning installed, the 2.x behaviour is assumed.

`dead_hooks(module, imports, path)` finds, in one file, each method of a LightningModule or
Callback subclass (through the file's and the project's own base classes) named after a dead hook
whose body changes trainability: `requires_grad` set, `requires_grad_()`, `.train()`/`.eval()`,
Lightning's `freeze`/`unfreeze`/`make_trainable`, `add_param_group`, a learning rate set in a
param group; directly or through the class's own methods and the file's functions it calls. A
hook the file calls itself (`self.on_epoch_start()`) is not dead. Read from the syntax alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from freezelint.script.extract.lightning import PACKAGES
from freezelint.script.extract.objects import LIGHTNING_BASES
from freezelint.script.imports import ImportTable, dotted
from freezelint.script.installed_versions import installed_version as distribution_version
from freezelint.script.project import parse_file, resolve
from freezelint.script.trainability_effects import Effect, effects_of

# The distribution whose version decides, by the package a base is imported from.
_DISTRIBUTIONS = {"pytorch_lightning": "pytorch-lightning", "lightning": "lightning"}
# The extractor's LightningModule bases, and the 1.x path `pytorch_lightning.core.lightning`.
MODULE_BASES = LIGHTNING_BASES | frozenset(f"{p}.core.lightning.LightningModule" for p in PACKAGES)
CALLBACK_BASES = frozenset(
    f"{p}.{m}{name}"
    for p in PACKAGES
    for m in ("", "callbacks.", "callbacks.callback.", "callbacks.base.", "callbacks.finetuning.")
    for name in ("Callback", "BaseFinetuning")
)


@dataclass(frozen=True)
class DeadHook:
    """A removed hook: who had it, and what replaced it (None: nothing with the same call)."""

    name: str
    on_module: bool
    on_callback: bool
    replacement: str | None
    # The replacement takes the same arguments: renaming the method is the whole fix.
    same_signature: bool


REMOVED_IN = (1, 8)  # removed (and refused at fit) in 1.8; silent from 2.0 on
SILENT_FROM = (2, 0)
HOOKS: dict[str, DeadHook] = {
    h.name: h
    for h in (
        DeadHook("on_epoch_start", True, True, "on_train_epoch_start", True),
        DeadHook("on_epoch_end", True, True, "on_train_epoch_end", True),
        DeadHook("on_pretrain_routine_start", True, True, "on_fit_start", True),
        DeadHook("on_pretrain_routine_end", True, True, "on_fit_start", True),
        DeadHook("on_batch_start", False, True, "on_train_batch_start", False),
        DeadHook("on_batch_end", False, True, "on_train_batch_end", False),
        DeadHook("on_init_start", False, True, None, False),
        DeadHook("on_init_end", False, True, None, False),
        DeadHook("on_configure_sharded_model", False, True, "setup", False),
        DeadHook("on_before_accelerator_backend_setup", False, True, "setup", False),
    )
}


@dataclass(frozen=True)
class DeadHookUse:
    """A dead hook defined in a Lightning class of the file, doing something that matters."""

    function: cst.FunctionDef
    cls: cst.ClassDef
    hook: DeadHook
    kind: str  # "LightningModule" or "Callback"
    package: str  # "lightning" or "pytorch_lightning": which installed version decides
    effects: tuple[Effect, ...]
    # The class (or a class of the file related to it) already defines the replacement: a
    # rename would collide.
    replacement_taken: bool


@functools.cache
def installed_version(package: str) -> tuple[int, int] | None:
    """The installed Lightning's (major, minor) for `package`, from its metadata; None when it is
    not installed."""
    text = distribution_version(_DISTRIBUTIONS.get(package, package))
    if text is None:
        return None
    parts = []
    for piece in text.split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def never_called(package: str) -> tuple[bool, str]:
    """Does the installed Lightning (for `package`) silently skip the removed hooks, and how a
    message names that Lightning ("Lightning 2.x")."""
    version = installed_version(package)
    if version is None:
        return True, "Lightning 2.x"
    # The major version only: the same message (and fixture) for every 2.x release.
    return version >= SILENT_FROM, f"Lightning {version[0]}.x"


def dead_hooks(
    module: cst.Module, imports: ImportTable | None, path: Path | None
) -> list[DeadHookUse]:
    """Every dead hook of the file that changes trainability (see the module docstring)."""
    classes = [s for s in module.body if type(s) is cst.ClassDef]
    candidates = [(cls, f) for cls in classes for f in _methods(cls) if f.name.value in HOOKS]
    if not candidates:
        return []
    imports = imports or ImportTable.of(module)
    home = _Home(module, imports, path)
    called = _names_used(module)
    out = []
    for cls, function in candidates:
        hook = HOOKS[function.name.value]
        if called.get(hook.name, 0) > 0:
            continue  # the file calls it itself
        kind = home.lightning_kind(cls) or home.mixed_into(cls)
        if kind is None:
            continue
        base_kind, package = kind
        if (base_kind == "LightningModule" and not hook.on_module) or (
            base_kind == "Callback" and not hook.on_callback
        ):
            continue
        effects = tuple(effects_of(function, cls, home))
        if not effects:
            continue
        taken = hook.replacement is not None and any(
            f.name.value == hook.replacement for c in home.family(cls) for f in _methods(c)
        )
        out.append(DeadHookUse(function, cls, hook, base_kind, package, effects, taken))
    return out


def _methods(cls: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    if type(cls.body) is cst.IndentedBlock:
        for statement in cls.body.body:
            if type(statement) is cst.FunctionDef:
                yield statement


class _NameUses(cst.CSTVisitor):
    """How often each dead hook's name is used other than by a `def` and by
    `super().<hook>(...)` (which reaches another definition of the same dead hook): a name, an
    attribute, or a string (`getattr(model, "on_epoch_start")`)."""

    def __init__(self) -> None:
        self.uses: dict[str, int] = {}
        self._skip: set[int] = set()

    def _use(self, name: str) -> None:
        if name in HOOKS:
            self.uses[name] = self.uses.get(name, 0) + 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._skip.add(id(node.name))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._skip.add(id(node.attr))
        if not _is_super_call(node.value):
            self._use(node.attr.value)

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._skip:
            self._use(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.value.strip("\"'")
        if value in HOOKS:
            self._use(value)


def _is_super_call(node: cst.BaseExpression) -> bool:
    return type(node) is cst.Call and type(node.func) is cst.Name and node.func.value == "super"


def _names_used(module: cst.Module) -> dict[str, int]:
    visitor = _NameUses()
    module.visit(visitor)
    return visitor.uses


class _Home:
    """The checked file's classes and functions, and its bases resolved through the project."""

    def __init__(self, module: cst.Module, imports: ImportTable, path: Path | None) -> None:
        self.module = module
        self.imports = imports
        self.path = path
        self.classes = {s.name.value: s for s in module.body if type(s) is cst.ClassDef}
        self.functions = {s.name.value: s for s in module.body if type(s) is cst.FunctionDef}
        self._kinds: dict[int, tuple[str, str] | None] = {}

    def lightning_kind(self, cls: cst.ClassDef) -> tuple[str, str] | None:
        """("LightningModule" or "Callback", the package) when `cls` derives from one."""
        return _kind(cls, self.classes, self.imports, self.path, 0, self._kinds)

    def mixed_into(self, cls: cst.ClassDef) -> tuple[str, str] | None:
        """The kind of a Lightning class of this file that derives from `cls` (a mixin)."""
        for other in self.classes.values():
            if other is not cls and cls in self.bases(other):
                kind = self.lightning_kind(other)
                if kind is not None:
                    return kind
        return None

    def bases(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        """`cls`, then its bases of this file (depth first, as far as they go)."""
        out = [cls]
        stack = [cls]
        while stack:
            current = stack.pop()
            for base in current.bases:
                name = dotted(base.value) if base.keyword is None else None
                local = self.classes.get(name) if name else None
                if local is not None and local not in out:
                    out.append(local)
                    stack.append(local)
        return out

    def family(self, cls: cst.ClassDef) -> list[cst.ClassDef]:
        """`cls`, its bases of this file, and this file's classes deriving from it."""
        out = self.bases(cls)
        out += [c for c in self.classes.values() if c not in out and cls in self.bases(c)]
        return out

    def method(self, cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
        """`self.name` looked up through `cls` and its bases of this file."""
        for current in self.bases(cls):
            for f in _methods(current):
                if f.name.value == name:
                    return f
        return None


def _kind(
    cls: cst.ClassDef,
    classes: dict[str, cst.ClassDef],
    imports: ImportTable,
    path: Path | None,
    depth: int,
    memo: dict[int, tuple[str, str] | None],
) -> tuple[str, str] | None:
    if id(cls) in memo:
        return memo[id(cls)]
    memo[id(cls)] = None  # a cycle of bases is no Lightning class
    found: tuple[str, str] | None = None
    for base in cls.bases:
        if base.keyword is not None:
            continue
        qual = imports.qualify(base.value)
        if qual in MODULE_BASES:
            found = ("LightningModule", _package(qual))
        elif qual in CALLBACK_BASES:
            found = ("Callback", _package(qual))
        else:
            name = dotted(base.value)
            if name in classes and classes[name] is not cls:
                found = _kind(classes[name], classes, imports, path, depth, memo)
            elif name is not None and depth < 4 and path is not None:
                found = _imported_kind(name, imports, path, depth, memo)
        if found is not None:
            break
    memo[id(cls)] = found
    return found


def _imported_kind(
    name: str,
    imports: ImportTable,
    path: Path,
    depth: int,
    memo: dict[int, tuple[str, str] | None],
) -> tuple[str, str] | None:
    """The kind of a base class another file of the project defines."""
    head, _, rest = name.partition(".")
    source = imports.sources.get(head)
    if source is None:
        return None
    module_name, level, imported = source
    if imported is None:  # `import models` ... `models.Base`
        if not rest or "." in rest:
            return None
        target, class_name = module_name, rest
    else:
        if rest:
            return None
        target, class_name = module_name, imported
    file = resolve(target, level, path)
    if file is None:
        if imported is not None:  # `from pkg import models`? not a class: give up
            return None
        return None
    parsed = parse_file(file, target)
    if parsed is None:
        return None
    classes = {s.name.value: s for s in parsed.module.body if type(s) is cst.ClassDef}
    cls = classes.get(class_name)
    if cls is None:
        return None
    return _kind(cls, classes, parsed.imports, file, depth + 1, memo)


def _package(qual: str) -> str:
    return "pytorch_lightning" if qual.startswith("pytorch_lightning") else "lightning"
