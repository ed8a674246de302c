"""A check makes no reference cycles: what it leaves is freed when the last reference goes, not
when the collector runs. A pool's processes freeze what each check leaves (`runner.
run_file_in_pool`), so a cycle there would stay for the process's life; and one that holds the
walker holds every tree and event of the check with it (`finish_parts` once did, through two
nested functions calling each other)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from freezelint.model.resolve import Verifier
from freezelint.rules import RULES
from freezelint.run.discovery import DiscoveredPath
from freezelint.run.runner import Options, preload, run_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if "FRZ000" not in p.parts)


def _ours(thing: object) -> bool:
    return type(thing).__module__.split(".")[0] in ("freezelint", "libcst")


@pytest.fixture
def collector_saving_all():
    """The collector on, keeping what it finds unreachable in `gc.garbage` (then restored)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.enable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if not enabled:
            gc.disable()


def test_checking_every_fixture_leaves_nothing_in_a_cycle(
    collector_saving_all, cache_dir: Path, verifier: Verifier
) -> None:
    options = Options(cache_dir=cache_dir)
    preload(None)
    codes = frozenset(RULES)
    for path in FIXTURES:
        run_file(DiscoveredPath(path, str(path), False), codes, options, verifier=verifier)
    gc.collect()
    cyclic = [thing for thing in gc.garbage if _ours(thing)]
    kinds = sorted({type(thing).__qualname__ for thing in cyclic})
    assert not kinds, f"{len(cyclic)} objects in reference cycles"


def test_the_guard_sees_a_cycle(collector_saving_all) -> None:
    # (The test above would pass if the collector found nothing for another reason.)
    from freezelint.script.extract.scope import Scope

    scope = Scope()
    scope.parent = scope
    del scope
    gc.collect()
    assert any(type(thing).__qualname__ == "Scope" for thing in gc.garbage)
