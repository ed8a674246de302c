"""Reading a script: stage 1 of the pipeline.

Owns everything that turns a source text into timelines of freezing events, without a model:
the text (`source`: bytes decoded, the byte pre-filter; `text_lines`; `positions`), import
aliases (`imports`) and the project's own files (`project`), what library calls mean
(`recognize`, `layers`), the interpreter (`extract`), and what it produces: `events`, the
abstract `values` it tracks, `selection` (which parameters an event touches) and `predicates`
(the safe interpreter for name filters). Besides the interpreter, two readings of syntax alone:
Lightning hooks the installed Lightning never calls (`lightning_hooks`) and what a body does to
trainability (`trainability_effects`).

May import: nothing else of freezelint (the standard library and libcst only).
"""
