"""Output: stage 8 of the pipeline.

Owns how diagnostics are written (`report`: full, concise, JSON, JSON lines, GitHub; `sarif`)
and the readable form of timelines (`explain`, `freezelint events`).

May import: `script`, `model`, `simulation`, `findings`, `rules`.
"""
