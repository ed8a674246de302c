"""Shared test set-up: one parameter-table cache for the whole session, warmed with one worker
run for every model the fixtures and rule examples build (torch is imported once, in there)."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest

from freezelint.model.cache import TableCache
from freezelint.model.resolve import Verifier, resolve
from freezelint.model.spec import verify_spec
from freezelint.rules import RULES
from freezelint.script.extract import extract
from tests.fixture_format import fixture_scripts


def _sources() -> list[str]:
    sources = [p.read_text(encoding="utf-8") for p in fixture_scripts()]
    for rule in RULES.values():
        sources.extend(re.findall(r"```python\n(.*?)```", rule.doc, re.DOTALL))
    examples = Path(__file__).resolve().parent.parent / "examples"
    sources.extend(p.read_text(encoding="utf-8") for p in examples.glob("*.py"))
    return sources


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("freezelint-cache")
    specs = []
    for source in _sources():
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            continue
        for timeline in extract(module):
            for spec in timeline.models.values():
                vspec, _ = verify_spec(spec)
                if vspec is not None:
                    specs.append(vspec)
    resolve(specs, TableCache(folder))
    return folder


@pytest.fixture(scope="session")
def verifier(cache_dir: Path) -> Verifier:
    return Verifier(TableCache(cache_dir))
