"""Guard for speed work: freezelint's whole output, in one canonical file, to compare byte for byte.

    python benchmarks/identical.py OUT.json [--compare OTHER.json] [--realcode /work/realcode]

Runs `freezelint check` through the CLI, as a user would, with `--output-format json` and then
with `--diff` (safe fixes) and `--diff --unsafe-fixes`, over:
- every fixture (one run over the fixtures folder);
- generated scripts of the scaling benchmark (benchmarks/scaling.py: independent flags, blocks with
  and without if/else), written to a temporary folder;
- every entry of the real-code set (benchmarks/realcode/manifest.json), one run per entry as
  the scoring tool does, when the folder given by `--realcode` exists.

OUT.json maps each run to its exit code, standard output and standard error (temporary folders
written as `<tmp>`). With `--compare OTHER.json`, prints the runs that differ (with a unified diff
of their output) and exits 1 when any does: a change meant only to be faster must leave OUT.json
byte-identical to the file made before it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scaling import blocks, flags

ROOT = Path(__file__).resolve().parent.parent
MODES = {
    "json": ["--output-format", "json"],
    "diff": ["--diff"],
    "diff-unsafe": ["--diff", "--unsafe-fixes"],
}


def scaling_scripts(folder: Path) -> None:
    for k in (1, 3, 6):
        (folder / f"flags_{k}.py").write_text(flags(k), encoding="utf-8")
    for n in (2, 4):
        (folder / f"blocks_{n}.py").write_text(blocks(n, False), encoding="utf-8")
        (folder / f"blocks_{n}_ifelse.py").write_text(blocks(n, True), encoding="utf-8")


def targets(realcode: Path, scratch: Path) -> list[tuple[str, Path]]:
    out = [("fixtures", ROOT / "fixtures"), ("scaling", scratch)]
    manifest = ROOT / "benchmarks" / "realcode" / "manifest.json"
    if realcode.is_dir():
        for entry in json.loads(manifest.read_text(encoding="utf-8")):
            out.append((f"realcode/{entry['path']}", realcode / entry["path"]))
    return out


def run(target: Path, mode: str, scratch: Path) -> dict:
    command = [sys.executable, "-m", "freezelint", "check", "--exit-zero", *MODES[mode]]
    done = subprocess.run(
        [*command, str(target)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    return {
        "exit": done.returncode,
        "stdout": done.stdout.replace(str(scratch), "<tmp>"),
        "stderr": done.stderr.replace(str(scratch), "<tmp>"),
    }


def collect(realcode: Path, jobs: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        scaling_scripts(scratch)
        work = [
            (f"{name} [{mode}]", target, mode)
            for name, target in targets(realcode, scratch)
            for mode in MODES
        ]
        with ThreadPoolExecutor(jobs) as pool:
            results = pool.map(lambda item: run(item[1], item[2], scratch), work)
            return {key: result for (key, _, _), result in zip(work, results, strict=True)}


def compare(mine: dict[str, dict], theirs: dict[str, dict]) -> int:
    differing = 0
    for key in sorted(set(mine) | set(theirs)):
        a, b = theirs.get(key), mine.get(key)
        if a == b:
            continue
        differing += 1
        print(f"DIFFERS: {key}")
        if a is None or b is None:
            print("  only in one file")
            continue
        for part in ("exit", "stdout", "stderr"):
            if a[part] != b[part]:
                lines = difflib.unified_diff(
                    str(a[part]).splitlines(),
                    str(b[part]).splitlines(),
                    "other",
                    "this",
                    lineterm="",
                )
                print("\n".join(f"  {line}" for line in list(lines)[:80]))
    print(f"{differing} of {len(mine)} runs differ")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--realcode", type=Path, default=Path("/work/realcode"))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    mine = collect(args.realcode, args.jobs)
    text = json.dumps(mine, indent=1, sort_keys=True) + "\n"
    args.out.write_text(text, encoding="utf-8")
    if args.compare:
        theirs = json.loads(args.compare.read_text(encoding="utf-8"))
        return compare(mine, theirs)
    print(f"{len(mine)} runs written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
