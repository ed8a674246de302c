"""Small facts about CST nodes: their children, literals, the names an expression reads, whether
it mentions `requires_grad`, and which names say "this is a module"."""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
from collections.abc import Callable, Iterator

import libcst as cst

from freezelint.script import recognize
from freezelint.script.imports import ImportTable
from freezelint.script.literals import literal_value
from freezelint.script.node_kinds import is_a
from freezelint.script.selection import Selection, Union

CONSUMERS = frozenset(
    {
        "list",
        "tuple",
        "sorted",
        "set",
        "sum",
        "any",
        "all",
        "max",
        "min",
        "len",
        "dict",
        "frozenset",
    }
)
BUILTIN_CALLS = frozenset(
    {
        "int",
        "float",
        "str",
        "bool",
        "len",
        "round",
        "max",
        "min",
        "abs",
        "getattr",
        "isinstance",
        "print",
        "range",
        "type",
        "repr",
    }
)
EMPTY: Selection = Union(())
# Attribute names that are parameters (not modules) in the libraries freezelint knows.
PARAMETER_NAMES = frozenset(
    {
        "weight",
        "bias",
        "cls_token",
        "pos_embed",
        "dist_token",
        "mask_token",
        "pos_embedding",
        "class_embedding",
        "class_token",
        "positional_embedding",
        "logit_scale",
        "reg_token",
        "gamma",
    }
)
# Attribute names that are modules in the libraries freezelint knows.
MODULE_NAMES = frozenset(
    {
        "features",
        "classifier",
        "fc",
        "_fc",
        "head",
        "heads",
        "blocks",
        "_blocks",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "conv1",
        "bn1",
        "conv_stem",
        "bn2",
        "_conv_stem",
        "_bn0",
        "_bn1",
        "_conv_head",
        "conv_head",
        "stem",
        "stages",
        "backbone",
        "encoder",
        "decoder",
        "patch_embed",
        "norm",
        "pre_logits",
        "avgpool",
        "global_pool",
        "layers",
        "trunk",
        "neck",
        "embeddings",
        "pooler",
        "model",
        "module",
    }
)


def ref_kind(path: tuple[str, ...]) -> str | None:
    """What the script's `x.y` at `path` is, by its name: "module", "param" or None (unknown).
    The whole model, an index or slice of a container and the library's classifier are
    modules."""
    if not path:
        return "module"
    last = path[-1]
    if not (last[:1].isalpha() or last[:1] == "_") or last in MODULE_NAMES:
        return "module"
    return "param" if last in PARAMETER_NAMES else None


# Words in a function's name that say it may change `requires_grad` (a helper from another file).
FREEZE_WORDS = ("freeze", "requires_grad", "trainable", "set_grad")


def literal_bool(node: cst.BaseExpression | None) -> bool | None:
    if type(node) is cst.Name and node.value in ("True", "False"):
        return node.value == "True"
    return None


def literal_string(node: cst.CSTNode | None) -> str | None:
    if type(node) is cst.SimpleString:
        value = literal_value(node)
        return value if isinstance(value, str) else None
    return None


def is_zero(node: cst.BaseExpression) -> bool:
    if type(node) in (cst.Integer, cst.Float):
        try:
            return float(node.value.replace("_", "")) == 0.0
        except ValueError:
            return False
    return False


# Fields that hold only whitespace and punctuation: never walked.
_PUNCTUATION = frozenset(
    {
        "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "leading_lines",
        "lines_after_decorators", "header", "footer", "comma", "semicolon", "equal", "colon",
        "dot", "asynchronous", "trailing_whitespace", "newline", "default_indent",
        "default_newline", "encoding", "star", "indent",
    }
)  # fmt: skip
# Per node type: a function giving the values of its fields that may hold nodes, as a tuple.
_CHILD_FIELDS: dict[type, Callable[[cst.CSTNode], tuple]] = {}
# Per type of a field's value: is it a node? (libcst registers no virtual subclasses: read
# from the type's bases once, as `node_kinds.is_a` does.)
_IS_NODE: dict[type, bool] = {}
# `child_nodes`' answers by the id of the node (kept with it), at most `_CHILDREN_LIMIT` of them.
_CHILDREN: dict[int, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}
_CHILDREN_LIMIT = 200_000


def _field_values(kind: type) -> Callable[[cst.CSTNode], tuple]:
    names = tuple(
        f.name
        for f in dataclasses.fields(kind)
        if not f.name.startswith("whitespace") and f.name not in _PUNCTUATION
    )
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        get = lambda node: (one(node),)  # noqa: E731 (attrgetter of one name: not a tuple)
    elif names:
        get = operator.attrgetter(*names)
    else:
        get = lambda node: ()  # noqa: E731
    _CHILD_FIELDS[kind] = get
    return get


def _is_node(kind: type) -> bool:
    known = _IS_NODE[kind] = cst.CSTNode in kind.__mro__
    return known


def child_nodes(node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
    """The syntactic children of a node, whitespace and punctuation left out, in field order.
    libcst's own `children` rebuilds every child through a visitor (and validates it again):
    it dominated the profile of large files. Remembered per node (trees do not change; the
    paths of a script walk the same statements again) until `forget_children`."""
    known = _CHILDREN.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    get = _CHILD_FIELDS.get(type(node)) or _field_values(type(node))
    is_node = _IS_NODE.get
    out: list[cst.CSTNode] = []
    for value in get(node):
        kind = type(value)
        if kind is list or kind is tuple:
            for item in value:
                flag = is_node(type(item))
                if flag or (flag is None and _is_node(type(item))):
                    out.append(item)
        else:
            flag = is_node(kind)
            if flag or (flag is None and _is_node(kind)):
                out.append(value)
    if len(_CHILDREN) >= _CHILDREN_LIMIT:
        _CHILDREN.clear()
    children = _CHILDREN[id(node)] = (node, tuple(out))
    return children[1]


def forget_children() -> None:
    """Drop what `child_nodes` and `try_body` remember (at the start of each file: they hold
    the nodes asked about, and their ids may be reused once they are gone)."""
    _CHILDREN.clear()
    _TRY_BODIES.clear()


# `try_body`'s lists by the id of the `try` (kept with it).
_TRY_BODIES: dict[int, tuple[cst.CSTNode, list[cst.BaseStatement]]] = {}


def try_body(node: cst.Try | cst.TryStar) -> list[cst.BaseStatement]:
    """What a `try` runs when nothing raises: its body, then its `else`, as one list, the same
    list each time it is asked for (until `forget_children`): a block's identity is its list's
    (`Event.block`), which must not be that of another block the list's memory went to."""
    known = _TRY_BODIES.get(id(node))
    if known is None or known[0] is not node:
        body = list(node.body.body)
        if node.orelse is not None:
            body += list(node.orelse.body.body)
        known = _TRY_BODIES[id(node)] = (node, body)
    return known[1]


_NO_MODULE = cst.Module([])  # (its defaults are all `code_for_node` reads: made once)


def code_of(node: cst.CSTNode) -> str:
    """A node's source text. A name or a dotted name without brackets or spaces (`args.freeze`,
    the usual test of a branch whose arms are labelled with it) is read from its parts; the
    rest is generated, as libcst prints it."""
    dotted_text = _plain_dotted(node)
    return dotted_text if dotted_text is not None else _NO_MODULE.code_for_node(node)


def _plain_dotted(node: cst.CSTNode) -> str | None:
    parts: list[str] = []
    while type(node) is cst.Attribute:
        dot = node.dot
        if (
            node.lpar
            or node.attr.lpar
            or type(dot.whitespace_before) is not cst.SimpleWhitespace
            or type(dot.whitespace_after) is not cst.SimpleWhitespace
            or dot.whitespace_before.value
            or dot.whitespace_after.value
        ):
            return None
        parts.append(node.attr.value)
        node = node.value
    if type(node) is not cst.Name or node.lpar:
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def names_in(node: cst.CSTNode) -> set[str]:
    """Every plain name an expression reads (a small walk over expression children)."""
    out: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Name:
            out.add(cur.value)
        elif type(cur) is cst.Attribute:
            stack.append(cur.value)
        else:
            stack.extend(child_nodes(cur))
    return out


def mentions_requires_grad(node: cst.CSTNode) -> bool:
    """Does a subtree name `requires_grad` / `requires_grad_` anywhere?"""
    stack = [node]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Name:
            if cur.value in ("requires_grad", "requires_grad_"):
                return True
        else:
            stack.extend(child_nodes(cur))
    return False


def is_requires_grad_of(node: cst.BaseExpression, var: str) -> bool:
    """`var.requires_grad` (also spelled `var.requires_grad == True` or `is True`)."""
    if (
        type(node) is cst.Comparison
        and len(node.comparisons) == 1
        and type(node.comparisons[0].operator) in (cst.Equal, cst.Is)
        and literal_bool(node.comparisons[0].comparator) is True
    ):
        node = node.left
    return (
        type(node) is cst.Attribute
        and node.attr.value == "requires_grad"
        and type(node.value) is cst.Name
        and node.value.value == var
    )


_MODULE_NAME = re.compile(
    r"^(?:.*_)?(?:\w*model|\w*net|network|backbone|encoder|decoder|classifier|head|module"
    r"|features|layer\d*|block\d*|stem|trunk|teacher|student)$"
)


def module_ish_name(name: str) -> bool:
    """Does a variable's name say it holds an `nn.Module` (`model`, `resnet`, `backbone`...)?"""
    return bool(_MODULE_NAME.match(name.rsplit(".", 1)[-1].lower()))


def int_literal(node: cst.BaseExpression | None) -> int | None:
    if type(node) is cst.Integer:
        return int(node.value.replace("_", ""), 0)
    if (
        type(node) is cst.UnaryOperation
        and type(node.operator) is cst.Minus
        and type(node.expression) is cst.Integer
    ):
        return -int(node.expression.value.replace("_", ""), 0)
    return None


def param_free_call(node: cst.BaseExpression, imports: ImportTable) -> bool:
    if type(node) is not cst.Call:
        return False
    layer = recognize.nn_layer(imports.qualify(node.func) or "")
    return layer in recognize.PARAM_FREE_LAYERS


def assignment_targets(node: cst.CSTNode, nested: bool = False) -> Iterator[cst.CSTNode]:
    """The target of every assignment in a subtree (`x = ...`, `x += ...`, `for x in`, `with
    ... as x`, walrus), as written (a name, a tuple, an attribute...); inside nested functions
    and classes too when `nested`."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Assign:
            yield from (t.target for t in cur.targets)
        elif type(cur) in (cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr):
            yield cur.target
        elif type(cur) is cst.AsName:
            yield cur.name
        if nested or type(cur) not in (cst.FunctionDef, cst.ClassDef, cst.Lambda):
            stack.extend(child_nodes(cur))


@functools.lru_cache(maxsize=4096)  # a loop body is asked again at every run of its root
def assigned_names(node: cst.CSTNode) -> frozenset[str]:
    """Plain names a block assigns (`x = ...`, `x += ...`, `for x in`, `with ... as x`, walrus)."""
    out: set[str] = set()
    for target in assignment_targets(node):
        if type(target) is cst.Name:
            out.add(target.value)
        elif type(target) in (cst.Tuple, cst.List):
            out.update(e.value.value for e in target.elements if type(e.value) is cst.Name)
    return frozenset(out)


@functools.lru_cache(maxsize=4096)
def method_calls(node: cst.CSTNode) -> frozenset[tuple[str, str]]:
    """`(name, method)` for every `name.method(...)` call in a subtree (cached)."""
    found: set[tuple[str, str]] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if (
            type(cur) is cst.Call
            and type(cur.func) is cst.Attribute
            and type(cur.func.value) is cst.Name
        ):
            found.add((cur.func.value.value, cur.func.attr.value))
        stack.extend(child_nodes(cur))
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def identifiers(node: cst.CSTNode) -> frozenset[str]:
    """Every name and attribute name in a subtree (cached: syntax trees do not change)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        cur = stack.pop()
        if type(cur) is cst.Name:
            found.add(cur.value)
        stack.extend(child_nodes(cur))
    return frozenset(found)


# Names that say a piece of code freezes, unfreezes, builds an optimizer or sets a mode: exactly
# these, or containing one of `FREEZING_PARTS`.
FREEZING_NAMES = frozenset(
    {"parameters", "named_parameters", "train", "eval", "requires_grad_", "Trainer"}
)
FREEZING_PARTS = ("requires_grad", "freeze", "optim", "param_group")


def mentions_freezing(node: cst.CSTNode, more: frozenset[str] = frozenset()) -> bool:
    """Does a subtree name something freezing is made of (or one of `more`)?"""
    words = identifiers(node)
    return bool(words & (FREEZING_NAMES | more)) or any(
        part in word for word in words for part in FREEZING_PARTS
    )


def smalls(stmt: cst.CSTNode) -> tuple[cst.BaseSmallStatement, ...]:
    """The small statements a statement of a block is: a line's (`a = 1; return a`), or the
    statement itself in the body of a one-line compound statement (`if x: return a`, whose
    suite's `body` holds small statements directly); none for a compound statement."""
    if type(stmt) is cst.SimpleStatementLine:
        return tuple(stmt.body)
    if is_a(stmt, cst.BaseSmallStatement):
        return (stmt,)
    return ()
