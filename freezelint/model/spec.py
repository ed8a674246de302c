"""From a constructor call in a script to a verification spec: the library, the architecture and
the arguments that change the parameter set; for a model made of parts (a user `nn.Module`, an
`nn.Sequential`), the spec of each part. Anything not known statically, or not on the library's
allow-list, makes the model unverifiable (never a guess). No torch here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from freezelint.script.events import UNKNOWN, ModelSpec
from freezelint.script.layers import LAYERS, PARAM_FREE, layer_arguments

LIBRARIES = ("timm", "torchvision", "efficientnet_pytorch")
TORCH_NN = "torch.nn"  # layers, verified as parts of a composite model

# Arguments that shape the parameter set, per library; they are passed to the worker.
SHAPING = {
    "timm": frozenset(
        {
            "num_classes",
            "in_chans",
            "global_pool",
            "img_size",
            "patch_size",
            "class_token",
            "reg_tokens",
            "no_embed_class",
            "features_only",
            "out_indices",
            "embed_dim",
            "depth",
            "num_heads",
        }
    ),
    "torchvision": frozenset({"num_classes", "aux_logits", "image_size"}),
    "efficientnet_pytorch": frozenset({"num_classes", "in_channels", "image_size"}),
}
# Arguments that do not change which parameters exist (weights, dropout, ...): dropped.
IGNORED = {
    "timm": frozenset(
        {
            "pretrained",
            "drop_rate",
            "drop_path_rate",
            "drop_block_rate",
            "pretrained_cfg",
            "pretrained_cfg_overlay",
            "checkpoint_path",
            "cache_dir",
            "scriptable",
            "exportable",
            "no_jit",
        }
    ),
    "torchvision": frozenset(
        {
            "weights",
            "pretrained",
            "progress",
            "dropout",
            "attention_dropout",
            "init_weights",
            "transform_input",
        }
    ),
    "efficientnet_pytorch": frozenset(
        {"weights_path", "advprop", "dropout_rate", "drop_connect_rate"}
    ),
}


# A head size the script computes (`num_classes=len(classes)`) changes only the head's shape:
# the model is built with this stand-in, and the head's element counts are left unknown.
HEAD_SIZE_STANDIN = 2


@dataclass(frozen=True)
class VerifySpec:
    """One model of a library, or one `torch.nn` layer (library "torch.nn", name "Linear"):
    what the worker builds and the cache keeps a table for."""

    library: str
    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    # Arguments built with a stand-in because the script computes them (`num_classes`; a
    # layer's sizes): the tensors are real, the element counts of the head (of a library
    # model) or of the whole layer are not. Not part of the key.
    standins: tuple[str, ...] = ()

    @property
    def head_unknown(self) -> bool:
        return bool(self.standins)

    def label(self) -> str:
        """`timm:efficientnet_b0` (with `num_classes=5` and friends when given),
        `torch.nn.Linear(in_features=512, out_features=10)`."""
        if self.library == TORCH_NN:
            sizes = ", ".join(f"{k}={'?' if k in self.standins else v!r}" for k, v in self.kwargs)
            return f"{TORCH_NN}.{self.name}({sizes})"
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs)
        return f"{self.library}:{self.name}" + (f"({args})" if args else "")

    def as_json(self) -> dict[str, Any]:
        return {"library": self.library, "name": self.name, "kwargs": dict(self.kwargs)}

    def key(self) -> str:
        return json.dumps(self.as_json(), sort_keys=True)

    @classmethod
    def parse(cls, text: str, num_classes: int | None = None) -> VerifySpec:
        """`timm:efficientnet_b0`, `torchvision:resnet50`, `efficientnet_pytorch:efficientnet-b0`
        (`efficientnet-pytorch:` and `tv:` also accepted)."""
        library, sep, name = text.partition(":")
        aliases = {"efficientnet-pytorch": "efficientnet_pytorch", "tv": "torchvision"}
        library = aliases.get(library, library)
        if not sep or library not in LIBRARIES or not name:
            raise ValueError(f"expected LIBRARY:NAME with LIBRARY one of {', '.join(LIBRARIES)}")
        kwargs = (("num_classes", num_classes),) if num_classes is not None else ()
        return cls(library, name, kwargs)


@dataclass(frozen=True)
class CompositeSpec:
    """A module made of parts, in registration order: each (attribute, spec). Its table is put
    together from its parts' tables, without torch."""

    name: str  # the class name ("MyNet", "Sequential")
    parts: tuple[tuple[str, VerifySpec | CompositeSpec], ...]
    # Parts the analysis cannot build (`self.acc = Accuracy()` from a library it does not
    # know): their tensors are an unknown region of the table, in no particular place.
    opaque: tuple[str, ...] = ()
    # A Sequential of a library model's own top-level modules (`*list(m.children())[:-1]`):
    # (that model's spec, start, stop); its table is cut from that model's.
    children_of: tuple[VerifySpec, int | None, int | None] | None = None
    # A library model's submodule (`densenet.features`): (that model's spec, its path); its
    # table is the model's, cut to that submodule.
    submodule_of: tuple[VerifySpec, str] | None = None
    # An item of a Sequential part that is a module the composite holding that part already
    # holds (`self.body = nn.Sequential(self.backbone, ...)`): its path there. No table of
    # its own: the composite's table names it once, where it was registered first.
    same_as: str | None = None

    def label(self) -> str:
        """`MyNet(backbone, head)`: the class and its parts' attributes."""
        if self.same_as is not None:
            return f"={self.same_as}"
        if self.submodule_of is not None:
            return f"{self.submodule_of[0].label()}.{self.submodule_of[1]}"
        if self.children_of is not None:
            base, start, stop = self.children_of
            cut = f"{'' if start is None else start}:{'' if stop is None else stop}"
            return f"Sequential(*{base.label()}.children()[{cut}])"
        attrs = [attr for attr, _ in self.parts] + [f"{attr}?" for attr in self.opaque]
        return f"{self.name}({', '.join(attrs)})"

    def leaves(self) -> Iterator[VerifySpec]:
        """The library models and layers it is made of, at any depth."""
        if self.children_of is not None:
            yield self.children_of[0]
        if self.submodule_of is not None:
            yield self.submodule_of[0]
        for _, part in self.parts:
            if isinstance(part, CompositeSpec):
                yield from part.leaves()
            else:
                yield part


def model_label(spec: ModelSpec) -> str:
    """A script's model, for the list of those that could not be verified."""
    if spec.parts is not None:
        return f"{spec.name or spec.builder}({', '.join(attr for attr, _ in spec.parts)})"
    return f"{spec.library}:{spec.name or '?'}"


def verify_spec(
    spec: ModelSpec, inner: bool = False
) -> tuple[VerifySpec | CompositeSpec | None, str]:
    """The spec to verify a script's model with, or None and why not. `inner`: `spec` is a
    composite's part, whose items may be modules that composite holds (`same_as`)."""
    if spec.children_of is not None:
        base, start, stop = spec.children_of
        verified, why = verify_spec(base)
        if not isinstance(verified, VerifySpec) or verified.library == TORCH_NN:
            return None, why or "the modules it is given come from a model freezelint cannot build"
        return CompositeSpec("Sequential", (), (), (verified, start, stop)), ""
    if spec.submodule_of is not None:
        base_spec, path = spec.submodule_of
        verified, why = verify_spec(base_spec)
        if not isinstance(verified, VerifySpec) or verified.library == TORCH_NN or not path:
            return None, why or "it is a submodule of a model freezelint cannot build"
        return CompositeSpec(path[-1], (), submodule_of=(verified, ".".join(path))), ""
    if spec.parts is not None:
        return _composite_spec(spec, inner)
    if spec.library == TORCH_NN:
        return _layer_spec(spec)
    if spec.library not in LIBRARIES:
        return None, "not a model constructor freezelint knows"
    if not spec.name:
        return None, "the architecture name is not known statically"
    kept: list[tuple[str, Any]] = []
    standins: tuple[str, ...] = ()
    for key, value in spec.kwargs:
        if key in IGNORED[spec.library]:
            continue
        if key not in SHAPING[spec.library]:
            return None, f"argument `{key}` is not one freezelint can pass on"
        if value is UNKNOWN and key == "num_classes":
            value, standins = HEAD_SIZE_STANDIN, ("num_classes",)
        elif value is UNKNOWN:
            return None, f"argument `{key}` is not known statically"
        kept.append((key, value))
    return VerifySpec(spec.library, spec.name, tuple(sorted(kept)), standins), ""


def _layer_spec(spec: ModelSpec) -> tuple[VerifySpec | None, str]:
    """A `torch.nn` layer: its arguments as keywords (those that bear on parameters), sizes the
    script computes stood in for. A parameter-free layer needs none of them."""
    if spec.name in PARAM_FREE:
        return VerifySpec(TORCH_NN, spec.name), ""
    if spec.name not in LAYERS:
        return None, f"`nn.{spec.name}` is not a layer freezelint can build"
    arguments = layer_arguments(spec.name, spec.args, spec.kwargs, HEAD_SIZE_STANDIN)
    if isinstance(arguments, str):
        return None, arguments
    kwargs, standins = arguments
    return VerifySpec(TORCH_NN, spec.name, kwargs, standins), ""


def _composite_spec(spec: ModelSpec, inner: bool = False) -> tuple[CompositeSpec | None, str]:
    """The parts that can be verified, and the others as opaque regions (a partial table); or
    None and why, when no part can be, or the composite holds parameters of its own. Items
    that are modules of the composite holding this one (`same_as`) are kept as such when it
    is a part (`inner`)."""
    parts: dict[str, VerifySpec | CompositeSpec] = {}
    opaque: dict[str, None] = {}
    first_reason = ""
    if spec.own_params:
        return None, "it holds an `nn.Parameter` of its own"
    if spec.shared:
        return None, "a part holds modules of its other parts"
    for attr, part in spec.parts or ():
        if not attr or "." in attr:
            return None, f"part `{attr}` is not a submodule name torch accepts"
        if part is not None and part.same_as is not None:
            if not inner or not part.same_as:
                return None, "a part holds modules of its other parts"
            parts[attr] = CompositeSpec("", (), same_as=".".join(part.same_as))
            opaque.pop(attr, None)
            continue
        verified, why = verify_spec(part, inner=True) if part is not None else (None, "")
        if verified is None:
            why = why or "is not a module freezelint can build"
            first_reason = first_reason or f"part `{attr}`: {why}"
            parts.pop(attr, None)
            opaque[attr] = None
            continue
        # Assigned again: torch keeps the first position and the last module.
        parts[attr] = verified
        opaque.pop(attr, None)
    if opaque and not parts:
        return None, first_reason
    return CompositeSpec(spec.name or spec.builder, tuple(parts.items()), tuple(opaque)), ""
