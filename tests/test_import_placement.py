"""A fix that needs `import torch` puts it where isort puts it (issue 25: ruff's I001 must not
fire on a fixed file): among the third-party imports, sorted, straight imports before `from`
ones, or as a section of its own after the standard library's."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from freezelint.findings.fixes import Fix, FixContext, apply
from freezelint.script.positions import positions

CASES = [
    (
        '"""Doc."""\n\nimport argparse\nimport os\n\nimport timm\nfrom torchvision import models\n',
        '"""Doc."""\n\nimport argparse\nimport os\n\nimport timm\nimport torch\n'
        "from torchvision import models\n",
    ),
    (
        "import argparse\n\nimport torchvision\n",
        "import argparse\n\nimport torch\nimport torchvision\n",
    ),
    (
        "import os\nimport sys\n\nfrom torchvision.models import resnet18\n",
        "import os\nimport sys\n\nimport torch\nfrom torchvision.models import resnet18\n",
    ),
    ("import os\n\nimport timm\n", "import os\n\nimport timm\nimport torch\n"),
    ("import os\nimport sys\n", "import os\nimport sys\n\nimport torch\n"),
    ('"""Doc."""\n', '"""Doc."""\nimport torch\n'),
    ("import torch.nn as nn\n", "import torch\nimport torch.nn as nn\n"),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_import_torch_goes_where_isort_puts_it(before: str, after: str, tmp_path: Path) -> None:
    source = before + "\nx = 1\n"
    module = cst.parse_module(source)
    context = FixContext(source, positions(module, source), module)
    fixed, _ = apply(source, [Fix("safe", "m", (context.add_import("import torch"),))])
    assert fixed == after + "\nx = 1\n"
    ruff = shutil.which("ruff")
    if ruff is not None:
        path = tmp_path / "fixed.py"
        path.write_text(fixed)
        done = subprocess.run(
            [ruff, "check", "--isolated", "--select", "I001", str(path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, textwrap.indent(done.stdout, "  ")
