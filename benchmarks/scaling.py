"""Benchmark: how the cost of one check grows with the script (issue 24's scaling table).

    python benchmarks/scaling.py [--repeat 3] [--baseline DIR]

The scripts are generated here:
- `flags K`: K independent undecided `if args.fK:` freezes at module level (K = 1 ... 10), then
  an optimizer;
- `blocks N`: N blocks of about 18 lines (a torchvision model, a name-filter freeze, an
  optimizer, a training loop), with no undecided branch;
- `blocks N, if/else`: the same with one undecided `if args.bK: ... else: ...` in each block.

Each row is the median wall time of `check_source` on the script in one process (models from the
table cache, warmed by a first run). The last row is the ratio issue 24 sets a target for (16
blocks with if/else within 2x of 16 blocks without), timed as a pair in the same process: the two
scripts in turn, 20 rounds, CPU time, the fastest run of each. This machine drifts by 10-20%
within a minute, and the rows' medians, taken one script after the other, move it by 0.1.
`--baseline DIR` runs the same rows with the freezelint of another checkout (`git worktree add
DIR <rev>`), side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def flags(k: int) -> str:
    lines = [
        "import argparse",
        "import torch",
        "import torchvision",
        "parser = argparse.ArgumentParser()",
        *[f"parser.add_argument('--f{i}', action='store_true')" for i in range(k)],
        "args = parser.parse_args()",
        "model = torchvision.models.resnet18(weights='DEFAULT')",
    ]
    for i in range(k):
        lines += [f"if args.f{i}:", f"    model.layer{1 + i % 4}[{i % 2}].requires_grad_(False)"]
    lines.append("optimizer = torch.optim.SGD(model.parameters(), lr=0.1)")
    return "\n".join(lines) + "\n"


def blocks(n: int, branch: bool) -> str:
    lines = ["import argparse", "import torch", "import torchvision"]
    lines += ["parser = argparse.ArgumentParser()"]
    lines += [f"parser.add_argument('--b{i}', action='store_true')" for i in range(n)]
    lines += ["args = parser.parse_args()"]
    for i in range(n):
        lines += [
            f"model{i} = torchvision.models.resnet18(weights='DEFAULT')",
            f"for name, p in model{i}.named_parameters():",
            "    if 'layer4' not in name and not name.startswith('fc'):",
            "        p.requires_grad = False",
        ]
        if branch:
            lines += [
                f"if args.b{i}:",
                f"    model{i}.fc = torch.nn.Linear(512, 10)",
                "else:",
                f"    model{i}.fc = torch.nn.Linear(512, 5)",
            ]
        lines += [
            f"optimizer{i} = torch.optim.SGD(",
            f"    [p for p in model{i}.parameters() if p.requires_grad], lr=0.01",
            ")",
            "for step in range(2):",
            "    x = torch.randn(2, 3, 64, 64)",
            f"    loss = model{i}(x).sum()",
            f"    optimizer{i}.zero_grad()",
            "    loss.backward()",
            f"    optimizer{i}.step()",
        ]
    return "\n".join(lines) + "\n"


def cases() -> list[tuple[str, str]]:
    out = [(f"flags {k}", flags(k)) for k in (1, 2, 4, 6, 8, 10)]
    out += [(f"blocks {n}", blocks(n, False)) for n in (4, 8, 16)]
    out += [(f"blocks {n}, if/else", blocks(n, True)) for n in (4, 8, 16)]
    return out


# Runs in a child process: `python - REPEAT` with the cases on stdin, timings on stdout.
CHILD = """
import json, statistics, sys, time
from freezelint.checking.checker import check_source
from freezelint.model.cache import TableCache, default_cache_dir
from freezelint.model.resolve import Verifier
repeat = int(sys.argv[1])
verifier = Verifier(TableCache(default_cache_dir()))
out = {}
cases = json.loads(sys.stdin.read())
for name, text in cases:
    check_source(text, "train.py", None, verifier)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        check_source(text, "train.py", None, verifier)
        times.append(time.perf_counter() - start)
    out[name] = statistics.median(times)
# The ratio the issue names, timed as a pair: the two scripts in turn, CPU time, the fastest run
# of each (this machine drifts by 10-20% within a minute: medians taken apart move it by 0.1).
texts = dict(cases)
pair = [texts["blocks 16, if/else"], texts["blocks 16"]]
fastest = [float("inf"), float("inf")]
for _ in range(PAIRED_ROUNDS):
    for index, text in enumerate(pair):
        start = time.process_time()
        check_source(text, "train.py", None, verifier)
        fastest[index] = min(fastest[index], time.process_time() - start)
out[RATIO] = fastest[0] / fastest[1]
print(json.dumps(out))
"""


RATIO = "16 blocks: with if/else / without (CPU, paired, fastest of each)"
PAIRED_ROUNDS = 20


def run(checkout: Path | None, repeat: int, payload: str) -> dict[str, float]:
    env = dict(os.environ)
    code = f"RATIO = {RATIO!r}\nPAIRED_ROUNDS = {PAIRED_ROUNDS}\n" + CHILD
    if checkout is not None:
        # That checkout's freezelint, even where this one is installed editable.
        code = (
            "import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            f"sys.path.insert(0, {str(checkout)!r})\n" + code
        )
    done = subprocess.run(
        [sys.executable, "-c", code, str(repeat)],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    payload = json.dumps(cases())
    started = time.perf_counter()
    now = run(None, args.repeat, payload)
    then = run(args.baseline, args.repeat, payload) if args.baseline else None
    header = "| script | now |" + (f" {args.baseline.name} |" if then else "")
    print(header)
    print("|---|---|" + ("---|" if then else ""))
    for name, _ in cases():
        row = f"| {name} | {now[name] * 1000:.0f} ms |"
        if then:
            row += f" {then[name] * 1000:.0f} ms |"
        print(row)
    row = f"| {RATIO} | {now[RATIO]:.2f}x |"
    if then and RATIO in then:
        row += f" {then[RATIO]:.2f}x |"
    print(row)
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
