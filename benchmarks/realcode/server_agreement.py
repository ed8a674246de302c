"""Does the editor see what `freezelint check` sees? Every Python file of the real-code set is
opened in one `freezelint server` (as an editor opens it: the buffer, the project around it),
and the diagnostics it publishes (codes and rows) are compared with the CLI's JSON for that
file. Findings that need a model not cached yet are waited for (the server builds it in the
background and publishes again).

    python benchmarks/realcode/server_agreement.py [--root /work/realcode]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.lsp_client import Client  # noqa: E402

Found = list[tuple[str, int]]


def files(root: Path) -> list[Path]:
    out = set()
    for entry in json.loads((HERE / "manifest.json").read_text(encoding="utf-8")):
        base = root / entry["path"]
        folder = base if base.is_dir() else base.parent
        for name in entry.get("files") or [base.name]:
            path = folder / name if base.is_dir() else base
            if path.suffix == ".py" and path.exists():
                out.add(path)
    return sorted(out)


def cli(path: Path) -> Found:
    done = subprocess.run(
        [sys.executable, "-m", "freezelint", "check", "--output-format", "json", str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        check=False,
    )
    return sorted(
        (d["code"], d["location"]["row"])
        for d in json.loads(done.stdout or "[]")
        if (path.parent / d["filename"]).resolve() == path.resolve()
    )


def served(client: Client, path: Path, want: Found) -> Found:
    uri = client.open(path)
    got: Found = []
    for _ in range(3):  # published again when a model is built in the background
        published = client.diagnostics(uri, timeout=300)
        got = sorted((d["code"], d["range"]["start"]["line"] + 1) for d in published)
        if got == want:
            break
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return got


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=Path("/work/realcode"))
    root = parser.parse_args().root
    paths = files(root)
    client = Client(root)
    client.initialize(root)
    differ = with_findings = 0
    try:
        for path in paths:
            want = cli(path)
            got = served(client, path, want)
            with_findings += bool(want)
            if got != want:
                differ += 1
                print(f"DIFFERS {path}: check {want}, server {got}")
    finally:
        client.stop()
    print(f"{len(paths)} files, {with_findings} with findings: {differ} differ")


if __name__ == "__main__":
    main()
