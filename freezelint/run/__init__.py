"""A run over files: stage 10 of the pipeline.

Owns which files a run checks (`discovery`), the configuration (`config`), which rule codes
apply (`rule_codes`), notebooks and IPython exports as programs (`notebooks`,
`ipython_lines`), and checking and fixing one file as plain data (`runner`), so that files can
be spread over processes.

May import: every stage below it (`script` ... `runtime`).
"""
