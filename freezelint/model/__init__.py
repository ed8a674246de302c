"""The real model: stage 2 of the pipeline.

Owns which architecture a script builds (`spec`), its parameter table (`table`), built by a
sandboxed worker process (`worker`, the only module of freezelint that imports torch) and kept in
an on-disk cache (`cache`); `resolve` ties them together for a check, and `inspect` shows a table
to a user (`freezelint inspect`).

May import: `script`.
"""
