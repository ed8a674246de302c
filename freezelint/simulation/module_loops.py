"""Filtered loops over a model's modules, decided on its parameter table, as they run.

`for m in model.modules(): if not isinstance(m, nn.BatchNorm2d): m.requires_grad_(False)`
visits the model itself first, then every module inside it in registration order (what
`named_modules()` yields; `model.apply(fn)` visits the same modules, each after the modules
inside it); the condition is asked of each, and `requires_grad_` (like
`m.parameters()`) reaches every parameter under a picked module, not only its own. So a
parameter is set by each picked module on its way from the root, the deepest last: the model
itself is "not BatchNorm" too, and freezes the BatchNorm layers with the rest.

A counter the loop keeps (`count += 1`, `enumerate`'s index) is the module's position in the
walk; `m.weight.requires_grad = False` reaches only that own parameter of each picked module
(unknown when a module it may reach has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from freezelint.model.table import Parameter, ParamTable
from freezelint.script.events import Event, ModelSpec, ModuleReplaced
from freezelint.script.predicates import PredicateRaised, Unsupported, compile_predicate
from freezelint.script.selection import CLASS_NAME, ModuleFilter, NameWhere, Path, Region


@dataclass
class ModuleLoop:
    """One filter's loop over the modules under `root` (a module path of `table`)."""

    table: ParamTable
    root: str
    mf: ModuleFilter
    # Module paths the script replaces (or adds under) with a module whose class and inner
    # modules are not the table's: what the filter says of them is not known.
    changed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.kinds = dict(self.table.modules)
        prefix = f"{self.root}." if self.root else ""
        if self.mf.walk == "children":
            self.order = self.table.children(self.root)
        else:
            inner = [m for m, _ in self.table.modules if m and m.startswith(prefix)]
            self.order = [self.root, *inner]
        self.tests = [(compile_predicate(test), negated) for test, negated in self.mf.tests]
        self.position = {m: n for n, m in enumerate(self.order)}
        # A module the script replaces with one of other inner modules moves the modules
        # `modules()` yields after it: their counters are not known.
        self.counted = self.mf.walk == "children" or not any(
            _within(c, self.root) for c in self.changed
        )
        self.own_params = {p.name for p in self.table.params_under(self.root)}
        self.picked = {m: self.truth(m) for m in self.order}
        if self.mf.container and not self._sequence(self.root):
            self.picked = dict.fromkeys(self.picked)  # iterating it may not yield its children
        if self.mf.param is not None and any(
            picked is not False and _join(m, self.mf.param) not in self.own_params
            for m, picked in self.picked.items()
        ):
            # A module the loop may reach has no such parameter (`m.weight` raises, or is
            # None): what the loop does is not known.
            self.picked = dict.fromkeys(self.picked)

    def _sequence(self, module: str) -> bool:
        """Is `module` a Sequential or a ModuleList (iterating it yields its children)?"""
        kind = self.kinds.get(module)
        bases = self.table.classes.get(kind) if kind is not None else None
        return bases is not None and any(
            b.startswith("torch.nn.") and b.rsplit(".", 1)[-1] in ("Sequential", "ModuleList")
            for b in bases
        )

    def seen_name(self, module: str) -> str:
        """The module's name as the loop yields it."""
        if self.mf.walk == "children":
            return module.rsplit(".", 1)[-1]
        return module[len(self.root) + 1 :] if self.root else module

    def truth(self, module: str) -> bool | None:
        """Does the filter pick `module`? None when that cannot be told."""
        changed = any(module == c or module.startswith(f"{c}.") for c in self.changed)
        deeper = any(module.startswith(f"{c}.") for c in self.changed)
        env: dict[str, object] = dict(self.mf.env)
        if self.mf.name_var is not None and not deeper:
            env[self.mf.name_var] = self.seen_name(module)
        kind = self.kinds.get(module)
        bases = self.table.classes.get(kind) if kind is not None and not changed else None
        if bases is not None:
            env[CLASS_NAME] = kind
            for name, quals in self.mf.classes:
                # `type(m) == X` asks for the class itself, `isinstance` for any of its bases.
                asked = bases[:1] if name.startswith("__type_is_") else bases
                env[name] = any(_same_class(q, b) for q in quals for b in asked)
        if self.mf.counters:
            if not self.counted or self.mf.walk not in ("children", "modules"):
                return None
            if module not in self.position:
                return None
            for name, offset in self.mf.counters:
                env[name] = self.position[module] + offset
        for name, attr in self.mf.has:
            # `hasattr(m, "weight")`: true of a module with a parameter of that name; of
            # another, not known (an attribute may be set to None or to a plain value).
            if not changed and _join(module, attr) in self.own_params:
                env[name] = True
        result: bool | None = True
        for test, negated in self.tests:
            try:
                value = bool(test(env)) != negated
            except (Unsupported, PredicateRaised):
                result = None
                continue
            if not value:
                return False
        return result

    def acting(self, param: Parameter) -> list[str]:
        """The modules of the loop whose action reaches `param`, in the order they run."""
        if self.mf.param is not None and param.name != _join(param.module, self.mf.param):
            return []
        return self.acting_on(param.module)

    def acting_on(self, owner: str) -> list[str]:
        """The same for the parameters of module `owner`."""
        if not self.mf.recurse:
            return [owner] if owner in self.picked else []
        return [m for m in _chain(owner, self.root) if m in self.picked]

    def params(self) -> list[Parameter]:
        return self.table.params_under(self.root)

    def selected(self) -> dict[Path, bool | None]:
        """Which parameters under the root the loop's action reaches."""
        out: dict[Path, bool | None] = {}
        for p in self.params():
            found = [self.picked[m] for m in self.acting(p)]
            chosen = True if True in found else (None if None in found else False)
            out[tuple(p.name.split("."))] = chosen
        return out

    def kept(self) -> dict[Path, bool | None]:
        """The parameters of the modules the filter leaves out (the layers meant to stay as
        they are): each module asked as the loop would ask it, children and the modules inside
        them alike when the filter reads the class only."""
        out: dict[Path, bool | None] = {}
        children = self.mf.walk == "children"
        for p in self.params():
            if not children or (self.mf.name_var is None and not self.mf.counters):
                leaves_out = self.truth(p.module)
            else:
                child = next((c for c in self.order if _within(p.module, c)), None)
                leaves_out = None if child is None else self.picked[child]
            out[tuple(p.name.split("."))] = None if leaves_out is None else not leaves_out
        return out


def loop_outcome(loops: Iterable[tuple[ModuleLoop, str]]) -> dict[Path, str]:
    """Statuses ("T", "F", "?") the filters of one loop leave, each `(loop, status it sets)` in
    the order of the loop's body, run module by module; parameters none of them reaches are
    left out."""
    loops = list(loops)
    out: dict[Path, str] = {}
    if not loops:
        return out
    first = loops[0][0]
    for p in first.params():
        steps: list[tuple[int, int, bool | None, str]] = []
        for index, (loop, status) in enumerate(loops):
            for module in loop.acting(p):
                depth = -1 if module == loop.root else module.count(".")
                if loop.mf.walk == "apply":
                    depth = -depth  # `model.apply(fn)` calls `fn` on the children first
                steps.append((depth, index, loop.picked[module], status))
        current: str | None = None
        for _, _, picked, status in sorted(steps, key=lambda s: (s[0], s[1])):
            if picked is True:
                current = status
            elif picked is None and current != status:
                current = "?"
        if current is not None:
            out[tuple(p.name.split("."))] = current
    return out


def _join(module: str, name: str) -> str:
    return f"{module}.{name}" if module else name


def _chain(module: str, root: str) -> list[str]:
    """`root`, then each module from it down to `module` (all when `module` is inside root)."""
    if root and not _within(module, root):
        return []
    parts = module.split(".") if module else []
    start = len(root.split(".")) if root else 0
    return [root, *(".".join(parts[:i]) for i in range(start + 1, len(parts) + 1))]


def _within(module: str, container: str) -> bool:
    return not container or module == container or module.startswith(f"{container}.")


def _same_class(script: str, base: str) -> bool:
    """`torch.nn.BatchNorm2d` (as the script names it) is `torch.nn.modules.batchnorm.
    BatchNorm2d` (where it is defined): the same package and class name."""
    if script == base:
        return True
    return (
        script.split(".", 1)[0] == base.split(".", 1)[0]
        and script.rsplit(".", 1)[-1] == base.rsplit(".", 1)[-1]
    )


def loop_of(event: Event) -> int:
    """The filtered loop over modules a freeze is in (0: none)."""
    sel = getattr(event, "selection", None)
    if isinstance(sel, NameWhere) and sel.modules is not None and isinstance(sel.base, Region):
        return sel.modules.loop
    return 0


def changed_modules(
    events: list[Event],
    specs: Mapping[int, ModelSpec],
    model: int,
    atoms: Any,  # atoms.TableAtoms (which imports this module)
) -> frozenset[str]:
    """Modules of `model` the script replaces with one the table does not describe: anything
    but a `torch.nn` layer of the class the table has there (`model.fc = nn.Linear(...)`)."""
    kinds = dict(atoms.table.modules)
    out: set[str] = set()
    for event in events:
        if not isinstance(event, ModuleReplaced) or event.model != model or event.added:
            continue  # (a part a composite is built with is in its table)
        spec = specs.get(event.new_module) if event.new_module is not None else None
        for path in atoms.resolve(event.path)[0]:
            same = (
                spec is not None
                and spec.library == "torch.nn"
                and spec.parts is None
                and kinds.get(path) == spec.name
            )
            if not same:
                out.add(path)
    return frozenset(out)


def _join(module: str, attr: str) -> str:
    return f"{module}.{attr}" if module else attr
