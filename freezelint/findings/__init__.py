"""What a check reports: stage 4 of the pipeline.

Owns findings and located diagnostics with their severities (`diagnostics`), the fixes rules
build as text edits (`fixes`), and `# noqa` suppressions (`suppressions`).

May import: `script`, `model`, `simulation`.
"""
