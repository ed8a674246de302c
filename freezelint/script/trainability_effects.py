"""What a function body does to trainability, read from its syntax alone: `requires_grad` set,
`requires_grad_()`, `.train()`/`.eval()`, Lightning's `freeze`/`unfreeze`/`make_trainable`,
`add_param_group`, a learning rate set in a param group; directly or through the methods of its
class and the functions of its file it calls (a few calls deep). Functions and classes defined
inside it are not run by it. Used where the interpreter does not walk the code (a Lightning hook
that never runs: `lightning_hooks`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import libcst as cst

from freezelint.script.extract.syntax import literal_bool
from freezelint.script.imports import dotted


class Home(Protocol):
    """Where the calls of a body are looked up."""

    functions: dict[str, cst.FunctionDef]

    def method(self, cls: cst.ClassDef, name: str) -> cst.FunctionDef | None: ...


@dataclass(frozen=True)
class Effect:
    """A statement that changes trainability, and how a message says it."""

    node: cst.CSTNode
    what: str  # "unfreezes", "freezes", "sets `requires_grad`", "puts ... in eval mode" ...


_FREEZING_CALLS = {
    "freeze": "freezes",
    "unfreeze": "unfreezes",
    "make_trainable": "unfreezes",
    "freeze_module": "freezes",
    "unfreeze_and_add_param_group": "unfreezes and adds a param group",
    "add_param_group": "adds a param group",
}


def effects_of(function: cst.FunctionDef, cls: cst.ClassDef, home: Home) -> Iterator[Effect]:
    """What a method of `cls` does to trainability (see the module docstring)."""
    return _Effects(home, cls).of(function)


class _Effects:
    def __init__(self, home: Home, cls: cst.ClassDef) -> None:
        self.home = home
        self.cls = cls
        self.seen: set[int] = set()

    def of(self, function: cst.FunctionDef, depth: int = 0) -> Iterator[Effect]:
        if id(function) in self.seen or depth > 3:
            return
        self.seen.add(id(function))
        for node in _body_nodes(function.body):
            yield from self._node(node, depth)

    def _node(self, node: cst.CSTNode, depth: int) -> Iterator[Effect]:
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            targets = (
                [t.target for t in node.targets] if type(node) is cst.Assign else [node.target]
            )
            for target in targets:
                if type(target) is cst.Attribute and target.attr.value == "requires_grad":
                    value = getattr(node, "value", None)
                    yield Effect(node, _setting(value))
                elif type(target) is cst.Subscript and _sets_lr(target):
                    yield Effect(node, "sets a learning rate")
        elif type(node) is cst.Call and type(node.func) is cst.Attribute:
            attr = node.func.attr.value
            receiver = node.func.value
            if attr == "requires_grad_":
                value = node.args[0].value if node.args else cst.Name("True")
                yield Effect(node, _setting(value))
            elif attr in ("train", "eval") and len(node.args) <= 1:
                mode = "eval" if attr == "eval" else "training"
                if attr == "train" and node.args and literal_bool(node.args[0].value) is False:
                    mode = "eval"
                yield Effect(node, f"puts `{dotted(receiver) or '...'}` in {mode} mode")
            elif type(receiver) is cst.Name and receiver.value == "self":
                found = self.home.method(self.cls, attr)
                if found is not None:
                    yield from self.of(found, depth + 1)
                elif attr in _FREEZING_CALLS:
                    yield Effect(node, _FREEZING_CALLS[attr])
            elif attr in _FREEZING_CALLS:
                yield Effect(node, _FREEZING_CALLS[attr])
        elif type(node) is cst.Call and type(node.func) is cst.Name:
            function = self.home.functions.get(node.func.value)
            if function is not None:
                yield from self.of(function, depth + 1)


def _body_nodes(body: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes of a function body, in order, leaving out nested functions, classes and
    lambdas (defined there, not run)."""
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        yield node
        children = [
            c
            for c in node.children
            if not isinstance(c, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
        ]
        stack.extend(reversed(children))


def _setting(value: cst.BaseExpression | None) -> str:
    literal = literal_bool(value)
    if literal is True:
        return "unfreezes"
    if literal is False:
        return "freezes"
    return "sets `requires_grad`"


def _sets_lr(target: cst.Subscript) -> bool:
    """`group["lr"] = ...` or `optimizer.param_groups[0]["lr"] = ...`."""
    key = target.slice[0].slice if len(target.slice) == 1 else None
    return (
        type(key) is cst.Index
        and type(key.value) is cst.SimpleString
        and key.value.evaluated_value == "lr"
    )
