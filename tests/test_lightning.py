"""Lightning as it really runs: each Lightning fixture is run with a real `Trainer.fit` (CPU, two
tiny epochs, no weights) by the runtime oracle, and what happened must be what freezelint says
(or does not say) about it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_format import FIXTURES, read_expected

pytest.importorskip("lightning")

CASES = {
    # fixture: (the code it reports or None, the oracle's counts that prove it)
    "FRZ009/lightning_fit_frozen_backbone.py": ("FRZ009", {"frozen_bn_drifted": 20}),
    "FRZ009/ok_lightning_freeze_train_bn_false.py": (None, {"frozen_bn_drifted": 0}),
    "FRZ008/lightning_unfreeze_leaves_batchnorm_out.py": (
        "FRZ008",
        {"trainable_outside": 10, "frozen_bn_drifted": 0},
    ),
    "FRZ008/ok_lightning_basefinetuning.py": (None, {"trainable_outside": 0, "frozen_inside": 0}),
}


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    scripts = [str(FIXTURES / name) for name in CASES]
    done = subprocess.run(
        [sys.executable, "-m", "tests.oracle", *scripts],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", CASES)
def test_lightning_runtime_truth(name: str, reports: dict[str, dict]) -> None:
    code, counts = CASES[name]
    report = reports[str(FIXTURES / name)]
    assert report["error"] is None, report
    assert report["stepped"], report  # Lightning really trained
    for key, value in counts.items():
        assert report[key] == value, (key, report)
    codes = {line.split(" ")[1] for line in read_expected(FIXTURES / name)}
    assert codes == ({code} if code else set())
