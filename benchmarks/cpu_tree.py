"""CPU time (one process, no pool) of checking the installed timm package's source against a bare
libcst parse of the same files, as a ratio: less sensitive to a busy machine than wall time.

    python benchmarks/cpu_tree.py [CHECKOUT]

CHECKOUT: another freezelint checkout to measure instead of the installed one (a worktree of an
older commit, `git worktree add /tmp/base <rev>`), for a change's cost in the same conditions.
Models are not verified (no tables): this measures parsing, extraction and the rules.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path


def main() -> None:
    if len(sys.argv) > 1:
        # Another checkout, even where this one is installed editable.
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
        sys.path.insert(0, sys.argv[1])
    sys.setrecursionlimit(10000)
    import libcst
    import timm

    from freezelint.checking.checker import check_source
    from freezelint.rules import RULES
    from freezelint.script.source import might_freeze, read_source

    files = sorted(Path(timm.__file__).parent.rglob("*.py"))
    start = time.process_time()
    for path in files:
        with contextlib.suppress(Exception):
            libcst.parse_module(path.read_bytes().decode("utf-8", "replace"))
    bare = time.process_time() - start
    read = [(path, read_source(path)) for path in files]
    todo = [(p, text) for p, (text, raw, _) in read if text is not None and might_freeze(raw)]
    start = time.process_time()
    for path, text in todo:
        check_source(text, str(path), frozenset(RULES), None, {}, str)
    ours = time.process_time() - start
    import freezelint

    print(
        f"{Path(freezelint.__file__).parent.parent}: {len(todo)} of {len(files)} files checked, "
        f"{ours:.2f} s CPU against a bare parse of all {bare:.2f} s: {ours / bare:.2f}x"
    )


if __name__ == "__main__":
    main()
