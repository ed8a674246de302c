"""The run-time audit: the rule catalogue checked on live objects (stage 9).

Owns `freezelint.audit` (`audit`), its findings (`findings`), the checks on the live model
(`checks`, imported only when an audit runs: it imports torch) and the Lightning callback
(`lightning`). Importing this package imports no torch.

May import: `script`, `findings`, `rules`.
"""
