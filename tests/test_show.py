"""`freezelint show` (issue 26): the trainability map through the real command line, as text,
JSON and HTML, and the map and the findings agreeing over every fixture."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.checking.module_tree import IDLE, TRAINED, WASTED
from freezelint.frontends.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
RECIPE3 = FIXTURES / "FRZ006" / "seed_recipe3_param_groups_effnet.py"


def show(*args: str) -> str:
    result = CliRunner().invoke(cli, ["show", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def nodes(tree: dict) -> list[dict]:
    out = [tree]
    for child in tree["children"]:
        out += nodes(child)
    return out


def topmost(tree: dict, state: str) -> list[dict]:
    if tree["state"] == state:
        return [tree]
    return [found for child in tree["children"] for found in topmost(child, state)]


def test_recipe_3_shows_the_stem_and_head_in_no_group() -> None:
    text = show(str(RECIPE3)).splitlines()
    idle = [line for line in text if "! trainable, in no optimizer" in line and "--" in line]
    names = [line.split("--")[-1].split()[0] for line in idle]
    assert names == ["model._conv_stem", "model._bn0", "model._conv_head", "model._bn1"]
    counts = [re.search(r"  (\d+) tensors?", line) for line in idle]
    assert sum(int(m.group(1)) for m in counts if m) == 6  # (six tensors)
    assert all(line.endswith("[FRZ006]") for line in idle)
    assert any("model._blocks[0:3]" in line and "(group 1)" in line for line in text)
    assert any("model._blocks[3:16]" in line and "(group 0)" in line for line in text)
    assert "  group 1: lr 0.0001, weight_decay default" in text
    assert text[-1].startswith("legend: + trainable, in a param group")


def test_json_is_the_same_tree_as_data() -> None:
    (root,) = json.loads(show("--output-format", "json", str(RECIPE3)))
    (opt,) = root["optimizers"]
    assert opt["optimizer"] == "`optimizer` (Adam)" and opt["moment"] == "built"
    assert [g["lr"] for g in opt["groups"]] == ["0.001", "0.0001"]
    (model,) = opt["models"]
    tree = model["tree"]
    assert tree["tensors"] == 213 and tree["state"] is None
    idle = topmost(tree, IDLE)
    assert sum(n["tensors"] for n in idle) == 6
    assert {n["name"] for n in idle} == {
        "model._conv_stem",
        "model._bn0",
        "model._conv_head",
        "model._bn1",
    }


def test_depth_and_a_second_moment_where_the_script_changes_things_later() -> None:
    text = show("--depth", "0", str(ROOT / "examples" / "finetune_efficientnet.py"))
    assert "optimizer `optimizer` (Adam), line 14, as built" in text
    assert "optimizer `optimizer` (Adam), line 14, as the script leaves it" in text
    assert "    model  213 tensors, 5.3M elements  + trainable, in a param group (group 0)" in text
    assert "is replaced on line 15" in text  # (the message's lines filled in)
    full = show(str(ROOT / "examples" / "finetune_efficientnet.py"))
    assert "model.blocks  205 tensors, 3.6M elements  ! frozen, handed to the optimizer" in full
    assert "`-- model.classifier  2 tensors  - frozen  [FRZ002]" in full


def test_a_path_of_its_own_where_the_code_leaves_a_branch_open(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse, torch, torchvision\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--freeze', action='store_true')\n"
        "args = parser.parse_args()\n"
        "model = torchvision.models.resnet18()\n"
        "if args.freeze:\n"
        "    model.requires_grad_(False)\n"
        "    model.fc.requires_grad_(True)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )
    first = show(str(script))
    second = show("--path", "2", str(script))
    assert first.startswith("path 1 of 2 (`args.freeze`)")
    assert "! frozen, handed to the optimizer" in first
    assert second.startswith("path 2 of 2 (not `args.freeze`)")
    assert "model  62 tensors" in second and "+ trainable, in a param group (group 0)" in second


def test_a_part_without_a_table_is_one_opaque_node() -> None:
    # (A `partial` of timm's constructor: no table, never guessed.)
    text = show(str(FIXTURES / "FRZ001" / "frozen_blocks_of_unknown_constructor.py"))
    assert "  `net`: no parameter table (its parts as the script names them)\n" in text
    assert "    |-- the rest of net    ? not known\n" in text
    assert (
        "    `-- net.blocks (unknown: its tensors are not known)    ! frozen, handed to the "
        "optimizer  [FRZ001]\n"
    ) in text


def test_html_is_one_page_with_the_tree_folding_and_the_findings_placed(tmp_path: Path) -> None:
    page = tmp_path / "map.html"
    show("--output-format", "html", "-o", str(page), str(RECIPE3))
    text = page.read_text()
    assert text.startswith("<!doctype html>")
    assert "http" not in text and "<script" not in text and "<link" not in text
    assert "<details open" in text and "<summary>" in text
    assert text.count("class=finding-mark>FRZ006<") == 4
    assert "title='model._conv_stem: 1 tensor, 864 elements; trainable, in no optimizer'" in text


FIXTURE_FILES = sorted(
    p for p in FIXTURES.rglob("*.py") if "FRZ000" not in p.parts and "compile" not in p.name
)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_map_agrees_with_the_findings(path: Path, cache_dir: Path) -> None:
    # Each optimizer's map as built shows what its findings say: FRZ006 some module trainable
    # in no optimizer, FRZ001 some frozen module handed over, FRZ011 nothing trained.
    from freezelint.checking.trainability import trainability
    from freezelint.model.cache import TableCache
    from freezelint.model.resolve import Verifier

    verifier = Verifier(TableCache(cache_dir))
    for found in trainability(path.read_text(encoding="utf-8"), str(path), verifier):
        norms = {
            opt.line
            for opt in found.optimizers
            if any(n["norm_training"] for _, t in opt.models for n in nodes(t.as_json()))
        }
        for opt in found.optimizers:
            if any(c == "FRZ009" and "(when" not in m for c, _, m in opt.findings) and opt.models:
                assert opt.line in norms, (path, opt.name)  # (in the map as the script leaves it)
            if opt.moment != "built":
                continue
            states = {n["state"] for _, tree in opt.models for n in nodes(tree.as_json())}
            codes = {code for code, _, message in opt.findings if "(when" not in message}
            if "FRZ006" in codes and "nor any other optimizer" in str(opt.findings):
                assert IDLE in states, (path, opt.name)
            if "FRZ001" in codes and opt.models:
                assert WASTED in states or None in states, (path, opt.name)
            if "FRZ011" in codes and opt.models and "all frozen" in str(opt.findings):
                assert TRAINED not in states, (path, opt.name)


def test_at_a_line_the_state_there() -> None:
    warmup = str(FIXTURES / "FRZ008" / "unfreeze_all_after_head_warmup.py")
    before = show("--at", "8", "--depth", "1", warmup)
    assert before.startswith("in no optimizer at line 8\n  `model`: torchvision resnet18\n")
    assert "    |-- model.layer4  15 tensors, 8.4M elements  - frozen\n" in before
    assert "    `-- model.fc  2 tensors  * trainable\n" in before
    built = show("--at", "9", "--depth", "1", warmup)
    assert built.startswith("optimizer `optimizer` (SGD), line 9, at line 9\n")
    assert "    `-- model.fc  2 tensors  + trainable, in a param group (group 0)\n" in built
    unfrozen = show("--at", "12", "--depth", "1", warmup)
    assert "    |-- model.layer4  15 tensors, 8.4M elements  ! trainable, in no optimizer\n" in (
        unfrozen
    )
    (data,) = json.loads(show("--at", "8", "--output-format", "json", warmup))
    assert data["at"] == 8 and data["optimizers"] == [] and len(data["models"]) == 1


def test_each_module_says_which_lines_set_its_state() -> None:
    warmup = str(FIXTURES / "FRZ008" / "unfreeze_all_after_head_warmup.py")
    (data,) = json.loads(show("--output-format", "json", warmup))
    built, end = (opt["models"][0]["tree"] for opt in data["optimizers"])
    layer4 = next(c for c in built["children"] if c["name"] == "model.layer4")
    assert layer4["set_on"] == [7]  # `model.requires_grad_(False)`
    assert next(c for c in end["children"] if c["name"] == "model.layer4")["set_on"] == [12]
    page = show("--output-format", "html", warmup)
    assert (
        "model.layer4: 15 tensors, 8,393,728 elements; frozen; set on line 7: "
        "model.requires_grad_(False)"
    ) in page
    assert data["source"]["12"] == "model.requires_grad_(True)"


def test_frozen_batchnorm_put_in_train_mode_is_a_state_of_its_own() -> None:
    script = str(FIXTURES / "FRZ009" / "effnet_helper_freeze.py")
    text = show("--depth", "1", script)
    built, end = text.split("as the script leaves it")
    assert "BatchNorm in train mode  [" not in built  # (`.train()` comes after it)
    bn0 = "|-- model._bn0  2 tensors, 64 elements  - frozen, ! BatchNorm in train mode  [FRZ009]"
    assert bn0 in end
    assert "|-- model._conv_stem  1 tensor, 864 elements  - frozen\n" in end


def test_a_file_that_does_not_parse_says_so(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("import torch\nmodel = (\n")
    result = CliRunner().invoke(cli, ["show", str(script)])
    assert result.exit_code == 1
    assert "syntax error: nothing to show" in result.output


def test_a_notebook_is_shown_with_its_lines_named_by_cell(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    head, tail = RECIPE3.read_text().split("params_to_update = []")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# recipe 3"),
        nbformat.v4.new_code_cell(head.strip()),
        nbformat.v4.new_code_cell("params_to_update = []" + tail),
    ]
    path = tmp_path / "recipe3.ipynb"
    nbformat.write(notebook, path)
    text = show(str(path))
    assert text.startswith("optimizer `optimizer` (Adam), line 9 (cell 3), as built\n")
    assert "  FRZ006 line 9 (cell 3): 6 trainable tensors" in text
    assert "|-- model._conv_stem  1 tensor, 864 elements  ! trainable, in no optimizer" in text
    (data,) = json.loads(show("--output-format", "json", str(path)))
    line = str(data["optimizers"][0]["line"])
    assert data["line_labels"][line] == "9 (cell 3)"


def test_an_optimizer_built_in_an_imported_file_and_a_group_added_in_a_cell(
    tmp_path: Path,
) -> None:
    # The optimizer of a helper in another file has no line of this one; in a notebook, the
    # line an `add_param_group` adds a group on is named by its cell like every other.
    (tmp_path / "helpers.py").write_text(
        "import torch\n\n\ndef make_optimizer(model):\n"
        "    return torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )
    script = tmp_path / "train.py"
    script.write_text(
        "import torchvision\nfrom helpers import make_optimizer\n\n"
        "model = torchvision.models.resnet18()\noptimizer = make_optimizer(model)\n"
    )
    text = show("--depth", "0", str(script))
    assert ", in a file it imports, as built" in text and "line 0" not in text
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "import torch, torchvision\nmodel = torchvision.models.resnet18()\n"
            "model.requires_grad_(False)\nmodel.fc.requires_grad_(True)\n"
            "optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)"
        ),
        nbformat.v4.new_code_cell(
            "model.layer4.requires_grad_(True)\n"
            'optimizer.add_param_group({"params": model.layer4.parameters(), "lr": 0.01})'
        ),
    ]
    path = tmp_path / "warmup.ipynb"
    nbformat.write(notebook, path)
    assert "  group 1: lr 0.01, weight_decay default, added on line 2 (cell 2)\n" in show(str(path))
