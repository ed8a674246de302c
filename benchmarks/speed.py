"""Benchmark: freezelint against a bare libcst parse of the same files, in one run, as ratios.

    python benchmarks/speed.py [--repeat 3]

(a) a real source tree with few training scripts: the installed timm package's own source;
(b) a folder of 300 training scripts that all freeze and build optimizers (made from this
    repository's fixtures, model tables cached);
(c) one file as pre-commit runs it, without and with a (cached) model.
The baseline for (a) and (b) is `libcst.parse_module` over every file of the tree, in one process.

TorchFix and Fixit (both libcst-based linters) run over the same trees too when they can be found:
their executables on PATH, or in the folder `FREEZELINT_BENCH_TOOLS` names. They pin libcst and
click versions of their own, so install them apart:

    python -m venv /tmp/tools && /tmp/tools/bin/pip install torchfix fixit
    FREEZELINT_BENCH_TOOLS=/tmp/tools/bin python benchmarks/speed.py

They check other things (TorchFix: deprecated torch APIs; Fixit: its default lint rules), so
their rows say what a libcst linter usually costs, not who is faster at the same job.

To compare with another version of freezelint in the same run (a change's cost), point
`FREEZELINT_BENCH_BASELINE` at a checkout of it (`git worktree add /tmp/base <rev>`): its rows
are added beside this one's, over the same trees.

The commands of one row (the bare parse, this freezelint, the baseline's, the other linters) run
in turn, `--repeat` rounds, and each figure is the median of its runs: this machine's speed
drifts by 10-20% within a minute, which series run one after the other took as a difference.

Each freezelint timed is byte-compiled first (`compileall`), as `pip install` leaves an installed
package and as libcst already is: where `PYTHONDONTWRITEBYTECODE` is set (this project's
machines set it), an editable checkout would otherwise compile its 200 modules again on every
run, a cost no installed user pays and the bare parse does not pay either.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import timed_together

ROOT = Path(__file__).resolve().parent.parent
BARE = """
import sys, pathlib, libcst
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    try:
        libcst.parse_module(path.read_bytes().decode("utf-8", "replace"))
    except Exception:
        pass
"""


def training_scripts(folder: Path, count: int) -> None:
    sources = [
        p
        for p in sorted((ROOT / "fixtures").rglob("*.py"))
        if "FRZ000" not in str(p) and "compile" not in p.name
    ]
    for index in range(count):
        shutil.copy(sources[index % len(sources)], folder / f"train_{index:03}.py")


def other_linters() -> list[tuple[str, list[str]]]:
    """(name, command prefix) for TorchFix and Fixit where they are installed."""
    folder = os.environ.get("FREEZELINT_BENCH_TOOLS")
    found = []
    for name, args in (("TorchFix", ["torchfix"]), ("Fixit", ["fixit", "lint"])):
        exe = shutil.which(args[0], path=folder) if folder else shutil.which(args[0])
        if exe:
            found.append((name, [exe, *args[1:]]))
    return found


# Runs the freezelint of another checkout (argv[1]) even where this one is installed editable.
OTHER = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, sys.argv.pop(1))
try:
    from freezelint.frontends.cli import main
except ImportError:  # a checkout from before the layout by stage
    from freezelint.cli import main
sys.exit(main())
"""


def byte_compile(checkout: Path) -> None:
    """Write the `.pyc` files of a checkout's freezelint package (see the docstring)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(checkout / "freezelint")],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    )


def machine() -> str:
    from importlib.metadata import version

    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"libcst {version('libcst')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    import timm

    byte_compile(ROOT)
    if os.environ.get("FREEZELINT_BENCH_BASELINE"):
        byte_compile(Path(os.environ["FREEZELINT_BENCH_BASELINE"]))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        # A copy outside any git repository (the installed one may sit in an ignored folder).
        tree = Path(folder) / "timm"
        shutil.copytree(
            Path(timm.__file__).parent, tree, ignore=shutil.ignore_patterns("__pycache__")
        )
        cache = Path(folder) / "cache"
        scripts = Path(folder) / "scripts"
        scripts.mkdir()
        training_scripts(scripts, 300)
        check = [
            py,
            "-m",
            "freezelint",
            "check",
            "--exit-zero",
            "--output-format",
            "concise",
            "--cache-dir",
            str(cache),
        ]
        subprocess.run([*check, str(scripts)], capture_output=True, check=False, cwd=ROOT)  # warm
        other = os.environ.get("FREEZELINT_BENCH_BASELINE")
        base = [py, "-c", OTHER, other, *check[3:]] if other else None
        for label, target in (
            ("(a) timm source tree", tree),
            ("(b) 300 training scripts", scripts),
        ):
            files = len(list(target.rglob("*.py")))
            commands = [[py, "-c", BARE, str(target)], [*check, str(target)]]
            if base is not None:
                subprocess.run([*base, str(target)], capture_output=True, check=False, cwd=ROOT)
                commands.append([*base, str(target)])
            commands += [[*command, str(target)] for _, command in other_linters()]
            bare, ours, *others = timed_together(commands, args.repeat)
            rows.append((f"{label}, {files} files", ours, bare))
            if base is not None:
                rows.append((f"{label}: freezelint at {Path(other).name}", others.pop(0), bare))  # type: ignore[arg-type]
            for (name, _), theirs in zip(other_linters(), others, strict=True):
                rows.append((f"{label}: {name} (other rules, for scale)", theirs, bare))
        plain = Path(folder) / "plain.py"
        plain.write_text("def f(x):\n    return x + 1\n")
        model = ROOT / "examples" / "finetune_efficientnet.py"
        one = [[*check, str(plain)], [*check, str(model)], [py, "-c", "pass"]]
        if base is not None:
            one.append([*base, str(model)])
        one_plain, one_model, start_up, *one_base = timed_together(one, args.repeat)
    print(f"Machine: {machine()}. `python benchmarks/speed.py --repeat {args.repeat}`\n")
    print("| measurement | freezelint | baseline | ratio |")
    print("|---|---|---|---|")
    for label, ours, bare in rows:
        print(f"| {label} | {ours:.2f} s | bare libcst parse {bare:.2f} s | {ours / bare:.2f}x |")
    print(
        f"| one file, no model (pre-commit) | {one_plain:.3f} s | python start "
        f"{start_up:.3f} s | {one_plain / start_up:.1f}x |"
    )
    print(
        f"| one file, cached model (pre-commit) | {one_model:.3f} s | python start "
        f"{start_up:.3f} s | {one_model / start_up:.1f}x |"
    )
    if one_base:
        print(
            f"| one file, cached model: freezelint at {Path(other).name} | {one_base[0]:.3f} s "  # type: ignore[arg-type]
            f"| python start {start_up:.3f} s | {one_base[0] / start_up:.1f}x |"
        )


if __name__ == "__main__":
    main()
