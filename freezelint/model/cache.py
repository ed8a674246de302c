"""The on-disk cache of parameter tables: one JSON file per (library version, spec), written
atomically, rebuilt when unreadable. Reading it never imports torch."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from freezelint.model.spec import VerifySpec
from freezelint.model.table import ParamTable

# What a cached table holds; part of each entry's key, so that a table written before a new
# field (2: the module classes' bases) is built again rather than read without it.
SCHEMA = 2
# What the worker can build, kept with each cached build error: an error cached before the
# worker learned to build that model (2: torchvision's RegNet) is not believed, the model is
# built again.
BUILDS = 2


def default_cache_dir() -> Path:
    if os.environ.get("FREEZELINT_CACHE_DIR"):
        return Path(os.environ["FREEZELINT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "freezelint"


class TableCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, spec: VerifySpec, version: str) -> Path:
        key = f"{SCHEMA}\n{version}\n{spec.key()}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return self.folder / "tables" / f"{spec.library}-{digest}.json"

    def get(self, spec: VerifySpec, version: str) -> ParamTable | str | None:
        """The table, the error a build of this spec gave (a string), or None if not cached."""
        try:
            data = json.loads(self.path(spec, version).read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                return data["error"] if data.get("builds") == BUILDS else None
            table = ParamTable.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or corrupt: rebuilt by the caller
        return table if table.version == version else None

    def clear(self) -> int:
        """Remove every cached table (`freezelint clean`); how many there were."""
        folder = self.folder / "tables"
        removed = 0
        for path in folder.glob("*.json") if folder.is_dir() else ():
            try:
                path.unlink()
                removed += 1
            except OSError:
                continue
        return removed

    def put(self, spec: VerifySpec, version: str, data: dict) -> None:
        path = self.path(spec, version)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs speed
