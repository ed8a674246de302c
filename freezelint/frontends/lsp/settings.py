"""What the editor may set for the server (initialization options or
`workspace/didChangeConfiguration`), read leniently: an unknown key or a wrong type is reported
once and otherwise ignored, never a crash."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

# The keys an editor sends (camelCase, as LSP settings are), and the field each sets.
KEYS = {
    "select": "select",
    "extendSelect": "extend_select",
    "ignore": "ignore",
    "verify": "verify",
    "cacheDir": "cache_dir",
    "configuration": "configuration",
    "unsafeFixes": "unsafe_fixes",
    "debounce": "debounce",
    "ruleDocs": "rule_docs",
}


@dataclass(frozen=True)
class Settings:
    # Rule selection on top of the project's configuration, as the CLI flags of those names.
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    verify: bool = True  # check findings against the model (cached tables; builds in background)
    cache_dir: str | None = None
    configuration: str | None = None  # a pyproject.toml or freezelint.toml to use for every file
    unsafe_fixes: bool = True  # offer unsafe fixes as quick fixes (titled as unsafe)
    debounce: int = 25  # milliseconds between the last change and the check
    rule_docs: str | None = None  # a URL with `{code}` for each rule's documentation

    @classmethod
    def read(cls, value: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
        """Settings from what the client sent (`{"freezelint": {...}}` or the inner table) over
        `base`, and a line for each thing ignored."""
        base = base or cls()
        if isinstance(value, dict) and isinstance(value.get("freezelint"), dict):
            value = value["freezelint"]
        if value is None:
            return base, []
        if not isinstance(value, dict):
            return base, [f"settings must be an object, not {type(value).__name__}"]
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for key, raw in value.items():
            name = KEYS.get(key)
            if name is None:
                problems.append(f"unknown setting `{key}` (known: {', '.join(sorted(KEYS))})")
                continue
            parsed = _parse(name, raw)
            if parsed is _INVALID:
                problems.append(f"setting `{key}` = {raw!r} has the wrong type; ignored")
            else:
                changes[name] = parsed
        return replace(base, **changes), problems


_INVALID = object()
_TYPES = {f.name: f.type for f in fields(Settings)}


def _parse(name: str, raw: Any) -> Any:
    kind = _TYPES[name]
    if raw is None:
        return None if "None" in kind else _INVALID
    if kind.startswith("tuple"):
        if isinstance(raw, str):
            raw = [part for part in raw.split(",") if part.strip()]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            return _INVALID
        return tuple(item.strip().upper() for item in raw)
    if kind == "bool":
        return raw if isinstance(raw, bool) else _INVALID
    if kind == "int":
        return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else _INVALID
    return raw if isinstance(raw, str) else _INVALID
