"""The name-predicate interpreter: what it evaluates, what it refuses, what it re-raises."""

from __future__ import annotations

import libcst as cst
import pytest

from freezelint.script.predicates import PredicateRaised, Unsupported, evaluate


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ('"fc" in name', {"name": "fc.weight"}, True),
        ('"fc" not in name', {"name": "fc.weight"}, False),
        ('name.startswith(("fc", "head"))', {"name": "head.bias"}, True),
        ('int(name.split(".")[1]) < 3', {"name": "blocks.2.conv.weight"}, True),
        ('name.split(".")[0] in {"conv1", "bn1"}', {"name": "bn1.weight"}, True),
        ("any(k in name for k in keys)", {"name": "layer4.0", "keys": ("layer4", "fc")}, True),
        ("all(k not in name for k in keys)", {"name": "layer4.0", "keys": ("fc",)}, True),
        (r're.match(r"blocks\.[0-2]\.", name)', {"name": "blocks.3.x"}, None),
        (r're.match(r"blocks\.[0-2]\.", name) is None', {"name": "blocks.3.x"}, True),
        (r'int(re.search(r"layer(\d+)", name).group(1))', {"name": "layer3.0.w"}, 3),
        ('any(f"layer{i}" in name for i in range(1, 3))', {"name": "layer2.0.w"}, True),
        ('any(f"layer{i}" in name for i in range(1, 3))', {"name": "layer3.0.w"}, False),
        ('name.startswith(f"{stage}.")', {"name": "layer2.0", "stage": "layer2"}, True),
        ('"x" if name.endswith("bias") else ""', {"name": "fc.bias"}, "x"),
    ],
)
def test_evaluates(source: str, env: dict, expected: object) -> None:
    assert evaluate(cst.parse_expression(source), env) == expected


@pytest.mark.parametrize(
    "source",
    [
        'os.system("rm -rf /")',
        "__import__('os')",
        "open(name)",
        "name.__class__",
        "undefined_name in name",
        "lambda: 1",
        "getattr(name, 'upper')()",
        "any(str(i) in name for i in range(10**9))",
        "name.group(1)",
    ],
)
def test_refuses_what_it_does_not_model(source: str) -> None:
    with pytest.raises(Unsupported):
        evaluate(cst.parse_expression(source), {"name": "fc.weight"})


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ('int(name.split(".")[1])', "ValueError"),
        ('name.split(".")[5]', "IndexError"),
    ],
)
def test_reraises_what_the_script_would(source: str, error: str) -> None:
    with pytest.raises(PredicateRaised, match=error):
        evaluate(cst.parse_expression(source), {"name": "conv_stem.weight"})
