"""Small regressions found while triaging fixtures, each checked statically (no model needed)."""

from __future__ import annotations

from freezelint.checking.checker import check_source
from freezelint.findings.fixes import parses
from freezelint.fixing.loop import fix_source


def codes(source: str) -> list[str]:
    return [d.code for d in check_source(source, "train.py")]


def test_fix_wraps_a_generator_expression_it_iterates() -> None:
    """The FRZ001 fix puts the handed expression after `for p in`: a generator expression (bare
    as the call's only argument, or parenthesised) keeps its parentheses there."""
    source = (
        "import torch, torchvision\n"
        "model = torchvision.models.resnet18()\n"
        "model.layer1.requires_grad_(False)\n"
        "a = torch.optim.SGD(p for p in model.parameters())\n"
        "b = torch.optim.SGD(((p for p in model.parameters())), lr=0.1)\n"
    )
    fixed = fix_source(source, "train.py", None, None, unsafe=False).text
    assert parses(fixed)
    assert "SGD([p for p in (p for p in model.parameters()) if p.requires_grad])" in fixed
    assert "SGD((([p for p in (p for p in model.parameters()) if p.requires_grad])), " in fixed


def test_group_from_a_used_up_iterator_is_not_told() -> None:
    """A generator over an iterator a loop used up hands the optimizer nothing: FRZ012, and no
    FRZ001 about the frozen parameters it would have held."""
    source = (
        "import torch, torchvision\n"
        "model = torchvision.models.resnet18()\n"
        "model.layer1.requires_grad_(False)\n"
        "named = model.named_parameters()\n"
        "for name, p in named:\n"
        "    print(name)\n"
        "opt = torch.optim.SGD((p for _, p in named), lr=0.1)\n"
    )
    assert codes(source) == ["FRZ012"]


def test_list_drawn_from_a_fresh_iterator_is_fine() -> None:
    source = (
        "import torch, torchvision\n"
        "model = torchvision.models.resnet18()\n"
        "named = model.named_parameters()\n"
        "opt = torch.optim.SGD([p for _, p in named if p.requires_grad], lr=0.1)\n"
    )
    assert codes(source) == []


def test_name_filter_unfreeze_is_named_by_its_module(verifier) -> None:
    """FRZ008 on a name filter (with the model's table): the module holding exactly the
    unfrozen parameters, else the modules they are part of."""
    source = (
        "import torch\n"
        "from timm import create_model\n"
        "model = create_model('resnet50', num_classes=5)\n"
        "for name, param in model.named_parameters():\n"
        "    param.requires_grad = name.startswith('fc.')\n"
        "optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)\n"
        "for name, param in model.named_parameters():\n"
        "    if name.startswith('layer4.2.'):\n"
        "        param.requires_grad = True\n"
        "for name, param in model.named_parameters():\n"
        "    if name.startswith('layer3.') and 'conv' in name:\n"
        "        param.requires_grad = True\n"
    )
    found = [
        d.message.split(" is unfrozen")[0] for d in check_source(source, "t.py", None, verifier)
    ]
    assert found == ["`model.layer4[2]`", "part of `model.layer3`"]
    assert codes(source) == []  # without the table the filters are unknown: nothing


HELPER_SWAP = """\
import torch
from torch import nn
from efficientnet_pytorch import EfficientNet


def replace_head(net):
    net._fc = nn.Linear(1280, 5){extra}


model = EfficientNet.from_name("efficientnet-b0")
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
replace_head(model)
"""


def test_optimizer_moves_below_a_helper_that_swaps_the_head() -> None:
    source = HELPER_SWAP.format(extra="")
    fixed = fix_source(source, "t.py", None, None, unsafe=False).text
    assert fixed.endswith(
        "replace_head(model)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )


def test_optimizer_stays_when_the_helper_names_it() -> None:
    source = HELPER_SWAP.format(extra="\n    print(optimizer)")
    assert codes(source) == ["FRZ002"]
    assert fix_source(source, "t.py", None, None, unsafe=False).text == source


def test_an_iterator_consumed_in_one_arm_of_a_joined_branch() -> None:
    """Past the budget of paths the last branches are joined; an optimizer in each arm of one
    if/else is handed the same `filter(...)`: only one of them runs, nothing is used up twice
    (seen in real code). Inside a loop, another turn may run the other arm: that is FRZ012."""
    flags = "".join(
        f"if args.f{i}:\n    model.layer{1 + i % 4}.requires_grad_(False)\n" for i in range(8)
    )
    head = (
        "import argparse, torch, torchvision\n"
        "args = argparse.ArgumentParser().parse_args()\n"
        "model = torchvision.models.resnet18()\n"
    )
    tail = (
        "params = filter(lambda p: p.requires_grad, model.parameters())\n"
        "if args.adamw:\n"
        "    optimizer = torch.optim.AdamW(params, lr=1e-3)\n"
        "else:\n"
        "    optimizer = torch.optim.Adam(params, lr=1e-3)\n"
    )
    assert "FRZ012" not in codes(head + flags + tail)
    looped = (
        tail.replace("if args.adamw:", "for epoch in range(2):\n  if epoch == 0:")
        .replace("else:", "  else:")
        .replace("    optimizer", "      optimizer")
    )
    assert codes(head + looped).count("FRZ012") == 1


def test_a_machine_query_keeps_its_truth() -> None:
    """`torch.cuda.is_available()` answers the same in two tests: no path (and no message)
    pairs it with its negation."""
    source = (
        "import torch, torchvision\n"
        "model = torchvision.models.resnet18()\n"
        "if torch.cuda.is_available():\n"
        "    model.fc.requires_grad_(False)\n"
        "if not torch.cuda.is_available():\n"
        "    model.layer4.requires_grad_(False)\n"
        "optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)\n"
    )
    messages = [d.message for d in check_source(source, "train.py")]
    assert messages and not any(
        "torch.cuda.is_available() and not torch.cuda.is_available()" in m
        or "not torch.cuda.is_available() and torch.cuda.is_available()" in m
        for m in messages
    ), messages


def test_a_part_from_a_call_not_followed_is_some_part_of_the_model(verifier) -> None:
    """`part = get_part(model)` from a module the analysis cannot read is perhaps the model or a
    module inside it: a freeze through it leaves the model's state unknown, so nothing is said
    about tensors left out of the head's optimizer (the count would be a guess); with the part
    taken from the model in view the finding stands."""
    source = (
        "import torch, torchvision\n"
        "from helpers import get_part\n"
        "model = torchvision.models.resnet18()\n"
        "part = {part}\n"
        "for p in part.parameters():\n"
        "    p.requires_grad = False\n"
        "opt = torch.optim.SGD(model.fc.parameters(), lr=0.1)\n"
    )
    unknown = source.format(part="get_part(model)")
    assert [d.code for d in check_source(unknown, "train.py", None, verifier)] == []
    known = source.format(part="model.layer4")
    assert [d.code for d in check_source(known, "train.py", None, verifier)] == ["FRZ006"]
