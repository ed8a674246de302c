"""Where the time of benchmarks/speed.py's (b) goes: the CPU seconds of each phase of checking its
300 training scripts in one process (no pool), models from the table cache.

    python benchmarks/phases.py [--repeat 3] [CHECKOUT]

Phases: parse (libcst, with the import table), extract (every path of every root), simulate
(`Simulation`, per path), rules (per path), locate (positions and fixes of the findings), and the
whole `check_source`. Each figure is the smallest of `--repeat` runs over the same files, in a
fresh process per run (a process parses each file once: a second run in it would not parse).
CHECKOUT: another freezelint checkout measured the same way, its runs in turn with this one's,
printed beside it (a worktree of an older commit, `git worktree add /tmp/base <rev>`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from speed import training_scripts

ROOT = Path(__file__).resolve().parent.parent
ONE_RUN = """
import collections, contextlib, io, json, os, sys, time
checkout, scripts, cache = sys.argv[1:4]
if checkout:
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, checkout)
os.cpu_count = lambda: 1  # (one process: the phases add up)
from freezelint.frontends.cli import main
import freezelint.checking.checker as checker
import freezelint.simulation.replay as replay
spent = collections.Counter()
def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start
    setattr(owner, name, wrapper)
for name, label in (("parse_text", "parse"), ("extract_paths", "extract"),
                    ("run_rule_list", "rules"), ("locate", "locate"), ("check_source", "check")):
    timed(checker, name, label)
timed(replay.Simulation, "__init__", "simulate")
sys.argv = ["freezelint", "check", "--exit-zero", "--output-format", "concise",
            "--cache-dir", cache, scripts]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(spent))
"""
PHASES = ("parse", "extract", "simulate", "rules", "locate", "check")


def one_run(checkout: str, scripts: Path, cache: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", ONE_RUN, checkout, str(scripts), str(cache)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.splitlines()[-1])


def measure(checkouts: list[str], scripts: Path, cache: Path, repeat: int) -> list[dict]:
    """Per checkout, each phase's smallest CPU time over `repeat` runs, the checkouts run in
    turn (this machine's speed drifts: runs in turn share the drift)."""
    one_run(checkouts[0], scripts, cache)  # (fills the table cache)
    best: list[dict[str, float]] = [{} for _ in checkouts]
    for _ in range(repeat):
        for checkout, found in zip(checkouts, best, strict=True):
            spent = one_run(checkout, scripts, cache)
            for phase in PHASES:
                found[phase] = min(found.get(phase, float("inf")), spent.get(phase, 0.0))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("checkout", nargs="?", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scripts = Path(folder) / "scripts"
        scripts.mkdir()
        training_scripts(scripts, 300)
        cache = Path(folder) / "cache"
        checkouts = ["", args.checkout] if args.checkout else [""]
        names = ["this checkout", Path(args.checkout).name] if args.checkout else ["this checkout"]
        columns = list(zip(names, measure(checkouts, scripts, cache, args.repeat), strict=True))
    print(f"`python benchmarks/phases.py --repeat {args.repeat}`: CPU s over 300 scripts\n")
    print("| phase | " + " | ".join(name for name, _ in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for phase in PHASES:
        print(f"| {phase} | " + " | ".join(f"{spent[phase]:.3f}" for _, spent in columns) + " |")


if __name__ == "__main__":
    main()
