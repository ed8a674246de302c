"""`codemod.FixFreezing`, where libcst's codemod tool finds it (`freezelint` in the `modules`
of `.libcst.codemod.yaml`); the codemod is `freezelint.fixing.codemod`."""

from __future__ import annotations

from freezelint.fixing.codemod import FixFreezing

__all__ = ["FixFreezing"]
