"""What a qualified call name means for freezing: model constructors per library, optimizers,
wrappers that rename parameters, parameter-free layers, and the timm freeze helpers.

Pure tables and string tests, no libcst: the extractor asks, this module answers.
"""

from __future__ import annotations

import re

from freezelint.script.layers import PARAM_FREE
from freezelint.script.source import OPTIMIZER_WORDS

# torch.nn layers that own no parameters (replacing a head with one removes parameters): the
# list verification uses, checked against torch by its tests.
PARAM_FREE_LAYERS = PARAM_FREE
# The libraries whose model constructors freezelint recognises (and the verifier builds).
LIBRARY_MODELS = ("timm", "torchvision", "efficientnet_pytorch")

WRAPPERS = {
    "torch.nn.DataParallel": "DataParallel",
    "torch.nn.parallel.DataParallel": "DataParallel",
    "torch.nn.parallel.DistributedDataParallel": "DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel": "DistributedDataParallel",
    "torch.compile": "compile",
}
# The attribute through which each wrapper exposes the wrapped module (and its name prefix).
WRAPPER_ATTRIBUTE = {
    "DataParallel": "module",
    "DistributedDataParallel": "module",
    "compile": "_orig_mod",
}

# Module methods that return the module itself.
SELF_RETURNING = frozenset(
    {
        "to",
        "cuda",
        "cpu",
        "float",
        "half",
        "double",
        "bfloat16",
        "train",
        "eval",
        "requires_grad_",
        "apply",
        "share_memory",
        "to_empty",
        "type",
        "xpu",
        "mps",
    }
)

# A word of `OPTIMIZER_WORDS` that ends the name or a part of it (`AdamW`, `FusedLAMB`,
# `Optimizer`; not `LambdaLayer` or `Lionel`).
_OPTIMIZER_WORD = re.compile(r"(?i:" + "|".join(OPTIMIZER_WORDS) + r")(?:i[sz]ers?)?(?![a-z])")

# Schedulers that set a group's lr from their own arguments rather than scaling the initial one.
LR_SETTING_SCHEDULERS = frozenset({"OneCycleLR", "CyclicLR"})

# `torch.optim.lr_scheduler` classes by what `optimizer.add_param_group(...)` after them does at
# the next `scheduler.step()` (measured with torch 2.14; tests/test_schedulers.py measures again
# with the installed torch): raise (a list of one value per original group zipped against the
# groups, or `initial_lr`/`max_lr` missing from the new group); run, but leave the new group's
# lr multiplied at the end of a warm-up it was never scaled down for; run on.
SCHEDULERS_RAISING = frozenset(
    {
        "LambdaLR",
        "MultiplicativeLR",
        "OneCycleLR",
        "CyclicLR",
        "CosineAnnealingWarmRestarts",
        "SequentialLR",
    }
)
# (the argument, its default): the new group's lr ends multiplied by 1 / that factor.
SCHEDULERS_MISSCALING = {"LinearLR": ("start_factor", 1 / 3), "ConstantLR": ("factor", 1 / 3)}
SCHEDULERS_COPING = frozenset(
    {
        "StepLR",
        "MultiStepLR",
        "ExponentialLR",
        "CosineAnnealingLR",
        "PolynomialLR",
        "ReduceLROnPlateau",
    }
)
_SCHEDULER_MODULES = ("torch.optim.lr_scheduler.", "torch.optim.")
_SCHEDULERS = SCHEDULERS_RAISING | SCHEDULERS_COPING | frozenset(SCHEDULERS_MISSCALING)


def torch_scheduler(qualname: str) -> str | None:
    """`LambdaLR` for `torch.optim.lr_scheduler.LambdaLR`, else None."""
    for prefix in _SCHEDULER_MODULES:
        if qualname.startswith(prefix):
            name = qualname[len(prefix) :]
            if name in _SCHEDULERS:
                return name
    return None


TIMM_OPTIMIZER_FACTORIES = frozenset(
    {
        "timm.optim.create_optimizer_v2",
        "timm.optim.create_optimizer",
        "timm.optim.optim_factory.create_optimizer_v2",
        "timm.optim.optim_factory.create_optimizer",
    }
)
TIMM_FREEZE = {
    "timm.utils.freeze": False,
    "timm.utils.model.freeze": False,
    "timm.utils.unfreeze": True,
    "timm.utils.model.unfreeze": True,
}

_TORCHVISION_NOT_BUILDERS = frozenset(
    {"get_model_weights", "get_weight", "list_models", "get_model_builder"}
)


def model_library(qualname: str) -> str | None:
    """The library whose model constructor `qualname` is, or None."""
    if qualname in (
        "efficientnet_pytorch.EfficientNet.from_pretrained",
        "efficientnet_pytorch.EfficientNet.from_name",
        "efficientnet_pytorch.model.EfficientNet.from_pretrained",
        "efficientnet_pytorch.model.EfficientNet.from_name",
    ):
        return "efficientnet_pytorch"
    if qualname in (
        "timm.create_model",
        "timm.models.create_model",
        "timm.models._factory.create_model",
    ):
        return "timm"
    if qualname.startswith("torchvision.models."):
        last = qualname.rsplit(".", 1)[-1]
        if last.islower() and not last.startswith("_") and last not in _TORCHVISION_NOT_BUILDERS:
            return "torchvision"
    return None


# `getattr(torch.optim, name)` with a name not known statically (a config's "type"): one of
# torch's optimizers, which one is not known. Called with parameters, it builds an optimizer.
ANY_TORCH_OPTIMIZER = "torch.optim.<any>"


def is_torch_optimizer(qualname: str) -> bool:
    if not qualname.startswith("torch.optim."):
        return False
    parts = qualname.split(".")
    return len(parts) == 3 and parts[2][:1].isupper() and parts[2] != "Optimizer"


def looks_like_optimizer(qualname: str) -> bool:
    """A class from elsewhere (bitsandbytes, transformers, torch_optimizer...) named like one."""
    last = qualname.rsplit(".", 1)[-1]
    return (
        last[:1].isupper()
        and bool(_OPTIMIZER_WORD.search(last))
        and "Scheduler" not in last
        and "LR" not in last
    )


def nn_layer(qualname: str) -> str | None:
    """`Linear` for `torch.nn.Linear` (and `torch.nn.modules.linear.Linear`), else None."""
    if qualname.startswith("torch.nn."):
        last = qualname.rsplit(".", 1)[-1]
        if last[:1].isupper() and last not in ("Parameter", "Module", "DataParallel"):
            return last
    return None
