"""A model's parameter table, as the worker reports it and the cache stores it (plain JSON), and
the table of a model made of parts, put together from its parts' tables (no torch)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Parameter:
    """One tensor of a model: its name, shape, size and the module holding it."""

    name: str
    shape: tuple[int, ...]
    numel: int
    module: str  # owning module path ("" for the model itself)
    module_class: str


@dataclass
class ParamTable:
    """Every parameter and module of one model as its constructor builds it (no weights)."""

    library: str
    name: str
    version: str
    kwargs: dict[str, Any]
    params: list[Parameter]
    modules: list[tuple[str, str]]  # (path, class name), registration order, "" first
    norms: list[str]  # BatchNorm-like modules with running statistics
    classifier: str | None  # the head's module path, as the library defines it
    # Module paths whose parameters' element counts are not known ("" for all of them): a head
    # (or a layer) built with a stand-in size because the script computes it. The tensors are
    # real, their sizes are not.
    unknown: tuple[str, ...] = ()
    # Each module class's bases, itself first, as qualified names (`torch.nn.modules.
    # batchnorm.BatchNorm2d`), by class name (None: not known); for `isinstance` tests.
    classes: dict[str, list[str] | None] = field(default_factory=dict)
    # A composite model's parts' tables, each (attribute, table), in registration order.
    parts: list[tuple[str, ParamTable]] | None = field(default=None, repr=False)
    # Module paths of a composite's parts the analysis could not build: regions whose
    # tensors (names, counts, positions) are not known. The rest of the table is exact.
    opaque: tuple[str, ...] = ()
    # Module paths `named_modules()` leaves out because the module there was registered
    # first under another name (`self.body = nn.Sequential(self.backbone, head)`: `body.0`
    # is `backbone`), each with that name: the same module, its tensors listed once.
    aliases: dict[str, str] = field(default_factory=dict)
    _by_prefix: dict[str, list[Parameter]] = field(default_factory=dict, repr=False)
    # What TableAtoms.under answers depends on the table alone: kept here, so that it is worked
    # out once per process for every file that builds this model (as the properties below).
    under_memo: dict[tuple[str, ...], list[tuple[tuple[str, ...], bool]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # The same answers as a simulation's keys, `(model, path)`, by model id and path.
    keyed_memo: dict[tuple[int, tuple[str, ...]], list] = field(
        default_factory=dict, repr=False, compare=False
    )
    # A simulation's atoms of the model as it is built, by model id and status
    # (`Simulation._built_from_table`).
    built_memo: dict[tuple[int, str], dict] = field(default_factory=dict, repr=False, compare=False)

    @cached_property
    def paths(self) -> list[tuple[str, ...]]:
        """Every parameter's name as a path, in table order."""
        return [tuple(p.name.split(".")) for p in self.params]

    @cached_property
    def module_set(self) -> frozenset[str]:
        """Every module path (`""` for the model itself)."""
        return frozenset(m for m, _ in self.modules)

    @cached_property
    def module_kinds(self) -> dict[str, str]:
        """Each module path's class name."""
        return dict(self.modules)

    @cached_property
    def path_set(self) -> frozenset[tuple[str, ...]]:
        return frozenset(self.paths)

    @cached_property
    def paths_by_depth(self) -> list[tuple[str, ...]]:
        """Every parameter's path once, shallowest first, then in path order (the order the
        simulation keeps a model's atoms in)."""
        return sorted(self.path_set, key=lambda p: (len(p), p))

    @property
    def head_unknown(self) -> bool:
        """Some element counts are not known (a head or a layer built with a stand-in size)."""
        return bool(self.unknown)

    @cached_property
    def numel_by_path(self) -> dict[tuple[str, ...], int]:
        """Element counts (those under an `unknown` path left out)."""
        if "" in self.unknown:
            return {}
        prefixes = tuple(f"{path}." for path in self.unknown)
        return {
            path: p.numel
            for path, p in zip(self.paths, self.params, strict=True)
            if not p.name.startswith(prefixes)
        }

    def with_unknown(self, paths: tuple[str, ...], args: tuple[str, ...]) -> ParamTable:
        """This table with the element counts under `paths` unknown, built with stand-ins for
        the arguments `args`."""
        return replace(
            self,
            kwargs={**self.kwargs, **dict.fromkeys(args)},
            unknown=tuple(dict.fromkeys(self.unknown + paths)),
            _by_prefix={},
            under_memo={},
            keyed_memo={},
            built_memo={},
        )

    def with_unknown_head(self) -> ParamTable:
        """This table for a model whose `num_classes` the script computes."""
        head = (self.classifier,) if self.classifier else ()
        return self.with_unknown(head, ("num_classes",))

    def label(self) -> str:
        """`timm efficientnet_b0`; a composite's class with what it is made of:
        `MyNet (timm efficientnet_b0 + 2 layers)`."""
        if self.parts is None:
            return f"{self.library} {self.name}"
        models, layers = self._contents()
        if layers:
            models.append(f"{layers} layer{'s' if layers != 1 else ''}")
        if self.opaque:
            count = len(self.opaque)
            models.append(f"{count} part{'s' if count != 1 else ''} not known")
        return f"{self.name} ({' + '.join(models)})" if models else self.name

    def _contents(self) -> tuple[list[str], int]:
        """The library models (labels) and the number of `torch.nn` layers it is made of."""
        models: list[str] = []
        layers = 0
        for _, part in self.parts or ():
            if part.parts is not None:
                inner, count = part._contents()
                models += inner
                layers += count
            elif part.library == "torch.nn":
                layers += 1
            else:
                models.append(part.label())
        return models, layers

    def verified(self) -> dict[str, Any]:
        """The JSON `verified` object of a finding backed by this table (a composite's also
        says what backed each part)."""
        data = {
            "library": self.library,
            "constructor": self.name,
            "version": self.version,
            "kwargs": self.kwargs,
        }
        if self.parts is not None:
            data["parts"] = {attr: part.verified() for attr, part in self.parts}
        if self.opaque:
            data["not_known"] = list(self.opaque)
        return data

    @classmethod
    def composed(
        cls,
        name: str,
        parts: list[tuple[str, ParamTable]],
        opaque: tuple[str, ...] = (),
        project_class: bool = False,
        aliases: dict[str, str] | None = None,
    ) -> ParamTable:
        """The table of a module of class `name` whose submodules are `parts` (and which holds
        no parameter of its own): what `named_parameters()` and `named_modules()` give; the
        parts named in `opaque` are regions it does not know. A `project_class` is the
        script's own `nn.Module` subclass: an instance of no torch layer class. `aliases`:
        the items of its parts that are modules it holds already (see `ParamTable.aliases`)."""
        params: list[Parameter] = []
        named = dict(aliases or {})
        modules: list[tuple[str, str]] = [("", name)]
        norms: list[str] = []
        unknown: list[str] = []
        hidden: list[str] = list(opaque)
        versions: dict[str, None] = {}
        classes: dict[str, list[str] | None] = {}
        for attr, part in parts:
            for kind, bases in part.classes.items():
                if classes.setdefault(kind, bases) != bases:
                    classes[kind] = None

            def at(path: str, attr: str = attr) -> str:
                return f"{attr}.{path}" if path else attr

            modules += [(at(path), kind) for path, kind in part.modules]
            params += [
                Parameter(at(p.name), p.shape, p.numel, at(p.module), p.module_class)
                for p in part.params
            ]
            norms += [at(path) for path in part.norms]
            unknown += [at(path) for path in part.unknown]
            hidden += [at(path) for path in part.opaque]
            named.update({at(key): at(target) for key, target in part.aliases.items()})
            versions.update(dict.fromkeys(part._versions()))
        if project_class:
            own = [f"<project>.{name}", "torch.nn.modules.module.Module"]
            classes[name] = None if name in classes else own  # (a part's class of that name)
        return cls(
            library="composite",
            name=name,
            version=", ".join(sorted(versions)),
            kwargs={},
            params=params,
            modules=modules,
            norms=norms,
            classifier=None,
            unknown=tuple(unknown),
            classes=classes,
            parts=list(parts),
            opaque=tuple(hidden),
            aliases=named,
        )

    def children_slice(self, start: int | None, stop: int | None) -> ParamTable:
        """The table of `nn.Sequential(*list(model.children())[start:stop])`: those top-level
        modules (the same ones), numbered from 0; the model's own parameters (not in a child,
        such as a ViT's `cls_token`) are not in it."""
        kids = self.children("")[start:stop]
        return ParamTable.composed(
            "Sequential", [(str(i), self.subtable(kid)) for i, kid in enumerate(kids)]
        )

    def subtable(self, path: str) -> ParamTable:
        """The table of the module at `path`, as a model of its own."""
        prefix = f"{path}."

        def inner(name: str) -> str | None:
            if name == path:
                return ""
            return name[len(prefix) :] if name.startswith(prefix) else None

        params = [
            Parameter(
                inner(p.name) or p.name, p.shape, p.numel, inner(p.module) or "", p.module_class
            )
            for p in self.params_under(path)
        ]
        return ParamTable(
            library=self.library,
            name=f"{self.name}.{path}",
            version=self.version,
            kwargs=dict(self.kwargs),
            params=params,
            modules=[(inner(m), k) for m, k in self.modules if inner(m) is not None],  # type: ignore[misc]
            norms=[inner(n) for n in self.norms if inner(n) is not None],  # type: ignore[misc]
            classifier=None,
            unknown=tuple(
                u for u in (inner(x) if x else "" for x in self.unknown) if u is not None
            ),
            classes=self.classes,
            opaque=tuple(o for o in (inner(x) for x in self.opaque) if o is not None),
        )

    def _versions(self) -> list[str]:
        """`timm 1.0.9`, `torch 2.4.0`: the libraries (and versions) behind this table."""
        if self.parts is not None:
            return self.version.split(", ") if self.version else []
        library = "torch" if self.library == "torch.nn" else self.library
        return [f"{library} {self.version}"]

    def children(self, path: str) -> list[str]:
        """Direct child module paths of `path`, in registration order; a child that is a
        module registered first elsewhere (`aliases`) by that first name."""
        depth = 0 if not path else path.count(".") + 1
        prefix = f"{path}." if path else ""
        found = [m for m, _ in self.modules if m and m.startswith(prefix) and m.count(".") == depth]
        held = [m for m in self.aliases if m.startswith(prefix) and m.count(".") == depth]
        if not held:
            return found
        both = found + held
        if all(m.rpartition(".")[2].isdigit() for m in both):
            both.sort(key=lambda m: int(m.rpartition(".")[2]))  # a Sequential's items
        return [self.aliases.get(m, m) for m in both]

    def holds_aliases(self, path: str) -> bool:
        """Does the module at `path` hold, at some depth, a module registered first under
        another name? (A walk over its modules is then not a slice of the table.)"""
        prefix = f"{path}." if path else ""
        return any(key.startswith(prefix) for key in self.aliases)

    def params_under(self, path: str) -> list[Parameter]:
        """The parameters at `path` and inside it, in table order (remembered per path)."""
        found = self._by_prefix.get(path)
        if found is None:
            if not path:
                found = list(self.params)
            else:
                # The names at or under `path` are one run of the sorted names: from `path`
                # itself to the last that starts with `path.` ("/" sorts right after ".").
                names, order = self._sorted_names
                picked = order[bisect_left(names, path) : bisect_left(names, f"{path}/")]
                inside = f"{path}."
                found = [
                    param
                    for param in map(self.params.__getitem__, sorted(picked))
                    if param.name == path or param.name.startswith(inside)
                ]
            self._by_prefix[path] = found
        return found

    @cached_property
    def _sorted_names(self) -> tuple[list[str], list[int]]:
        """The parameters' names sorted, with each one's index in the table."""
        order = sorted(range(len(self.params)), key=lambda i: self.params[i].name)
        return [self.params[i].name for i in order], order

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "library": self.library,
            "name": self.name,
            "version": self.version,
            "kwargs": self.kwargs,
            "params": [
                [p.name, list(p.shape), p.numel, p.module, p.module_class] for p in self.params
            ],
            "modules": [list(m) for m in self.modules],
            "norms": self.norms,
            "classifier": self.classifier,
            "classes": self.classes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParamTable:
        if data.get("format") != 1:
            raise ValueError("unknown table format")
        return cls(
            library=data["library"],
            name=data["name"],
            version=data["version"],
            kwargs=dict(data["kwargs"]),
            params=[Parameter(n, tuple(s), int(c), m, k) for n, s, c, m, k in data["params"]],
            modules=[(m, k) for m, k in data["modules"]],
            norms=list(data["norms"]),
            classifier=data["classifier"],
            classes=dict(data.get("classes") or {}),
        )
