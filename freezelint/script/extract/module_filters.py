"""Conditions that pick among the items of a loop over `modules()` / `children()` of a region:
`isinstance(m, nn.BatchNorm2d)`, `"fc" not in name`, `type(m).__name__ != "Linear"`, negated or
combined. Each becomes a `selection.ModuleFilter` the parameter table decides module by module;
anything else about the module picks modules the analysis cannot name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import libcst as cst

from freezelint.script.extract.syntax import literal_string, names_in
from freezelint.script.selection import CLASS_NAME, ModuleFilter, NameWhere, Region, Selection
from freezelint.script.values import Const, ModuleItem, Value

# Classes whose modules a parameter table knows the class hierarchy of.
LIBRARIES = ("torch.", "timm.", "torchvision.", "efficientnet_pytorch.")


def module_filter(
    item: ModuleItem,
    var: str,
    test: cst.BaseExpression,
    negate: bool,
    qualify: Callable[[cst.CSTNode], str | None],
    lookup: Callable[[str], Value],
) -> Selection:
    """The modules of the loop item `var` for which `test` holds (or, `negate`, does not), on
    top of what the item already picks; a subset the analysis cannot name when the test reads
    the module in another way."""
    unknown = NameWhere(item.selection, None, None)
    base, before = item.selection, None
    if isinstance(base, NameWhere) and base.modules is not None:
        before, base = base.modules, base.base  # a condition inside a condition: both hold
    if not item.walk or not isinstance(base, Region):
        return unknown
    known = before.classes if before is not None else ()
    for name, expression in reversed(item.derived):
        # `classname = m.__class__.__name__; if classname.find("BatchNorm") == -1:`
        test = _substitute(test, name, expression)
    rewriter = _Placeholders(var, qualify, len(known))
    rewritten = test.visit(rewriter)
    if not isinstance(rewritten, cst.BaseExpression) or var in names_in(rewritten):
        return unknown
    counters = tuple(c for c in item.counters if c[0] in names_in(rewritten))
    if before is not None and before.counters:
        counters = (*before.counters, *(c for c in counters if c not in before.counters))
    has = tuple(dict.fromkeys((*(before.has if before is not None else ()), *rewriter.has)))
    own = {item.name_var, CLASS_NAME, *(name for name, _ in (*known, *rewriter.classes, *has))}
    own |= {name for name, _ in counters}
    env = dict(before.env) if before is not None else {}
    for name in sorted(names_in(rewritten) - own):
        value = lookup(name)
        if isinstance(value, Const):
            env[name] = value.value
    reads_name = item.name_var in names_in(rewritten) or (
        before is not None and before.name_var is not None
    )
    return NameWhere(
        base,
        None,
        None,
        modules=ModuleFilter(
            item.walk,
            (*(before.tests if before is not None else ()), (rewritten, negate)),
            item.name_var if reads_name else None,
            (*known, *rewriter.classes),
            tuple(env.items()),
            loop=item.loop,
            counters=counters,
            container=item.container,
            has=has,
        ),
    )


def parameter_of(item: ModuleItem, attr: str) -> Selection | None:
    """`m.weight` of the loop item of a walk over a region's modules: that own parameter of
    each module the walk's conditions pick (None when the item is no such walk)."""
    selection = item.selection
    if isinstance(selection, NameWhere) and selection.modules is not None:
        mf = replace(selection.modules, recurse=False, param=attr, call=None)
        return NameWhere(selection.base, None, None, modules=mf)
    if item.walk in ("modules", "children") and isinstance(selection, Region):
        mf = ModuleFilter(
            item.walk,
            (),
            None,
            recurse=False,
            loop=item.loop,
            param=attr,
            container=item.container,
        )
        return NameWhere(selection, None, None, modules=mf)
    return None


def without_recursion(selection: Selection, call: cst.CSTNode) -> Selection:
    """What `m.parameters(recurse=False)` gives for a loop item picked by a module filter:
    each picked module's own parameters."""
    return _through(selection, call, recurse=False)


def with_call(selection: Selection, call: cst.CSTNode) -> Selection:
    """A module filter's selection taken recursively through `call` (`m.parameters()`)."""
    return _through(selection, call)


def _through(selection: Selection, call: cst.CSTNode, recurse: bool | None = None) -> Selection:
    """The filter's parameters taken through `call` (only each module's own: `recurse`)."""
    if isinstance(selection, NameWhere) and selection.modules is not None:
        mf = selection.modules
        changed = replace(mf, call=call, recurse=mf.recurse if recurse is None else recurse)
        return NameWhere(selection.base, None, None, modules=changed)
    return selection


class _Placeholders(cst.CSTTransformer):
    """`isinstance(m, nn.BatchNorm2d)`, `type(m) == nn.Linear` -> a placeholder name (with the
    classes' qualified names);
    `type(m).__name__`, `m.__class__.__name__` -> `CLASS_NAME`. What is left reading `m` is
    beyond the filter."""

    def __init__(self, var: str, qualify: Callable[[cst.CSTNode], str | None], start: int) -> None:
        super().__init__()
        self.var = var
        self.qualify = qualify
        self.start = start
        self.classes: list[tuple[str, tuple[str, ...]]] = []
        self.has: list[tuple[str, str]] = []

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if (
            type(updated.func) is cst.Name
            and updated.func.value == "hasattr"
            and len(updated.args) == 2
            and _is_name(updated.args[0].value, self.var)
            and (attr := literal_string(updated.args[1].value)) is not None
            and attr.isidentifier()
        ):
            # `hasattr(m, "weight")`: decided by the module's parameters (`ModuleLoop.truth`).
            name = f"__has_{attr}__"
            self.has.append((name, attr))
            return cst.Name(name)
        if not (
            type(updated.func) is cst.Name
            and updated.func.value == "isinstance"
            and len(updated.args) == 2
            and _is_name(updated.args[0].value, self.var)
            and all(a.keyword is None and a.star == "" for a in updated.args)
        ):
            return updated
        name = self._placeholder("isinstance", updated.args[1].value)
        return updated if name is None else cst.Name(name)

    def leave_Comparison(
        self, original: cst.Comparison, updated: cst.Comparison
    ) -> cst.BaseExpression:
        """`type(m) == nn.Linear`, `type(m) is not nn.BatchNorm2d`, `type(m) in (...)`: the
        module's own class, subclasses not included."""
        left = updated.left
        if not (
            len(updated.comparisons) == 1
            and type(left) is cst.Call
            and type(left.func) is cst.Name
            and left.func.value == "type"
            and len(left.args) == 1
            and _is_name(left.args[0].value, self.var)
        ):
            return updated
        op = updated.comparisons[0].operator
        if type(op) not in (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In, cst.NotIn):
            return updated
        name = self._placeholder("type_is", updated.comparisons[0].comparator)
        if name is None:
            return updated
        if type(op) in (cst.NotEqual, cst.IsNot, cst.NotIn):
            return cst.UnaryOperation(cst.Not(), cst.Name(name))
        return cst.Name(name)

    def _placeholder(self, kind: str, classes: cst.BaseExpression) -> str | None:
        """A new placeholder for a test of the classes `classes` names (one, a tuple of them,
        `A | B`), or None when one of them is not a library class."""
        nodes = _class_nodes(classes)
        quals = [self.qualify(node) for node in nodes]
        if not nodes or any(q is None or not q.startswith(LIBRARIES) for q in quals):
            return None
        name = f"__{kind}_{self.start + len(self.classes)}__"
        self.classes.append((name, tuple(q for q in quals if q is not None)))
        return name

    def leave_Attribute(
        self, original: cst.Attribute, updated: cst.Attribute
    ) -> cst.BaseExpression:
        if updated.attr.value != "__name__":
            return updated
        owner = updated.value
        if (
            type(owner) is cst.Call
            and type(owner.func) is cst.Name
            and owner.func.value == "type"
            and len(owner.args) == 1
            and _is_name(owner.args[0].value, self.var)
        ) or (
            type(owner) is cst.Attribute
            and owner.attr.value == "__class__"
            and _is_name(owner.value, self.var)
        ):
            return cst.Name(CLASS_NAME)
        return updated


def _substitute(
    test: cst.BaseExpression, name: str, expression: cst.BaseExpression
) -> cst.BaseExpression:
    """`test` with the plain name `name` read as `expression` (parenthesised)."""

    class Substitute(cst.CSTTransformer):
        def leave_Attribute(
            self, original: cst.Attribute, updated: cst.Attribute
        ) -> cst.BaseExpression:
            return updated.with_changes(attr=original.attr)  # `x.name`: not the name

        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
            if original.value != name:
                return updated
            return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    result = test.visit(Substitute())
    return result if isinstance(result, cst.BaseExpression) else test


def _class_nodes(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if type(node) in (cst.Tuple, cst.List, cst.Set):
        return [n for e in node.elements for n in _class_nodes(e.value)]
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.BitOr:
        return _class_nodes(node.left) + _class_nodes(node.right)
    return [node]


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return type(node) is cst.Name and node.value == name
