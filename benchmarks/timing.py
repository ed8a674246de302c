"""What the benchmarks share: the median wall time of a command run a few times, alone or in
turn with others."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], repeat: int) -> float:
    return timed_together([command], repeat)[0]


def timed_together(commands: list[list[str]], repeat: int) -> list[float]:
    """The median wall time of each command, run in turn (the first, the second, ..., then the
    first again): this machine's speed drifts by 10-20% over a minute, and runs taken in turn
    share the drift, so that ratios between the commands hold where back-to-back series do not."""
    runs: list[list[float]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, times in zip(commands, runs, strict=True):
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False, cwd=ROOT)
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in runs]
