"""Code as projects hold it: a model built and frozen in one file, the optimizer and the training
loop in others (`from models import build_model`, relative imports, `from x import *`), checked
through the real CLI, and the runtime truth of the same project from the runtime oracle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.project_cli import check_json as _check
from tests.project_cli import found_in as _found

MODELS = """\
import timm
from torch import nn


class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.backbone = timm.create_model("resnet18", pretrained=True, num_classes=0)
        self.head = nn.Linear(512, n)

    def freeze(self):
        for p in self.backbone.parameters():
            p.requires_grad = False

    def forward(self, x):
        return self.head(self.backbone(x))


def build_model():
    net = Net()
    net.freeze()
    return net


if __name__ == "__main__":
    build_model().requires_grad_(True)  # not run on import
"""

OPTIM = """\
import torch


def make_optimizer(model, lr=1e-3):
    return torch.optim.Adam(model.parameters(), lr=lr)
"""

TRAIN = """\
import torch
from models import build_model
from optim_utils import make_optimizer

model = build_model()
optimizer = make_optimizer(model)
for _ in range(2):
    model.train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 64, 64)), torch.tensor([0, 1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "optim_utils.py").write_text(OPTIM)
    (tmp_path / "train.py").write_text(TRAIN)
    return tmp_path


def test_findings_point_into_the_files_the_mistakes_are_in(project: Path, cache_dir: Path) -> None:
    found = _check(cache_dir, str(project))
    assert _found(found, project) == {("optim_utils.py", 5, "FRZ001"), ("train.py", 8, "FRZ009")}
    [frz001] = [d for d in found if d["code"] == "FRZ001"]
    assert frz001["message"].startswith("60 of 62 tensors")
    assert "`make_optimizer(...)` on line 6 of " in frz001["message"]
    assert frz001["fix"] is None  # a fix edits the checked file only
    [call] = frz001["related"]  # where the model was handed to the helper, as JSON says it
    assert Path(call["filename"]).name == "train.py"
    assert call["location"]["row"] == 6
    assert call["message"] == "`make_optimizer(...)` leads here"


def test_each_finding_once_when_two_files_reach_it(project: Path, cache_dir: Path) -> None:
    (project / "train_again.py").write_text(TRAIN)
    found = _check(cache_dir, str(project))
    assert [d["code"] for d in found if d["filename"].endswith("optim_utils.py")] == ["FRZ001"]


def test_noqa_in_the_imported_file(project: Path, cache_dir: Path) -> None:
    text = OPTIM.replace("lr=lr)", "lr=lr)  # noqa: FRZ001")
    (project / "optim_utils.py").write_text(text)
    assert ("optim_utils.py", 5, "FRZ001") not in _found(_check(cache_dir, str(project)), project)


def test_relative_and_star_imports(tmp_path: Path, cache_dir: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "common.py").write_text("import torch\nimport torchvision\nfrom torch import nn\n")
    # `models`, `nn`, `torch` come from common's imports, through the star import.
    (package / "nets.py").write_text(
        "from .common import *\n\n\ndef get():\n"
        "    m = torchvision.models.resnet18(weights=None)\n"
        "    m.requires_grad_(False)\n    m.fc = nn.Linear(512, 2)\n    return m\n"
    )
    (package / "train.py").write_text(
        "import torch\nfrom .nets import get\n\nm = get()\n"
        "opt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
    )
    assert _found(_check(cache_dir, str(package / "train.py")), tmp_path) == {
        ("pkg/train.py", 5, "FRZ001")
    }


def test_missing_files_and_cycles_are_not_followed(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "a.py").write_text("from b import f\nimport torch\n\ndef g(m):\n    return f(m)\n")
    (tmp_path / "b.py").write_text(
        "from a import g\nfrom nowhere import h\n\ndef f(m):\n    return g(m)\n"
    )
    (tmp_path / "train.py").write_text(
        "import torch, torchvision\nfrom a import g\n\nm = torchvision.models.resnet18()\n"
        "m.requires_grad_(False)\nopt = torch.optim.SGD(g(m).parameters(), lr=0.1)\n"
    )
    assert _found(_check(cache_dir, str(tmp_path / "train.py")), tmp_path) == set()


def test_an_imported_file_runs_without_its_main_block(tmp_path: Path, cache_dir: Path) -> None:
    """`if __name__ == "__main__":` in an imported file is false: its unfreeze does not run."""
    (tmp_path / "models.py").write_text(MODELS)
    (tmp_path / "train.py").write_text(
        "import torch\nfrom models import build_model\n\nnet = build_model()\n"
        "opt = torch.optim.Adam(net.parameters())\n"
    )
    assert _found(_check(cache_dir, str(tmp_path / "train.py")), tmp_path) == {
        ("train.py", 5, "FRZ001")
    }


def test_runtime_truth_of_the_project(project: Path) -> None:
    """The oracle runs the project for real: the optimizer holds the 60 frozen tensors and the
    frozen BatchNorm layers drift in training mode, as reported."""
    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.oracle", str(project / "train.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )
    report = json.loads(done.stdout)[str(project / "train.py")]
    assert report["error"] is None
    assert report["frozen_inside"] == 60
    assert report["frozen_bn_drifted"] == 20


def test_resolution_stays_inside_an_installed_package(tmp_path: Path) -> None:
    """From a file in site-packages, only its own package's modules are the project: never a
    neighbouring package (torch), never the standard library above."""
    from freezelint.script.project import resolve

    installed = tmp_path / "lib" / "site-packages"
    (installed / "pkg" / "models").mkdir(parents=True)
    (installed / "torch").mkdir()
    (installed / "torch" / "__init__.py").write_text("")
    (installed / "pkg" / "__init__.py").write_text("")
    (installed / "pkg" / "layers.py").write_text("")
    (tmp_path / "lib" / "os.py").write_text("")
    importer = installed / "pkg" / "models" / "net.py"
    importer.write_text("")
    assert resolve("pkg.layers", 0, importer) == installed / "pkg" / "layers.py"
    assert resolve("torch", 0, importer) is None
    assert resolve("os", 0, importer) is None
    assert resolve("layers", 2, importer) == installed / "pkg" / "layers.py"


def test_a_config_module_and_a_factory_in_a_package(tmp_path: Path, cache_dir: Path) -> None:
    """`import Config` (a module, named like a class), a loop over its list of names, a factory
    in another package whose star import brings the model class: each name is followed."""
    (tmp_path / "Config.py").write_text("MODELS = ['effnet']\n")
    (tmp_path / "Model").mkdir()
    (tmp_path / "Model" / "Nets.py").write_text(
        "import torchvision\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.backbone = torchvision.models.efficientnet_b0(weights=None)\n"
        "        for p in self.backbone.parameters():\n            p.requires_grad = False\n"
        "        self.backbone.classifier[1] = nn.Linear(1280, 3)\n"
    )
    (tmp_path / "Util").mkdir()
    (tmp_path / "Util" / "Mapper.py").write_text(
        "from Model.Nets import *\n\n\ndef get(name):\n    if name == 'effnet':\n"
        "        return Net()\n    raise ValueError(name)\n"
    )
    (tmp_path / "Train.py").write_text(
        "import torch\nimport Config\nfrom Util.Mapper import get\n\n"
        "for name in Config.MODELS:\n    model = get(name)\n"
        "    opt = torch.optim.Adam(model.parameters())\n"
    )
    found = _check(cache_dir, str(tmp_path / "Train.py"))
    assert _found(found, tmp_path) == {("Train.py", 7, "FRZ001")}
    assert found[0]["message"].startswith("211 of 213 tensors")


ARCHS = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2"]


def test_a_factory_picking_among_many_classes_is_followed(tmp_path: Path, cache_dir: Path) -> None:
    """A factory in another file handed constants only, with a long `if`/`elif` chain of short
    arms (each builds one wrapper): it is short along any one path, so it is followed; the
    wrapper freezes the first `k` tensors, `k` from a table chosen by the same option."""
    (tmp_path / "nets.py").write_text(
        "import torchvision\nfrom torch import nn\n\n\nclass Wrap:\n"
        "    def __init__(self, arch, k):\n"
        "        self.model = getattr(torchvision.models, arch)(weights=None)\n"
        "        for i, p in enumerate(self.model.parameters()):\n"
        "            if i < k:\n                p.requires_grad = False\n"
        "        self.model.fc = nn.Linear(self.model.fc.in_features, 3)\n"
    )
    arms = "".join(
        f"    {'if' if i == 0 else 'elif'} name == '{arch}':\n        w = Wrap('{arch}', k)\n"
        for i, arch in enumerate(ARCHS)
    )
    (tmp_path / "factory.py").write_text(
        f"from nets import Wrap\n\n\ndef load_model(name, k):\n{arms}    return w\n"
    )
    (tmp_path / "train.py").write_text(
        "import argparse\nimport torch\nfrom factory import load_model\n\n"
        "parser = argparse.ArgumentParser()\nparser.add_argument('--net', default='resnet18')\n"
        "args = parser.parse_args()\nif args.net == 'resnet18':\n    k = 45\n"
        "elif args.net == 'resnet50':\n    k = 129\nelse:\n    k = 0\n"
        "model = load_model(args.net, k).model\n"
        "opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad])\n"
        "model.train()\nloss = model(torch.randn(2, 3, 64, 64)).sum()\n"
        "opt.zero_grad()\nloss.backward()\nopt.step()\n"
    )
    found = _check(cache_dir, str(tmp_path / "train.py"))
    assert _found(found, tmp_path) == {("train.py", 16, "FRZ009")}


def test_a_wrapper_whose_call_returns_its_model_and_a_trainer_class(
    tmp_path: Path, cache_dir: Path
) -> None:
    """A wrapper in one file whose `__call__` returns the torchvision model it holds, kept by a
    stacked model in another (`self.backbone = Backbone()()`... frozen), an optimizer class
    named by a JSON config, and a trainer class in a third file calling `.train()`."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "backbone.py").write_text(
        "import torchvision\nfrom torch import nn\n\n\nclass Backbone(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.model = torchvision.models.resnet18(weights=None)\n"
        "        self.model.fc = nn.Linear(512, 3)\n\n"
        "    def __call__(self):\n        return self.model\n"
    )
    (tmp_path / "models" / "stacked.py").write_text(
        "from torch import nn\nfrom models.backbone import Backbone\n\n\n"
        "class Stacked(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.backbone = Backbone()\n        self.backbone = self.backbone()\n"
        "        for param in self.backbone.parameters():\n"
        "            param.requires_grad = False\n"
        "        self.head = nn.Linear(3, 5)\n"
    )
    (tmp_path / "trainer.py").write_text(
        "class Trainer:\n    def __init__(self, model, optimizer):\n"
        "        self.model = model\n        self.optimizer = optimizer\n\n"
        "    def train_epoch(self):\n        self.model.train()\n\n"
        "    def train(self):\n        for _ in range(3):\n            self.train_epoch()\n"
    )
    (tmp_path / "train.py").write_text(
        "import json\nimport sys\n\nimport torch.optim as optim\n"
        "from models.stacked import Stacked\nfrom trainer import Trainer\n\n"
        "config = json.load(open(sys.argv[1]))\nmodel = Stacked()\n"
        'optimizer = getattr(optim, config["optimizer"])(model.parameters(), lr=0.1)\n'
        "Trainer(model, optimizer).train()\n"
    )
    found = _check(cache_dir, str(tmp_path / "train.py"))
    assert _found(found, tmp_path) == {("train.py", 10, "FRZ001"), ("trainer.py", 7, "FRZ009")}
    assert "62 of 64 tensors" in found[0]["message"]
