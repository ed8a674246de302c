"""The simulation's fast paths (issue 24) give what its general code gives: a model with a
table is built with the atoms the per-atom loop makes, over every model the fixtures build."""

from __future__ import annotations

import libcst as cst

from freezelint.model.resolve import Verifier
from freezelint.script.extract import extract
from freezelint.simulation.replay import Simulation
from tests.fixture_format import fixture_scripts


def test_a_model_with_a_table_is_built_as_the_general_loop_builds_it(
    verifier: Verifier,
) -> None:
    compared = fell_back = 0
    for script in fixture_scripts():
        try:
            module = cst.parse_module(script.read_text(encoding="utf-8"))
        except cst.ParserSyntaxError:
            continue  # (the fixtures of FRZ000)
        for timeline in extract(module):
            tables = verifier.tables_for([timeline])
            if not tables:
                continue
            sim = Simulation(timeline, tables)
            for model in tables:
                for status in ("T", "?"):
                    fast = sim._built_from_table(model, status)
                    if fast is None:
                        fell_back += 1
                        continue
                    for has_params in (True, False, None):
                        general = sim._built(model, status, has_params)
                        assert list(fast.items()) == list(general.items()), script
                    compared += 1
    assert compared > 100
    assert fell_back > 0  # (composites with parts the analysis cannot build, partial tables)
