"""Checking one source text: stage 6 of the pipeline.

Owns `checker.check_source` (parse, extract every path, resolve tables, simulate, run the
selected rules, locate findings) and `call_agreement` (the fix of a finding inside a helper
holds only when every call that reaches it agrees).

May import: `script`, `model`, `simulation`, `findings`, `rules`.
"""
