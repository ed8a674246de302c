"""A source file's bytes: read and decoded as Python decodes a source file (BOM, PEP 263
declaration), and the byte pre-filter that skips files with no freezing code before they are
parsed. Standard library only: it runs on the hot path of a pre-commit hook.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tokenize
from pathlib import Path

BINARY_FILE = "binary file (contains NUL bytes)"
NOT_A_FILE = "not a regular file"

# Every rule needs a freeze or unfreeze (`requires_grad`, `freeze`) or an optimizer: `torch.optim`
# or `timm.optim` (`optim`, but not `optimized`, `optimization` or `optimal`, which comments of
# model code are full of), param groups, or a class from elsewhere named like an optimizer (the
# words of `recognize.looks_like_optimizer`, ending a capitalised name or followed by a capital:
# `AdamW`, `FusedLAMB`, not `LambdaLayer`). A file with none of them cannot produce a finding and
# is not parsed. `tests/test_files.py` checks the word list against recognize.py.
_MARKERS = (b"requires_grad", b"freeze", b"param_group")
_OPTIM = re.compile(rb"optim(?!al|um|i[sz](?:e|ed|es|ing|ations?)\b)")
OPTIMIZER_WORDS = (
    "adam", "sgd", "rmsprop", "lion", "lamb", "adagrad", "adadelta", "adamax", "lbfgs", "lars",
    "sophia", "prodigy", "shampoo", "muon", "adafactor", "radam", "nadam", "optim",
)  # fmt: skip
_WORDS = tuple(w.encode() for w in OPTIMIZER_WORDS)
_OPTIMIZER_NAME = re.compile(
    rb"\b(?=[A-Z])\w*?(?i:" + b"|".join(_WORDS) + rb")(?:i[sz]ers?)?(?![a-z])"
)


# FRZ014 needs no freeze and no optimizer: a layer's size attribute assigned from outside the
# layer (`model._fc.out_features = 200`; a class's own `self.num_classes = n` is not one).
_RESIZE = re.compile(
    rb"(?<!self)\.(?:out_features|in_features|num_classes|out_channels|in_channels)[ \t]*=(?!=)"
)


def might_freeze(raw: bytes) -> bool:
    """The pre-filter: can this file hold anything freezelint looks at? (Substring tests first:
    a regular expression alternation over every word was a third of the cost on big trees.)"""
    if any(marker in raw for marker in _MARKERS) or (b"optim" in raw and _OPTIM.search(raw)):
        return True
    if b".fit(" in raw and b"Trainer" in raw:
        # A Lightning fit: the module's hooks (in another file) may freeze, and the fit puts it
        # in training mode here (FRZ009 points at `trainer.fit`).
        return True
    if (b"_features" in raw or b"num_classes" in raw or b"_channels" in raw) and _RESIZE.search(
        raw
    ):
        return True
    lowered = raw.lower()
    return any(w in lowered for w in _WORDS) and _OPTIMIZER_NAME.search(raw) is not None


def _nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def read_source(path: Path) -> tuple[str | None, bytes, str | None]:
    """`(text, raw, error)`, decoded as Python decodes a source file. Never raises. Only regular
    files are read: a FIFO or a device would block or never end."""
    try:
        with open(path, "rb", opener=_nonblocking) as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, b"", NOT_A_FILE
            raw = handle.read()
    except OSError as exc:
        return None, b"", exc.strerror or str(exc)
    return decode_source(raw)


def decode_source(raw: bytes) -> tuple[str | None, bytes, str | None]:
    """`(text, raw, error)`: bytes decoded as Python decodes a source file (a file's, or what
    was read from standard input)."""
    if not raw:
        return "", raw, None
    if b"\0" in raw:
        return None, raw, BINARY_FILE
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:  # unknown codec, BOM/declaration clash, or bad UTF-8 up front
        if not str(exc.msg).startswith("invalid or missing encoding declaration"):
            return None, raw, str(exc.msg)
        encoding = "utf-8"  # decode below to report the actual bad byte
    try:
        return raw.decode(encoding), raw, None  # "utf-8-sig" drops the BOM
    except (UnicodeDecodeError, LookupError) as exc:
        label = "utf-8" if encoding == "utf-8-sig" else encoding
        reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        return None, raw, f"cannot decode as {label}: {reason}{where}"
