"""The runtime oracle: run training scripts for real and report what happened to their
parameters. Test-only code (freezelint itself never runs a script).

`python -m tests.oracle SCRIPT...` runs each script (fresh module namespace, one process for
all, so torch is imported once) with the model loaders patched to build the architecture
without weights (timm `pretrained=False`, torchvision `weights=None`, efficientnet-pytorch
`from_name`), records every model and optimizer it creates, snapshots the parameters at the
first optimizer step, and prints one JSON object per script:

- `error`: the exception the script raised, if any;
- `frozen`: how many tensors are frozen at the end;
- `empty_groups`: param groups that hold no tensor (a name filter that matched nothing);
- `trainable_outside`: trainable tensors (at the end) in no optimizer;
- `frozen_inside`: frozen tensors (at the end) held by an optimizer;
- `untrainable_optimizers`: optimizers holding no trainable tensor at the end (only frozen
  ones, or the tensors of a module replaced since);
- `frozen_changed`: tensors frozen at the first step and at the end whose values changed;
- `trainable_unchanged`: tensors in an optimizer that had a gradient at the first step and
  never changed;
- `frozen_bn_training`: BatchNorm layers with all parameters frozen left in training mode;
- `lr_moved`: per optimizer, whether a scheduler moved its learning rates;
- `outputs`: the last dimension of each recorded model's last output (its classes);
- `split_modules`: modules (other than a model itself and plain containers: `nn.Sequential`,
  `nn.ModuleList`, `nn.ModuleDict` and their subclasses) with some tensors frozen and others
  trainable, at the first step (at the end when nothing steps), as `model index:path`;
- `frozen_bn_drifted`: BatchNorm layers with all parameters frozen at the first step and at the
  end whose running statistics changed after the first step (trained in train mode, even if the
  script ends in eval mode).
"""

from __future__ import annotations

import contextlib
import json
import runpy
import sys
import traceback
from typing import Any

STATE: dict[str, Any] = {
    "models": [],
    "optimizers": [],
    "snapshot": None,
    "norms": {},
    "outputs": {},
    "lrs": [],
}


def _record(model: Any) -> Any:
    STATE["models"].append(model)
    index = len(STATE["models"]) - 1

    def seen(module: Any, args: Any, output: Any) -> None:
        shape = getattr(output, "shape", None)
        if shape:
            STATE["outputs"][index] = int(shape[-1])

    model.register_forward_hook(seen)
    return model


def patch() -> None:
    """Patch the loaders and torch.optim once per process; `run` resets what they record."""
    import efficientnet_pytorch
    import timm
    import torch
    import torchvision

    create = timm.create_model

    def create_model(name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["pretrained"] = False
        kwargs.pop("checkpoint_path", None)
        return _record(create(name, *args, **kwargs))

    timm.create_model = create_model
    timm.models.create_model = create_model
    for name in torchvision.models.list_models():
        builder = getattr(torchvision.models, name, None)
        if builder is None:
            continue

        def patched(*args: Any, _builder: Any = builder, **kwargs: Any) -> Any:
            kwargs["weights"] = None
            kwargs.pop("pretrained", None)
            return _record(_builder(*args, **kwargs))

        setattr(torchvision.models, name, patched)
    get_model = torchvision.models.get_model

    def patched_get_model(name: str, **kwargs: Any) -> Any:
        kwargs["weights"] = None
        return _record(get_model(name, **kwargs))

    torchvision.models.get_model = patched_get_model
    net = efficientnet_pytorch.EfficientNet

    def from_pretrained(
        cls: Any,
        model_name: str,
        weights_path: Any = None,
        advprop: bool = False,
        in_channels: int = 3,
        num_classes: int = 1000,
        **override: Any,
    ) -> Any:
        return _record(
            net.from_name(model_name, in_channels=in_channels, num_classes=num_classes, **override)
        )

    net.from_pretrained = classmethod(from_pretrained)
    init = torch.optim.Optimizer.__init__

    def optimizer_init(self: Any, params: Any, defaults: Any) -> None:
        init(self, params, defaults)
        STATE["optimizers"].append(self)
        STATE["lrs"].append([group.get("lr") for group in self.param_groups])

    torch.optim.Optimizer.__init__ = optimizer_init

    def before_step(optimizer: Any, args: Any, kwargs: Any) -> None:
        if STATE["snapshot"] is None:
            STATE["snapshot"] = {
                id(p): (p.detach().clone(), p.requires_grad, p.grad is not None)
                for model in STATE["models"]
                for p in model.parameters()
            }
            STATE["norms"] = {
                id(m): m.running_mean.detach().clone()
                for m in _frozen_norms(STATE["models"])
                if m.running_mean is not None
            }

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    register_optimizer_step_pre_hook(before_step)


def _frozen_norms(models: list[Any]) -> list[Any]:
    """BatchNorm layers whose own parameters are all frozen."""
    import torch

    out = []
    for model in models:
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                own = list(module.parameters(recurse=False))
                if own and not any(p.requires_grad for p in own):
                    out.append(module)
    return out


def _split_modules(models: list[Any], snapshot: dict[int, Any]) -> list[str]:
    """Modules that are not containers whose tensors are partly frozen (see the docstring)."""
    import torch

    containers = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
    out = []
    for index, model in enumerate(models):
        for path, module in model.named_modules():
            if not path or isinstance(module, containers):
                continue
            trainable = {
                snapshot[id(p)][1] if id(p) in snapshot else p.requires_grad
                for p in module.parameters()
            }
            if trainable == {True, False}:
                out.append(f"{index}:{path}")
    return out


def run(script: str) -> dict[str, Any]:
    import torch

    torch.manual_seed(0)
    STATE.update(models=[], optimizers=[], snapshot=None, norms={}, outputs={}, lrs=[])
    error = None
    try:
        with contextlib.redirect_stdout(sys.stderr):  # stdout carries the report only
            runpy.run_path(script, run_name="__main__")
    except SystemExit:
        pass
    except Exception as exc:  # the symptom we look for, reported rather than raised
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    models, optimizers = STATE["models"], STATE["optimizers"]
    held = {id(p) for opt in optimizers for group in opt.param_groups for p in group["params"]}
    params = {id(p): p for model in models for p in model.parameters()}
    snapshot = STATE["snapshot"] or {}
    report = {
        "error": error,
        "models": len(models),
        "optimizers": len(optimizers),
        "stepped": bool(snapshot),
        "frozen": sum(not p.requires_grad for p in params.values()),
        "empty_groups": sum(not g["params"] for opt in optimizers for g in opt.param_groups),
        "trainable_outside": sum(p.requires_grad and i not in held for i, p in params.items()),
        "frozen_inside": sum(not p.requires_grad and i in held for i, p in params.items()),
        "untrainable_optimizers": sum(
            not any(p.requires_grad for group in opt.param_groups for p in group["params"])
            for opt in optimizers
        ),
        "frozen_changed": 0,
        "trainable_unchanged": 0,
        "frozen_bn_training": 0,
        # The size of the last output of each model the script built (its classes, for a
        # classifier), in the order built: what a resized head really gives.
        "outputs": [STATE["outputs"].get(i) for i in range(len(models))],
        # Per optimizer built, whether its groups' learning rates moved from what they were
        # built with (a scheduler drives it).
        "lr_moved": [
            [g.get("lr") for g in opt.param_groups][: len(first)] != first
            for opt, first in zip(optimizers, STATE["lrs"], strict=True)
        ],
    }
    for ident, (before, was_trainable, had_grad) in snapshot.items():
        p = params.get(ident)
        if p is None:
            continue
        same = torch.equal(before, p.detach())
        if not was_trainable and not p.requires_grad and not same:  # frozen throughout
            report["frozen_changed"] += 1
        if was_trainable and had_grad and ident in held and same:
            report["trainable_unchanged"] += 1
    report["split_modules"] = _split_modules(models, snapshot)
    norms = STATE["norms"]
    report["frozen_bn_drifted"] = 0
    for module in _frozen_norms(models):
        report["frozen_bn_training"] += module.training
        before_stats = norms.get(id(module))
        if before_stats is not None and not torch.equal(before_stats, module.running_mean):
            report["frozen_bn_drifted"] += 1
    return report


def main() -> None:
    patch()
    print(json.dumps({script: run(script) for script in sys.argv[1:]}))


if __name__ == "__main__":
    main()
