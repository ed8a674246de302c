"""The parameter tables freezelint ships (`freezelint/model/prebuilt.py`, issue 25): a sample
rebuilt with the real libraries is the shipped table, row for row (with and without
`num_classes`, models with auxiliary and distillation heads among them); layers computed from
their arguments are what torch builds; what is not shipped is not guessed."""

from __future__ import annotations

import pytest

from freezelint.model import prebuilt
from freezelint.model.spec import TORCH_NN, VerifySpec

SHIPPED = {"models": {key: prebuilt.model_entry(*key.split(":", 1)) for key in prebuilt.shipped()}}
SAMPLE = [
    ("timm", "efficientnet_b0", {}),
    ("timm", "efficientnet_b0", {"num_classes": 5}),
    ("timm", "vit_tiny_patch16_224", {"num_classes": 10}),
    ("timm", "deit_tiny_distilled_patch16_224", {"num_classes": 4}),
    ("timm", "convnext_tiny", {}),
    ("timm", "regnety_008", {"num_classes": 3}),
    ("torchvision", "resnet18", {"num_classes": 10}),
    ("torchvision", "inception_v3", {"num_classes": 3}),
    ("torchvision", "googlenet", {"num_classes": 2}),
    ("torchvision", "squeezenet1_0", {"num_classes": 6}),
    ("torchvision", "vit_b_16", {}),
    ("efficientnet_pytorch", "efficientnet-b3", {"num_classes": 7}),
]
# Every 40th shipped model as well, with its default arguments.
SAMPLE += [
    (*key.split(":", 1), {})  # type: ignore[misc]
    for key in sorted(SHIPPED["models"])[::40]
]
LAYERS = [
    ("Linear", {"in_features": 512, "out_features": 10}),
    ("Linear", {"in_features": 7, "out_features": 3, "bias": False}),
    ("Conv2d", {"in_channels": 64, "out_channels": 32, "kernel_size": 3}),
    ("Conv2d", {"in_channels": 64, "out_channels": 32, "kernel_size": (1, 3), "groups": 4}),
    ("Conv1d", {"in_channels": 8, "out_channels": 8, "kernel_size": 5, "bias": False}),
    ("Conv3d", {"in_channels": 2, "out_channels": 4, "kernel_size": (3, 3, 1)}),
    ("BatchNorm2d", {"num_features": 16}),
    ("BatchNorm1d", {"num_features": 16, "affine": False, "track_running_stats": False}),
    ("LayerNorm", {"normalized_shape": 768}),
    ("LayerNorm", {"normalized_shape": (4, 6), "elementwise_affine": False}),
    ("Embedding", {"num_embeddings": 100, "embedding_dim": 8, "padding_idx": 0}),
]


def built(library: str, name: str, kwargs: dict) -> dict:
    from freezelint.model.worker import table

    return table({"library": library, "name": name, "kwargs": kwargs})


def spec(library: str, name: str, kwargs: dict) -> VerifySpec:
    return VerifySpec(library, name, tuple(kwargs.items()))


@pytest.mark.parametrize(("library", "name", "kwargs"), SAMPLE)
def test_a_shipped_model_table_is_the_table_a_build_gives(
    library: str, name: str, kwargs: dict
) -> None:
    pytest.importorskip("torch")
    real = built(library, name, kwargs)
    shipped = prebuilt.get(spec(library, name, kwargs))
    assert shipped is not None
    if shipped.version != real["version"]:
        pytest.skip(f"{library} {real['version']} installed, tables built with {shipped.version}")
    assert shipped.to_json() == real


@pytest.mark.parametrize(("name", "kwargs"), LAYERS)
def test_a_layer_table_is_what_torch_builds(name: str, kwargs: dict) -> None:
    pytest.importorskip("torch")
    real = built(TORCH_NN, name, kwargs)
    shipped = prebuilt.get(spec(TORCH_NN, name, kwargs))
    assert shipped is not None
    assert shipped.to_json() == dict(real, version=shipped.version)


@pytest.mark.parametrize(
    ("library", "name", "kwargs"),
    [
        ("timm", "efficientnet_b0", {"num_classes": 0}),  # (the head is dropped: not a resize)
        ("timm", "efficientnet_b0", {"drop_rate": 0.3}),
        ("timm", "efficientnet_b0", {"num_classes": True}),
        ("timm", "not_a_model", {}),
        ("torchvision", "fasterrcnn_resnet50_fpn", {}),  # (not a classification model)
        (TORCH_NN, "Linear", {"in_features": 512}),
        (TORCH_NN, "Conv2d", {"in_channels": 6, "out_channels": 4, "kernel_size": 3, "groups": 4}),
        (TORCH_NN, "GRU", {"input_size": 4, "hidden_size": 4}),
    ],
)
def test_what_is_not_shipped_is_not_guessed(library: str, name: str, kwargs: dict) -> None:
    assert prebuilt.get(spec(library, name, kwargs)) is None


def test_the_families_the_issue_names_are_shipped_in_a_few_megabytes() -> None:
    names = set(SHIPPED["models"])
    assert {f"efficientnet_pytorch:efficientnet-b{i}" for i in range(9)} <= names
    assert {"torchvision:resnet50", "torchvision:vit_b_16", "torchvision:regnet_y_400mf"} <= names
    for family in ("resnet", "efficientnet", "convnext", "vit", "deit", "swin", "regnet"):
        assert any(n.startswith(f"timm:{family}") for n in names), family
    for family in ("mobilenet", "densenet"):
        assert any(n.startswith(f"timm:{family}") for n in names), family
    assert prebuilt.DATA.stat().st_size < 5_000_000
    # `num_classes` resizes the head rows of every model that has a head by default; the others
    # (feature extractors: DINOv2, SigLIP, CLIP, their head an `Identity` or absent) get none.
    for key, entry in SHIPPED["models"].items():
        table = entry["table"]
        head = dict(map(tuple, table["modules"])).get(table["classifier"] or "")
        assert (entry["head"] is None) == (head in (None, "Identity")), key


def test_the_wheel_ships_the_tables() -> None:
    import tomllib

    config = tomllib.loads((prebuilt.DATA.parents[2] / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]["freezelint.model"]
    assert prebuilt.DATA.name in data


@pytest.mark.parametrize("key", prebuilt.shipped()[::10])
def test_params_under_is_the_parameters_at_or_inside_a_path(key: str) -> None:
    """`ParamTable.params_under` bisects the sorted names: the same parameters, in table order,
    as testing every one, for every module path and parameter name of the table, and for paths
    that are a prefix of a name without being a module (`blocks.1` against `blocks.10`)."""
    library, name = key.split(":", 1)
    table = prebuilt.get(VerifySpec(library, name))
    assert table is not None
    paths = {m for m, _ in table.modules} | {p.name for p in table.params}
    paths |= {n[: n.index(".") + 2] for n in paths if "." in n} | {"nothing.here"}
    for path in sorted(paths):
        inside = f"{path}." if path else ""
        expected = [
            p for p in table.params if not path or p.name.startswith(inside) or p.name == path
        ]
        assert table.params_under(path) == expected, path
