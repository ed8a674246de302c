"""FRZ018's cuts, decided on the parameter table (`simulation.cuts`), checked against the same
positional freeze run here on the real model built on the meta device: which modules end up
with tensors both frozen and trainable, and where the nearest cuts that split nothing are.
Also the positional loops the extractor follows (enumerate's start, counters, `break`)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import timm
import torch
import torchvision
from efficientnet_pytorch import EfficientNet

from freezelint.checking.checker import check_source
from freezelint.model.cache import TableCache
from freezelint.model.resolve import Verifier, library_version, resolve
from freezelint.model.spec import VerifySpec
from freezelint.model.worker import _host_side_config
from freezelint.script.extract import extract
from freezelint.simulation.cuts import cuts
from freezelint.simulation.replay import Simulation

CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
# (the builder as a script writes it, the one run here, where the positions count from)
MODELS: dict[str, tuple[str, Any]] = {
    "resnet18": ("torchvision.models.resnet18()", lambda: torchvision.models.resnet18()),
    "mobilenet_v2": ("torchvision.models.mobilenet_v2()", torchvision.models.mobilenet_v2),
    "regnet_y_400mf": ("torchvision.models.regnet_y_400mf()", torchvision.models.regnet_y_400mf),
    "timm_efficientnet_b0": (
        'timm.create_model("efficientnet_b0")',
        lambda: timm.create_model("efficientnet_b0"),
    ),
    "timm_vit_tiny": (
        'timm.create_model("vit_tiny_patch16_224")',
        lambda: timm.create_model("vit_tiny_patch16_224"),
    ),
    "efficientnet_pytorch_b0": (
        'EfficientNet.from_name("efficientnet-b0")',
        lambda: EfficientNet.from_name("efficientnet-b0"),
    ),
}
POSITIONS = (1, 2, 3, 5, 9, 15, 20, 30, 40, 91, 100, -3, -2, -1)
FREEZE = "p.requires_grad = False"
HEADER = """\
import timm
import torch
import torchvision
from efficientnet_pytorch import EfficientNet

model = {builder}
"""
_BUILT: dict[str, torch.nn.Module] = {}


def built(name: str) -> torch.nn.Module:
    if name not in _BUILT:
        with _host_side_config(), torch.device("meta"):
            _BUILT[name] = MODELS[name][1]()
    return _BUILT[name]


def split_at(model: torch.nn.Module, k: int) -> set[str]:
    """Freeze the first `k` tensors for real; the modules (not the model, not containers) left
    with tensors both frozen and trainable."""
    for i, param in enumerate(model.parameters()):
        param.requires_grad_(i >= k)
    out = set()
    for path, module in model.named_modules():
        mixed = {p.requires_grad for p in module.parameters()} == {True, False}
        if path and mixed and not isinstance(module, CONTAINERS):
            out.add(path)
    return out


def table(name: str, verifier: Verifier):  # type: ignore[no-untyped-def]
    source = HEADER.format(builder=MODELS[name][0])
    (timeline,) = extract(cst.parse_module(source))
    ((_, found),) = verifier.tables_for([timeline]).items()
    return found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_cuts_as_they_run(name: str, verifier: Verifier) -> None:
    model, found = built(name), table(name, verifier)
    count = len(found.params)
    assert count == len(list(model.parameters()))
    for k in POSITIONS:
        k = k % count
        real = split_at(model, k)
        (cut,) = cuts(found, "", (None, k)) or (None,)
        if cut is None:
            assert real == set(), (k, real)
            continue
        kinds = dict(found.modules)
        # The modules split are the block, the innermost module cut and what lies between.
        assert cut.block in real and cut.module in real, (k, cut, real)
        assert all(m == cut.block or m.startswith(f"{cut.block}.") for m in real)
        assert not any(m.startswith(f"{cut.module}.") for m in real), (k, cut, real)
        assert kinds[cut.block] == type(model.get_submodule(cut.block)).__name__
        # Its ends are the nearest positions that split nothing; every one between splits it.
        assert split_at(model, cut.lower) == set() and split_at(model, cut.upper) == set()
        for inner in range(cut.lower + 1, cut.upper):
            assert cut.block in split_at(model, inner), (k, inner, cut)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_rule_reports_what_runs(name: str, verifier: Verifier) -> None:
    model, count = built(name), len(table(name, verifier).params)
    for k in POSITIONS:
        k = k % count
        loop = f"for i, p in enumerate(model.parameters()):\n    if i < {k}:\n        {FREEZE}\n"
        source = HEADER.format(builder=MODELS[name][0]) + loop
        found = [d for d in check_source(source, "x.py", {"FRZ018"}, verifier)]
        real = split_at(model, k)
        assert bool(found) == bool(real), (k, real, found)
        if found:
            outermost = min(real, key=len)
            assert "`model" in found[0].message and f"of the {count} tensors" in found[0].message
            assert outermost.split(".")[-1] in found[0].message, found[0].message


# Positional loops over a resnet18 (62 tensors), each with the tensors it really freezes (None:
# the loop is not followed, what it freezes is unknown).
LOOPS = {
    "enumerate_lt": (
        f"for i, p in enumerate(model.parameters()):\n    if i < 20:\n        {FREEZE}",
        20,
    ),
    "enumerate_le": (
        f"for i, p in enumerate(model.parameters()):\n    if i <= 20:\n        {FREEZE}",
        21,
    ),
    "enumerate_start": (
        f"for i, p in enumerate(model.parameters(), 1):\n    if i <= 20:\n        {FREEZE}",
        20,
    ),
    "enumerate_start_kw": (
        f"for i, p in enumerate(model.parameters(), start=5):\n    if i < 20:\n        {FREEZE}",
        15,
    ),
    "flipped": (
        f"for i, p in enumerate(model.parameters()):\n    if 20 > i:\n        {FREEZE}",
        20,
    ),
    "named": (
        f"for i, (n, p) in enumerate(model.named_parameters()):\n    if i >= 50:\n        {FREEZE}",
        12,
    ),
    "counter_first": (
        f"c = 0\nfor p in model.parameters():\n    c += 1\n    if c < 20:\n        {FREEZE}",
        19,
    ),
    "counter_last": (
        f"c = 3\nfor p in model.parameters():\n    if c < 20:\n        {FREEZE}\n    c = c + 1",
        17,
    ),
    "counter_skipped": (
        "c = 0\nfor p in model.parameters():\n    if p.ndim == 1:\n        continue\n"
        f"    if c < 20:\n        {FREEZE}\n    c += 1",
        None,  # `continue` skips the count: not the index
    ),
    "break": (
        f"for i, p in enumerate(model.parameters()):\n    if i >= 20:\n        break\n    {FREEZE}",
        20,
    ),
    "continue": (
        "for i, p in enumerate(model.parameters()):\n"
        f"    if i < 20:\n        continue\n    {FREEZE}",
        42,
    ),
    "slice_from_end": (f"for p in list(model.parameters())[:-2]:\n    {FREEZE}", 60),
    "slice_tail": (f"for p in list(model.parameters())[40:]:\n    {FREEZE}", 22),
}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_positional_loops(loop: str, verifier: Verifier) -> None:
    body, expected = LOOPS[loop]
    source = HEADER.format(builder=MODELS["resnet18"][0]) + body + "\n"
    (timeline,) = extract(cst.parse_module(source))
    sim = Simulation(timeline, verifier.tables_for([timeline]))
    ((model, atoms),) = sim.tables.items()
    statuses = [sim.state[(model, path)].status for path in atoms.table.paths]
    real = built("resnet18")
    real.requires_grad_(True)
    exec(textwrap.dedent(body), {"model": real})  # the test's own loop, on the real model
    frozen = sum(not p.requires_grad for p in real.parameters())
    if expected is None:
        assert "?" in statuses
    else:
        assert frozen == expected and statuses.count("F") == expected and "?" not in statuses


def test_cached_build_error_from_before_is_retried(tmp_path: Path) -> None:
    """A RegNet cached as unbuildable by an older worker is built again."""
    cache = TableCache(tmp_path)
    spec = VerifySpec("torchvision", "regnet_x_400mf")
    version = library_version("torchvision")
    assert version is not None
    path = cache.path(spec, version)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"error": "NotImplementedError: Cannot copy out of meta tensor"}))
    result = resolve([spec], cache)[spec]
    assert not isinstance(result, str) and len(result.params) > 100  # type: ignore[union-attr]
