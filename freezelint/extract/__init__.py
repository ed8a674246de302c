"""Extraction: a parsed script -> ordered timelines of freezing events (see `statements`)."""

from __future__ import annotations

from freezelint.extract.statements import extract

__all__ = ["extract"]
