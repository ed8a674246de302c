"""Fixing: stage 7 of the pipeline, above the checker.

Owns the fix loop (`loop.fix_source`: apply, check again, repeat) and the same fixes as a
libcst codemod (`codemod`). It calls the checker; the checker never calls it.

May import: `script`, `model`, `simulation`, `findings`, `rules`, `checking`.
"""
