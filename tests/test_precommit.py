"""The pre-commit hooks, through the real `pre-commit try-repo` on a temporary git repository:
a bad file fails the hook, a good one passes, the fix hook fixes; and the README's two
configurations, copied as a user copies them, run with the real `pre-commit run`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = "import torchvision\nmodel = torchvision.models.resnet18()\nmodel.requires_grad = False\n"
GOOD = "import torchvision\nmodel = torchvision.models.resnet18()\nmodel.requires_grad_(False)\n"

pytestmark = pytest.mark.skipif(
    shutil.which("pre-commit") is None and not shutil.which("git"),
    reason="pre-commit or git not available",
)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("project")
    git(folder, "init", "-q")
    git(folder, "config", "user.email", "ci@example.invalid")
    git(folder, "config", "user.name", "ci")
    (folder / "bad.py").write_text(BAD)
    (folder / "good.py").write_text(GOOD)
    git(folder, "add", ".")
    return folder


def pre_commit(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit ARGS` in the project, with its own pre-commit home and table cache."""
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
        "FREEZELINT_CACHE_DIR": str(project.parent / "cache"),
    }
    return subprocess.run(
        ["pre-commit", *args], cwd=project, capture_output=True, text=True, env=env, check=False
    )


def try_repo(project: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    return pre_commit(project, "try-repo", str(ROOT), hook, "--files", *files)


def test_hook_fails_on_a_bad_file_and_passes_on_a_good_one(project: Path) -> None:
    bad = try_repo(project, "freezelint", "bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FRZ004" in bad.stdout
    good = try_repo(project, "freezelint", "good.py")
    assert good.returncode == 0, good.stdout + good.stderr


def test_the_configured_exclude_holds_for_files_pre_commit_names(project: Path) -> None:
    # pre-commit passes files one by one; `exclude` still holds (`--force-exclude` in the
    # hooks), for a folder it names and for the default excludes (a virtual environment).
    (project / "pyproject.toml").write_text('[tool.freezelint]\nexclude = ["generated/"]\n')
    for folder in ("generated", "venv"):
        (project / folder).mkdir(exist_ok=True)
        (project / folder / "bad.py").write_text(BAD)
    (project / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    git(project, "add", "-f", ".")
    skipped = try_repo(project, "freezelint", "generated/bad.py", "venv/bad.py")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    checked = try_repo(project, "freezelint", "generated/bad.py", "bad.py")
    assert checked.returncode == 1 and "FRZ004" in checked.stdout
    assert "generated/bad.py" not in checked.stdout


def test_fix_hook_fixes(project: Path) -> None:
    result = try_repo(project, "freezelint-fix", "bad.py")
    assert result.returncode == 1  # files were modified: pre-commit fails the run
    assert (project / "bad.py").read_text() == GOOD


def readme_configs() -> list[str]:
    """The YAML blocks of the README's pre-commit section, as written there."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)


def run_config(project: Path, config: str, *files: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` with this configuration on fresh copies of the bad and good scripts
    (the fix hook's test rewrites `bad.py`)."""
    (project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (project / "readme_bad.py").write_text(BAD)
    (project / "readme_good.py").write_text(GOOD)
    git(project, "add", ".")
    return pre_commit(project, "run", "--files", *files)


def test_the_readme_local_hook_as_written(project: Path) -> None:
    local, _ = readme_configs()
    assert "repo: local" in local
    bad = run_config(project, local, "readme_bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FRZ004" in bad.stdout
    assert run_config(project, local, "readme_good.py").returncode == 0


def test_the_readme_hosted_hook_with_this_repository_as_the_url(project: Path) -> None:
    """The hosted form with its two placeholders filled in: this checkout stands for the URL,
    its HEAD commit for the rev (the hooks it declares are the committed ones)."""
    _, hosted = readme_configs()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    config = hosted.replace("https://git.example.com/your-team/freezelint", str(ROOT))
    config = config.replace("0123abcd", head)
    assert config != hosted
    bad = run_config(project, config, "readme_bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FRZ004" in bad.stdout
