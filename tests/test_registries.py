"""Models chosen through registries and dispatch across a project's files: a dict of the
project's classes indexed by a command-line option (its choices and default read from the
dict), a nested table of constructors, `getattr(models_module, args.model)` with the class
deriving from a base class of another file, and an entry script with no freezing code of its own
that drives the project's (checked through the real CLI)."""

from __future__ import annotations

from pathlib import Path

from freezelint.script.project import drives_project_code
from tests.project_cli import check_json as _check
from tests.project_cli import found_in as _found

BACKBONES = """\
import torchvision

BACKBONES = {
    "b0": {"backbone": torchvision.models.efficientnet_b0, "in_feat": 1280},
    "b1": {"backbone": torchvision.models.efficientnet_b1, "in_feat": 1280},
}
"""

BASE_MODEL = """\
from torch import nn

from .backbones import BACKBONES


class Backbone(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.model = BACKBONES[backbone]["backbone"](pretrained=True)
        self.model.classifier = nn.Identity()
        for param in self.model.parameters():
            param.requires_grad = False


class BaseModel(nn.Module):
    def __init__(self, orders, backbone):
        super().__init__()
        self.backbone = Backbone(backbone)
        self.head = nn.Linear(BACKBONES[backbone]["in_feat"] + len(orders), 1)
"""

ALL_MODELS = """\
from .base_model import BaseModel

MODELS = {
    "base": BaseModel,
}
"""

ENGINE = """\
from torch import optim


def train(model, args):
    optimizer = optim.AdamW(model.parameters(), lr=args.lr)
    for _ in range(args.epochs):
        model.train()
        optimizer.step()
        model.eval()
"""

ENTRY = """\
import argparse

from lib.engine import train
from lib.models.all_models import MODELS
from lib.models.backbones import BACKBONES


def main():
    args = parse_args()
    model = MODELS[args.model](load_orders(), args.backbone)
    train(model, args)


def load_orders():
    return open("orders.txt").read().split()


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=list(MODELS.keys()), default=list(MODELS.keys())[0])
    parser.add_argument("--backbone", choices=list(BACKBONES), default=list(BACKBONES)[0])
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=10)
    return parser.parse_args()


if __name__ == "__main__":
    main()
"""


def _registry_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    models = root / "lib" / "models"
    models.mkdir(parents=True)
    for folder in (root / "lib", models):
        (folder / "__init__.py").write_text("")
    (models / "backbones.py").write_text(BACKBONES)
    (models / "base_model.py").write_text(BASE_MODEL)
    (models / "all_models.py").write_text(ALL_MODELS)
    (root / "lib" / "engine.py").write_text(ENGINE)
    (root / "train.py").write_text(ENTRY)
    return root


def test_a_registry_of_classes_picked_by_an_option(tmp_path: Path, cache_dir: Path) -> None:
    """The entry script has no freezing code (the byte pre-filter alone would skip it), but it
    builds `MODELS[args.model](...)` (the default: the registry's first key) and hands it to the
    project's training loop: the findings are in the engine, reached from the entry."""
    project = _registry_project(tmp_path)
    found = _check(cache_dir, str(project / "train.py"))
    expected = {("lib/engine.py", 5, "FRZ001"), ("lib/engine.py", 7, "FRZ009")}
    assert _found(found, project) == expected
    [frz001] = [d for d in found if d["code"] == "FRZ001"]
    # The head's input size depends on data read at run time (it holds two tensors anyway).
    assert frz001["message"].startswith("211 of 213 tensors")
    assert "`train(...)` on line 11 of " in frz001["message"]


def test_the_whole_folder_reports_each_finding_once(tmp_path: Path, cache_dir: Path) -> None:
    project = _registry_project(tmp_path)
    found = _check(cache_dir, str(project))
    assert sorted(_found(found, project)) == [
        ("lib/engine.py", 5, "FRZ001"),
        ("lib/engine.py", 7, "FRZ009"),
    ]


def test_only_scripts_that_import_freezing_code_pass_the_prefilter(tmp_path: Path) -> None:
    project = _registry_project(tmp_path)
    entry = project / "train.py"
    assert drives_project_code(entry, entry.read_bytes())
    # A module with no `__main__` block is no script: it is not read further.
    library = ENTRY.split('if __name__ == "__main__":')[0].encode()
    assert not drives_project_code(entry, library)
    # A script importing only project files that neither freeze nor optimize: skipped.
    (project / "lib" / "engine.py").write_text("def train(model, args):\n    return model\n")
    (project / "lib" / "models" / "base_model.py").write_text("class BaseModel:\n    pass\n")
    assert not drives_project_code(entry, entry.read_bytes())


MODEL_MODULE = """\
import timm
from torch import nn

from base.base_model import BaseModel


class Small(BaseModel):
    def __init__(self, num_classes):
        super().__init__()
        self.model = timm.create_model("resnet18", pretrained=True, num_classes=0)
        for param in self.model.parameters():
            param.requires_grad = False
        self.head = nn.Linear(512, num_classes)
"""

TRAINER = """\
class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer

    def train(self):
        for epoch in range(3):
            self._train_epoch(epoch)

    def _train_epoch(self, epoch):
        self.model.train()
        self.optimizer.step()
"""

TRAIN = """\
import argparse

import torch

import model.model as module_arch
from trainer import Trainer


def main(config):
    model_class = getattr(module_arch, config.model)
    model = torch.nn.DataParallel(model_class(num_classes=3))
    params = filter(lambda p: p.requires_grad, model.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    Trainer(model, optimizer).train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="Small")
    main(parser.parse_args())
"""


def test_getattr_of_a_models_module_and_a_base_class_elsewhere(
    tmp_path: Path, cache_dir: Path
) -> None:
    """`getattr(module_arch, config.model)` picks the default class; its base `BaseModel` (an
    `nn.Module`) is imported from another file; the trainer's `train()` is the epoch loop, its
    `self.model.train()` the mode change."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for folder in ("base", "model"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "base" / "base_model.py").write_text(
        "from torch import nn\n\n\nclass BaseModel(nn.Module):\n    pass\n"
    )
    (tmp_path / "model" / "model.py").write_text(MODEL_MODULE)
    (tmp_path / "trainer.py").write_text(TRAINER)
    (tmp_path / "train.py").write_text(TRAIN)
    found = _check(cache_dir, str(tmp_path / "train.py"))
    assert _found(found, tmp_path) == {("trainer.py", 11, "FRZ009")}
    assert "20 BatchNorm layers" in found[0]["message"]
