"""The `torch.nn` layers freezelint verifies as parts of composite models, and how each of their
arguments bears on the parameter set. Pure tables, no torch: the parent maps a script's call to
keyword arguments with them, and the worker builds only the names listed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from freezelint.script.events import UNKNOWN

# How an argument bears on a layer's parameters.
SIZE = "size"  # a dimension: unknown -> built with a stand-in, the element counts unknown
CHANNELS = "channels"  # a SIZE that must be a multiple of the layer's GROUPS argument
GROUPS = "groups"  # divides the CHANNELS: unknown -> 1, the element counts unknown
SHAPE = "shape"  # decides which tensors exist (bias, affine, num_layers): unknown -> unverified
FREE = "free"  # no bearing on the parameters (stride, eps, dropout): not passed on

# Arguments no layer needs to see: the worker builds on the meta device anyway.
DROPPED = frozenset({"device", "dtype"})


@dataclass(frozen=True)
class Layer:
    """A `torch.nn` layer's constructor arguments: their names and kinds, in order."""

    positional: tuple[tuple[str, str], ...]  # (name, kind) in signature order
    keyword: tuple[tuple[str, str], ...] = ()  # keyword-only

    def kinds(self) -> dict[str, str]:
        return dict(self.positional + self.keyword)


_CONV = Layer(
    (
        ("in_channels", CHANNELS),
        ("out_channels", CHANNELS),
        ("kernel_size", SIZE),
        ("stride", FREE),
        ("padding", FREE),
        ("dilation", FREE),
        ("groups", GROUPS),
        ("bias", SHAPE),
        ("padding_mode", FREE),
    )
)
_CONV_TRANSPOSE = Layer(
    (
        ("in_channels", CHANNELS),
        ("out_channels", CHANNELS),
        ("kernel_size", SIZE),
        ("stride", FREE),
        ("padding", FREE),
        ("output_padding", FREE),
        ("groups", GROUPS),
        ("bias", SHAPE),
        ("dilation", FREE),
        ("padding_mode", FREE),
    )
)
_NORM = (
    ("num_features", SIZE),
    ("eps", FREE),
    ("momentum", FREE),
    ("affine", SHAPE),
    ("track_running_stats", SHAPE),
)
_BATCH_NORM = Layer(_NORM, (("bias", SHAPE),))
_RNN = (
    ("input_size", SIZE),
    ("hidden_size", SIZE),
    ("num_layers", SHAPE),
    ("bias", SHAPE),
    ("batch_first", FREE),
    ("dropout", FREE),
    ("bidirectional", SHAPE),
)
_TRANSFORMER = Layer(
    (
        ("d_model", CHANNELS),
        ("nhead", GROUPS),
        ("dim_feedforward", SIZE),
        ("dropout", FREE),
        ("activation", FREE),
        ("layer_norm_eps", FREE),
        ("batch_first", FREE),
        ("norm_first", FREE),
        ("bias", SHAPE),
    )
)

# Layers that own parameters, by their name in `torch.nn`.
LAYERS: dict[str, Layer] = {
    "Linear": Layer((("in_features", SIZE), ("out_features", SIZE), ("bias", SHAPE))),
    "Bilinear": Layer(
        (("in1_features", SIZE), ("in2_features", SIZE), ("out_features", SIZE), ("bias", SHAPE))
    ),
    **dict.fromkeys(("Conv1d", "Conv2d", "Conv3d"), _CONV),
    **dict.fromkeys(("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"), _CONV_TRANSPOSE),
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"), _BATCH_NORM),
    "SyncBatchNorm": Layer((*_NORM, ("process_group", FREE)), (("bias", SHAPE),)),
    **dict.fromkeys(("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), _BATCH_NORM),
    "LayerNorm": Layer(
        (
            ("normalized_shape", SIZE),
            ("eps", FREE),
            ("elementwise_affine", SHAPE),
            ("bias", SHAPE),
        )
    ),
    "GroupNorm": Layer(
        (("num_groups", GROUPS), ("num_channels", CHANNELS), ("eps", FREE), ("affine", SHAPE)),
        (("bias", SHAPE),),
    ),
    "RMSNorm": Layer((("normalized_shape", SIZE), ("eps", FREE), ("elementwise_affine", SHAPE))),
    "Embedding": Layer(
        (
            ("num_embeddings", SIZE),
            ("embedding_dim", SIZE),
            ("padding_idx", FREE),
            ("max_norm", FREE),
            ("norm_type", FREE),
            ("scale_grad_by_freq", FREE),
            ("sparse", FREE),
        )
    ),
    "EmbeddingBag": Layer(
        (
            ("num_embeddings", SIZE),
            ("embedding_dim", SIZE),
            ("max_norm", FREE),
            ("norm_type", FREE),
            ("scale_grad_by_freq", FREE),
            ("mode", FREE),
            ("sparse", FREE),
        ),
        (("include_last_offset", FREE), ("padding_idx", FREE)),
    ),
    "PReLU": Layer((("num_parameters", SIZE), ("init", FREE))),
    "LSTM": Layer((*_RNN, ("proj_size", SHAPE))),
    "GRU": Layer(_RNN),
    "RNN": Layer((*_RNN[:3], ("nonlinearity", FREE), *_RNN[3:])),
    "TransformerEncoderLayer": _TRANSFORMER,
    "TransformerDecoderLayer": _TRANSFORMER,
}

# Layers with neither parameters nor submodules, whatever their arguments (activations, losses,
# pooling, padding, dropout...): their table is known without building them. A torch.nn class in
# neither this set nor LAYERS is not known to hold parameters or not.
PARAM_FREE = frozenset(
    {
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
        "AlphaDropout",
        "AvgPool1d",
        "AvgPool2d",
        "AvgPool3d",
        "BCELoss",
        "BCEWithLogitsLoss",
        "CELU",
        "CTCLoss",
        "ChannelShuffle",
        "CircularPad1d",
        "CircularPad2d",
        "CircularPad3d",
        "ConstantPad1d",
        "ConstantPad2d",
        "ConstantPad3d",
        "CosineEmbeddingLoss",
        "CosineSimilarity",
        "CrossEntropyLoss",
        "CrossMapLRN2d",
        "Dropout",
        "Dropout1d",
        "Dropout2d",
        "Dropout3d",
        "ELU",
        "FeatureAlphaDropout",
        "Flatten",
        "Fold",
        "FractionalMaxPool2d",
        "FractionalMaxPool3d",
        "GELU",
        "GLU",
        "GaussianNLLLoss",
        "Hardshrink",
        "Hardsigmoid",
        "Hardswish",
        "Hardtanh",
        "HingeEmbeddingLoss",
        "HuberLoss",
        "Identity",
        "KLDivLoss",
        "L1Loss",
        "LPPool1d",
        "LPPool2d",
        "LPPool3d",
        "LeakyReLU",
        "LocalResponseNorm",
        "LogSigmoid",
        "LogSoftmax",
        "MSELoss",
        "MarginRankingLoss",
        "MaxPool1d",
        "MaxPool2d",
        "MaxPool3d",
        "MaxUnpool1d",
        "MaxUnpool2d",
        "MaxUnpool3d",
        "Mish",
        "MultiLabelMarginLoss",
        "MultiLabelSoftMarginLoss",
        "MultiMarginLoss",
        "NLLLoss",
        "PairwiseDistance",
        "PixelShuffle",
        "PixelUnshuffle",
        "PoissonNLLLoss",
        "RReLU",
        "ReLU",
        "ReLU6",
        "ReflectionPad1d",
        "ReflectionPad2d",
        "ReflectionPad3d",
        "ReplicationPad1d",
        "ReplicationPad2d",
        "ReplicationPad3d",
        "SELU",
        "SiLU",
        "Sigmoid",
        "SmoothL1Loss",
        "SoftMarginLoss",
        "Softmax",
        "Softmax2d",
        "Softmin",
        "Softplus",
        "Softshrink",
        "Softsign",
        "Tanh",
        "Tanhshrink",
        "Threshold",
        "TripletMarginLoss",
        "Unflatten",
        "Unfold",
        "Upsample",
        "UpsamplingBilinear2d",
        "UpsamplingNearest2d",
        "ZeroPad1d",
        "ZeroPad2d",
        "ZeroPad3d",
    }
)


def _standin(value: Any, standin: int) -> tuple[Any, bool]:
    """`value` with `standin` for each unknown in it (a kernel size may be a tuple), and whether
    there was one."""
    if value is UNKNOWN:
        return standin, True
    if isinstance(value, tuple | list):
        items = [_standin(item, standin) for item in value]
        return tuple(v for v, _ in items), any(s for _, s in items)
    return value, False


def _plain(value: Any) -> bool:
    """A constant the worker can be handed as JSON (no unknown inside)."""
    if isinstance(value, tuple | list):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, bool | int | float | str)


def layer_arguments(
    name: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...], standin: int
) -> tuple[tuple[tuple[str, Any], ...], tuple[str, ...]] | str:
    """The keyword arguments to build layer `name` with (positional ones named by the layer's
    signature, those without bearing on parameters left out, unknown sizes replaced by
    `standin`) and the names of those stood in for; or why the layer cannot be verified."""
    layer = LAYERS[name]
    kinds = layer.kinds()
    if len(args) > len(layer.positional):
        return f"`nn.{name}` is given more positional arguments than freezelint knows"
    given = dict(zip((n for n, _ in layer.positional), args, strict=False))
    for key, value in kwargs:
        if key in ("*", "**"):
            return "arguments unpacked with `*` or `**` are not known statically"
        if key in DROPPED:
            continue
        if key not in kinds:
            return f"argument `{key}` is not one freezelint can pass on"
        if key in given:
            return f"argument `{key}` is given twice"
        given[key] = value
    groups, standins = 1, []
    for key, value in given.items():
        if kinds[key] == GROUPS:
            if value is UNKNOWN:
                given[key] = 1
                standins.append(key)
            elif isinstance(value, int) and value > 0:
                groups = value
    kept: list[tuple[str, Any]] = []
    for key, value in given.items():
        kind = kinds[key]
        if kind == FREE:
            continue
        if kind in (SIZE, CHANNELS):
            value, stood_in = _standin(value, standin * (groups if kind == CHANNELS else 1))
            if stood_in:
                standins.append(key)
        if not _plain(value):
            return f"argument `{key}` is not known statically"
        kept.append((key, tuple(value) if isinstance(value, list) else value))
    return tuple(sorted(kept)), tuple(sorted(standins))
