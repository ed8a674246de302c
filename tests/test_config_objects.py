"""Config objects a project's config module fills in (`_C = CN(); _C.MODEL.NAME = "..."`, yacs
style), read in other files: their values are the module's constants until the code merges
something over them, checked through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.project_cli import check_json

CONFIG = """\
from yacs.config import CfgNode as CN

_C = CN()
_C.MODEL = CN()
_C.MODEL.NAME = "efficientnet_b0"
_C.SOLVER = CN()
_C.SOLVER.FREEZE_BN = True
_C.SOLVER.OPTIMIZER = "Adam"
"""

MODEL = """\
import timm
import torch.nn as nn


def build(cfg):
    return timm.create_model(cfg.MODEL.NAME, pretrained=True, num_classes=5)


def freeze_bn(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.weight.requires_grad_(False)
            module.bias.requires_grad_(False)
    return model
"""

OPTIM = """\
import torch


def make_optimizer(model, cfg):
    if cfg.SOLVER.OPTIMIZER == "Adam":
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    elif cfg.SOLVER.OPTIMIZER == "SGD":
        return torch.optim.SGD(model.parameters(), lr=0.1)
"""

TRAIN = """\
import sys

from config import _C as cfg
from model import build, freeze_bn
from optim import make_optimizer

{merge}model = build(cfg)
if cfg.SOLVER.FREEZE_BN:
    model = freeze_bn(model)
optimizer = make_optimizer(model, cfg)
"""


def _check(cache_dir: Path, path: Path) -> list[dict]:
    return check_json(cache_dir, str(path))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "config.py").write_text(CONFIG)
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "optim.py").write_text(OPTIM)
    return tmp_path


def test_config_module_values_name_the_model_and_decide_the_arms(
    project: Path, cache_dir: Path
) -> None:
    (project / "train.py").write_text(TRAIN.format(merge=""))
    found = _check(cache_dir, project / "train.py")
    # Only the optimizer the config picks (Adam, line 6), not the SGD arm.
    assert [(Path(d["filename"]).name, d["location"]["row"], d["code"]) for d in found] == [
        ("optim.py", 6, "FRZ001")
    ]
    assert found[0]["message"].startswith("98 of 213 tensors")


def test_a_merge_over_the_config_makes_it_unknown(project: Path, cache_dir: Path) -> None:
    (project / "train.py").write_text(TRAIN.format(merge="cfg.merge_from_file(sys.argv[1])\n"))
    assert _check(cache_dir, project / "train.py") == []
