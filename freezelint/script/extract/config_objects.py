"""Config objects a module fills in at its top level: a yacs `CfgNode` (`_C = CN()`,
`_C.MODEL = CN()`, `_C.MODEL.NAME = "resnet50"`), an ml_collections `ConfigDict`, an
`EasyDict` or a `SimpleNamespace` built empty and given attributes one by one.

Each value set to a constant is one, as a module constant is: the config is what its module
sets until the code merges something over it (`cfg.merge_from_file(...)`, `CONFIG_MERGES`),
which makes the whole config unknown from there on (`statements._forget_constant`). A value
the code computes (a call, a name not known) is not known. The result is a `Namespace`,
nested for nested nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from freezelint.script.imports import ImportTable, dotted
from freezelint.script.values import Const, Namespace, Value

# Classes whose empty instance is a config filled in attribute by attribute.
CONFIG_CLASSES = frozenset(
    {
        "yacs.config.CfgNode",
        "yacs.config.CN",
        "ml_collections.ConfigDict",
        "ml_collections.config_dict.ConfigDict",
        "easydict.EasyDict",
        "types.SimpleNamespace",
    }
)
# Methods that write over a config object's values (yacs, ml_collections, dict-like ones).
CONFIG_MERGES = frozenset(
    {"merge_from_file", "merge_from_list", "merge_from_other_cfg", "update", "load", "setdefault"}
)
UNKNOWN_LEAF = object()  # a value the code computes


def _is_new_config(node: cst.BaseExpression, imports: ImportTable) -> bool:
    """`CN()` (`CfgNode(new_allowed=True)`): an empty config object of a known library."""
    if type(node) is not cst.Call:
        return False
    if any(arg.keyword is None for arg in node.args):
        return False
    return imports.qualify(node.func) in CONFIG_CLASSES


def config_objects(
    body: Sequence[cst.CSTNode],
    imports: ImportTable,
    evaluate: Callable[[cst.BaseExpression], Value],
) -> dict[str, Namespace]:
    """The config objects a module body builds and fills in at its top level, by name.
    `evaluate`: a constant expression's value in the module (None when not known)."""
    trees: dict[str, dict] = {}
    for stmt in body:
        if type(stmt) is not cst.SimpleStatementLine:
            continue
        for small in stmt.body:
            if type(small) is not cst.Assign or len(small.targets) != 1:
                continue
            target = small.targets[0].target
            if type(target) is cst.Name:
                if _is_new_config(small.value, imports):
                    trees[target.value] = {}
                else:
                    trees.pop(target.value, None)
                continue
            name = dotted(target) if type(target) is cst.Attribute else None
            if name is None or name.split(".", 1)[0] not in trees:
                continue
            *owners, attr = name.split(".")
            node = trees[owners[0]]
            for part in owners[1:]:
                child = node.get(part)
                if not isinstance(child, dict):
                    node = None
                    break
                node = child
            if node is None:
                continue
            if _is_new_config(small.value, imports):
                node[attr] = {}
                continue
            value = evaluate(small.value)
            if isinstance(value, Const) and value.decided and _plain(value.value):
                node[attr] = Const(value.value)
            else:
                node[attr] = UNKNOWN_LEAF
    return {name: _namespace(tree) for name, tree in trees.items()}


def _plain(value: object) -> bool:
    if isinstance(value, tuple | list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def _namespace(tree: dict) -> Namespace:
    options: list[tuple[str, Const | Namespace | None]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            options.append((key, _namespace(value)))
        else:
            options.append((key, value if isinstance(value, Const) else None))
    return Namespace(tuple(options))
