"""Front-ends: stage 11, the top of the pipeline.

Owns what users run: the command line (`cli`), the language server (`lsp`) and the flake8
plugin (`flake8`).

May import: every stage.
"""
