"""A readable text form of timelines (`freezelint events FILE`), for debugging the analysis and
for the extraction tests: one line an event, `line: Kind details [loop/branch frames]`."""

from __future__ import annotations

import libcst as cst

from freezelint.script.events import (
    BranchArm,
    BranchJoin,
    Event,
    IneffectiveFreeze,
    IteratorBound,
    IteratorConsumed,
    ModelBuilt,
    ModelWrapped,
    ModeSet,
    ModuleReplaced,
    OptimizerBuilt,
    ParamGroup,
    ParamGroupAdded,
    ParamsListed,
    RequiresGradSet,
    SchedulerBuilt,
    SchedulerStepped,
    SizeAttributeSet,
    Timeline,
    WeightReplaced,
)
from freezelint.script.extract import extract
from freezelint.script.extract.syntax import code_of
from freezelint.script.positions import positions as positions_of
from freezelint.script.selection import (
    CLASS_NAME,
    NameWhere,
    Opaque,
    Region,
    Selection,
    Trainable,
    Union,
    format_path,
)


def selection_text(sel: Selection, names: dict[int, str]) -> str:
    if isinstance(sel, Region):
        return f"{names.get(sel.model, f'#{sel.model}')}{format_path(sel.path)}"
    if isinstance(sel, Trainable):
        return f"trainable({selection_text(sel.base, names)})"
    if isinstance(sel, NameWhere) and sel.modules is not None:
        mf = sel.modules
        tests = " and ".join(f"{'not ' if neg else ''}({code_of(t)})" for t, neg in mf.tests)
        for name, quals in mf.classes:
            kinds = " | ".join(quals)
            test = f"type(_) in ({kinds})" if "type_is" in name else f"isinstance(_, {kinds})"
            tests = tests.replace(name, test)
        tests = tests.replace(CLASS_NAME, "type(_).__name__")
        own = "" if mf.recurse else ", own parameters"
        return f"{selection_text(sel.base, names)}.{mf.walk}() where {tests}{own}"
    if isinstance(sel, NameWhere) and sel.positions is not None:
        start, stop = ("" if end is None else str(end) for end in sel.positions)
        return f"{selection_text(sel.base, names)} tensors [{start}:{stop}]"
    if isinstance(sel, NameWhere):
        pred = "?" if sel.predicate is None else code_of(sel.predicate)
        return f"{selection_text(sel.base, names)} where {'not ' if sel.negated else ''}{pred}"
    if isinstance(sel, Union):
        return "(" + " + ".join(selection_text(p, names) for p in sel.parts) + ")"
    if isinstance(sel, Opaque):
        return "?"
    return repr(sel)


def _group_text(group: ParamGroup, names: dict[int, str]) -> str:
    opts = "".join(f", {k}={code_of(v)}" for k, v in group.options)
    return f"{{{selection_text(group.selection, names)}{opts}}}"


def event_text(event: Event, names: dict[int, str]) -> str:
    def model(m: int, path: tuple[str, ...] = ()) -> str:
        return selection_text(Region(m, path), names)

    if isinstance(event, ModelBuilt):
        spec = event.spec
        what = f"{spec.library}:{spec.name}" if spec.library else spec.builder
        if event.copy_of is not None:
            what = f"a deep copy of {model(*event.copy_of)}"
        return f"ModelBuilt {model(event.model)} = {what}"
    if isinstance(event, ModelWrapped):
        return f"ModelWrapped {model(event.model)} in {event.kind}"
    if isinstance(event, ModuleReplaced):
        return f"ModuleReplaced {model(event.model, event.path)} params={event.adds_params}"
    if isinstance(event, RequiresGradSet):
        return f"RequiresGradSet {selection_text(event.selection, names)} = {event.value}"
    if isinstance(event, IneffectiveFreeze):
        return f"IneffectiveFreeze {event.kind} {event.target}"
    if isinstance(event, OptimizerBuilt):
        groups = ", ".join(_group_text(g, names) for g in event.groups)
        return f"OptimizerBuilt {event.var} = {event.cls}[{groups}]"
    if isinstance(event, ParamGroupAdded):
        owner = names.get(-event.optimizer, f"#{event.optimizer}")
        return f"ParamGroupAdded {owner} {_group_text(event.group, names)}"
    if isinstance(event, ModeSet):
        return f"ModeSet {model(event.model, event.path)} {'train' if event.train else 'eval'}"
    if isinstance(event, SizeAttributeSet):
        return f"SizeAttributeSet {model(event.model, event.path)}.{event.attr} = {event.value}"
    if isinstance(event, WeightReplaced):
        return f"WeightReplaced {model(event.model, event.path)}"
    if isinstance(event, SchedulerBuilt):
        return f"SchedulerBuilt {event.var or '?'} = {event.cls}(optimizer #{event.optimizer})"
    if isinstance(event, SchedulerStepped):
        return f"SchedulerStepped #{event.scheduler}"
    if isinstance(event, IteratorBound):
        return f"IteratorBound {event.var}"
    if isinstance(event, ParamsListed):
        return f"ParamsListed {event.var} = {selection_text(event.selection, names)}"
    if isinstance(event, IteratorConsumed):
        return f"IteratorConsumed {event.var or '#' + str(event.binding)} by {event.how}"
    if isinstance(event, BranchArm):
        return f"BranchArm {event.arm + 1}/{event.arms}"
    if isinstance(event, BranchJoin):
        return "BranchJoin"
    return type(event).__name__


def describe(source: str) -> list[str]:
    """Every timeline of a source text, as lines of text."""
    module = cst.parse_module(source)
    timelines = extract(module)
    positions = positions_of(module)
    out: list[str] = []
    for index, timeline in enumerate(timelines):
        out.append(f"timeline {index}")
        out.extend(_timeline_lines(timeline, positions))
    return out


def _timeline_lines(timeline: Timeline, positions) -> list[str]:
    names = dict(timeline.model_vars)
    # Optimizers are named by their variable too (negative keys keep them apart from models).
    names.update(
        {-e.optimizer: e.var for e in timeline.events if isinstance(e, OptimizerBuilt) and e.var}
    )
    lines = []
    for event in timeline.events:
        line = positions[event.anchor].start.line if event.anchor in positions else 0
        frames = "".join(f" [{f.kind}]" for f in event.ctx)
        lines.append(f"  {line}: {event_text(event, names)}{frames}")
    return lines
