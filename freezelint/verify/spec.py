"""From a constructor call in a script to a verification spec: the library, the architecture and
the arguments that change the parameter set. Anything not known statically, or not on the
library's allow-list, makes the model unverifiable (never a guess). No torch here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from freezelint.events import UNKNOWN, ModelSpec

LIBRARIES = ("timm", "torchvision", "efficientnet_pytorch")

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
    library: str
    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()
    head_unknown: bool = False  # built with HEAD_SIZE_STANDIN for a `num_classes` not known

    def label(self) -> str:
        """`timm:efficientnet_b0` (with `num_classes=5` and friends when given)."""
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


def verify_spec(spec: ModelSpec) -> tuple[VerifySpec | None, str]:
    """The spec to verify a script's model with, or None and why not."""
    if spec.library not in LIBRARIES:
        return None, "not a model constructor freezelint knows"
    if not spec.name:
        return None, "the architecture name is not known statically"
    kept: list[tuple[str, Any]] = []
    head_unknown = False
    for key, value in spec.kwargs:
        if key in IGNORED[spec.library]:
            continue
        if key not in SHAPING[spec.library]:
            return None, f"argument `{key}` is not one freezelint can pass on"
        if value is UNKNOWN and key == "num_classes":
            value, head_unknown = HEAD_SIZE_STANDIN, True
        elif value is UNKNOWN:
            return None, f"argument `{key}` is not known statically"
        kept.append((key, value))
    return VerifySpec(spec.library, spec.name, tuple(sorted(kept)), head_unknown), ""
