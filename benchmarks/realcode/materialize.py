"""Lay out the real-code evaluation set's files from fetched repository snapshots.

The set's code stays outside this repository. `manifest.json` names each entry's repository,
commit and files; this script copies them from the snapshots `fetch` leaves under
`/work/.mirror/<owner>+<repo>/` into a folder (default `/work/realcode`), as the scorer expects:

    python benchmarks/realcode/materialize.py [--root /work/realcode] [--mirrors /work/.mirror]

It prints the repositories whose snapshot is missing: fetch them (`github:<owner>/<repo>`) and
run it again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def git_dir(mirror: Path) -> Path | None:
    for candidate in (mirror / "repo" / ".git", mirror / "repo", mirror):
        if (candidate / "HEAD").exists() and (candidate / "objects").exists():
            return candidate
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/work/realcode"))
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.json")
    args = parser.parse_args()
    missing = []
    for entry in json.loads(args.manifest.read_text()):
        repo, _, commit = entry["source"].partition("@")
        folder = entry["path"].split("/", 1)[0]
        gd = git_dir(args.mirrors / repo.replace("/", "+"))
        if gd is None:
            missing.append(repo)
            continue
        for rel in entry.get("files", []):
            target = args.root / folder / rel
            if target.exists():
                continue
            blob = subprocess.run(
                ["git", "--git-dir", str(gd), "show", f"{commit}:{rel}"],
                capture_output=True,
                check=False,
            )
            if blob.returncode != 0:
                print(f"not in snapshot: {repo}@{commit[:10]}:{rel}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.stdout)
    for repo in sorted(set(missing)):
        print(f"fetch github:{repo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
