"""Simulation: stage 3 of the pipeline.

Owns the replay of a timeline over each model (`replay.Simulation`): a table's parameters as
atoms (`atoms`), filtered loops over modules decided on the table (`module_loops`), positional
cuts (`cuts`), what each optimizer holds (`holdings`), which arm of a joined branch each
event sits in (`arms`), the state before a freeze or mode change (`snapshots`), what rules ask
once the replay is over (`queries`), and name predicates run once per check for every path and
rule (`predicate_runs`).

May import: `script`, `model`.
"""
