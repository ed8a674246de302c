"""freezelint's fixes as a libcst codemod, for teams that run codemods over a monorepo:

    python -m libcst.tool codemod codemod.FixFreezing path/to/code

with `freezelint` in the `modules` list of `.libcst.codemod.yaml` (`python -m libcst.tool
initialize .` creates it). Safe fixes only, unless `--unsafe-fixes` is given; models are
verified through the same table cache as `freezelint check`.
"""

from __future__ import annotations

import argparse

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand

from freezelint.fixing.loop import fix_source


class FixFreezing(VisitorBasedCodemodCommand):
    DESCRIPTION = "Fix layer-freezing mistakes (freezelint's safe fixes)."

    def __init__(self, context: CodemodContext, unsafe_fixes: bool = False) -> None:
        super().__init__(context)
        self.unsafe_fixes = unsafe_fixes

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--unsafe-fixes", action="store_true", help="Apply unsafe fixes too."
        )

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        from freezelint.model.cache import TableCache, default_cache_dir
        from freezelint.model.resolve import Verifier

        text = tree.code
        path = self.context.filename or "<codemod>"
        verifier = Verifier(TableCache(default_cache_dir()))
        result = fix_source(text, path, None, verifier, self.unsafe_fixes)
        return tree if result.text == text else cst.parse_module(result.text)
