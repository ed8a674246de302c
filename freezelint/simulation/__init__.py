"""Simulation: stage 3 of the pipeline.

Owns the replay of a timeline over each model (`replay.Simulation`): a table's parameters as
atoms (`atoms`), filtered loops over modules decided on the table (`module_loops`), positional
cuts (`cuts`), and what each optimizer holds (`holdings`).

May import: `script`, `model`.
"""
