"""Writing the trainability map (`freezelint show`): a text tree (colours on a terminal, ASCII
markers otherwise or under `NO_COLOR`), JSON (the same tree as data), and one self-contained HTML
page (no network, no external assets): the tree folds (`<details>`), findings sit on the modules
they concern, and hovering a module shows its counts and state."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import TextIO

from freezelint.checking.module_tree import (
    FREE,
    FROZEN,
    IDLE,
    NORM_TRAINING,
    OTHER,
    TRAINED,
    UNKNOWN,
    WASTED,
    Node,
)
from freezelint.checking.trainability import OptimizerMap, Trainability
from freezelint.rules.common import elements

# Per state: its marker in text, its ANSI colour, its CSS class, and what the legend says of it.
STYLES = {
    TRAINED: ("+", "32", "trained", "the optimizer trains it"),
    FROZEN: ("-", "2", "frozen", "not trained, as meant"),
    IDLE: ("!", "1;31", "idle", "gradients computed, never applied"),
    WASTED: ("!", "1;31", "wasted", "held for nothing"),
    NORM_TRAINING: ("!", "1;33", "norm", "frozen, but its running statistics still change"),
    OTHER: ("~", "33", "other", "trained by another optimizer"),
    UNKNOWN: ("?", "35", "unknown", "the analysis cannot tell"),
    FREE: ("*", "36", "free", "no optimizer holds it (yet)"),
}
Paint = Callable[[str, str], str]


def write_text(
    out: TextIO,
    maps: Sequence[Trainability],
    paint: Paint,
    depth: int | None = None,
    model: str | None = None,
    label: Callable[[int], str] = str,
) -> None:
    """The maps as a text tree; `label` names a line (a notebook's: `2 (cell 4)`)."""
    if not maps:
        out.write("No optimizer built: nothing to show.\n")
        return
    for found in maps:
        if found.paths > 1:
            when = f" ({found.conditions})" if found.conditions else ""
            out.write(f"path {found.path} of {found.paths}{when}; `--path N` shows another\n\n")
        for opt in found.optimizers:
            _optimizer(out, opt, paint, depth, model, label)
        if found.models:
            out.write(paint(f"in no optimizer at line {label(found.at or 0)}", "1") + "\n")
            _trees(out, found.models, paint, depth, model)
            out.write("\n")
    out.write(
        "legend: " + ", ".join(f"{style[0]} {state}" for state, style in STYLES.items()) + "\n"
    )


def _optimizer(
    out: TextIO,
    opt: OptimizerMap,
    paint: Paint,
    depth: int | None,
    model: str | None,
    label: Callable[[int], str],
) -> None:
    moment = _moment(opt.moment)
    out.write(paint(f"optimizer {opt.name}, {_at(opt.line, label)}, {moment}", "1") + "\n")
    for group in opt.groups:
        added = f", added on line {label(group.line)}" if group.line else ""
        out.write(
            f"  group {group.index}: lr {group.lr}, weight_decay {group.weight_decay}{added}\n"
        )
    _trees(out, opt.models, paint, depth, model)
    for code, line, message in opt.findings:
        out.write(f"  {paint(code, '1;31')} {_at(line, label)}: {message}\n")
    out.write("\n")


def _trees(
    out: TextIO, models: list[tuple[str, Node]], paint: Paint, depth: int | None, model: str | None
) -> None:
    """Each model's heading and tree (only `model`'s, when one is asked for)."""
    for heading, tree in models:
        if model is None or tree.name == model:
            out.write(f"  {heading}\n")
            out.writelines(line + "\n" for line in _lines(tree, paint, depth, "    ", "    ", 0))


def _at(line: int, label: Callable[[int], str]) -> str:
    """`line 14`; code in a file the script imports has no line of this one (0)."""
    return f"line {label(line)}" if line else "in a file it imports"


def _moment(moment: str) -> str:
    return {"built": "as built", "end": "as the script leaves it"}.get(moment, moment)


def _lines(
    node: Node, paint: Paint, depth: int | None, first: str, rest: str, level: int
) -> list[str]:
    counts = f"{node.tensors} tensor{'s' if node.tensors != 1 else ''}" if node.tensors else ""
    if node.elements:
        counts += f", {elements(node.elements)} elements"
    state = _state_text(node, paint)
    codes = f"  [{', '.join(node.findings)}]" if node.findings else ""
    name = (
        f"{node.name} (unknown: its tensors are not known)"
        if node.opaque and not node.tensors
        else node.name
    )
    out = [f"{first}{name}  {counts}  {state}{codes}".rstrip()]
    if node.state is not None or (depth is not None and level >= depth):
        return out
    children = _runs(node.children)
    if node.opaque and node.own is not None:  # (what the parts it names leave of it)
        children = [Node(f"the rest of {node.name}", node.path, state=node.own), *children]
    for i, child in enumerate(children):
        last = i == len(children) - 1
        out += _lines(
            child,
            paint,
            depth,
            rest + ("`-- " if last else "|-- "),
            rest + ("    " if last else "|   "),
            level + 1,
        )
    return out


def _state_text(node: Node, paint: Paint) -> str:
    if node.state is None:
        return "mixed"
    group = f" (group {node.group})" if node.group is not None else ""
    mark, colour, _, _ = STYLES[node.state]
    text = paint(f"{mark} {node.state}{group}", colour)
    if node.norm_training:
        mark, colour, _, _ = STYLES[NORM_TRAINING]
        text += ", " + paint(f"{mark} {NORM_TRAINING}", colour)
    return text


def _runs(children: list[Node]) -> list[Node]:
    """Consecutive numbered siblings in one state (`blocks[0]` ... `blocks[2]`, all frozen) as
    one line `blocks[0:3]`."""
    out: list[Node] = []
    run: list[Node] = []

    def flush() -> None:
        if len(run) > 2:
            first, last = run[0], run[-1]
            counts = [n.elements for n in run]
            out.append(
                Node(
                    f"{first.name.rsplit('[', 1)[0]}[{first.path[-1]}:{int(last.path[-1]) + 1}]",
                    first.path,
                    tensors=sum(n.tensors for n in run),
                    elements=None if None in counts else sum(counts),  # type: ignore[arg-type]
                    state=first.state,
                    group=first.group,
                    norm_training=first.norm_training,
                    findings=sorted({c for n in run for c in n.findings}),
                )
            )
        else:
            out.extend(run)
        run.clear()

    for child in children:
        numbered = bool(child.path) and child.path[-1].isdigit() and child.state is not None
        if (
            numbered
            and run
            and (child.state, child.group, child.norm_training)
            == (run[-1].state, run[-1].group, run[-1].norm_training)
            and int(child.path[-1]) == int(run[-1].path[-1]) + 1
            and child.path[:-1] == run[-1].path[:-1]
        ):
            run.append(child)
            continue
        flush()
        if numbered:
            run.append(child)
        else:
            out.append(child)
    flush()
    return _unknowns(out)


def _unknowns(children: list[Node]) -> list[Node]:
    """Three or more parts not known side by side (a module's metrics, its config: what the
    analysis cannot build) as one line naming the first two."""
    out: list[Node] = []
    run: list[Node] = []

    def flush() -> None:
        if len(run) > 2:
            names = f"{run[0].name}, {run[1].name} and {len(run) - 2} more"
            out.append(Node(names, run[0].path, state=UNKNOWN, opaque=True))
        else:
            out.extend(run)
        run.clear()

    for child in children:
        if child.state == UNKNOWN and child.opaque and not child.children and not child.findings:
            run.append(child)
            continue
        flush()
        out.append(child)
    flush()
    return out


def write_json(
    out: TextIO, maps: Sequence[Trainability], label: Callable[[int], str] = str
) -> None:
    """The maps as data; in a notebook each line number (of the program its cells make) is also
    named in `line_labels` (`"2 (cell 4)"`)."""
    data = [m.as_json() for m in maps]
    if label is not str:
        for found, item in zip(maps, data, strict=True):
            lines = {o.line for o in found.optimizers} | set(found.source)
            lines |= {line for o in found.optimizers for _, line, _ in o.findings}
            lines |= {g.line for o in found.optimizers for g in o.groups if g.line}
            item["line_labels"] = {str(n): label(n) for n in sorted(lines)}
    json.dump(data, out, indent=2)
    out.write("\n")


def write_html(
    out: TextIO, maps: Sequence[Trainability], title: str, label: Callable[[int], str] = str
) -> None:
    body = []
    for found in maps:
        if found.paths > 1:
            when = f" ({html.escape(found.conditions)})" if found.conditions else ""
            body.append(f"<p class=path>path {found.path} of {found.paths}{when}</p>")
        for opt in found.optimizers:
            moment = _moment(opt.moment)
            body.append(
                f"<section class=optimizer><h2>optimizer {html.escape(opt.name)}, "
                f"{_at(opt.line, label)}, {moment}</h2><ul class=groups>"
            )
            for g in opt.groups:
                added = f", added on line {label(g.line)}" if g.line else ""
                body.append(
                    f"<li>group {g.index}: lr {html.escape(g.lr)}, weight_decay "
                    f"{html.escape(g.weight_decay)}{added}</li>"
                )
            body.append("</ul>")
            for heading, tree in opt.models:
                tree_html = _html_node(tree, found.source, label)
                body.append(f"<h3>{html.escape(heading)}</h3><div class=tree>{tree_html}</div>")
            for code, line, message in opt.findings:
                body.append(
                    f"<p class=finding id='finding-{code}-{line}'><b>{code}</b> "
                    f"{_at(line, label)}: {html.escape(message)}</p>"
                )
            body.append("</section>")
    legend = "".join(
        f"<li><span class='state {css}'>{mark} {state}</span>: {why}</li>"
        for state, (mark, _, css, why) in STYLES.items()
    )
    out.write(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>freezelint show {html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>What {html.escape(title)} trains</h1>{''.join(body)}"
        f"<ul class=legend>{legend}</ul></body></html>\n"
    )


def _html_node(node: Node, source: dict[int, str], label: Callable[[int], str]) -> str:
    noun = "tensor" if node.tensors == 1 else "tensors"
    counts = f"{node.tensors} {noun}" + (f", {node.elements:,} elements" if node.elements else "")
    state = node.state or "mixed"
    group = f" (group {node.group})" if node.group is not None else ""
    findings = "".join(f" <span class=finding-mark>{c}</span>" for c in node.findings)
    if node.norm_training:
        findings = f" <span class='state norm'>{NORM_TRAINING}</span>{findings}"
    summary = (
        f"<span class=name>{html.escape(node.name)}</span> <span class=counts>{counts}</span> "
        f"<span class='state {_css(state)}'>{html.escape(state)}{group}</span>{findings}"
    )
    lines = "; ".join(
        f"line {label(n)}: {source[n]}" if n in source else f"line {label(n)}" for n in node.set_on
    )
    set_on = f"; set on {lines}" if lines else ""
    tip = html.escape(f"{node.name}: {counts}; {state}{group}{set_on}", quote=True)
    if not node.children or node.state is not None:
        return f"<div class=leaf title='{tip}' data-state='{html.escape(state)}'>{summary}</div>"
    inner = "".join(_html_node(c, source, label) for c in _runs(node.children))
    return (
        f"<details open title='{tip}' data-state='{html.escape(state)}'><summary>{summary}"
        f"</summary>{inner}</details>"
    )


def _css(state: str) -> str:
    return STYLES[state][2] if state in STYLES else "mixed"


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
.tree details,.tree .leaf{margin-left:1.2em}
summary{cursor:pointer}
.counts{color:#666;font-size:90%}
.state{padding:0 .3em;border-radius:3px}
.trained{background:#d4f4d4}.frozen{background:#eee;color:#666}
.idle,.wasted{background:#fdd;font-weight:bold}.other{background:#ffd}.unknown{background:#ecf}
.free{background:#dff}.norm{background:#fec;font-weight:bold}
.finding-mark{background:#c00;color:#fff;padding:0 .3em;border-radius:3px;font-size:85%}
.finding{border-left:3px solid #c00;padding-left:.5em}
"""
