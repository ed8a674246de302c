"""Standard input through the real command line, as an editor drives it: `freezelint check
--stdin-filename PATH -` reports the buffer as PATH with PATH's configuration and project, and
with --fix writes the text to standard output and the report to standard error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """\
import torch
import torch.nn as nn
import torchvision

net = torchvision.models.resnet18(weights="DEFAULT")
net.requires_grad_(False)
optimizer = torch.optim.SGD(net.fc.parameters(), lr=0.1)
net.fc = nn.Linear(512, 10)
"""

FIXED = """\
import torch
import torch.nn as nn
import torchvision

net = torchvision.models.resnet18(weights="DEFAULT")
net.requires_grad_(False)
net.fc = nn.Linear(512, 10)
optimizer = torch.optim.SGD(net.fc.parameters(), lr=0.1)
"""


def freezelint(*args: str, stdin: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "freezelint", "check", "--cache-dir", str(cache), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )


def test_the_buffer_is_reported_as_the_stdin_filename(tmp_path: Path, cache_dir: Path) -> None:
    done = freezelint(
        "--stdin-filename", "scripts/train.py", "-", stdin=SCRIPT, cwd=tmp_path, cache=cache_dir
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("scripts/train.py:")]
    assert [line.split(" ")[1] for line in lines] == ["FRZ002", "FRZ011"]
    assert lines[0].startswith(
        "scripts/train.py:7:13: FRZ002 [*] error: optimizer `optimizer` (SGD)"
    )
    assert "7 | optimizer = torch.optim.SGD(net.fc.parameters(), lr=0.1)" in done.stdout
    # Without a file name the buffer is `-`; the file named is never read.
    bare = freezelint("-", stdin=SCRIPT, cwd=tmp_path, cache=cache_dir)
    assert bare.returncode == 1 and bare.stdout.startswith("-:7:13: FRZ002")


def test_fix_writes_the_text_to_stdout_and_the_report_to_stderr(
    tmp_path: Path, cache_dir: Path
) -> None:
    on_disk = tmp_path / "train.py"
    on_disk.write_text("# the saved file, older than the buffer\n", encoding="utf-8")
    done = freezelint(
        "--fix", "--stdin-filename", "train.py", "-", stdin=SCRIPT, cwd=tmp_path, cache=cache_dir
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == FIXED
    assert "Fixed 1 finding (0 remaining)." in done.stderr
    assert on_disk.read_text(encoding="utf-8") == "# the saved file, older than the buffer\n"
    # Nothing to fix: the buffer comes back as it was.
    clean = freezelint(
        "--fix", "--stdin-filename", "train.py", "-", stdin=FIXED, cwd=tmp_path, cache=cache_dir
    )
    assert clean.returncode == 0 and clean.stdout == FIXED
    diff = freezelint(
        "--diff", "--stdin-filename", "train.py", "-", stdin=SCRIPT, cwd=tmp_path, cache=cache_dir
    )
    assert diff.returncode == 1 and diff.stdout.startswith("--- train.py\n+++ train.py\n")


def test_configuration_and_project_come_from_the_stdin_filename(
    tmp_path: Path, cache_dir: Path
) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[tool.freezelint.per-file-ignores]\n"scripts/*" = ["FRZ011"]\n', encoding="utf-8"
    )
    (project / "scripts" / "freezing.py").write_text(
        "def freeze_all(model):\n    for p in model.parameters():\n"
        "        p.requires_grad = False\n",
        encoding="utf-8",
    )
    script = (
        "import torch\nimport torchvision\nfrom freezing import freeze_all\n\n"
        'model = torchvision.models.resnet18(weights="DEFAULT")\nfreeze_all(model)\n'
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = str(project / "scripts" / "train.py")
    done = freezelint("--stdin-filename", target, "-", stdin=script, cwd=elsewhere, cache=cache_dir)
    # FRZ011 (nothing trainable, the freeze found in the project's freezing.py) is ignored for
    # scripts/* by the project's configuration; without it, it is reported.
    assert done.returncode == 0, done.stdout + done.stderr
    isolated = freezelint(
        "--isolated", "--stdin-filename", target, "-", stdin=script, cwd=elsewhere, cache=cache_dir
    )
    assert isolated.returncode == 1
    assert f"{target}:7:13: FRZ011" in isolated.stdout


def test_an_error_line_is_never_followed_by_all_checks_passed(
    tmp_path: Path, cache_dir: Path
) -> None:
    done = freezelint("missing.py", stdin="", cwd=tmp_path, cache=cache_dir)
    assert done.returncode == 2
    assert "missing.py: No such file or directory" in done.stderr
    assert "All checks passed" not in done.stdout + done.stderr
    mixed = freezelint("-", "other.py", stdin=SCRIPT, cwd=tmp_path, cache=cache_dir)
    assert mixed.returncode == 2 and "cannot be checked with other paths" in mixed.stderr
