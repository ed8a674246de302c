"""The calls that build models, as far as they are known statically: a library constructor's
`ModelSpec` (the architecture name and the keyword arguments that are constants), and a
`torch.nn` layer's (its sizes, whether it holds parameters, an `nn.Sequential` of layers, of a
library model's own children or of another model's parts). `calls.CallEvaluator` sends them
here.
"""

from __future__ import annotations

import libcst as cst

from freezelint.script import recognize
from freezelint.script.events import UNKNOWN, ModelSpec
from freezelint.script.extract.independence import objects_named
from freezelint.script.extract.schedulers import SchedulerCalls
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import literal_string, param_free_call
from freezelint.script.layers import LAYERS
from freezelint.script.selection import Region, part_slice, regions
from freezelint.script.values import Const, ModelRef, Modules, TupleValue, Value


class ModelConstructors(SchedulerCalls):
    """Library models and `torch.nn` layers built; `calls.CallEvaluator` builds on it."""

    def build_layer(self, layer: str, qual: str, node: cst.Call, w: Walk) -> ModelRef:
        """`nn.<layer>(...)`: a model of its own, with what its arguments say of it."""
        named = self._named_items(node, w) if layer == "Sequential" else None
        if named is not None:
            return self._named_sequential(qual, named, node, w)
        values = self._eval_args(node, w)
        listed = values[0] if len(values) == 1 and node.args[0].star == "*" else None
        if layer == "Sequential" and isinstance(listed, TupleValue) and self.built_list(listed):
            # `nn.Sequential(*layers)` of a list of modules built and appended in order.
            items = [(str(i), item) for i, item in enumerate(listed.items)]
            return self._named_sequential(qual, items, node, w)
        if layer == "Sequential":
            has = _sequential_params(node, values, self)
        elif layer in recognize.PARAM_FREE_LAYERS:
            has = False
        else:
            # A layer freezelint builds holds parameters (its table says which); another
            # torch.nn class (`nn.Transformer`, `nn.PReLU`) is not assumed to.
            has = True if layer in LAYERS else None
        linear = _linear_args(node, values) if layer == "Linear" else None
        args, kwargs = _layer_arguments(node, values)
        children_of = _children_of(node, values, self) if layer == "Sequential" else None
        if children_of is not None and has is None:
            # `*list(model.children())[:-1]` of a library model: its body, without the head.
            has = True if children_of[1] is None and children_of[2] in (-1, -2) else None
        spec = ModelSpec(
            "torch.nn",
            qual,
            name=layer,
            has_params=has,
            linear=linear,
            args=args,
            kwargs=kwargs,
            children_of=children_of,
        )
        ref = self.new_model(spec, w, node, None)
        self.built_from.update((ref.model, other) for other in objects_named(values))
        held = {
            (v.model, v.path[0])
            for v, a in zip(values, node.args, strict=True)
            if isinstance(v, ModelRef) and v.path and not a.star
        } | {
            # `*list(self.backbone.children())[:-1]`: the modules of a part, again.
            (r.model, r.path[0])
            for v, a in zip(values, node.args, strict=True)
            if isinstance(v, Modules) and a.star
            for r in regions(v.selection)
            if r.path
        }
        if layer == "Sequential" and held:
            self.holds_parts_of[ref.model] = held
            if not kwargs and not any(a.star for a in node.args):
                self.held_items[ref.model] = tuple(values)
            cut = _cut_of_part(node, values, self)
            if cut is not None:
                self.cut_from[ref.model] = cut
        if (
            layer == "Sequential"
            and values
            and not kwargs
            and all(isinstance(v, ModelRef) and not v.path and not v.wrappers for v in values)
        ):
            # `nn.Sequential(nn.Linear(...), nn.ReLU())`: a composite of those layers.
            self.parts[ref.model] = {
                str(i): v.model  # type: ignore[union-attr]
                for i, v in enumerate(values)
            }
        return ref

    def _named_items(self, node: cst.Call, w: Walk) -> list[tuple[str, Value]] | None:
        """`nn.Sequential(OrderedDict([("conv", nn.Conv2d(...)), ...]))`: each name and what
        it names (evaluated here); None when the call is not of that form."""
        if len(node.args) != 1 or node.args[0].star or node.args[0].keyword is not None:
            return None
        arg = node.args[0].value
        if (
            type(arg) is not cst.Call
            or self.imports.qualify(arg.func) != "collections.OrderedDict"
            or len(arg.args) != 1
            or type(arg.args[0].value) not in (cst.List, cst.Tuple)
        ):
            return None
        pairs: list[tuple[str, cst.BaseExpression]] = []
        for element in arg.args[0].value.elements:
            pair = element.value
            if (
                type(element) is cst.StarredElement
                or type(pair) is not cst.Tuple
                or len(pair.elements) != 2
            ):
                return None
            name = literal_string(pair.elements[0].value)
            if name is None or not name.isidentifier():
                return None
            pairs.append((name, pair.elements[1].value))
        if len({name for name, _ in pairs}) != len(pairs):
            return None
        return [(name, self.eval(item, w)) for name, item in pairs]

    def _named_sequential(
        self, qual: str, named: list[tuple[str, Value]], node: cst.Call, w: Walk
    ) -> ModelRef:
        """A Sequential of named layers: a composite of them when each was built here."""
        built = all(isinstance(v, ModelRef) and not v.path and not v.wrappers for _, v in named)
        has: bool | None = None
        if built:
            known = [self.models[v.model].has_params for _, v in named]  # type: ignore[union-attr]
            has = True if True in known else (False if all(k is False for k in known) else None)
        spec = ModelSpec("torch.nn", qual, name="Sequential", has_params=has)
        ref = self.new_model(spec, w, node, None)
        if built and named:
            self.parts[ref.model] = {name: v.model for name, v in named}  # type: ignore[union-attr]
        return ref

    def built_list(self, value: TupleValue) -> bool:
        """Is it a list of modules just built (`layers.append(Block(...))`), held by no model?"""
        held = {m for parts in self.parts.values() for m in parts.values() if isinstance(m, int)}
        return bool(value.items) and all(
            isinstance(v, ModelRef)
            and not v.path
            and not v.wrappers
            and v.model in self.models
            and v.model not in held
            for v in value.items
        )

    def deep_copy(self, node: cst.Call, w: Walk) -> Value:
        """`copy.deepcopy(model)` (or of a part a composite was given, `self.model`): a new
        model with that module's table and, at first, its requires_grad state here; what is
        done to one later does not reach the other. Any other copy is an object the analysis
        does not know (never the original itself)."""
        values = self._eval_args(node, w)
        value = values[0] if len(values) == 1 and node.args[0].keyword is None else None
        if not isinstance(value, ModelRef) or value.wrappers:
            return None
        source: object = value.model
        if value.path:
            inner = self.object_at(value)  # a part built in view, whose state lives here
            source = inner.model if isinstance(inner, ModelRef) else None
        if not isinstance(source, int) or source not in self.models:
            return None
        spec = self.models[source]
        ref = self.new_model(spec, w, node, None, copy_of=(value.model, value.path))
        self.copies[ref.model] = source  # (a composite's spec is finished after the walk)
        return ref

    def is_library_model(self, model: int) -> bool:
        """Was `model` built by a library constructor (timm, torchvision, efficientnet-pytorch),
        not composed of parts?"""
        spec = self.models.get(model)
        return spec is not None and spec.parts is None and spec.library in recognize.LIBRARY_MODELS

    def _spec(self, library: str, qual: str, node: cst.Call, w: Walk) -> ModelSpec:
        """The constructor call as far as it is known statically: the architecture name and the
        keyword arguments (`UNKNOWN` where an argument is not a constant)."""
        values = self._eval_args(node, w)
        name: object = None
        positional = [v for v, a in zip(values, node.args, strict=True) if a.keyword is None]
        kwargs: list[tuple[str, object]] = []
        for arg, value in zip(node.args, values, strict=True):
            if arg.star:
                kwargs.append(("**", UNKNOWN))
            elif arg.keyword is not None:
                if arg.keyword.value in ("model_name", "name"):
                    name = value.value if isinstance(value, Const) else UNKNOWN
                else:
                    kwargs.append(
                        (arg.keyword.value, value.value if isinstance(value, Const) else UNKNOWN)
                    )
        named_by_argument = library in ("timm", "efficientnet_pytorch") or (
            qual == "torchvision.models.get_model"
        )
        if named_by_argument and name is None:
            first = positional[0] if positional else None
            name = first.value if isinstance(first, Const) else UNKNOWN
            positional = positional[1:]
        elif not named_by_argument:
            name = qual.rsplit(".", 1)[-1]
        # The options builders take by position that do not shape the parameters: torchvision's
        # `resnet18(weights, progress)` (`pretrained` in old code), timm's `pretrained`.
        by_position = {"torchvision": ("weights", "progress"), "timm": ("pretrained",)}.get(
            library, ()
        )
        if qual == "torchvision.models.get_model":
            by_position = ()
        for key, value in zip(by_position, positional, strict=False):
            if key == "weights" and isinstance(value, Const) and isinstance(value.value, bool):
                key = "pretrained"
            kwargs.append((key, value.value if isinstance(value, Const) else UNKNOWN))
        positional = positional[len(by_position) :]
        if positional:
            kwargs.append(("*", UNKNOWN))  # positional options: not resolved
        return ModelSpec(
            library,
            qual,
            name=name if isinstance(name, str) else None,
            kwargs=tuple(kwargs),
        )


def _linear_args(node: cst.Call, values: list[Value]) -> tuple[object, object, object]:
    """nn.Linear's sizes as the script gives them: constants, or `x.in_features` references."""
    found: dict[str, object] = {}
    names = ("in_features", "out_features", "bias")
    for index, (arg, value) in enumerate(zip(node.args, values, strict=True)):
        key = (
            arg.keyword.value if arg.keyword is not None else (names[index] if index < 3 else None)
        )
        if key in names:
            found[key] = (
                value.value
                if isinstance(value, Const)
                else (value if isinstance(value, ModelRef) else None)
            )
    return found.get("in_features"), found.get("out_features"), found.get("bias", True)


def _layer_arguments(
    node: cst.Call, values: list[Value]
) -> tuple[tuple[object, ...], tuple[tuple[str, object], ...]]:
    """A `torch.nn` layer's arguments: constants, or UNKNOWN (`*`/`**` for unpacked ones)."""
    args: list[object] = []
    kwargs: list[tuple[str, object]] = []
    for arg, value in zip(node.args, values, strict=True):
        known = value.value if isinstance(value, Const) else UNKNOWN
        if arg.star:
            kwargs.append((arg.star, UNKNOWN))
        elif arg.keyword is not None:
            kwargs.append((arg.keyword.value, known))
        else:
            args.append(known)
    return tuple(args), tuple(kwargs)


def _children_of(
    node: cst.Call, values: list[Value], walker: ModelConstructors
) -> tuple[ModelSpec, int | None, int | None] | None:
    """`nn.Sequential(*list(model.children())[start:stop])` of a library model: (its spec,
    start, stop)."""
    if len(node.args) != 1 or node.args[0].star != "*" or not values:
        return None
    value = values[0]
    if (
        not isinstance(value, Modules)
        or value.enumerated
        or not isinstance(value.selection, Region)
    ):
        return None
    region = value.selection
    if len(region.path) != 1 or ":" not in region.path[0]:
        return None
    if not walker.is_library_model(region.model):
        return None
    try:
        cut = part_slice(region.path[0])
    except ValueError:
        return None
    return walker.models[region.model], cut.start, cut.stop  # type: ignore[union-attr]


def _cut_of_part(
    node: cst.Call, values: list[Value], walker: ModelConstructors
) -> tuple[int, str, int | None, int | None] | None:
    """`nn.Sequential(*list(self.backbone.children())[start:stop])` of a composite's part:
    (the composite, the part, start, stop)."""
    if len(node.args) != 1 or node.args[0].star != "*" or not values:
        return None
    value = values[0]
    if not isinstance(value, Modules) or value.enumerated:
        return None
    region = value.selection
    if not isinstance(region, Region) or len(region.path) != 2 or ":" not in region.path[1]:
        return None
    if region.model not in walker.parts:
        return None
    try:
        cut = part_slice(region.path[1])
    except ValueError:
        return None
    return region.model, region.path[0], cut.start, cut.stop  # type: ignore[union-attr]


def _sequential_params(
    node: cst.Call, values: list[Value], walker: ModelConstructors
) -> bool | None:
    """Does `nn.Sequential(...)` bring parameters? Yes when a layer it builds or a module it is
    given has some; no when all it is given are parameterless layers; not known otherwise (an
    empty one filled later, `*list(resnet.children())[:-1]`: the model's own modules)."""
    if not node.args:
        return None
    known: list[bool | None] = []
    for arg, value in zip(node.args, values, strict=False):
        if arg.star:
            known.append(None)
        elif param_free_call(arg.value, walker.imports):
            known.append(False)
        elif isinstance(value, ModelRef) and not value.path and value.model in walker.models:
            known.append(walker.models[value.model].has_params)
        else:
            known.append(None)
    if True in known:
        return True
    return False if all(k is False for k in known) else None
