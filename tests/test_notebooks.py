"""Jupyter notebooks: code cells analysed as one program in order, findings located by cell,
magics and shell lines skipped, `--fix` rewriting only code cells."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from click.testing import CliRunner

from freezelint.frontends.cli import cli


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Fine-tune\nmodel.requires_grad = False is wrong"),
        nbformat.v4.new_code_cell(
            "%matplotlib inline\n!pip install timm\nimport timm\nimport torch\nfrom torch import nn"
        ),
        nbformat.v4.new_code_cell(
            "model = timm.create_model('efficientnet_b0', pretrained=True)"
            "\nmodel.requires_grad = False"
        ),
        nbformat.v4.new_code_cell(
            "optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)\n"
            "model.classifier = nn.Linear(1280, 5)"
        ),
        nbformat.v4.new_code_cell("%%time\nfor step in range(2):\n    pass"),
    ]
    nbformat.write(nb, path)
    return path


def test_findings_by_cell(tmp_path: Path, cache_dir: Path) -> None:
    path = notebook(tmp_path / "train.ipynb")
    result = CliRunner().invoke(
        cli, ["check", "--output-format", "json", "--cache-dir", str(cache_dir), str(tmp_path)]
    )
    assert result.exit_code == 1
    found = [
        (d["code"], d["cell"], d["location"]["row"], d["location"]["column"])
        for d in json.loads(result.output)
    ]
    assert found == [("FRZ004", 3, 2, 1), ("FRZ002", 4, 1, 13)]
    text = CliRunner().invoke(cli, ["check", "--cache-dir", str(cache_dir), str(path)]).output
    assert f"{path}:cell 4:1:13: FRZ002" in text
    assert "replaced on line 2 (cell 4)" in text


def test_fix_rewrites_only_code_cells(tmp_path: Path, cache_dir: Path) -> None:
    path = notebook(tmp_path / "train.ipynb")
    before = nbformat.read(path, 4)
    result = CliRunner().invoke(cli, ["check", "--fix", "--cache-dir", str(cache_dir), str(path)])
    assert result.exit_code == 0, result.output
    after = nbformat.read(path, 4)
    nbformat.validate(after)
    assert after.cells[0] == before.cells[0]  # markdown untouched
    assert after.cells[1].source == before.cells[1].source  # magics and shell lines kept
    assert after.cells[4].source == before.cells[4].source
    assert after.cells[2].source.endswith("model.requires_grad_(False)")
    assert after.cells[3].source.splitlines()[0] == "model.classifier = nn.Linear(1280, 5)"
    again = path.read_bytes()
    CliRunner().invoke(cli, ["check", "--fix", "--cache-dir", str(cache_dir), str(path)])
    assert path.read_bytes() == again


def test_clean_notebook_is_left_byte_for_byte(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import torchvision\nm = torchvision.models.resnet18()\nm.requires_grad_(False)"
        )
    ]
    path = tmp_path / "ok.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, ["check", "--fix", "--no-verify", str(path)])
    assert result.exit_code == 0 and path.read_bytes() == before


def test_broken_notebook_json_is_frz000(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [ "requires_grad"')
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1 and "FRZ000" in result.output


def test_fix_keeps_the_final_newline_of_cells_it_does_not_change(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torchvision\n\n"),
        nbformat.v4.new_code_cell("m = torchvision.models.resnet18()\n"),
        nbformat.v4.new_code_cell("m.requires_grad = False\n"),
    ]
    path = tmp_path / "trailing.ipynb"
    nbformat.write(nb, path)
    result = CliRunner().invoke(cli, ["check", "--fix", "--no-verify", str(path)])
    assert result.exit_code == 0, result.output
    after = nbformat.read(path, 4)
    assert [cell.source for cell in after.cells] == [
        "import torchvision\n\n",
        "m = torchvision.models.resnet18()\n",
        "m.requires_grad_(False)\n",
    ]


def test_every_format_shows_the_cell(tmp_path: Path) -> None:
    # The full output frames the line of the cell (not the notebook's JSON); GitHub
    # annotations and SARIF name the cell as well as its row (issue 25).
    path = notebook(tmp_path / "train.ipynb")
    runner = CliRunner()
    full = runner.invoke(cli, ["check", "--no-verify", str(path)]).output
    assert ":cell 3:2:1: FRZ004" in full
    assert "2 | model.requires_grad = False\n" in full
    assert '"cells"' not in full and "{" not in full.split("FRZ004", 1)[1].split("\n")[2]
    github = runner.invoke(cli, ["check", "--no-verify", "--output-format", "github", str(path)])
    assert "::cell 3:2:1: FRZ004 `model.requires_grad = ...`" in github.output
    sarif = json.loads(
        runner.invoke(cli, ["check", "--no-verify", "--output-format", "sarif", str(path)]).output
    )
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "FRZ004"]
    assert result["properties"] == {"cell": 3}
    assert result["message"]["text"].startswith("cell 3, line 2: ")
