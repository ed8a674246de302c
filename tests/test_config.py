"""Configuration: [tool.freezelint] / freezelint.toml found upward, CLI overrides, --config,
--isolated, per-file-ignores, exclude, cache-dir, model-aliases, and bad configurations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.frontends.cli import cli

BAD = "import torchvision\nmodel = torchvision.models.resnet18()\nmodel.requires_grad = False\n"
HEAD_SWAP = (
    "import torch\nimport torchvision\nmodel = torchvision.models.resnet18()\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\nmodel.fc = torch.nn.Linear(512, 3)\n"
)


def codes(project: Path, *args: str) -> tuple[int, list[str]]:
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(
            cli, ["check", "--no-verify", "--output-format", "json", *args], catch_exceptions=False
        )
    finally:
        os.chdir(old)
    if result.exit_code == 2:
        return 2, [result.output]
    return result.exit_code, sorted(d["code"] for d in json.loads(result.output))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(BAD)
    (tmp_path / "src" / "swap.py").write_text(HEAD_SWAP)
    return tmp_path


def test_pyproject_select_and_ignore(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.freezelint]\nignore = ["FRZ004"]\n')
    assert codes(project, "src") == (1, ["FRZ002"])
    (project / "pyproject.toml").write_text('[tool.freezelint]\nselect = ["FRZ004"]\n')
    assert codes(project, "src") == (1, ["FRZ004"])
    # the command line overrides the file's select, and adds to its ignore
    assert codes(project, "src", "--select", "FRZ002") == (1, ["FRZ002"])
    assert codes(project, "src", "--ignore", "FRZ004") == (0, [])
    assert codes(project, "src", "--extend-select", "FRZ002") == (1, ["FRZ002", "FRZ004"])


def test_freezelint_toml_found_from_a_subfolder(project: Path) -> None:
    (project / "freezelint.toml").write_text('extend-exclude = ["src/swap.py"]\n')
    assert codes(project / "src", ".") == (1, ["FRZ004"])


def test_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.freezelint]\n[tool.freezelint.per-file-ignores]\n"src/bad.py" = ["FRZ0"]\n'
    )
    assert codes(project, "src") == (1, ["FRZ002"])


def test_config_option_and_isolated(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.freezelint]\nignore = ["FRZ004"]\n')
    other = project / "strict.toml"
    other.write_text('select = ["FRZ004"]\n')
    assert codes(project, "src", "--config", str(other)) == (1, ["FRZ004"])
    assert codes(project, "src", "--isolated") == (1, ["FRZ002", "FRZ004"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[tool.freezelint]\nselekt = []\n", "unknown option selekt"),
        ('[tool.freezelint]\nselect = ["E501"]\n', "Unknown rule selector `E501`"),
        ('[tool.freezelint]\nselect = "FRZ004"\n', "must be a list of strings"),
        ("[tool.freezelint\n", "invalid TOML"),
        ('[tool.freezelint.model-aliases]\n"x.build" = "keras:resnet"\n', "LIBRARY:MODEL"),
    ],
)
def test_bad_configuration_is_a_usage_error(project: Path, content: str, message: str) -> None:
    (project / "pyproject.toml").write_text(content)
    status, output = codes(project, "src")
    assert status == 2 and message in output[0]


def test_model_aliases_verify_a_project_factory(project: Path, cache_dir: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.freezelint]\n[tool.freezelint.model-aliases]\n"
        '"myproj.models.build_backbone" = "timm:efficientnet_b0"\n'
    )
    (project / "src" / "train.py").write_text(
        "from myproj.models import build_backbone\n"
        "model = build_backbone(pretrained=True)\n"
        "for name, p in model.named_parameters():\n"
        "    p.requires_grad = name.startswith('fc')\n"
    )
    old = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(
            cli, ["check", "--output-format", "json", "--cache-dir", str(cache_dir), "src/train.py"]
        )
    finally:
        os.chdir(old)
    [finding] = json.loads(result.output)
    assert finding["code"] == "FRZ005"
    assert finding["verified"]["constructor"] == "efficientnet_b0"


def test_cache_dir_from_configuration(project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.freezelint]\ncache-dir = ".tables"\n')
    (project / "src" / "t.py").write_text(
        "import timm\nmodel = timm.create_model('resnet18')\nmodel.requires_grad_(False)\n"
    )
    old = os.getcwd()
    os.chdir(project)
    try:
        CliRunner().invoke(cli, ["check", "src/t.py"])
    finally:
        os.chdir(old)
    assert list((project / ".tables" / "tables").glob("timm-*.json"))
