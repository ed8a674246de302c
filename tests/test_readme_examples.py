"""The README's examples, run as a new user would run them (issue 25): each code block that shows
a command, its output, a script before and after a fix, an API call or a configuration is taken
out of README.md and run here, so that the README cannot drift from what freezelint does.

Blocks tested elsewhere: the pre-commit YAML (tests/test_precommit.py, with the real
`pre-commit`), the editor snippets (tests/test_editor_snippets.py), the codemod command
(tests/test_fixes.py::test_the_readme_codemod_as_written). Not run: the two set-up commands
(`.ci/run` runs the second; the first is the usage block below without its `pip install`), and
the CPU-only `pip install` of torch (it needs the network), and the one-line sketch of a finding
on some paths only in "Paths" (it elides the message; conditions are tested in test_paths.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "finetune_efficientnet.py"
WITHOUT_TORCH = (ROOT / "tests" / "test_light_hook.py").read_text(encoding="utf-8")


def blocks(after: str) -> list[str]:
    """The fenced code blocks of the README section whose heading starts with `after`, in
    order (up to the next heading of the same level)."""
    start = README.index(f"\n{after}")
    level = after.split(" ", 1)[0]
    end = README.find(f"\n{level} ", start + 1)
    section = README[start : end if end != -1 else None]
    return re.findall(r"```[a-z]*\n(.*?)```", section, flags=re.S)


def in_order(expected: list[str], actual: list[str]) -> None:
    """Each expected line in `actual`, in order; `...` stands for any lines (and a line
    ending in `...` for any rest of that line)."""
    at = 0
    gap = False
    for line in expected:
        if line.strip() == "...":
            gap = True
            continue
        prefix = line.endswith("...")
        want = line[:-3] if prefix else line
        found = [
            i
            for i in range(at, len(actual))
            if (actual[i].startswith(want) if prefix else actual[i] == want)
        ]
        assert found, f"README line not in the output (in order):\n{line}\n\n" + "\n".join(actual)
        if not gap:
            assert found[0] == at, f"README line not where the output has it:\n{line}"
        at, gap = found[0] + 1, False


def freezelint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "freezelint", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_the_quick_start_output() -> None:
    block = blocks("## Usage")[0]
    command, *expected = block.rstrip("\n").split("\n")
    assert command == "$ freezelint check examples/finetune_efficientnet.py"
    done = freezelint(*command.split()[2:])
    assert done.returncode == 1, done.stderr
    in_order(expected, done.stdout.rstrip("\n").split("\n"))


def test_the_trainability_map() -> None:
    command, *expected = blocks("## Seeing what trains")[0].rstrip("\n").split("\n")
    assert command.startswith("$ freezelint show ")
    done = freezelint(*command.split()[2:])
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n").split("\n") == expected


def test_the_fixing_example_before_and_after(tmp_path: Path) -> None:
    before, after = blocks("## Fixing")[:2]
    # In a copy of the repository's layout: the example under `examples/`, the project's line
    # length from its pyproject.toml.
    (tmp_path / "examples").mkdir()
    script = tmp_path / "examples" / EXAMPLE.name
    shutil.copy(EXAMPLE, script)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    code = [line for line in script.read_text().split("\n") if line and not line.startswith("#")]
    in_order(["...", *before.rstrip("\n").split("\n")], code)
    said = re.search(
        r'`freezelint check --fix examples/\S+` \("([^"]+)"\)', README.replace("\n", " ")
    )
    assert said is not None
    done = freezelint("check", "--fix", "examples/" + EXAMPLE.name, cwd=tmp_path)
    assert said.group(1) in done.stdout, done.stdout
    fixed = [line for line in script.read_text().split("\n") if line and not line.startswith("#")]
    in_order(["...", *after.rstrip("\n").split("\n")], fixed)


def test_the_runtime_audit_calls() -> None:
    torch = pytest.importorskip("torch")
    import freezelint as api

    (block,) = blocks("## At run time")[:1]
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    model[0].requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    names = {
        "freezelint": api,
        "model": model,
        "optimizer": optimizer,
        "scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 1),
        "backbone_optimizer": torch.optim.SGD(trainable[:1], lr=0.1),
        "head_optimizer": torch.optim.SGD(trainable[1:], lr=0.1),
    }
    exec(compile(block.replace("import freezelint\n", ""), "README.md", "exec"), names)
    assert names["findings"] == []  # (nothing wrong with this model and optimizer)


def test_the_lightning_callback() -> None:
    pytest.importorskip("lightning")
    from lightning.pytorch import Callback, Trainer

    block = blocks("## At run time")[1]
    names = {"Trainer": Trainer}
    exec(compile(block, "README.md", "exec"), names)
    (callback,) = [c for c in names["trainer"].callbacks if type(c).__name__ == "FreezeAudit"]
    assert isinstance(callback, Callback)


def test_the_configuration_example(tmp_path: Path) -> None:
    from freezelint.run.config import load

    block = next(b for b in blocks("## Configuration") if b.startswith("[tool.freezelint]"))
    path = tmp_path / "pyproject.toml"
    path.write_text(block)
    config = load(path)
    assert config.ignore == ["FRZ010"]
    assert config.model_aliases == {"myproj.models.build_backbone": ("timm", "efficientnet_b3")}
    assert config.per_file_ignores == {"tests/*": ["FRZ006"]}
    assert config.cache_dir == (tmp_path / ".freezelint-cache").resolve()


def test_the_could_not_be_verified_note(tmp_path: Path) -> None:
    # Without torch, on the example with a model freezelint ships no table for.
    section = blocks("## Verification against the real model")
    (block,) = [b for b in section if "could not be verified" in b]
    script = tmp_path / "train.py"
    script.write_text(EXAMPLE.read_text().replace('"efficientnet_b0"', '"mixnet_s"'))
    code = WITHOUT_TORCH.split('WITHOUT_TORCH = """', 1)[1].split('"""', 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code, "check", "--cache-dir", str(tmp_path), str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert block in done.stderr, done.stderr
