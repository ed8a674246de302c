"""Benchmark: how the cost of one check grows with the script (issue 24's scaling table).

    python benchmarks/scaling.py [--repeat 3] [--baseline DIR]

The scripts are generated here:
- `flags K`: K independent undecided `if args.fK:` freezes at module level (K = 1 ... 10), then
  an optimizer;
- `blocks N`: N blocks of about 18 lines (a torchvision model, a name-filter freeze, an
  optimizer, a training loop), with no undecided branch;
- `blocks N, if/else`: the same with one undecided `if args.bK: ... else: ...` in each block.

Each row is the median wall time of `check_source` on the script in one process (models from the
table cache, warmed by a first run). `--baseline DIR` runs the same rows with the freezelint of
another checkout (`git worktree add DIR <rev>`), side by side.
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
for name, text in json.loads(sys.stdin.read()):
    check_source(text, "train.py", None, verifier)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        check_source(text, "train.py", None, verifier)
        times.append(time.perf_counter() - start)
    out[name] = statistics.median(times)
print(json.dumps(out))
"""


def run(checkout: Path | None, repeat: int, payload: str) -> dict[str, float]:
    env = dict(os.environ)
    code = CHILD
    if checkout is not None:
        # That checkout's freezelint, even where this one is installed editable.
        code = (
            "import sys\n"
            "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
            f"sys.path.insert(0, {str(checkout)!r})\n" + CHILD
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
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
