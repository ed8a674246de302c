"""Python's builtins as the script calls them on what the analysis tracks: `getattr`/`setattr` on
models, `range` and `enumerate` over constants (loops unrolled), `filter`, `itertools.chain`,
`iter` and `enumerate` over parameters and over modules (`model.children()`, a Sequential),
`len(module)` and `max(0, len(module) - k)` (`values.Size`), `dict(...)` (a param group or a
config), consumers (`list`, `sorted`, `sum`, ...) that use up an iterator, and `argparse`
parsers (their options' defaults, as constants the command line can override).
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from freezelint.script import recognize
from freezelint.script.extract.constants import ConstMap
from freezelint.script.extract.optimizers import OptimizerBuilder
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import (
    BUILTIN_CALLS,
    CONSUMERS,
    int_literal,
    is_requires_grad_of,
    literal_string,
)
from freezelint.script.selection import NameWhere, Trainable, union
from freezelint.script.values import (
    ArgParser,
    Const,
    Constructor,
    DictValue,
    ModelRef,
    Modules,
    Namespace,
    ParamNames,
    Params,
    ProjectModule,
    Size,
    TupleValue,
    Value,
    some_module,
)

# Loops over at most this many known items are unrolled (`for phase in ["train", "val"]`).
UNROLL_LIMIT = 16


class BuiltinCalls(OptimizerBuilder):
    """Builtins and argparse; `methods.MethodCalls` builds on it."""

    parsers: dict[int, dict[str, Const]]

    def _eval_args(self, node: cst.Call, w: Walk) -> list[Value]:  # pragma: no cover
        raise NotImplementedError  # calls.CallEvaluator

    def _argparse(self, parser: ArgParser, method: str, node: cst.Call, w: Walk) -> Value:
        """Options of an `argparse` parser: their defaults, as constants the user can override."""
        options = self.parsers.setdefault(parser.ident, {})
        if method in ("add_argument_group", "add_mutually_exclusive_group"):
            self._eval_args(node, w)
            return parser
        if method == "add_argument":
            flags = [literal_string(a.value) for a in node.args if a.keyword is None]
            kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
            self._eval_args(node, w)
            longest = next((f for f in flags if f and f.startswith("--")), None) or (
                flags[0] if flags and flags[0] else None
            )
            dest = literal_string(kw["dest"]) if "dest" in kw else None
            if dest is None and longest is not None:
                dest = longest.lstrip("-").replace("-", "_")
            if dest is None:
                return None
            action = literal_string(kw["action"]) if "action" in kw else None
            if "default" in kw:
                default = self.eval(kw["default"], w)
                value = default.value if isinstance(default, Const) else None
                known = isinstance(default, Const)
            else:
                value, known = {"store_true": False, "store_false": True}.get(action), True
            if known:
                choices = self.eval(kw["choices"], w) if "choices" in kw else None
                allowed = None
                if isinstance(choices, Const) and isinstance(choices.value, tuple):
                    allowed = tuple(choices.value)
                options[dest] = Const(value, f"--{dest.replace('_', '-')}", allowed)
            else:
                options.pop(dest, None)
            return None
        if method in ("parse_args", "parse_known_args"):
            self._eval_args(node, w)
            space = Namespace(tuple(options.items()))
            return space if method == "parse_args" else TupleValue((space, None))
        self._eval_args(node, w)
        return None

    def _size_call(self, qual: str, node: cst.Call, w: Walk) -> Size | None:
        """`len(model.features)`: its size; `max(0, len(m) - k)`: that size, clamped."""
        if qual == "len" and len(node.args) == 1:
            inner = node.args[0].value
            if type(inner) in (cst.Name, cst.Attribute, cst.Subscript):
                ref = self.eval(inner, w)
                if isinstance(ref, ModelRef):
                    return Size(ref.model, ref.path)
            return None
        if qual == "max" and len(node.args) == 2:
            zero = [int_literal(a.value) == 0 for a in node.args]
            if any(zero):
                value = self.eval(node.args[zero.index(False)].value, w) if not all(zero) else None
                if isinstance(value, Size) and value.offset <= 0:
                    return replace(value, clamped=True)
        return None

    def _dict_method(self, recv: DictValue, method: str, node: cst.Call, w: Walk) -> Value:
        """`MODELS.keys()` (argparse `choices=list(MODELS.keys())`), `table.get(key)`."""
        values = self._eval_args(node, w)
        if any(a.keyword is not None or a.star for a in node.args):
            return None
        if method == "keys" and not values:
            return Const(tuple(k for k, _ in recv.items))
        if method == "get" and 1 <= len(values) <= 2 and isinstance(values[0], Const):
            key = values[0].value
            if any(k == key for k, _ in recv.items):
                return recv.get(key)
            return values[1] if len(values) == 2 else Const(None)
        return None

    def _builtin_call(self, qual: str, node: cst.Call, w: Walk) -> tuple[bool, Value]:
        """A call to a builtin (or `itertools.chain`, `argparse.ArgumentParser`): whether it is
        one, and its value. `calls.CallEvaluator._known_call` asks last."""
        if qual == "argparse.ArgumentParser":
            self._eval_args(node, w)
            return True, ArgParser(self.new_id())
        if qual == "getattr" and len(node.args) >= 2:
            values = self._eval_args(node, w)
            owner, key = values[0], values[1]
            if isinstance(key, Const) and isinstance(key.value, str):
                if isinstance(owner, ModelRef) and len(node.args) == 2:
                    return True, owner.child(key.value)
                base = self.imports.qualify(node.args[0].value)
                if owner is None and base is not None:
                    if base == "torch.optim" and recognize.is_torch_optimizer(
                        f"{base}.{key.value}"
                    ):
                        return True, Constructor(f"{base}.{key.value}")
                    return True, self.constructor_named(f"{base}.{key.value}")
                if isinstance(owner, ProjectModule) and len(node.args) == 2:
                    # `getattr(models, args.model)`: that class (or function) of the project.
                    member = self.module_member(owner, key.value)
                    return True, self.definition_of(member)
            if isinstance(owner, ModelRef) and len(node.args) == 2 and not isinstance(key, Const):
                # `getattr(model, name)` with a name not known here: some part of the model.
                return True, some_module(owner.region)
            if (
                owner is None
                and len(node.args) == 2
                and self.imports.qualify(node.args[0].value) == "torch.optim"
            ):
                # `getattr(optim, config["optimizer"]["type"])`: some optimizer of torch's.
                return True, Constructor(recognize.ANY_TORCH_OPTIMIZER)
            return True, None
        if qual == "range":
            values = self._eval_args(node, w)
            if values and all(isinstance(v, Const) and type(v.value) is int for v in values):
                bounds = [v.value for v in values]  # type: ignore[union-attr]
                if len(bounds) <= 3 and (len(bounds) < 3 or bounds[2] != 0):
                    steps = range(*bounds)
                    if len(steps) <= UNROLL_LIMIT:
                        return True, Const(tuple(steps))
            return True, None
        if qual == "setattr" and len(node.args) == 3:
            owner = self.eval(node.args[0].value, w)
            key = literal_string(node.args[1].value)
            value = self.eval(node.args[2].value, w)
            if isinstance(owner, ModelRef) and key is not None:
                self.assign_attribute(owner, key, node.args[2].value, value, w, node)
            return True, None
        if qual in ("filter",):
            values = self._eval_args(node, w)
            if len(values) == 2 and isinstance(values[1], Params):
                base = values[1].selection
                fn = node.args[0].value
                if (
                    type(fn) is cst.Lambda
                    and len(fn.params.params) == 1
                    and is_requires_grad_of(fn.body, fn.params.params[0].name.value)
                ):
                    return True, Params(Trainable(base), generator=True)
                return True, Params(NameWhere(base, None, None), generator=True)
            return True, None
        if qual in ("itertools.chain",):
            values = self._eval_args(node, w)
            if values and all(isinstance(v, Params) for v in values):
                return True, Params(
                    union(*(v.selection for v in values)),  # type: ignore[union-attr]
                    generator=True,
                )
            return True, None
        if qual == "enumerate" and node.args and node.args[0].keyword is None:
            values = self._eval_args(node, w)
            items = values[0].value if isinstance(values[0], Const) else None
            start = values[1] if len(values) > 1 else Const(0)
            if (
                isinstance(items, tuple)
                and isinstance(start, Const)
                and type(start.value) is int
                and len(items) <= UNROLL_LIMIT
            ):
                pairs = tuple((start.value + i, item) for i, item in enumerate(items))
                return True, Const(pairs, values[0].source)  # type: ignore[union-attr]
            if values and isinstance(values[0], Params):
                src = values[0]
                known = isinstance(start, Const) and type(start.value) is int
                first = start.value if known else None  # type: ignore[union-attr]
                return True, Params(
                    src.selection, True, src.named, src.binding, enumerated=True, start=first
                )
            if values and isinstance(values[0], ModelRef) and not values[0].wrappers:
                # `enumerate(model.features)`: a Sequential's children, counted.
                known = isinstance(start, Const) and type(start.value) is int
                return True, Modules(
                    values[0].region,
                    children=True,
                    enumerated=True,
                    start=start.value if known else None,  # type: ignore[union-attr]
                    container=True,
                )
            if values and isinstance(values[0], Modules) and not values[0].enumerated:
                known = isinstance(start, Const) and type(start.value) is int
                first = start.value if known else None  # type: ignore[union-attr]
                return True, replace(values[0], enumerated=True, start=first)
            return True, None
        if qual in ("iter", "enumerate"):
            values = self._eval_args(node, w)
            if values and isinstance(values[0], Params):
                src = values[0]
                return True, Params(
                    src.selection, True, src.named, src.binding, enumerated=qual == "enumerate"
                )
            return True, None
        if (qual == "dict" and not node.args[:1]) or (
            qual == "dict" and all(a.keyword is not None for a in node.args)
        ):
            return True, self._group_dict(
                [(a.keyword.value if a.keyword else None, a.value) for a in node.args], w, node
            )
        if qual in ("len", "max") and all(a.keyword is None and not a.star for a in node.args):
            size = self._size_call(qual, node, w)
            if size is not None:
                return True, size
        if qual in CONSUMERS:
            for arg in node.args:
                value = self.eval(arg.value, w)
                self.consume(arg.value, value, w, qual)
                if type(arg.value) is cst.GeneratorExp:
                    inner_iter = arg.value.for_in.iter
                    self.consume(inner_iter, self.eval(inner_iter, w), w, qual)
                if qual in ("list", "tuple", "sorted") and isinstance(value, Params):
                    return True, Params(
                        value.selection, generator=False, named=value.named, relative=value.relative
                    )
                if qual in ("list", "tuple", "set", "frozenset") and isinstance(value, ParamNames):
                    return True, value  # `set(n for n, _ in params[-10:])`
                enumerated = isinstance(value, Modules) and value.enumerated
                if qual in ("list", "tuple") and isinstance(value, Modules) and not enumerated:
                    return True, value
                if qual in ("list", "tuple") and isinstance(value, Const) and len(node.args) == 1:
                    # `list(("a", "b"))`, `list(CONFIGS)` (its keys): the same constants.
                    items = _items(value.value)
                    return True, None if items is None else Const(items, value.source)
                if qual in ("list", "tuple") and isinstance(value, DictValue):
                    return True, Const(tuple(k for k, _ in value.items))  # a registry's keys
            return True, None
        if qual == "isinstance" and len(node.args) == 2:
            values = self._eval_args(node, w)
            return True, self._wrapped_by(values[0], node.args[1].value)
        if qual in BUILTIN_CALLS:
            self._eval_args(node, w)
            return True, None
        return False, None

    def _wrapped_by(self, obj: Value, classes: cst.BaseExpression) -> Value:
        """`isinstance(model, nn.DataParallel)` (or a tuple of wrapper classes) on a model whose
        wrapping the script shows: the model was built in view (not a function's parameter
        or a module from a call not followed), so the wrappers it went through are the ones
        the analysis saw. Anything else is not known."""
        if not isinstance(obj, ModelRef) or obj.path:
            return None
        spec = self.models.get(obj.model)
        if spec is None or (spec.library is None and spec.parts is None):
            return None
        elements = [e.value for e in classes.elements] if type(classes) is cst.Tuple else [classes]
        kinds = [recognize.WRAPPERS.get(self.imports.qualify(e) or "") for e in elements]
        if None in kinds:
            return None  # (some other class: a subclass test the analysis cannot answer)
        return Const(bool(obj.wrappers) and obj.wrappers[-1] in kinds)


def _items(value: object) -> tuple | None:
    """What iterating a constant gives, as a tuple (a dict: its keys); None when not known."""
    if isinstance(value, ConstMap):
        return tuple(k for k, _ in value)
    if isinstance(value, tuple | str):
        return tuple(value)
    return None
