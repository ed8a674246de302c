"""Benchmark: first verification of a model (worker start + torch import + meta build) against a
cached run, each next to its baseline in the same run.

    python benchmarks/verification.py [--repeat 5]

Baselines: `python -c "import torch, efficientnet_pytorch"` (the floor of any first
verification) and `python -c "pass"` (the floor of any command). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import timed

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """\
import torch
from efficientnet_pytorch import EfficientNet

model = EfficientNet.from_pretrained("efficientnet-b7", num_classes=5)
for name, param in model.named_parameters():
    if not name.startswith("_fc."):
        param.requires_grad = False
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
"""


def resolve_in_process(cache: Path, repeat: int) -> tuple[float, bool]:
    sys.path.insert(0, str(ROOT))
    from freezelint.model.cache import TableCache
    from freezelint.model.resolve import resolve
    from freezelint.model.spec import VerifySpec

    spec = VerifySpec.parse("efficientnet_pytorch:efficientnet-b7", 5)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        resolve([spec], TableCache(cache))
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), "torch" in sys.modules


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "train.py"
        script.write_text(SCRIPT)
        check = [py, "-m", "freezelint", "check", str(script), "--output-format", "json"]
        firsts = []
        for index in range(args.repeat):
            cache = Path(folder) / f"cold-{index}"
            firsts.append(timed([*check, "--cache-dir", str(cache)], 1))
        first = statistics.median(firsts)
        warm = Path(folder) / "cold-0"
        cached = timed([*check, "--cache-dir", str(warm)], args.repeat)
        torch_floor = timed([py, "-c", "import torch, efficientnet_pytorch"], args.repeat)
        python_floor = timed([py, "-c", "pass"], args.repeat)
        static = timed([*check, "--no-verify"], args.repeat)
        resolved, imported = resolve_in_process(warm, args.repeat)
    print("| measurement | median | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| first verification, efficientnet-b7 (`check`, empty cache) | {first:.2f} s | "
        f"import torch+efficientnet_pytorch {torch_floor:.2f} s | {first / torch_floor:.2f}x |"
    )
    print(
        f"| cached `check` of the same script | {cached:.3f} s | `check --no-verify` "
        f"{static:.3f} s | {cached / static:.2f}x |"
    )
    print(
        f"| cached table resolution, in process | {resolved * 1000:.1f} ms | python start "
        f"{python_floor * 1000:.0f} ms | {resolved / python_floor:.3f}x |"
    )
    print(f"| torch imported by the cached path | {'yes' if imported else 'no'} | | |")


if __name__ == "__main__":
    main()
