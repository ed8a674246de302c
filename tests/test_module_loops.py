"""Filtered loops over a model's modules (`for m in model.modules(): if ...: m.requires_grad_(...)`,
`model.apply(fn)`), simulated on the parameter table, checked against the same loop run here on
the real model built on the meta device (freezelint itself imports torch only in its worker)."""

from __future__ import annotations

import textwrap
from typing import Any

import libcst as cst
import pytest
import timm
import torch
import torchvision
from efficientnet_pytorch import EfficientNet
from torch import nn

from freezelint.model.resolve import Verifier
from freezelint.script.extract import extract
from freezelint.simulation.replay import Simulation

BUILDERS = {
    "torchvision.models.resnet18()": lambda: torchvision.models.resnet18(),
    "torchvision.models.mobilenet_v2()": lambda: torchvision.models.mobilenet_v2(),
    'timm.create_model("efficientnet_b0")': lambda: timm.create_model("efficientnet_b0"),
    'EfficientNet.from_name("efficientnet-b0")': lambda: EfficientNet.from_name("efficientnet-b0"),
}

LOOPS = {
    "all_but_bn": """
        for m in model.modules():
            if not isinstance(m, nn.BatchNorm2d):
                m.requires_grad_(False)
    """,
    "bn_only": """
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.requires_grad_(False)
    """,
    "own_parameters": """
        for m in model.modules():
            if not isinstance(m, nn.BatchNorm2d):
                for p in m.parameters(recurse=False):
                    p.requires_grad = False
    """,
    "if_else_in_module_order": """
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.requires_grad_(True)
            else:
                m.requires_grad_(False)
    """,
    "name_filter": """
        for name, m in model.named_modules():
            if "fc" not in name and "classifier" not in name:
                for p in m.parameters():
                    p.requires_grad = False
    """,
    "named_children": """
        for name, child in model.named_children():
            if name not in ("fc", "classifier", "_fc"):
                child.requires_grad_(False)
    """,
    "children_class": """
        for child in model.children():
            if not isinstance(child, nn.BatchNorm2d):
                child.requires_grad_(False)
    """,
    "continue_and_class_name": """
        for m in model.modules():
            kind = type(m).__name__
            if kind == "Linear":
                continue
            m.requires_grad_(False)
    """,
    "exact_type": """
        for m in model.modules():
            if type(m) not in (nn.BatchNorm2d, nn.Linear):
                m.requires_grad_(False)
    """,
    "nested_and_elif": """
        for name, m in model.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                pass
            elif name.startswith(("layer4", "features.1", "blocks.6", "_blocks.15")):
                m.requires_grad_(True)
            else:
                m.requires_grad_(False)
    """,
    "apply_if_else": """
        def bn_trainable(m):
            if isinstance(m, nn.BatchNorm2d):
                m.requires_grad_(True)
            else:
                m.requires_grad_(False)

        model.apply(bn_trainable)
    """,
    "children_counter": """
        count = 0
        for child in model.children():
            if count < 3:
                child.requires_grad_(False)
            count += 1
    """,
    "enumerate_named_children": """
        for i, (name, child) in enumerate(model.named_children(), 1):
            if i > 2:
                continue
            for p in child.parameters():
                p.requires_grad = False
    """,
    "modules_counter_own": """
        n = 0
        for m in model.modules():
            n += 1
            if n > 40:
                for p in m.parameters(recurse=False):
                    p.requires_grad = False
    """,
    "conv_weight": """
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.requires_grad = False
    """,
    "bn_bias_by_name": """
        for name, m in model.named_modules():
            if isinstance(m, nn.BatchNorm2d) and "1" in name:
                m.bias.requires_grad_(False)
    """,
}

HEADER = """\
import timm
import torch
import torchvision
from efficientnet_pytorch import EfficientNet
from torch import nn

model = {builder}
"""


def simulated(source: str, verifier: Verifier) -> tuple[set[str], int]:
    """The parameters frozen at the end, and how many are unknown."""
    (timeline,) = extract(cst.parse_module(source))
    sim = Simulation(timeline, verifier.tables_for([timeline]))
    ((model, atoms),) = sim.tables.items()
    frozen, unknown = set(), 0
    for path in atoms.table.paths:
        status = sim.state[(model, path)].status
        frozen |= {".".join(path)} if status == "F" else set()
        unknown += status == "?"
    return frozen, unknown


def real(builder: str, loop: str) -> set[str]:
    with torch.device("meta"):
        model = BUILDERS[builder]()
    env: dict[str, Any] = {"model": model, "nn": nn, "torch": torch}
    exec(textwrap.dedent(loop), env)  # the test's own loop, on the real module tree
    return {name for name, p in model.named_parameters() if not p.requires_grad}


@pytest.mark.parametrize("loop", sorted(LOOPS))
@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_simulated_as_it_runs(builder: str, loop: str, verifier: Verifier) -> None:
    source = HEADER.format(builder=builder) + textwrap.dedent(LOOPS[loop])
    frozen, unknown = simulated(source, verifier)
    assert unknown == 0
    assert frozen == real(builder, LOOPS[loop])
