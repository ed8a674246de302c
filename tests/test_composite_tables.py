"""Parameter tables of composite models (a user `nn.Module` made of a backbone and layers, an
`nn.Sequential`) and of `torch.nn` layers, checked against the real modules built with torch
here (freezelint itself imports torch only in its worker)."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from torch import nn

from freezelint.model import resolve as resolve_module
from freezelint.model.cache import TableCache
from freezelint.model.resolve import Unverified, Verifier, resolve
from freezelint.model.spec import CompositeSpec, VerifySpec, verify_spec
from freezelint.model.table import ParamTable
from freezelint.script.events import UNKNOWN, ModelSpec, Timeline
from freezelint.script.layers import LAYERS, PARAM_FREE
from freezelint.script.recognize import PARAM_FREE_LAYERS
from freezelint.simulation.atoms import TableAtoms


def layer(name: str, *args: Any, **kwargs: Any) -> ModelSpec:
    return ModelSpec(
        "torch.nn", f"torch.nn.{name}", name=name, args=args, kwargs=tuple(kwargs.items())
    )


def sequential(*parts: ModelSpec | None) -> ModelSpec:
    return ModelSpec(
        "torch.nn",
        "torch.nn.Sequential",
        name="Sequential",
        parts=tuple((str(i), part) for i, part in enumerate(parts)),
    )


def composite(name: str, **parts: ModelSpec | None) -> ModelSpec:
    return ModelSpec("composite", name, name=name, parts=tuple(parts.items()))


RESNET18 = ModelSpec(
    "torchvision", "torchvision.models.resnet18", name="resnet18", kwargs=(("weights", None),)
)


def my_net_spec(out: Any = 10, **changes: ModelSpec | None) -> ModelSpec:
    parts: dict[str, ModelSpec | None] = {
        "backbone": RESNET18,
        "neck": layer("BatchNorm1d", 512),
        "fc": layer("Linear", 512, out),
        "head": sequential(
            layer("Linear", 512, 128), layer("ReLU", inplace=True), layer("Linear", 128, 3)
        ),
    }
    parts.update(changes)
    return composite("MyNet", **parts)


class MyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = torchvision.models.resnet18(weights=None)
        self.neck = nn.BatchNorm1d(512)
        self.fc = nn.Linear(512, 10)
        self.head = nn.Sequential(nn.Linear(512, 128), nn.ReLU(inplace=True), nn.Linear(128, 3))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> TableCache:
    return TableCache(tmp_path_factory.mktemp("composite-cache"))


def table_of(spec: ModelSpec, cache: TableCache | None) -> ParamTable:
    vspec, why = verify_spec(spec)
    assert vspec is not None, why
    result = resolve([vspec], cache)[vspec]
    assert isinstance(result, ParamTable), result
    return result


def real_table(model: nn.Module) -> dict[str, Any]:
    modules = [(path, type(m).__name__) for path, m in model.named_modules()]
    owner = dict(modules)
    return {
        "params": [
            (n, tuple(p.shape), p.numel(), n.rpartition(".")[0], owner[n.rpartition(".")[0]])
            for n, p in model.named_parameters()
        ],
        "modules": modules,
        "norms": [
            p for p, m in model.named_modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
        ],
    }


def test_composite_table_is_the_real_module_s(cache: TableCache) -> None:
    table = table_of(my_net_spec(), cache)
    with torch.device("meta"):
        real = real_table(MyNet())
    assert [(p.name, p.shape, p.numel, p.module, p.module_class) for p in table.params] == (
        real["params"]
    )
    assert table.modules == real["modules"]
    assert table.modules[:3] == [
        ("", "MyNet"),
        ("backbone", "ResNet"),
        ("backbone.conv1", "Conv2d"),
    ]
    assert table.norms == real["norms"] and "neck" in table.norms and "backbone.bn1" in table.norms
    assert table.classifier is None and not table.head_unknown
    assert table.children("") == ["backbone", "neck", "fc", "head"]
    assert table.children("head") == ["head.0", "head.1", "head.2"]
    assert table.label() == "MyNet (torchvision resnet18 + 5 layers)"
    verified = table.verified()
    assert verified["library"] == "composite" and verified["constructor"] == "MyNet"
    assert list(verified["parts"]) == ["backbone", "neck", "fc", "head"]
    assert verified["parts"]["fc"]["kwargs"] == {"in_features": 512, "out_features": 10}
    assert verified["parts"]["head"]["parts"]["1"]["constructor"] == "ReLU"
    assert "torch " in verified["version"] and "torchvision " in verified["version"]
    atoms = TableAtoms(1, table)
    assert [path for path, exact in atoms.under(("head", "-1")) if exact] == [
        ("head", "2", "weight"),
        ("head", "2", "bias"),
    ]
    assert atoms.numel(("fc", "weight")) == 5120


def test_a_sequential_of_layers(cache: TableCache) -> None:
    spec = sequential(
        layer("Conv2d", 3, 16, 3, 2, 1, bias=False),
        layer("BatchNorm2d", 16),
        layer("SiLU"),
        layer("GroupNorm", 4, 16),
        layer("LSTM", 16, 32, 2, bidirectional=True),
        layer("Embedding", 100, 16, padding_idx=0),
        layer("LayerNorm", (4, 16), elementwise_affine=True),
        layer("BatchNorm1d", 8, track_running_stats=False),
    )
    table = table_of(spec, cache)
    with torch.device("meta"):
        real = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False),
            nn.BatchNorm2d(16),
            nn.SiLU(),
            nn.GroupNorm(4, 16),
            nn.LSTM(16, 32, 2, bidirectional=True),
            nn.Embedding(100, 16, padding_idx=0),
            nn.LayerNorm((4, 16)),
            nn.BatchNorm1d(8, track_running_stats=False),
        )
    expected = real_table(real)
    assert [(p.name, p.shape, p.numel) for p in table.params] == [
        row[:3] for row in expected["params"]
    ]
    # A BatchNorm without running statistics has none to update: not a norm of the table.
    assert table.modules == expected["modules"] and table.norms == ["1"]
    assert table.label() == "Sequential (8 layers)"


def test_positional_and_keyword_arguments_are_one_spec() -> None:
    by_position, _ = verify_spec(layer("Conv2d", 3, 64, 7, 2, 3, bias=False))
    by_keyword, _ = verify_spec(
        layer("Conv2d", in_channels=3, out_channels=64, kernel_size=7, bias=False, stride=2)
    )
    assert (
        by_position
        == by_keyword
        == VerifySpec(
            "torch.nn",
            "Conv2d",
            (("bias", False), ("in_channels", 3), ("kernel_size", 7), ("out_channels", 64)),
        )
    )
    relu, _ = verify_spec(layer("ReLU", UNKNOWN))
    assert relu == VerifySpec("torch.nn", "ReLU")  # arguments of a parameter-free layer: moot


def test_unknown_sizes_leave_element_counts_unknown(cache: TableCache) -> None:
    spec = my_net_spec(
        out=UNKNOWN,
        backbone=ModelSpec(
            "torchvision",
            "torchvision.models.resnet18",
            name="resnet18",
            kwargs=(("num_classes", UNKNOWN),),
        ),
        head=sequential(layer("Linear", 512, 128), layer("GroupNorm", 8, UNKNOWN)),
    )
    table = table_of(spec, cache)
    assert table.unknown == ("backbone.fc", "fc", "head.1") and table.head_unknown
    numel = table.numel_by_path
    names = [p.name for p in table.params]
    assert {"fc.weight", "fc.bias", "backbone.fc.weight", "head.1.weight"} <= set(names)
    assert not {"fc.weight", "fc.bias", "backbone.fc.weight", "head.1.weight"} & {
        ".".join(path) for path in numel
    }
    assert numel[("head", "0", "weight")] == 512 * 128
    assert numel[("backbone", "conv1", "weight")] == 64 * 3 * 7 * 7
    assert TableAtoms(1, table).numel(("fc", "weight")) is None
    parts = dict(table.parts or [])
    assert parts["fc"].kwargs == {"in_features": 512, "out_features": None}
    assert parts["backbone"].kwargs["num_classes"] is None
    vspec, _ = verify_spec(layer("GroupNorm", 8, UNKNOWN))
    assert vspec is not None and dict(vspec.kwargs)["num_channels"] % 8 == 0


def test_with_unknown_head_still_marks_the_library_head(cache: TableCache) -> None:
    table = table_of(RESNET18, cache).with_unknown_head()
    assert table.unknown == ("fc",) and table.kwargs["num_classes"] is None
    assert ("fc", "weight") not in table.numel_by_path
    assert ("conv1", "weight") in table.numel_by_path


@pytest.mark.parametrize(
    ("part", "why"),
    [
        (None, "part `fc` is not a module freezelint can build"),
        (layer("Linear", 512, 10, bias=UNKNOWN), "part `fc`: argument `bias`"),
        (layer("Linear", 512, UNKNOWN, **{"**": UNKNOWN}), "part `fc`: arguments unpacked"),
        (layer("Linear", 512, 10, 5, 5), "more positional arguments"),
        (layer("Linear", 512, 10, bogus=1), "argument `bogus`"),
        (layer("LSTM", 512, 10, num_layers=UNKNOWN), "argument `num_layers`"),
        (layer("Transformer"), "`nn.Transformer` is not a layer"),
        (ModelSpec(None, "make_head()"), "not a model constructor"),
    ],
)
def test_an_unknown_part_is_a_region_the_partial_table_does_not_know(
    part: ModelSpec | None, why: str, cache: TableCache
) -> None:
    """The other parts keep their exact tensors; the unknown one is an opaque region (its
    tensors not counted, not named, at no known position)."""
    spec = my_net_spec(fc=part)
    vspec, reason = verify_spec(spec)
    assert isinstance(vspec, CompositeSpec) and vspec.opaque == ("fc",) and reason == ""
    assert [attr for attr, _ in vspec.parts] == ["backbone", "neck", "head"]
    verifier = Verifier(cache)
    (table,) = verifier.tables_for([Timeline(models={1: spec})]).values()
    assert verifier.unverified == {}
    assert table.opaque == ("fc",)
    assert not [p for p in table.params if p.name.startswith("fc.")]
    assert table.label() == "MyNet (torchvision resnet18 + 4 layers + 1 part not known)"
    assert table.verified()["not_known"] == ["fc"]
    atoms = TableAtoms(1, table)
    assert (("fc",), True) in atoms.under(())
    assert atoms.under(("fc", "weight")) == [(("fc",), False)]
    assert atoms.numel(("fc",)) is None
    assert why  # (what made it unknown, as the parts' own specs say)


def test_a_composite_with_no_known_part_or_its_own_parameter_has_no_table() -> None:
    spec = ModelSpec("composite", "MyNet", name="MyNet", parts=(("a", None), ("b", None)))
    vspec, why = verify_spec(spec)
    assert vspec is None and why == "part `a`: is not a module freezelint can build"
    own = replace(my_net_spec(), own_params=True)
    vspec, why = verify_spec(own)
    assert vspec is None and why == "it holds an `nn.Parameter` of its own"


def test_a_part_that_cannot_be_built_is_a_region_not_known(cache: TableCache) -> None:
    spec = my_net_spec(head=sequential(layer("Linear", 512, 128), layer("Conv2d", 3, 8)))
    vspec, _ = verify_spec(spec)
    assert isinstance(vspec, CompositeSpec)
    result = resolve([vspec], cache)[vspec]
    assert isinstance(result, ParamTable)
    assert result.opaque == ("head.1",)
    assert [p.name for p in result.params if p.name.startswith("head.")] == [
        "head.0.weight",
        "head.0.bias",
    ]
    conv = sequential(layer("Conv2d", 3, 8))
    only, _ = verify_spec(replace(spec, parts=(("head", conv),)))
    assert isinstance(only, CompositeSpec)
    result = resolve([only], cache)[only]
    assert isinstance(result, Unverified) and result.reason.startswith("part `head.0`")


def test_verifier_tables_composites_and_layers_only_inside_them(cache: TableCache) -> None:
    timeline = Timeline(
        models={1: my_net_spec(), 2: layer("Linear", 512, 10), 3: RESNET18, 4: sequential()}
    )
    verifier = Verifier(cache)
    tables = verifier.tables_for([timeline])
    assert sorted(tables) == [1, 3, 4]
    assert tables[1].label() == "MyNet (torchvision resnet18 + 5 layers)"
    assert tables[3].label() == "torchvision resnet18"
    assert tables[4].params == [] and tables[4].modules == [("", "Sequential")]
    assert verifier.verified == {
        "MyNet(backbone, neck, fc, head)",
        "torchvision:resnet18",
        "Sequential()",
    }
    assert not verifier.unverified
    assert verifier.tables_for([timeline])[1] is tables[1]  # composed once per run


def test_leaf_tables_are_cached_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = TableCache(tmp_path)
    first = table_of(my_net_spec(), cache)
    # One file per library model and parameter-holding layer; none for the composites or ReLU.
    assert len(list((tmp_path / "tables").glob("*.json"))) == 5

    def no_worker(specs: list[VerifySpec]) -> list[Any]:
        raise AssertionError(f"the worker ran for {specs}")

    monkeypatch.setattr(resolve_module, "_run_worker", no_worker)
    again = table_of(my_net_spec(), cache)
    assert again.params == first.params and again.modules == first.modules
    other = table_of(
        composite("Other", head=layer("Linear", 512, 10), trunk=RESNET18, act=layer("GELU")),
        cache,
    )
    assert [m for m, _ in other.modules[:3]] == ["", "head", "trunk"]
    assert other.label() == "Other (torchvision resnet18 + 2 layers)"


def test_layer_signatures_match_torch() -> None:
    """The allow-list names positional arguments in torch's order (RNNs take *args)."""
    rnn = list(inspect.signature(nn.modules.rnn.RNNBase.__init__).parameters)[2:]
    for name, spec in LAYERS.items():
        params = inspect.signature(getattr(nn, name).__init__).parameters
        names = [n for n, _ in spec.positional]
        if "args" in params:
            expected = [n for n in rnn if n != "proj_size" or name == "LSTM"]
            if name == "RNN":
                expected.insert(3, "nonlinearity")
            assert names == expected[: len(names)], name
            continue
        assert names == list(params)[1 : len(names) + 1], name
        kw_only = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
        assert {n for n, _ in spec.keyword} <= kw_only | set(params), name


def test_parameter_free_layers_have_no_parameters_or_submodules() -> None:
    assert PARAM_FREE_LAYERS <= PARAM_FREE
    for name in sorted(PARAM_FREE):
        cls = getattr(nn, name)
        for args in ((), (2,), (1, (2, 2)), (2, 2), (1, 2.0)):
            try:
                module = cls(*args)
            except (TypeError, ValueError):
                continue
            break
        else:
            pytest.fail(f"could not build nn.{name}")
        assert not list(module.parameters()) and not list(module.children()), name
