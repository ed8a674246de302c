"""The module tree of a trainability map: each module's state (the states a parameter can be
in for an optimizer), its tensor and element counts summed from its parameters, collapsed where
everything under it shares one state, and the findings placed on the modules they concern."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from freezelint.script.selection import Path, format_path

FROZEN = "frozen"
TRAINED = "trainable, in a param group"
IDLE = "trainable, in no optimizer"
WASTED = "frozen, handed to the optimizer"
OTHER = "trainable, in another optimizer"
UNKNOWN = "not known"
FREE = "trainable"  # (no optimizer holds it, or none is built yet: `--at` before one)
# Said of a frozen BatchNorm layer a `.train()` put in train mode (its running statistics still
# change), whatever else its state is (`Node.norm_training`).
NORM_TRAINING = "BatchNorm in train mode"


@dataclass
class Node:
    """A module (or a parameter, or a part the analysis cannot see into) and its state: one
    state when everything under it shares it, else None and `children` say."""

    name: str  # as the script spells it: `model.blocks[3]`
    path: Path
    tensors: int = 0
    elements: int | None = 0
    state: str | None = None
    group: int | None = None  # the param group holding it, when `state` is TRAINED or WASTED
    opaque: bool = False  # a part whose table is not known
    children: list[Node] = field(default_factory=list)
    own: str | None = None  # an opaque module's state of what its named parts leave
    set_on: list[int] = field(default_factory=list)  # the lines that set its state
    norm_training: bool = False  # frozen BatchNorm in train mode (all of it, when collapsed)
    findings: list[str] = field(default_factory=list)  # codes placed on this module

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tensors": self.tensors,
            "elements": self.elements,
            "state": self.state,
            "group": self.group,
            "opaque": self.opaque,
            "rest": self.own if self.opaque and self.children else None,
            "set_on": self.set_on,
            "norm_training": self.norm_training,
            "findings": self.findings,
            "children": [c.as_json() for c in self.children],
        }


def set_on(node: Node, model: int, setters: dict[tuple[int, Path], int]) -> set[int]:
    """Each node's `set_on`: the lines that set its parameters' states (for a collapsed node,
    all of them)."""
    lines = {setters[(model, node.path)]} if (model, node.path) in setters else set()
    for child in node.children:
        lines |= set_on(child, model, setters)
    node.set_on = sorted(lines)
    return lines


def build_tree(var: str, leaves: list[Node]) -> Node:
    """The module tree over the leaves (a parameter's module is its path less the last name),
    each module's counts summed and its state set where everything under it shares one."""
    root = Node(var, ())
    index: dict[Path, Node] = {(): root}
    for leaf in leaves:
        module = leaf.path[:-1] if leaf.tensors else leaf.path
        parent = root
        for depth in range(1, len(module) + 1):
            sub = module[:depth]
            if sub not in index:
                node = Node(_name(var, sub), sub)
                index[sub] = node
                parent.children.append(node)
            parent = index[sub]
        if leaf.tensors:
            parent.children.append(leaf)
        else:
            parent.opaque, parent.state, parent.own = True, leaf.state, leaf.state
    _sum(root)
    return root


def _name(var: str, path: Path) -> str:
    return f"{var}{format_path(path)}"


def _sum(node: Node) -> None:
    if not node.children:
        return
    for child in node.children:
        _sum(child)
    node.tensors = sum(c.tensors for c in node.children)
    counts = [c.elements for c in node.children]
    node.elements = None if None in counts else sum(counts)  # type: ignore[arg-type]
    states = {(c.state, c.group, c.norm_training) for c in node.children} | (
        {(node.own, None, False)} if node.opaque else set()
    )
    if len(states) == 1:
        node.state, node.group, node.norm_training = next(iter(states))
    else:
        node.state, node.group, node.norm_training = None, None, False


# Findings about the state of what an optimizer holds sit on every module in that state.
PLACED_BY_STATE = {"FRZ006": IDLE, "FRZ001": WASTED, "FRZ011": WASTED, "FRZ009": NORM_TRAINING}
# (NORM_TRAINING: the modules with `norm_training`.)


def place(tree: Node, findings: list[tuple[str, int, str]]) -> None:
    """Each finding on the modules it is about: those in the state it reports (FRZ006 on what
    is in no optimizer, FRZ001 and FRZ011 on what is frozen and handed over), else those its
    message names (`model._conv_stem`), else the model."""
    nodes: dict[str, Node] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes[node.name] = node
        stack.extend(node.children)
    for code, _, message in findings:
        state = PLACED_BY_STATE.get(code)
        named = (
            _topmost(tree, state)
            if state is not None
            else [nodes[n] for n in _backticked(message) if n in nodes]
        )
        for node in named or ([] if state is not None else [tree]):
            if code not in node.findings:
                node.findings.append(code)


def _topmost(node: Node, state: str) -> list[Node]:
    if node.norm_training if state == NORM_TRAINING else node.state == state:
        return [node]
    return [found for child in node.children for found in _topmost(child, state)]


def _backticked(text: str) -> list[str]:
    parts = text.split("`")
    return [parts[i] for i in range(1, len(parts), 2)]
