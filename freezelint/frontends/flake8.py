"""flake8 plugin: `flake8 --select FRZ` reports freezelint's findings (static analysis, plus
verification from the table cache when torch is installed), with flake8's 0-based columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from freezelint import __version__


class Plugin:
    name = "freezelint"
    version = __version__

    def __init__(self, tree: Any, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        from freezelint.checking.checker import check_source
        from freezelint.model.cache import TableCache, default_cache_dir
        from freezelint.model.resolve import Verifier
        from freezelint.script.source import might_freeze

        text = "".join(self.lines)
        if not might_freeze(text.encode("utf-8", "replace")):
            return
        verifier = Verifier(TableCache(default_cache_dir()))
        for d in check_source(text, self.filename, None, verifier):
            yield d.row, d.column - 1, f"{d.code} {d.message}", type(self)
