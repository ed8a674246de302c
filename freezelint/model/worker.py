"""The verification worker: the only code of freezelint that imports torch.

Run as `python -m freezelint.model.worker`, it reads a JSON list of specs on stdin and writes a
JSON list of results (`{"table": ...}` or `{"error": ...}`) on stdout. It builds each
architecture on the meta device with weights disabled, behind an audit hook that refuses every
network connection and every opening of a weights file, under memory and CPU-time limits. It
never sees, imports or runs the user's script: it only calls allow-listed constructors with
arguments the parent resolved statically.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any

WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt", ".pth.tar", ".h5")
MEMORY_LIMIT = 8 << 30  # address space, bytes
CPU_SECONDS = 120
DISTRIBUTIONS = {
    "timm": "timm",
    "torchvision": "torchvision",
    "efficientnet_pytorch": "efficientnet-pytorch",
    "torch.nn": "torch",
}


def _sandbox() -> None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[var] = "1"
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX, or lower hard limit
        pass
    audit_log = os.environ.get("FREEZELINT_WORKER_AUDIT")

    def refuse(event: str, args: tuple[Any, ...]) -> None:
        blocked = None
        if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.bind"):
            blocked = f"network: {event}"
        elif event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            path = os.fsdecode(args[0])
            if path.endswith(WEIGHT_SUFFIXES):
                blocked = f"weights: {path}"
        if blocked is not None:
            if audit_log:
                with open(audit_log, "a", encoding="utf-8") as log:
                    log.write(blocked + "\n")
            raise PermissionError(f"freezelint's worker refused {blocked}")

    sys.addaudithook(refuse)


# Configurations some builders compute with torch before building any layer: torchvision's
# RegNet works out its stage widths with `torch.arange(...)`, `torch.round(...).tolist()`; under
# the meta device those few numbers have no data ("Cannot copy out of meta tensor"). Each
# (module, class, classmethod) here runs on the CPU (a few dozen numbers); every layer and
# parameter is still built on the meta device.
HOST_SIDE = (("torchvision.models.regnet", "BlockParams", "from_init_params"),)


@contextlib.contextmanager
def _host_side_config() -> Iterator[None]:
    import importlib

    import torch

    saved: list[tuple[type, str, Any]] = []
    try:
        for module_name, owner, method in HOST_SIDE:
            try:
                cls = getattr(importlib.import_module(module_name), owner)
                original = cls.__dict__[method]
            except (ImportError, AttributeError, KeyError):
                continue  # another version of the library: nothing to do
            if not isinstance(original, classmethod):
                continue

            def on_cpu(klass: type, *args: Any, _func: Any = original.__func__, **kw: Any) -> Any:
                with torch.device("cpu"):
                    return _func(klass, *args, **kw)

            setattr(cls, method, classmethod(on_cpu))
            saved.append((cls, method, original))
        yield
    finally:
        for cls, method, original in reversed(saved):
            setattr(cls, method, original)


def build(spec: dict[str, Any]) -> Any:
    import torch

    library, name, kwargs = spec["library"], spec["name"], dict(spec["kwargs"])
    with torch.device("meta"):
        if library == "timm":
            import timm

            if not timm.is_model(name):
                raise ValueError(f"timm has no model named {name!r}")
            return timm.create_model(name, pretrained=False, **kwargs)
        if library == "torchvision":
            import torchvision

            if name not in torchvision.models.list_models():
                raise ValueError(f"torchvision has no model builder named {name!r}")
            with _host_side_config():
                return torchvision.models.get_model(name, weights=None, **kwargs)
        if library == "efficientnet_pytorch":
            from efficientnet_pytorch import EfficientNet

            return EfficientNet.from_name(name, **kwargs)
        if library == "torch.nn":
            from freezelint.script.layers import LAYERS, PARAM_FREE

            if name not in LAYERS and name not in PARAM_FREE:
                raise ValueError(f"torch.nn.{name} is not a layer freezelint builds")
            return getattr(torch.nn, name)(**kwargs)
    raise ValueError(f"unsupported library {library!r}")


def classifier_path(library: str, model: Any) -> str | None:
    import torch

    if library == "timm":
        head = getattr(model, "pretrained_cfg", {}).get("classifier")
        return head if isinstance(head, str) else None
    if library == "efficientnet_pytorch":
        return "_fc"
    if library == "torch.nn":
        return None
    last = None
    for path, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            last = path
    return last.split(".")[0] if last else None


def table(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    model = build(spec)
    norm_types = (torch.nn.modules.batchnorm._BatchNorm,)
    modules = [(path, type(m).__name__) for path, m in model.named_modules()]
    owner_class = dict(modules)
    params = []
    for name, p in model.named_parameters():
        owner = name.rsplit(".", 1)[0] if "." in name else ""
        params.append([name, list(p.shape), p.numel(), owner, owner_class.get(owner, "")])
    classes: dict[str, list[str] | None] = {}
    for _, m in model.named_modules():
        mro = [f"{k.__module__}.{k.__qualname__}" for k in type(m).__mro__ if k is not object]
        if classes.setdefault(type(m).__name__, mro) != mro:
            classes[type(m).__name__] = None  # two classes of one name: not told apart
    norms = [
        path
        for path, m in model.named_modules()
        if (isinstance(m, norm_types) or "BatchNorm" in type(m).__name__)
        and getattr(m, "track_running_stats", True) is not False  # no statistics to update
    ]
    return {
        "format": 1,
        "library": spec["library"],
        "name": spec["name"],
        "version": metadata.version(DISTRIBUTIONS[spec["library"]]),
        "kwargs": dict(spec["kwargs"]),
        "params": params,
        "modules": [list(m) for m in modules],
        "norms": norms,
        "classifier": classifier_path(spec["library"], model),
        "classes": classes,
    }


def main() -> None:
    specs = json.loads(sys.stdin.read() or "[]")
    _sandbox()
    results = []
    for spec in specs:
        try:
            results.append({"table": table(spec)})
        except Exception as error:  # one bad spec must not lose the others
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
