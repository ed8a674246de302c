"""The on-disk cache of parameter tables: one JSON file per (library version, spec), written
atomically, rebuilt when unreadable. Reading it never imports torch.

Each spec also has a pointer to the version its table was last built or read with
(`tables/latest/`), so that a run without the library (the light pre-commit hook, which has no
torch) verifies against the table a run with it left: `get_latest`. The table says which
version built it, and so does every finding it backs (`verified.version`)."""

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

    def _latest(self, spec: VerifySpec) -> Path:
        digest = hashlib.sha256(f"{SCHEMA}\n{spec.key()}".encode()).hexdigest()[:32]
        return self.folder / "tables" / "latest" / f"{spec.library}-{digest}"

    def get(self, spec: VerifySpec, version: str) -> ParamTable | str | None:
        """The table, the error a build of this spec gave (a string), or None if not cached."""
        try:
            data = json.loads(self.path(spec, version).read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("error"), str):
                return data["error"] if data.get("builds") == BUILDS else None
            table = ParamTable.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or corrupt: rebuilt by the caller
        if table.version != version:
            return None
        self._point(spec, version)
        return table

    def get_latest(self, spec: VerifySpec) -> ParamTable | None:
        """The table of the version a run with the library last used, whatever is installed
        now (nothing, in the light hook)."""
        try:
            version = self._latest(spec).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        found = self.get(spec, version) if version else None
        return found if isinstance(found, ParamTable) else None

    def _point(self, spec: VerifySpec, version: str) -> None:
        """Note `version` as the one this spec's table was last built or read with."""
        path = self._latest(spec)
        try:
            if path.read_text(encoding="utf-8").strip() == version:
                return
        except OSError:
            pass
        self._write(path, version)

    def _write(self, path: Path, text: str, suffix: str = "") -> bool:
        """`text` written atomically at `path`; False when it could not be."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        except OSError:
            return False  # a read-only cache only costs speed
        return True

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
        for path in (folder / "latest").glob("*") if (folder / "latest").is_dir() else ():
            try:
                path.unlink()
            except OSError:
                continue
        return removed

    def put(self, spec: VerifySpec, version: str, data: dict) -> None:
        written = self._write(self.path(spec, version), json.dumps(data), ".json")
        if written and "error" not in data:
            self._point(spec, version)
