"""The run-time checks behind `freezelint.audit`: what the live objects hold, read once.

Imported only when `audit` is called (it imports torch). Each check mirrors a static rule and
words its finding the same way, with the counts of the real tensors: FRZ001, FRZ002, FRZ006,
FRZ007, FRZ009, FRZ010, FRZ011, FRZ014, FRZ017 and FRZ019.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from freezelint.runtime.findings import AuditFinding
from freezelint.script import recognize

# Wrappers whose parameter names gain a prefix (`module.`), and the attribute users write.
_PREFIXING = ("DataParallel", "DistributedDataParallel")


@dataclass
class Tree:
    """Every parameter of the audited models, named as the user writes them."""

    names: dict[int, str] = field(default_factory=dict)  # id(param) -> "model.fc.weight"
    params: dict[int, nn.Parameter] = field(default_factory=dict)
    roots: list[tuple[str, nn.Module]] = field(default_factory=list)  # (spelling, unwrapped)
    # id(param) -> (root index, *name parts): where it is, for grouping by module.
    params_path: dict[int, tuple] = field(default_factory=dict)

    @classmethod
    def of(cls, models: list[Any]) -> Tree:
        tree = cls()
        for index, model in enumerate(models):
            spelling = "model" if len(models) == 1 else f"models[{index}]"
            module = model
            while True:
                kind = type(module).__name__
                if kind in _PREFIXING and isinstance(getattr(module, "module", None), nn.Module):
                    spelling, module = f"{spelling}.module", module.module
                elif kind == "OptimizedModule" and hasattr(module, "_orig_mod"):
                    module = module._orig_mod  # torch.compile: attributes read through
                else:
                    break
            tree.roots.append((spelling, module))
            for name, param in module.named_parameters():
                tree.names.setdefault(id(param), f"{spelling}{_path_text(name)}")
                tree.params.setdefault(id(param), param)
                tree.params_path.setdefault(id(param), (index, *name.split(".")))
        return tree

    def modules_text(self, idents: list[int], limit: int = 3) -> tuple[str, tuple[str, ...]]:
        """`model.conv_stem`, `model.blocks`, 2 more: the deepest module holding them all
        (`model.net.layer1` inside a wrapper), else the root's children that hold them."""
        paths = [self.params_path[i] for i in idents if i in self.params_path]
        modules = [path[:-1] for path in paths]
        if not modules:
            return "", ()
        common = 0
        while all(len(m) > common and m[common] == modules[0][common] for m in modules):
            common += 1
        tops: dict[str, None] = {}
        for root, *parts in modules:
            spelling = self.roots[root][0]
            tops[spelling + _path_text(".".join(parts[: max(common - 1, 1)]))] = None
        shown = [f"`{t}`" for t in list(tops)[:limit]]
        if len(tops) > limit:
            shown.append(f"{len(tops) - limit} more")
        return ", ".join(shown), tuple(tops)


def _path_text(name: str) -> str:
    """`blocks.0.conv` -> `.blocks[0].conv` (to follow the root's spelling); `` -> ``."""
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in name.split(".") if p)


def _unwrap_optimizer(optimizer: Any) -> Any:
    """Lightning hands `LightningOptimizer`s: the torch optimizer is inside."""
    return getattr(optimizer, "_optimizer", optimizer)


def _held(optimizer: Any) -> list[nn.Parameter]:
    seen: dict[int, nn.Parameter] = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            seen.setdefault(id(p), p)
    return list(seen.values())


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _elements(params: list[nn.Parameter]) -> int:
    return sum(p.numel() for p in params)


def _finding(code: str, message: str, modules: tuple[str, ...] = ()) -> AuditFinding:
    from freezelint.rules import RULES

    rule = RULES[code]
    return AuditFinding(code, rule.name, rule.severity, message, modules)


def run_checks(
    models: list[Any], optimizers: list[Any], schedulers: list[Any]
) -> list[AuditFinding]:
    tree = Tree.of(models)
    optimizers = [_unwrap_optimizer(o) for o in optimizers]
    labels = [
        f"the optimizer ({type(o).__name__})"
        if len(optimizers) == 1
        else f"optimizer #{i + 1} ({type(o).__name__})"
        for i, o in enumerate(optimizers)
    ]
    findings: list[AuditFinding] = []
    findings += _optimizer_checks(tree, optimizers, labels)
    findings += _norm_checks(tree)
    findings += _size_checks(tree)
    findings += _scheduler_checks(optimizers, labels, schedulers)
    return findings


def _optimizer_checks(
    tree: Tree, optimizers: list[Any], labels: list[str]
) -> Iterator[AuditFinding]:
    helds = [_held(optimizer) for optimizer in optimizers]
    holders: dict[int, list[int]] = {}
    for index, held in enumerate(helds):
        for p in held:
            holders.setdefault(id(p), []).append(index)
    stale_total = sum(1 for i in holders if i not in tree.names)
    outside = [i for i, p in tree.params.items() if p.requires_grad and i not in holders]
    for optimizer, label, held in zip(optimizers, labels, helds, strict=True):
        inside = [p for p in held if id(p) in tree.names]
        stale = [p for p in held if id(p) not in tree.names]
        frozen = [p for p in inside if not p.requires_grad]
        trainable = [p for p in inside if p.requires_grad]
        # Trainable tensors of a module replaced since, with the new module's in no optimizer:
        # FRZ002 tells that mistake (as the static rules do: FRZ011 beside FRZ002 only where
        # the old tensors were frozen).
        explained = outside and any(p.requires_grad for p in stale)
        if not trainable and not explained:
            parts = [f"{len(frozen)} frozen"] if frozen else []
            if stale:
                parts.append(f"{len(stale)} of a module replaced since")
            what = (
                f"{_count(len(held), 'tensor')}, none trainable ({', '.join(parts)})"
                if held
                else "nothing"
            )
            text, modules = tree.modules_text([id(p) for p in frozen])
            where = f" ({text})" if text else ""
            yield _finding("FRZ011", f"{label} holds {what}{where}: it updates nothing", modules)
        elif frozen:
            text, modules = tree.modules_text([id(p) for p in frozen])
            yield _finding(
                "FRZ001",
                f"{len(frozen)} of {len(held)} tensors ({_elements(frozen):,} of "
                f"{_elements(held):,} elements) handed to {label} are frozen ({text}); hand it "
                f"only parameters with `requires_grad` (or unfreeze them later, as progressive "
                f"unfreezing does)",
                modules,
            )
        for number, group in enumerate(optimizer.param_groups):
            # The lr it was given: a scheduler keeps it as `initial_lr` and may start the
            # group at 0 on purpose (a warm-up).
            if group.get("initial_lr", group.get("lr")) == 0 and group["params"]:
                ids = [id(p) for p in group["params"]]
                text, modules = tree.modules_text(ids)
                yield _finding(
                    "FRZ010",
                    f"param group {number} of {label} has lr 0 "
                    f"({_count(len(ids), 'tensor')}, {text}): they still get gradients and "
                    f"optimizer state; freeze them instead",
                    modules,
                )
    if not optimizers:
        return
    if outside:
        text, modules = tree.modules_text(outside)
        if stale_total:
            yield _finding(
                "FRZ002",
                f"the optimizers hold {_count(stale_total, 'tensor')} the model no longer has "
                f"while {_count(len(outside), 'trainable tensor')} of it ({text}) are in none: a "
                f"module was replaced after the optimizer was built; build the optimizer after the "
                f"replacement",
                modules,
            )
        else:
            yield _finding(
                "FRZ006",
                f"{_count(len(outside), 'trainable tensor')} ({text}) are in no param group of the "
                f"optimizers given: gradients are computed but never applied; freeze them or "
                f"add a param group",
                modules,
            )
    shared = [i for i, owners in holders.items() if len(set(owners)) > 1]
    if shared:
        owners = sorted({o for i in shared for o in holders[i]})
        text, modules = tree.modules_text(shared)
        yield _finding(
            "FRZ007",
            f"{_count(len(shared), 'tensor')} ({text}) are in "
            f"{' and '.join(labels[o] for o in owners)}: each step updates them more than once",
            modules,
        )


def _norm_checks(tree: Tree) -> Iterator[AuditFinding]:
    for spelling, root in tree.roots:
        if not root.training:
            continue
        drifting = [
            spelling + _path_text(name)
            for name, module in root.named_modules()
            if isinstance(module, _BatchNorm)
            and module.training
            and module.track_running_stats
            and any(True for _ in module.parameters(recurse=False))
            and not any(p.requires_grad for p in module.parameters(recurse=False))
        ]
        if drifting:
            shown = ", ".join(f"`{n}`" for n in drifting[:3])
            more = f", {len(drifting) - 3} more" if len(drifting) > 3 else ""
            yield _finding(
                "FRZ009",
                f"{len(drifting)} BatchNorm layers with all parameters frozen are in training "
                f"mode ({shown}{more}): their running statistics change with every batch; put "
                f"them in eval mode after `model.train()`",
                tuple(drifting),
            )


def _size_checks(tree: Tree) -> Iterator[AuditFinding]:
    for spelling, root in tree.roots:
        yield from _classes_checks(spelling, root)
        for name, module in root.named_modules():
            said = _said_shape(module)
            if said is None:
                continue
            real = tuple(module.weight.shape[:2])
            if said != real:
                where = spelling + _path_text(name)
                attrs = (
                    ("out_features", "in_features")
                    if isinstance(module, nn.Linear)
                    else ("out_channels", "in_channels")
                )
                wrong = ", ".join(
                    f"{attr}={value}"
                    for attr, value, actual in zip(attrs, said, real, strict=True)
                    if value != actual
                )
                yield _finding(
                    "FRZ014",
                    f"`{where}` says {wrong} but its weight is "
                    f"{' x '.join(str(n) for n in module.weight.shape)}: the layer still computes "
                    f"{real[0]} outputs; replace the layer instead of setting the attribute",
                    (where,),
                )


def _classes_checks(spelling: str, root: nn.Module) -> Iterator[AuditFinding]:
    """`model.num_classes = n` on a timm model: the attribute changes, its classifier does not.
    Only where the classifier still has the size the model's pretrained configuration gives
    and the attribute says another: a classifier replaced by hand (`model.fc = nn.Linear(512,
    5)`) leaves the attribute behind, which is harmless."""
    for name, module in root.named_modules():
        said = getattr(module, "num_classes", None)
        getter = getattr(module, "get_classifier", None)
        config = getattr(module, "pretrained_cfg", None)
        if type(said) is not int or said <= 0 or not callable(getter):
            continue
        if not isinstance(config, dict) or type(config.get("num_classes")) is not int:
            continue
        try:
            head = getter()
        except Exception:  # a model whose classifier cannot be named this way
            continue
        if not isinstance(head, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            continue
        real = head.weight.shape[0]
        if real == said or real != config["num_classes"]:
            continue
        where = spelling + _path_text(name)
        inner = next((n for n, m in module.named_modules() if m is head), "")
        layer = where + _path_text(inner)
        yield _finding(
            "FRZ014",
            f"`{where}` says num_classes={said} but its classifier `{layer}` is "
            f"{' x '.join(str(n) for n in head.weight.shape)}: the model still computes {real} "
            f"outputs; resize it with `reset_classifier({said})` instead of setting the attribute",
            (where,),
        )


def _said_shape(module: nn.Module) -> tuple[int, int] | None:
    """What a layer's size attributes say its weight's first two dimensions are."""
    weight = getattr(module, "weight", None)
    if not isinstance(weight, torch.Tensor) or weight.dim() < 2:
        return None
    if isinstance(module, nn.Linear):
        return module.out_features, module.in_features
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return module.out_channels, module.in_channels // module.groups
    return None


def _scheduler_checks(
    optimizers: list[Any], labels: list[str], schedulers: list[Any]
) -> Iterator[AuditFinding]:
    given = {id(o): label for o, label in zip(optimizers, labels, strict=True)}
    for scheduler in schedulers:
        scheduler = getattr(scheduler, "scheduler", scheduler)  # Lightning's config
        cls = type(scheduler).__name__
        optimizer = _unwrap_optimizer(getattr(scheduler, "optimizer", None))
        if optimizer is None:
            continue
        if optimizers and id(optimizer) not in given:
            yield _finding(
                "FRZ019",
                f"the scheduler ({cls}) drives an optimizer ({type(optimizer).__name__}) that "
                f"is not among those given: the optimizer that trains keeps its learning rate; "
                f"build the scheduler again on it",
            )
            continue
        label = given.get(id(optimizer), f"its optimizer ({type(optimizer).__name__})")
        groups = len(optimizer.param_groups)
        covered = _covered(scheduler, optimizer)
        if covered is None or covered >= groups:
            continue
        if cls in recognize.SCHEDULERS_RAISING:
            yield _finding(
                "FRZ017",
                f"the scheduler ({cls}) covers {covered} of the {groups} param groups of "
                f"{label}: its next `step()` raises; build the scheduler again after "
                f"`add_param_group`",
            )
        elif cls in recognize.SCHEDULERS_MISSCALING:
            yield _finding(
                "FRZ017",
                f"the scheduler ({cls}) covers {covered} of the {groups} param groups of "
                f"{label}: the groups added since are not warmed up as the first are and end "
                f"above their lr; build the scheduler again after `add_param_group`",
            )


def _covered(scheduler: Any, optimizer: Any) -> int | None:
    """How many param groups the scheduler's state covers (None: it keeps none per group)."""
    if type(scheduler).__name__ == "SequentialLR":
        inner = [_covered(s, optimizer) for s in getattr(scheduler, "_schedulers", ())]
        known = [n for n in inner if n is not None]
        return min(known) if known else None
    if type(scheduler).__name__ == "OneCycleLR":
        return sum(1 for g in optimizer.param_groups if "initial_lr" in g and "max_lr" in g)
    base = getattr(scheduler, "base_lrs", None)
    return len(base) if isinstance(base, list) else None
