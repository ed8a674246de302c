"""freezelint: find, prove and fix layer-freezing mistakes in PyTorch fine-tuning scripts."""

from __future__ import annotations

__version__ = "0.1.0"
