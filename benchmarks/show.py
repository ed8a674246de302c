"""Benchmark: `freezelint show` against `freezelint check` on the same files, in one run, as
ratios (issue 26's target: within 1.2x).

    python benchmarks/show.py [--repeat 5]

The files: the shipped example and the seed's third recipe (models cached by a first run of
each command). Both commands parse the script, walk its paths, read the tables and simulate;
`show` simulates only the path it shows and draws the tree where `check` runs every path and
places findings.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from timing import timed

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    ROOT / "examples" / "finetune_efficientnet.py",
    ROOT / "fixtures" / "FRZ006" / "seed_recipe3_param_groups_effnet.py",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    print(f"`python benchmarks/show.py --repeat {args.repeat}`\n")
    print("| file | show | check | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as cache:
        for file in FILES:
            show = [py, "-m", "freezelint", "show", "--cache-dir", cache, str(file)]
            check = [py, "-m", "freezelint", "check", "--exit-zero", "--cache-dir", cache]
            check.append(str(file))
            timed(show, 1), timed(check, 1)  # (tables built and cached)
            ours, theirs = timed(show, args.repeat), timed(check, args.repeat)
            name = file.relative_to(ROOT)
            print(f"| {name} | {ours:.3f} s | {theirs:.3f} s | {ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
