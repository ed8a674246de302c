"""A model's parameter table, as the worker reports it and the cache stores it (plain JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Parameter:
    name: str
    shape: tuple[int, ...]
    numel: int
    module: str  # owning module path ("" for the model itself)
    module_class: str


@dataclass
class ParamTable:
    library: str
    name: str
    version: str
    kwargs: dict[str, Any]
    params: list[Parameter]
    modules: list[tuple[str, str]]  # (path, class name), registration order, "" first
    norms: list[str]  # BatchNorm-like modules with running statistics
    classifier: str | None  # the head's module path, as the library defines it
    # Built with a stand-in head size (the script's `num_classes` is not known): the head's
    # tensors are real, their sizes are not.
    head_unknown: bool = False
    _by_prefix: dict[str, list[Parameter]] = field(default_factory=dict, repr=False)
    # What TableAtoms.under answers depends on the table alone: kept here, so that it is worked
    # out once per process for every file that builds this model (as the properties below).
    under_memo: dict[tuple[str, ...], list[tuple[tuple[str, ...], bool]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @cached_property
    def paths(self) -> list[tuple[str, ...]]:
        """Every parameter's name as a path, in table order."""
        return [tuple(p.name.split(".")) for p in self.params]

    @cached_property
    def path_set(self) -> frozenset[tuple[str, ...]]:
        return frozenset(self.paths)

    @cached_property
    def numel_by_path(self) -> dict[tuple[str, ...], int]:
        """Element counts (the head's left out when its size is not known)."""
        head = f"{self.classifier}." if self.head_unknown and self.classifier else None
        return {
            path: p.numel
            for path, p in zip(self.paths, self.params, strict=True)
            if head is None or not p.name.startswith(head)
        }

    def with_unknown_head(self) -> ParamTable:
        """This table for a model whose `num_classes` the script computes."""
        kwargs = {**self.kwargs, "num_classes": None}
        return replace(self, kwargs=kwargs, head_unknown=True, _by_prefix={}, under_memo={})

    def label(self) -> str:
        return f"{self.library} {self.name}"

    def verified(self) -> dict[str, Any]:
        """The JSON `verified` object of a finding backed by this table."""
        return {
            "library": self.library,
            "constructor": self.name,
            "version": self.version,
            "kwargs": self.kwargs,
        }

    def children(self, path: str) -> list[str]:
        """Direct child module paths of `path`, in registration order."""
        depth = 0 if not path else path.count(".") + 1
        prefix = f"{path}." if path else ""
        return [m for m, _ in self.modules if m and m.startswith(prefix) and m.count(".") == depth]

    def params_under(self, path: str) -> list[Parameter]:
        if path not in self._by_prefix:
            prefix = f"{path}." if path else ""
            self._by_prefix[path] = [
                p for p in self.params if not path or p.name.startswith(prefix) or p.name == path
            ]
        return self._by_prefix[path]

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
        )
