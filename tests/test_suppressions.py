"""`# noqa` on the reported line and `# freezelint: noqa` for a file: neither reported nor fixed."""

from __future__ import annotations

import pytest

from freezelint.checking.checker import check_source
from freezelint.fixing.loop import fix_source

BASE = "import torchvision\nmodel = torchvision.models.resnet18()\n"


@pytest.mark.parametrize(
    ("line", "reported"),
    [
        ("model.requires_grad = False", True),
        ("model.requires_grad = False  # noqa", False),
        ("model.requires_grad = False  # noqa: FRZ004", False),
        ("model.requires_grad = False  # NOQA:FRZ001,FRZ004", False),
        ("model.requires_grad = False  # noqa: FRZ0", False),
        ("model.requires_grad = False  # noqa: FRZ001", True),
        ("model.requires_grad = '# noqa'", True),
    ],
)
def test_line_noqa(line: str, reported: bool) -> None:
    found = check_source(BASE + line + "\n", "x.py")
    assert bool(found) is reported


@pytest.mark.parametrize(
    ("header", "reported"),
    [
        ("# freezelint: noqa\n", False),
        ("# freezelint: noqa: FRZ004\n", False),
        ("# freezelint: noqa: FRZ002\n", True),
        ("x = 1  # freezelint: noqa\n", True),  # file-level only on a line of its own
    ],
)
def test_file_noqa(header: str, reported: bool) -> None:
    found = check_source(header + BASE + "model.requires_grad = False\n", "x.py")
    assert bool(found) is reported


def test_suppressed_findings_are_not_fixed() -> None:
    text = BASE + "model.requires_grad = False  # noqa: FRZ004\n"
    assert fix_source(text, "x.py", None, None, unsafe=True).text == text
