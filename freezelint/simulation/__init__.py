"""Simulation: stage 3 of the pipeline.

Owns the replay of a timeline over each model (`replay.Simulation`): a table's parameters as
atoms (`atoms`), filtered loops over modules decided on the table (`module_loops`), positional
cuts (`cuts`), what each optimizer holds (`holdings`), and which arm of a joined branch each
event sits in (`arms`).

May import: `script`, `model`.
"""
