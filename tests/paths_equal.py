"""Two extractions of one script must give the same paths: the walk as it is, and the walk with
a shortcut switched off (`extract_paths`' options for tests: `rejoin`, `early`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import libcst as cst

from freezelint.script.extract.paths import extract_paths


def same_paths(source: str, path: Path | None = None, **switched_off: bool) -> None:
    """Every root's labels, completeness, touches, and each path's decisions, arms, end and
    timeline (events, models, model names, `built_from`, `lr_scheduled`) are the same with the
    options `switched_off` as without."""
    module = cst.parse_module(source)
    ours = extract_paths(module, path=path, text=source)  # (as the checker: with its text)
    walked = extract_paths(module, path=path, text=source, **switched_off)
    assert len(ours) == len(walked)
    for root, other in zip(ours, walked, strict=True):
        assert (root.labels, root.complete, root.touched) == (
            other.labels,
            other.complete,
            other.touched,
        )
        assert [(p.decisions, p.raised, p.ranges) for p in root.paths] == [
            (p.decisions, p.raised, p.ranges) for p in other.paths
        ]
        for path_, again in zip(root.paths, other.paths, strict=True):
            assert _canonical(path_.timeline.events) == _canonical(again.timeline.events)
            assert repr(path_.timeline.models) == repr(again.timeline.models)
            assert path_.timeline.model_vars == again.timeline.model_vars
            assert path_.timeline.built_from == again.timeline.built_from
            assert path_.timeline.lr_scheduled == again.timeline.lr_scheduled


def _canonical(events: list) -> list[str]:
    """Events as what they hold (an event's scope is the walk's own object: numbered)."""
    scopes: dict[int, int] = {}
    return [repr(replace(e, scope=scopes.setdefault(e.scope, len(scopes)))) for e in events]
