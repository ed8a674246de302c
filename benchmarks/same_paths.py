"""Guard for work on the path explorer: every path of every file, as one digest per root.

    python benchmarks/same_paths.py OUT.txt [--compare OTHER.txt] [--realcode /work/realcode]

`benchmarks/identical.py` compares what a user sees; this compares what the rules read: for
each root of each file (the fixtures, and the real-code set's `.py` files when the folder
exists), the labels of its branches, each path's decisions, arm ranges and end, and each path's
timeline (events, models, model names, `built_from`), in a form two processes can compare:
syntax nodes, scopes, blocks and call trails numbered by first appearance instead of by
address. Run it with one checkout (`PYTHONPATH=<checkout>`) and then another, with
`PYTHONHASHSEED=0` for both, and `--compare`: a change meant only to be faster must leave every
line the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import libcst as cst

from freezelint.script.extract.paths import extract_paths

ROOT = Path(__file__).resolve().parent.parent
PLACES = ("block", "scope", "trail")  # fields holding ids of objects, not values


def canonical(value: Any, numbers: dict) -> Any:
    """`value` with every node and object numbered by first appearance."""
    if isinstance(value, cst.CSTNode):
        return ("node", numbers.setdefault(id(value), len(numbers)))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                (f.name, _place(getattr(value, f.name), numbers))
                if f.name in PLACES
                else (f.name, canonical(getattr(value, f.name), numbers))
                for f in dataclasses.fields(value)
            ),
        )
    if isinstance(value, list | tuple):
        return tuple(canonical(v, numbers) for v in value)
    if isinstance(value, set | frozenset):
        return ("set", tuple(sorted(repr(canonical(v, numbers)) for v in value)))
    if isinstance(value, dict):
        return (
            "dict",
            tuple((repr(canonical(k, numbers)), canonical(v, numbers)) for k, v in value.items()),
        )
    if type(value).__module__.startswith("freezelint"):
        return ("object", type(value).__name__, numbers.setdefault(id(value), len(numbers)))
    return repr(value)


def _place(value: Any, numbers: dict) -> Any:
    if isinstance(value, int):
        return numbers.setdefault(("id", value), len(numbers))
    if isinstance(value, tuple):
        return tuple(_place(v, numbers) for v in value)
    return canonical(value, numbers)


def digests(path: Path) -> list[str]:
    """One line per root of the file: its number, its number of paths and their digest."""
    try:
        module = cst.parse_module(path.read_text(encoding="utf-8", errors="replace"))
        roots = extract_paths(module, path=path)
    except Exception as error:  # (a file that does not parse, or nests too deeply)
        return [f"{path} {type(error).__name__}"]
    numbers: dict = {}
    out = []
    for index, root in enumerate(roots):
        digest = hashlib.sha1()

        def key(k: tuple) -> Any:
            return _place(k, numbers)

        head = (
            [(key(k), labels) for k, labels in root.labels.items()],
            root.complete,
            [
                (
                    [(key(k), arm) for k, arm in p.decisions],
                    p.raised,
                    [(key(k), r) for k, r in p.ranges.items()],
                )
                for p in root.paths
            ],
        )
        digest.update(repr(head).encode())
        for p in root.paths:
            for place in [k for k in numbers if isinstance(k, tuple) and k[0] == "id"]:
                del numbers[place]  # (numbered per path: an id may be reused once freed)
            timeline = p.timeline
            for part in (timeline.events, timeline.models, timeline.model_vars):
                digest.update(repr(canonical(part, numbers)).encode())
            digest.update(repr(sorted(timeline.built_from)).encode())
        out.append(f"{path} {index} {len(root.paths)} {digest.hexdigest()}")
    return out


def files(realcode: Path) -> list[Path]:
    found = sorted((ROOT / "fixtures").rglob("*.py"))
    if realcode.is_dir():
        found += sorted(realcode.rglob("*.py"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--realcode", type=Path, default=Path("/work/realcode"))
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        sys.exit("run with PYTHONHASHSEED=0 (set order would differ between the two runs)")
    lines = [line for path in files(args.realcode) for line in digests(path)]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} roots written to {args.out}")
    if args.compare is not None:
        theirs = args.compare.read_text(encoding="utf-8").splitlines()
        differ = sorted(set(lines) ^ set(theirs))
        for line in differ[:20]:
            print(("+ " if line in lines else "- ") + line)
        print(f"{len(differ)} lines differ")
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
