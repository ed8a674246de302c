"""Verification: the sandboxed worker, the cache, specs, `inspect`, and what happens without a
model table (unknown constructors, non-static arguments, torch not installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from freezelint.checking.checker import check_source
from freezelint.frontends.cli import cli
from freezelint.model import resolve as resolve_module
from freezelint.model.cache import TableCache
from freezelint.model.resolve import Unverified, Verifier, resolve
from freezelint.model.spec import VerifySpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "FRZ005" / "fc_in_timm_efficientnet.py"


def test_worker_builds_without_weights_or_network(tmp_path: Path) -> None:
    """A real build under the audit hook: no socket, no weights file is even attempted."""
    audit = tmp_path / "audit.log"
    specs = [
        {"library": "timm", "name": "resnet18", "kwargs": {"num_classes": 3}},
        {"library": "efficientnet_pytorch", "name": "efficientnet-b0", "kwargs": {}},
        {"library": "torchvision", "name": "mobilenet_v3_small", "kwargs": {}},
    ]
    done = subprocess.run(
        [sys.executable, "-m", "freezelint.model.worker"],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FREEZELINT_WORKER_AUDIT": str(audit)},
    )
    results = json.loads(done.stdout)
    assert [sorted(r) for r in results] == [["table"]] * 3
    assert results[0]["table"]["classifier"] == "fc"
    assert not audit.exists() or audit.read_text() == ""


def test_worker_sandbox_refuses_network_and_weights(tmp_path: Path) -> None:
    """The sandbox itself: a connection and opening a weights file both fail, and are logged."""
    audit = tmp_path / "audit.log"
    probe = textwrap.dedent(f"""
        import socket
        from freezelint.model.worker import _sandbox
        _sandbox()
        for attempt in (lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
                        lambda: open({str(tmp_path / "model.pth")!r}, "wb")):
            try:
                attempt()
            except PermissionError:
                print("refused")
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FREEZELINT_WORKER_AUDIT": str(audit)},
    )
    assert done.stdout.split() == ["refused", "refused"]
    assert not (tmp_path / "model.pth").exists()
    assert "network" in audit.read_text() and "weights" in audit.read_text()


def test_unknown_constructor_is_unverified_not_a_finding(verifier: Verifier) -> None:
    source = textwrap.dedent("""
        import timm
        model = timm.create_model("not_a_real_model_name", pretrained=True)
        for name, param in model.named_parameters():
            if "fc" not in name:
                param.requires_grad = False
    """)
    assert check_source(source, "x.py", None, verifier) == []
    assert "timm:not_a_real_model_name" in verifier.unverified


@pytest.mark.parametrize(
    "call",
    [
        "timm.create_model(args.arch)",
        'timm.create_model("resnet18", in_chans=args.n)',
        'timm.create_model("resnet18", **cfg)',
        'timm.create_model("resnet18", some_new_option=3)',
    ],
)
def test_arguments_not_known_statically_make_it_unverified(call: str, tmp_path: Path) -> None:
    source = f"import timm\nmodel = {call}\nfor p in model.parameters():\n    pass\n"
    verifier = Verifier(TableCache(tmp_path))
    check_source(source, "x.py", None, verifier)
    assert verifier.unverified and not verifier.verified
    assert not (tmp_path / "tables").exists()  # no worker was started


def test_a_computed_head_size_verifies_with_the_head_left_unsized(verifier: Verifier) -> None:
    """`num_classes=len(classes)` changes only the head's shape: the model is verified with a
    stand-in size, and counts that would include the head's elements leave them out."""
    source = textwrap.dedent("""
        import timm
        import torch
        classes = sorted(open("labels.txt").read().split())
        model = timm.create_model("resnet18", pretrained=True, num_classes=len(classes))
        model.requires_grad_(False)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """)
    [finding] = check_source(source, "x.py", None, verifier)
    assert finding.code == "FRZ011" and finding.verified is not None
    assert finding.verified["kwargs"]["num_classes"] is None
    assert "62 tensors" in finding.message


def test_constants_and_fstrings_resolve(cache_dir: Path) -> None:
    source = textwrap.dedent("""
        import timm
        N = 5
        VARIANT = 0
        model = timm.create_model(f"efficientnet_b{VARIANT}", pretrained=True, num_classes=N)
        model.requires_grad_(False)
    """)
    verifier = Verifier(TableCache(cache_dir))
    check_source(source, "x.py", None, verifier)
    assert verifier.verified == {"timm:efficientnet_b0(num_classes=5)"}


def test_corrupt_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    cache = TableCache(tmp_path)
    spec = VerifySpec.parse("torchvision:resnet18")
    version = resolve_module.library_version("torchvision")
    assert version is not None
    path = cache.path(spec, version)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    table = resolve([spec], cache)[spec]
    assert not isinstance(table, Unverified) and len(table.params) == 62
    assert json.loads(path.read_text())["format"] == 1


def test_cached_check_never_imports_torch(cache_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "freezelint",
            "check",
            str(FIXTURE),
            "--cache-dir",
            str(cache_dir),
            "--output-format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert any(
        d["code"] == "FRZ005" and d["verified"]["library"] == "timm"
        for d in json.loads(result.stdout)
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert not imported & {"torch", "timm", "torchvision", "efficientnet_pytorch"}


def test_without_torch_static_rules_still_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(resolve_module, "library_version", lambda library: None)
    # The example's own model has a table freezelint ships: verified with no torch.
    shipped = CliRunner().invoke(
        cli, ["check", str(ROOT / "examples"), "--cache-dir", str(tmp_path)]
    )
    assert shipped.exit_code == 1
    assert "FRZ002" in shipped.output and "could not be verified" not in shipped.output
    # A model it ships no table for (timm's mixnet): unverified, said so.
    script = tmp_path / "train.py"
    example = (ROOT / "examples" / "finetune_efficientnet.py").read_text()
    script.write_text(example.replace('"efficientnet_b0"', '"mixnet_s"'))
    result = CliRunner().invoke(cli, ["check", str(script), "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "FRZ002" in result.output
    assert "could not be verified" in result.output
    assert "pip install 'freezelint[verify]'" in result.output


def test_no_verify_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["check", "--no-verify", "--output-format", "json", str(FIXTURE)]
    )
    assert all(d["code"] != "FRZ005" for d in json.loads(result.output))


def test_inspect(cache_dir: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "inspect",
            "timm:efficientnet_b0",
            "--num-classes",
            "5",
            "--cache-dir",
            str(cache_dir),
            "--output-format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tensors"] == 213 and data["classifier"] == "classifier"
    assert data["batchnorm_layers"] > 0
    assert {"filter": 'name.startswith("classifier.")', "tensors": 2} in data["filters"]
    text = CliRunner().invoke(
        cli,
        ["inspect", "timm:efficientnet_b0", "--num-classes", "5", "--cache-dir", str(cache_dir)],
    )
    assert "blocks" in text.output and "BatchNorm" in text.output
    bad = CliRunner().invoke(cli, ["inspect", "keras:resnet"])
    assert bad.exit_code == 2


def _hammer(folder: str, rounds: int) -> int:
    """Write and read one cache entry over and over; count reads that were torn."""
    from freezelint.model.cache import TableCache as Cache

    cache = Cache(Path(folder))
    spec = VerifySpec.parse("timm:resnet18")
    data = {
        "format": 1,
        "library": "timm",
        "name": "resnet18",
        "version": "1",
        "kwargs": {},
        "params": [[f"p{i}", [3, 3], 9, "m", "Conv2d"] for i in range(3000)],
        "modules": [["", "Net"]],
        "norms": [],
        "classifier": "fc",
    }
    torn = 0
    for _ in range(rounds):
        cache.put(spec, "1", data)
        got = cache.get(spec, "1")
        torn += got is None or isinstance(got, str) or len(got.params) != 3000
    return torn


def test_concurrent_processes_never_corrupt_the_cache(tmp_path: Path) -> None:
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        torn = pool.starmap(_hammer, [(str(tmp_path), 25)] * 4)
    assert torn == [0, 0, 0, 0]
    assert not list((tmp_path / "tables").glob(".tmp-*"))
