"""Shared test set-up: one parameter-table cache for the whole session, warmed with one worker
run for every model the fixtures and rule examples build (torch is imported once, in there).

The session's cache is a temporary folder, and it is the default cache of everything the tests
run (`FREEZELINT_CACHE_DIR`, inherited by subprocesses): no test reads or writes the user's
real cache (`~/.cache/freezelint`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
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


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default table cache of the whole session: a temporary folder."""
    folder = tmp_path_factory.mktemp("freezelint-cache")
    before = os.environ.get("FREEZELINT_CACHE_DIR")
    os.environ["FREEZELINT_CACHE_DIR"] = str(folder)
    yield folder
    if before is None:
        del os.environ["FREEZELINT_CACHE_DIR"]
    else:
        os.environ["FREEZELINT_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def cache_dir(session_cache: Path) -> Path:
    """The session's cache, warmed with every model the fixtures and rule examples build."""
    folder = session_cache
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
