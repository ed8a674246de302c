"""freezelint over the code of the libraries fine-tuning scripts use, which trains nothing:
every finding must be a true one.

    python benchmarks/libraries.py [--packages torch torchvision ...] [--verbose]

Runs `freezelint check --output-format json` over every `.py` of each installed package
(torch, torchvision, timm, lightning, pytorch_lightning, lightning_fabric, torchmetrics,
efficientnet_pytorch by default) and compares the findings with `TRUE_FINDINGS`, the ones
read and confirmed by hand. Prints each finding that is not among them (a false finding, or a
true one to confirm and add) and each confirmed one that is gone; exits 1 when there is either.
Models are verified through the usual table cache (the first run builds the tables).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

PACKAGES = (
    "torch",
    "torchvision",
    "timm",
    "lightning",
    "pytorch_lightning",
    "lightning_fabric",
    "torchmetrics",
    "efficientnet_pytorch",
)

# (package-relative path, code, line): each read and confirmed.
TRUE_FINDINGS = {
    # `self.patch_embed.requires_grad = False` sets an attribute on the module (freezes
    # nothing): `PyramidVisionTransformerV2.freeze_patch_emb` (timm 1.0.x).
    ("timm/models/pvt_v2.py", "FRZ004"),
}


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", nargs="*", default=list(PACKAGES))
    parser.add_argument("--verbose", action="store_true", help="print every finding")
    args = parser.parse_args()
    dirs = {name: package_dir(name) for name in args.packages}
    missing = [name for name, d in dirs.items() if d is None]
    if missing:
        print(f"not installed (skipped): {', '.join(missing)}")
    roots = [d for d in dirs.values() if d is not None]
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", "--output-format", "json", *map(str, roots)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
        return 2
    found = json.loads(proc.stdout or "[]")
    seconds = time.perf_counter() - started
    seen = set()
    unexpected = []
    for d in found:
        path = Path(d["filename"]).resolve()
        rel = next(
            (str(path.relative_to(root.parent)) for root in roots if root in path.parents),
            str(path),
        )
        key = (rel, d["code"])
        seen.add(key)
        line = f"{rel}:{d['location']['row']}: {d['code']} {d['message']}"
        if key not in TRUE_FINDINGS:
            unexpected.append(line)
        elif args.verbose:
            print(f"true  {line}")
    for line in unexpected:
        print(f"NEW   {line}")
    gone = sorted(TRUE_FINDINGS - seen)
    for rel, code in gone:
        print(f"GONE  {rel} {code}")
    files = sum(1 for root in roots for _ in root.rglob("*.py"))
    print(
        f"{files} files in {len(roots)} packages, {seconds:.1f} s: {len(found)} findings, "
        f"{len(found) - len(unexpected)} confirmed true, {len(unexpected)} not confirmed, "
        f"{len(gone)} confirmed ones gone"
    )
    return 1 if unexpected or gone else 0


if __name__ == "__main__":
    raise SystemExit(main())
