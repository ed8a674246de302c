"""Benchmark: issue 24's scaling ratio counted in machine instructions, which do not drift.

    python benchmarks/instructions.py [--baseline DIR] [--rounds 2] [--scripts]

This machine's speed drifts by 10-20% within a minute, so timed ratios move by more than most
speed changes are worth. Valgrind's cachegrind counts the instructions a process runs, the same
from one run to the next: a change to the analysis shows its cost exactly, whatever the machine
is doing. Per script (scaling.py's `blocks(16, True)` and `blocks(16, False)`), a process runs
`check_source` once to warm (imports, the table cache) and then `--rounds` more times; the same
process without the extra rounds is counted too, and the difference, per round, is one check's
count. The first row is the issue's ratio (16 blocks with if/else over 16 blocks without); with
`--baseline DIR` (a checkout: `git worktree add DIR <rev>`) the same rows for it. With
`--scripts`, also a pool process's share of speed.py's (b) (150 of its 300 scripts, as the pool
runs them, models from a table cache filled beforehand), less the same process's start and
imports: what a change to the analysis costs where the scripts contract is measured.

Instructions are not time: allocation and cache misses cost more on the if/else script (its
snapshots copy the walker's containers), so the timed ratio (scaling.py's last row) reads about
0.15 above this one. Use it to see which way a change goes and by how much; quote time for the
contract. Needs `valgrind` on PATH (not a dependency of the project: the benchmark says so and
stops without it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from speed import training_scripts

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, CHECKOUT)
sys.path.insert(0, BENCHMARKS)
from scaling import blocks
from freezelint.checking.checker import check_source
from freezelint.model.cache import TableCache, default_cache_dir
from freezelint.model.resolve import Verifier
verifier = Verifier(TableCache(default_cache_dir()))
text = blocks(16, BRANCH)
for _ in range(1 + ROUNDS):
    check_source(text, "train.py", None, verifier)
"""


# A process of the pool (`cli._results`): the checker imported, then its share of (b)'s
# scripts, every other one, each as the pool runs it (before `run_file_in_pool`: `run_file`).
WORKER = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, CHECKOUT)
from pathlib import Path
from freezelint.rules import RULES
from freezelint.run import runner
from freezelint.run.discovery import DiscoveredPath
options = runner.Options(cache_dir=Path(CACHE))
runner.preload(options)
check = getattr(runner, "run_file_in_pool", runner.run_file)
for path in sorted(Path(SCRIPTS).glob("*.py"))[::2] if FILES else []:
    check(DiscoveredPath(path, str(path), False), frozenset(RULES), options)
"""


def count(checkout: Path, branch: bool, rounds: int) -> int:
    """Instructions of a process checking the script `1 + rounds` times."""
    code = (
        CHILD.replace("CHECKOUT", repr(str(checkout)))
        .replace("BENCHMARKS", repr(str(ROOT / "benchmarks")))
        .replace("BRANCH", repr(branch))
        .replace("ROUNDS", str(rounds))
    )
    return instructions(code, checkout)


def worker_share(checkout: Path, scripts: Path, cache: Path) -> int:
    """Instructions of a pool's process checking its half of the scripts, less those of the
    same process checking none (its start and imports)."""

    def code(files: bool) -> str:
        return (
            WORKER.replace("CHECKOUT", repr(str(checkout)))
            .replace("CACHE", repr(str(cache)))
            .replace("SCRIPTS", repr(str(scripts)))
            .replace("FILES", repr(files))
        )

    return instructions(code(True), checkout) - instructions(code(False), checkout)


def instructions(code: str, checkout: Path) -> int:
    """Instructions of a Python process running `code` (cachegrind)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "child.py"
        script.write_text(code)
        done = subprocess.run(
            [
                "valgrind",
                "--tool=cachegrind",
                "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
                sys.executable,
                str(script),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            cwd=folder,
            check=False,
        )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"valgrind failed on {checkout}:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_check(checkout: Path, branch: bool, rounds: int) -> float:
    return (count(checkout, branch, rounds) - count(checkout, branch, 0)) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout, counted the same way")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--scripts",
        action="store_true",
        help="also count a pool process's share of speed.py's (b): 150 of its 300 scripts",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with it")
    checkouts = [("this checkout", ROOT)]
    if args.baseline is not None:
        checkouts.append((args.baseline.name, args.baseline.resolve()))
    print("| checkout | 16 blocks, if/else | 16 blocks | ratio |")
    print("|---|---|---|---|")
    for label, checkout in checkouts:
        with_branch = per_check(checkout, True, args.rounds)
        without = per_check(checkout, False, args.rounds)
        print(
            f"| {label} | {with_branch / 1e6:.1f} M | {without / 1e6:.1f} M "
            f"| {with_branch / without:.3f}x |"
        )
    if args.scripts:
        print_worker_shares(checkouts)


def print_worker_shares(checkouts: list[tuple[str, Path]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        scripts, cache = Path(folder) / "scripts", Path(folder) / "cache"
        scripts.mkdir()
        training_scripts(scripts, 300)
        # (The tables first, outside the count: a process building one is another process.)
        check = [sys.executable, "-m", "freezelint", "check", "--exit-zero"]
        subprocess.run(
            [*check, "--cache-dir", str(cache), str(scripts)],
            capture_output=True,
            check=False,
            cwd=ROOT,
        )
        print("\n| checkout | a pool process's share of (b): 150 scripts |")
        print("|---|---|")
        for label, checkout in checkouts:
            print(f"| {label} | {worker_share(checkout, scripts, cache) / 1e6:.1f} M |")


if __name__ == "__main__":
    main()
