"""A network the project defines in a file of its own, as a copy of a model zoo's (a ResNet
whose stages `_make_layer` builds in loops), big and without a word of freezing: read because
the training script builds it, so its table is known (checked through the real CLI)."""

from __future__ import annotations

from pathlib import Path

from tests.project_cli import check_json, found_in

FIXTURE = Path(__file__).parent.parent / "fixtures" / "FRZ009" / "own_resnet_copy.py"


def _network_module() -> str:
    """The fixture's network code alone, padded past the size under which any file is read."""
    text = FIXTURE.read_text(encoding="utf-8")
    code = text[text.index("import torch\n") : text.index("model = resnet18()")]
    notes = "".join(f"# Stage {i}: residual blocks, as in the paper.\n" for i in range(90))
    module = f'"""A ResNet, as the model zoo has it."""\n{notes}{code}'
    assert len(module) > 4_000 and "requires_grad" not in module and "optim" not in module
    return module


TRAIN = """\
import torch
import torch.nn as nn

from networks.resnet import resnet18

model = resnet18()
for param in model.parameters():
    param.requires_grad = False
model.fc = nn.Linear(512, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for _ in range(2):
    model.train()
"""


def test_a_network_defined_in_another_file_is_read(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "networks").mkdir()
    (tmp_path / "networks" / "__init__.py").write_text("")
    (tmp_path / "networks" / "resnet.py").write_text(_network_module())
    (tmp_path / "train.py").write_text(TRAIN)
    found = found_in(check_json(cache_dir, str(tmp_path / "train.py")), tmp_path)
    assert found == {("train.py", 10, "FRZ001"), ("train.py", 12, "FRZ009")}
