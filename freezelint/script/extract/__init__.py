"""Extraction: a parsed script -> timelines of freezing events, one per consistent path
(see `statements` for the walk, `paths` for the paths)."""

from __future__ import annotations

from freezelint.script.extract.paths import RootPaths, extract, extract_paths

__all__ = ["RootPaths", "extract", "extract_paths"]
