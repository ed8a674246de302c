"""The light pre-commit hook has no torch (issue 25): it verifies models against the tables a
run with torch left in the cache (`TableCache.get_latest`), else against the tables freezelint
ships (`freezelint.model.prebuilt`), each finding saying which library version built its table;
a model with neither is reported unverified (tests/test_readme_examples.py). Run through the
real command line in a process where torch and the model libraries are not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "finetune_efficientnet.py"

# A process without torch: importing it fails, and its distributions (and the model
# libraries') are not installed as far as package metadata tells (read from the `.dist-info`
# folders, or through `importlib.metadata`: `installed_versions`).
WITHOUT_TORCH = """
import importlib.metadata as metadata, sys
from freezelint.script import installed_versions
HIDDEN = {"torch", "timm", "torchvision", "efficientnet-pytorch"}
def hiding(real, missing):
    def version(name):
        if name in HIDDEN:
            raise missing(name)
        return real(name)
    return version
metadata.version = hiding(metadata.version, metadata.PackageNotFoundError)
installed_versions._plain_version = hiding(
    installed_versions._plain_version, installed_versions.NotInstalled
)
for name in ("torch", "timm", "torchvision", "efficientnet_pytorch"):
    sys.modules[name] = None
from freezelint.frontends.cli import main
sys.argv = ["freezelint", *sys.argv[1:]]
main()
"""


def check(cache: Path, *, torch: bool) -> list[dict]:
    prefix = [sys.executable] if torch else [sys.executable, "-c", WITHOUT_TORCH]
    if torch:
        prefix.append("-m")
        prefix.append("freezelint")
    done = subprocess.run(
        [*prefix, "check", "--output-format", "json", "--cache-dir", str(cache), str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr
    return json.loads(done.stdout)


def test_without_torch_the_cached_tables_verify(cache_dir: Path, tmp_path: Path) -> None:
    with_torch = check(cache_dir, torch=True)
    light = check(cache_dir, torch=False)
    assert [(d["code"], d["message"]) for d in light] == [
        (d["code"], d["message"]) for d in with_torch
    ]
    verified = [d["verified"] for d in light if d["verified"]]
    assert verified and all(v["library"] == "timm" and v["version"] for v in verified)
    assert verified == [d["verified"] for d in with_torch if d["verified"]]
    # Nothing cached: the same mistakes, none verified.
    # Nothing cached: the tables freezelint ships verify the same (`prebuilt`), each saying
    # the version it was built with.
    empty = check(tmp_path / "empty", torch=False)
    assert [(d["code"], d["message"]) for d in empty] == [
        (d["code"], d["message"]) for d in with_torch
    ]
    shipped = [d["verified"] for d in empty if d["verified"]]
    assert shipped and all(v["library"] == "timm" and v["version"] for v in shipped)
    assert len(shipped) == len(verified)
