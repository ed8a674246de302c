"""The runtime oracle: run training scripts for real and report what happened to their
parameters. Test-only code (freezelint itself never runs a script).

`python -m tests.oracle SCRIPT...` runs each script (fresh module namespace, one process for
all, so torch is imported once) with the model loaders patched to build the architecture
without weights (timm `pretrained=False`, torchvision `weights=None`, efficientnet-pytorch
`from_name`), records every model, optimizer and LR scheduler it creates, snapshots the
parameters at the first optimizer step, and prints one JSON object per script:

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
  script ends in eval mode);
- `audit`: the sorted distinct codes `freezelint.audit(models, *optimizers,
  schedulers=schedulers)` finds at the first optimizer step (the state training uses), or as the
  script ends when it never steps; None when it built no model. The models are the outermost
  modules holding the recorded ones (the user's wrapper, the LightningModule); at the step, only
  the models, optimizers and schedulers the script still holds (one it dropped, like an
  optimizer bound anew, is not handed over).

`python -m tests.oracle --audit-only SCRIPT...` reports only `error`, `models`, `optimizers`,
`stepped`, `audit` and `meta`, fast: each script runs on the meta device (no arithmetic; a few
slow meta kernels replaced by shape-only ones) and stops at its first optimizer step, once
audited. A script the meta device cannot carry (it moves the model to the CPU, as Lightning
does) runs again for real (`meta` false), stopping there too. On the fixtures, the `audit` it
gives is the one the full run gives.
"""

from __future__ import annotations

import contextlib
import json
import re
import runpy
import sys
import traceback
import weakref
from typing import Any

STATE: dict[str, Any] = {
    "models": [],
    "optimizers": [],
    "schedulers": [],
    "parents": {},
    "audit": None,
    "stop": False,
    "snapshot": None,
    "norms": {},
    "outputs": {},
    "lrs": [],
}


class StopScript(BaseException):
    """Ends a script at its first optimizer step (`--audit-only`); a BaseException, so that the
    script's own `except Exception` does not catch it."""


def _record(model: Any) -> Any:
    STATE["models"].append(model)
    index = len(STATE["models"]) - 1

    def seen(module: Any, args: Any, output: Any) -> None:
        shape = getattr(output, "shape", None)
        if shape:
            STATE["outputs"][index] = int(shape[-1])

    model.register_forward_hook(seen)
    OURS.add(seen)
    return model


# The forward hooks `_record` adds: a deep copy of a recorded model carries them, and drops them.
OURS: set[Any] = set()


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
            # `resnet18(weights_enum)` / `resnet18(True)`: the weights (or the old `pretrained`)
            # by position, then `progress`; neither shapes the model.
            kwargs["weights"] = None
            kwargs.pop("pretrained", None)
            return _record(_builder(**kwargs))

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
    import copy

    deepcopy = copy.deepcopy

    def recorded_deepcopy(x: Any, memo: Any = None, _nil: Any = None) -> Any:
        # `copy.deepcopy(model)` of a recorded model: a model of its own (same requires_grad).
        out = deepcopy(x, memo)
        if memo is None and any(x is m for m in STATE["models"]):
            for module in out.modules():
                for key, hook in list(module._forward_hooks.items()):
                    if hook in OURS:
                        del module._forward_hooks[key]
            _record(out)
        return out

    copy.deepcopy = recorded_deepcopy
    from torch.optim import lr_scheduler

    for cls in (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau):

        def scheduler_init(self: Any, *args: Any, _init: Any = cls.__init__, **kwargs: Any) -> None:
            _init(self, *args, **kwargs)
            if not any(s is self for s in STATE["schedulers"]):
                STATE["schedulers"].append(self)

        cls.__init__ = scheduler_init

    def registered(parent: Any, name: str, child: Any) -> None:
        if child is not None:  # weakly: a module the script drops is gone for `_live`
            STATE["parents"].setdefault(id(child), []).append(weakref.ref(parent))

    from torch.nn.modules.module import register_module_module_registration_hook

    register_module_module_registration_hook(registered)

    def before_step(optimizer: Any, args: Any, kwargs: Any) -> None:
        if STATE["snapshot"] is None:
            if not STATE["models"]:
                # No library's model built: the networks the script defines itself (its own
                # copy of a zoo's ResNet), the outermost modules holding others.
                for root in _outermost_modules():
                    _record(root)
            STATE["audit"] = _audit(running=True)
            if STATE["stop"]:
                STATE["snapshot"] = {}
                raise StopScript
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


def _outermost_modules() -> list[Any]:
    """The modules alive of a class the script defines that hold submodules and are held by
    none (still holding them)."""
    parents = STATE["parents"]
    found: dict[int, Any] = {}
    for refs in list(parents.values()):
        for parent in (ref() for ref in refs):
            if parent is None or type(parent).__module__ != "__main__":
                continue
            if not any(
                holder is not None and any(c is parent for c in holder._modules.values())
                for holder in (ref() for ref in parents.get(id(parent), ()))
            ):
                found.setdefault(id(parent), parent)
    return list(found.values())


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


def _roots(models: list[Any]) -> list[Any]:
    """The outermost modules holding the recorded models (a user's wrapper, a LightningModule,
    DataParallel), each once: the model the script trains, whose other parameters (a head beside
    the backbone) the optimizers hold too."""
    parents = STATE["parents"]
    roots: dict[int, Any] = {}
    todo, seen = list(models), set()
    while todo:
        module = todo.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        holders = [
            parent
            for parent in (ref() for ref in parents.get(id(module), ()))
            if parent is not None and any(child is module for child in parent._modules.values())
        ]
        if not holders and any(module is m for m in models):
            # A recorded model whose own modules were moved into another one
            # (`nn.Sequential(*list(backbone.children())[:-1])`): that other one is trained.
            holders = _moved_into(module)
        if holders:
            todo += holders
        else:
            roots.setdefault(id(module), module)
    return list(roots.values())


def _holders_elsewhere(child: Any, model: Any) -> list[Any]:
    """The modules other than `model` that hold `child` as a direct submodule."""
    return [
        parent
        for parent in (ref() for ref in STATE["parents"].get(id(child), ()))
        if parent is not None
        and parent is not model
        and any(c is child for c in parent._modules.values())
    ]


def _moved_into(model: Any) -> list[Any]:
    """The modules (other than `model`) that now hold some of `model`'s own children."""
    return [
        parent
        for child in model._modules.values()
        if child is not None
        for parent in _holders_elsewhere(child, model)
    ]


def _left_behind(models: list[Any]) -> set[int]:
    """Tensors of a model that no module holds and whose other children were moved into another
    module (`nn.Sequential(*list(backbone.children())[:-1])`): the children left behind (the
    head) are in nothing the script trains."""
    parents = STATE["parents"]
    out: set[int] = set()
    for model in models:
        # (held by a module that still holds it: `self.backbone = nn.Sequential(*list(
        # self.backbone.children())[:-1])` drops the backbone its wrapper held)
        held = any(
            parent is not None and any(c is model for c in parent._modules.values())
            for parent in (ref() for ref in parents.get(id(model), ()))
        )
        if held or not _moved_into(model):
            continue
        for child in model._modules.values():
            if child is not None and not _holders_elsewhere(child, model):
                out.update(id(p) for p in child.parameters())
    return out


def _live(recorded: list[Any]) -> list[Any]:
    """What the running script still holds of what was recorded: a model, optimizer or
    scheduler it dropped (`optimizer = SGD(...)` bound anew) is referenced by the record
    alone."""
    # References to each: the record's list, `obj` here, getrefcount's argument.
    return [obj for obj in recorded if sys.getrefcount(obj) > 3]


def _audit(running: bool) -> list[str] | None:
    """The codes `freezelint.audit` finds on the models (as the script holds them), with the
    optimizers and schedulers built so far; None before any model is built. While the script
    runs, only what it still holds; once it has ended (its functions' locals are gone by then),
    everything it built."""
    from freezelint import audit

    if not STATE["models"]:
        return None
    held = _live if running else list
    models = held(STATE["models"])
    # A model the script dropped after moving its modules into one of its own still trains
    # through that one.
    models += [m for m in STATE["models"] if not any(m is k for k in models) and _moved_into(m)]
    found = audit(
        _roots(models),
        *held(STATE["optimizers"]),
        schedulers=held(STATE["schedulers"]),
    )
    return sorted({f.code for f in found})


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


def _execute(script: str, meta: bool, stop: bool) -> str | None:
    """Run the script in a fresh namespace (on the meta device with `meta`, until its first
    optimizer step with `stop`); the exception it raised, if any."""
    import torch

    torch.manual_seed(0)
    STATE.update(
        models=[],
        optimizers=[],
        schedulers=[],
        parents={},
        audit=None,
        stop=stop,
        snapshot=None,
        norms={},
        outputs={},
        lrs=[],
    )
    device = contextlib.ExitStack()
    if meta:
        from freezelint.model.worker import _host_side_config

        device.enter_context(torch.device("meta"))
        device.enter_context(_host_side_config())
    error = None
    argv = sys.argv
    sys.argv = [script]  # run as `python script.py`: argparse sees no arguments (the defaults)
    try:
        with device, contextlib.redirect_stdout(sys.stderr):  # stdout carries the report only
            runpy.run_path(script, run_name="__main__")
    except (SystemExit, StopScript):
        pass
    except Exception as exc:  # the symptom we look for, reported rather than raised
        error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    finally:
        sys.argv = argv
    if STATE["snapshot"] is None:  # it never stepped: the audit as it ends
        STATE["audit"] = _audit(running=False)
    return error


def run(script: str) -> dict[str, Any]:
    import torch

    error = _execute(script, meta=False, stop=False)
    models, optimizers = STATE["models"], STATE["optimizers"]
    held = {id(p) for opt in optimizers for group in opt.param_groups for p in group["params"]}
    left = _left_behind(models)
    params = {id(p): p for model in models for p in model.parameters() if id(p) not in left}
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
    report["audit"] = STATE["audit"]
    return report


_SHAPES_ONLY: list[Any] = []  # the library holding the kernels below, registered once


def _shapes_only_kernels() -> None:
    """On the meta device, a few ops run torch's Python decompositions, dozens of steps each:
    BatchNorm's forward and backward (most of a meta training step) and `normal_` (most of a
    model's initialisation). Their meta kernels here give the same shapes at once; the meta
    device computes no values anyway."""
    import torch

    if _SHAPES_ONLY:
        return
    library = torch.library.Library("aten", "IMPL")

    def norm_forward(x: Any, *args: Any) -> Any:
        channels = (x.shape[1],)
        return torch.empty_like(x), x.new_empty(channels), x.new_empty(channels)

    def norm_backward(grad: Any, x: Any, *args: Any) -> Any:
        mask, channels = args[-1], (x.shape[1],)
        return (
            torch.empty_like(x) if mask[0] else None,
            x.new_empty(channels) if mask[1] else None,
            x.new_empty(channels) if mask[2] else None,
        )

    def normal(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor

    library.impl("native_batch_norm", norm_forward, "Meta")
    library.impl("native_batch_norm_backward", norm_backward, "Meta")
    library.impl("normal_", normal, "Meta")
    _SHAPES_ONLY.append(library)


def run_audit_only(script: str) -> dict[str, Any]:
    """Only what `audit` needs, fast: the script runs on the meta device (no arithmetic) and
    stops at its first optimizer step, once audited. A script the meta device cannot carry (it
    reads a value back, moves the model to the CPU) runs again for real, stopping there too."""
    _shapes_only_kernels()
    meta = True
    error = _execute(script, meta=True, stop=True)
    if error and re.search(r"\bmeta\b", error, re.IGNORECASE):
        meta = False
        error = _execute(script, meta=False, stop=True)
    return {
        "error": error,
        "models": len(STATE["models"]),
        "optimizers": len(STATE["optimizers"]),
        "stepped": STATE["snapshot"] is not None,
        "meta": meta,
        "audit": STATE["audit"],
    }


def main() -> None:
    patch()
    args = sys.argv[1:]
    runner = run_audit_only if "--audit-only" in args else run
    scripts = [a for a in args if a != "--audit-only"]
    print(json.dumps({script: runner(script) for script in scripts}))


if __name__ == "__main__":
    main()
