"""Parameter tables shipped with freezelint, for verifying without torch (the light pre-commit
hook, a CI job without the model libraries): the models fine-tuning code uses most, and the
`torch.nn` layers scripts put in their place.

`prebuilt_tables.zip` holds, per library model (every torchvision classification model,
efficientnet-pytorch b0-b8, the timm families resnet, efficientnet, convnext, vit, deit, swin,
regnet, mobilenet and densenet), its table as built with no arguments, and which parameters a
`num_classes` sizes: each model was built a second time with another `num_classes` and the
two tables compared, so a table for `num_classes=N` is the default one with those rows'
first dimension set to N, nothing else. A model whose two builds differ otherwise gets no
`num_classes` table. Layers (`Linear`, convolutions, norms, `Embedding`) are computed from
their arguments, from one real build of each class (the module classes it reports).

Each model and layer is a member of its own (`models/<library>/<name>.json`, `layers/<name>.json`):
a lookup reads and decompresses its own entry only (milliseconds), where one stream of them all
cost the light hook most of a second to read. Every table carries the library version that
built it, as cached tables do, and so does each finding it backs (`verified.version`). Reading
this never imports torch. Build the file again
(with torch, timm, torchvision and efficientnet-pytorch installed):

    python -m freezelint.model.prebuilt
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from pathlib import Path
from typing import Any

from freezelint.model.spec import TORCH_NN, VerifySpec
from freezelint.model.table import ParamTable

DATA = Path(__file__).with_name("prebuilt_tables.zip")
PROBE = 7  # the `num_classes` of the second build
TIMM_FAMILIES = (
    "resnet*",
    "efficientnet*",
    "convnext*",
    "vit_*",
    "deit*",
    "swin*",
    "regnet*",
    "mobilenet*",
    "densenet*",
)
EFFICIENTNET_PYTORCH = tuple(f"efficientnet-b{i}" for i in range(9))
# One build of each layer class (its module classes), with the arguments given here.
LAYER_SAMPLES: dict[str, dict[str, Any]] = {
    "Linear": {"in_features": 3, "out_features": 2},
    "Conv1d": {"in_channels": 4, "out_channels": 2, "kernel_size": 3},
    "Conv2d": {"in_channels": 4, "out_channels": 2, "kernel_size": 3},
    "Conv3d": {"in_channels": 4, "out_channels": 2, "kernel_size": 3},
    "BatchNorm1d": {"num_features": 3},
    "BatchNorm2d": {"num_features": 3},
    "BatchNorm3d": {"num_features": 3},
    "LayerNorm": {"normalized_shape": 3},
    "Embedding": {"num_embeddings": 3, "embedding_dim": 2},
}


@functools.cache
def _archive() -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(DATA)
    except (OSError, zipfile.BadZipFile):
        return None


def _entry(member: str) -> dict[str, Any] | None:
    """One member of the archive, or None when it is not there."""
    archive = _archive()
    if archive is None:
        return None
    try:
        return json.loads(archive.read(member))
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        return None


def shipped() -> list[str]:
    """`library:name` of every model shipped."""
    archive = _archive()
    names = archive.namelist() if archive is not None else []
    return [
        name.removeprefix("models/").removesuffix(".json").replace("/", ":", 1)
        for name in names
        if name.startswith("models/")
    ]


def model_entry(library: str, name: str) -> dict[str, Any] | None:
    """A model's entry: its default table and the rows `num_classes` sizes (`head`)."""
    return _entry(f"models/{library}/{name}.json")


def get(spec: VerifySpec) -> ParamTable | None:
    """The shipped table for `spec`, or None when none is shipped for it (another model, other
    arguments than `num_classes`, a layer with arguments not understood)."""
    data = _layer(spec.name, dict(spec.kwargs)) if spec.library == TORCH_NN else _model(spec)
    if data is None:
        return None
    try:
        return ParamTable.from_json(data)
    except (ValueError, KeyError, TypeError):
        return None


def _model(spec: VerifySpec) -> dict[str, Any] | None:
    entry = model_entry(spec.library, spec.name)
    kwargs = dict(spec.kwargs)
    if entry is None or set(kwargs) - {"num_classes"}:
        return None
    table = dict(entry["table"], kwargs=kwargs)
    classes = kwargs.get("num_classes")
    if classes is None:
        return table
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        return None
    if entry.get("head") is None:
        return None  # (a second build changed more than the head's rows)
    head = set(entry["head"])
    params = []
    for name, shape, count, module, kind in table["params"]:
        if name in head:
            shape = [classes, *shape[1:]]
            count = math.prod(shape)
        params.append([name, shape, count, module, kind])
    table["params"] = params
    return table


def _layer(name: str, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    sample = _entry(f"layers/{name}.json")
    if sample is None:
        return None
    shapes = _layer_shapes(name, kwargs)
    if shapes is None:
        return None
    params = [[param, shape, math.prod(shape), "", name] for param, shape in shapes]
    norms = [""] if name.startswith("BatchNorm") and kwargs.get("track_running_stats", True) else []
    return dict(sample, kwargs=kwargs, params=params, norms=norms)


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _layer_shapes(name: str, kwargs: dict[str, Any]) -> list[tuple[str, list[int]]] | None:
    """The parameters `torch.nn.<name>(**kwargs)` has, by torch's own rules; None for an
    argument not understood."""
    bias = kwargs.get("bias", True)
    if not isinstance(bias, bool):
        return None
    if name == "Linear":
        known = {"in_features", "out_features", "bias"}
        sizes = [_size(kwargs.get("in_features")), _size(kwargs.get("out_features"))]
        if set(kwargs) - known or None in sizes:
            return None
        fan_in, out = sizes
        return [("weight", [out, fan_in])] + ([("bias", [out])] if bias else [])
    if name in ("Conv1d", "Conv2d", "Conv3d"):
        dims = int(name[4])
        known = {"in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation"}
        known |= {"groups", "bias", "padding_mode"}
        fan_in, out = _size(kwargs.get("in_channels")), _size(kwargs.get("out_channels"))
        groups = _size(kwargs.get("groups", 1))
        kernel = kwargs.get("kernel_size")
        kernel = [kernel] * dims if _size(kernel) else kernel
        if (
            set(kwargs) - known
            or None in (fan_in, out, groups)
            or not isinstance(kernel, list | tuple)
            or len(kernel) != dims
            or any(_size(k) is None for k in kernel)
            or fan_in % groups  # type: ignore[operator]
            or out % groups  # type: ignore[operator]
        ):
            return None
        weight = [out, fan_in // groups, *kernel]  # type: ignore[operator]
        return [("weight", weight)] + ([("bias", [out])] if bias else [])  # type: ignore[list-item]
    if name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"):
        known = {"num_features", "eps", "momentum", "affine", "track_running_stats"}
        features, affine = _size(kwargs.get("num_features")), kwargs.get("affine", True)
        if set(kwargs) - known or features is None or not isinstance(affine, bool):
            return None
        return [("weight", [features]), ("bias", [features])] if affine else []
    if name == "LayerNorm":
        known = {"normalized_shape", "eps", "elementwise_affine", "bias"}
        shape = kwargs.get("normalized_shape")
        shape = [shape] if _size(shape) else shape
        affine = kwargs.get("elementwise_affine", True)
        if (
            set(kwargs) - known
            or not isinstance(shape, list | tuple)
            or not shape
            or any(_size(s) is None for s in shape)
            or not isinstance(affine, bool)
        ):
            return None
        if not affine:
            return []
        return [("weight", list(shape))] + ([("bias", list(shape))] if bias else [])
    if name == "Embedding":
        known = {"num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type"}
        known |= {"scale_grad_by_freq", "sparse"}
        sizes = [_size(kwargs.get("num_embeddings")), _size(kwargs.get("embedding_dim"))]
        if set(kwargs) - known or None in sizes:
            return None
        return [("weight", sizes)]  # type: ignore[list-item]
    return None


# -- building the file (with torch) ---------------------------------------------------------


def model_names() -> list[tuple[str, str]]:
    """(library, name) of every model shipped."""
    import timm
    import torchvision

    tv = torchvision.models.list_models(module=torchvision.models)
    return (
        [("torchvision", n) for n in tv]
        + [("efficientnet_pytorch", n) for n in EFFICIENTNET_PYTORCH]
        + [("timm", n) for n in timm.list_models(list(TIMM_FAMILIES))]
    )


def _head(default: dict[str, Any], probe: dict[str, Any]) -> list[str] | None:
    """The parameters whose first dimension is `num_classes`, when that is all a second build
    with `num_classes=PROBE` changed; else None."""
    same = ("modules", "norms", "classifier", "classes")
    if any(default[k] != probe[k] for k in same) or len(default["params"]) != len(probe["params"]):
        return None
    head = []
    for before, after in zip(default["params"], probe["params"], strict=True):
        if before == after:
            continue
        name, shape, _, module, kind = before
        if after[0] != name or after[3:] != [module, kind] or after[1] != [PROBE, *shape[1:]]:
            return None
        head.append(name)
    return head or None


def build_all(out: Path = DATA) -> dict[str, int]:
    from freezelint.model.worker import table

    models: dict[str, Any] = {}
    failed = 0
    for library, name in model_names():
        try:
            default = table({"library": library, "name": name, "kwargs": {}})
            probe = table({"library": library, "name": name, "kwargs": {"num_classes": PROBE}})
        except Exception:  # a model its library cannot build without weights or network
            failed += 1
            continue
        models[f"{library}:{name}"] = {"table": default, "head": _head(default, probe)}
    layers = {
        name: table({"library": TORCH_NN, "name": name, "kwargs": kwargs})
        for name, kwargs in LAYER_SAMPLES.items()
    }
    members = {f"models/{key.replace(':', '/', 1)}.json": entry for key, entry in models.items()}
    members.update((f"layers/{name}.json", data) for name, data in layers.items())
    with zipfile.ZipFile(out, "w") as archive:
        for member in sorted(members):
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))  # (the same bytes)
            text = json.dumps(members[member], separators=(",", ":"), sort_keys=True)
            archive.writestr(info, text, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return {"models": len(models), "failed": failed, "bytes": out.stat().st_size}


if __name__ == "__main__":
    print(build_all())
