"""The runtime oracle (`tests/oracle.py`) over many scripts, split across the machine's cores:
one oracle process per core, each importing torch once and running its share of the scripts
(each script is seeded on its own, so the split does not change a report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PER_PROCESS = 8  # fewer scripts than this per process: not worth another torch import


def run_oracle(scripts: list[str], *flags: str) -> dict[str, dict]:
    """Each script's report, by the script as given."""
    scripts = list(dict.fromkeys(scripts))
    count = max(1, min(os.cpu_count() or 1, len(scripts) // PER_PROCESS))
    shares = [scripts[index::count] for index in range(count)]
    # One thread each: processes sharing the cores, each with a thread per core, would spin
    # against each other (measured: three times slower than one process).
    env = {**os.environ, "OMP_NUM_THREADS": "1"} if count > 1 else None
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.oracle", *flags, *share],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for share in shares
        if share
    ]
    reports: dict[str, dict] = {}
    failures = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            failures.append(f"oracle exited {process.returncode}:\n{err[-3000:]}")
        else:
            reports.update(json.loads(out))
    if failures:
        raise RuntimeError("\n".join(failures))
    return reports
