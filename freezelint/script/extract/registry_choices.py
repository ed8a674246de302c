"""A registry of the project's classes or functions indexed by a command-line value
(`MODELS[args.model]` with argparse `choices`): each choice that picks a different entry is a
path of its own, forked like the arms of a branch (`ConditionalWalker.fork_here`)."""

from __future__ import annotations

import libcst as cst

from freezelint.script.extract.branches import Fork
from freezelint.script.extract.conditionals import ConditionalWalker
from freezelint.script.extract.scope import Walk
from freezelint.script.extract.syntax import code_of
from freezelint.script.values import Const, Definition, DictValue, Value


class RegistryChoices(ConditionalWalker):
    """`registry_entry`, for `containers.ContainerEvaluator`'s subscripts."""

    def registry_entry(
        self, recv: DictValue, key: Const, index: cst.BaseExpression, node: cst.CSTNode, w: Walk
    ) -> Value:
        """`MODELS[args.model]` with a command-line value whose `choices` say which keys it may
        take: when they pick different classes or functions of the project, each choice is a
        path (its fact `args.model == "base"` kept); otherwise, or past the budget of paths,
        the default's entry (the default names the model to verify)."""
        default = recv.get(key.value)
        value_key = self.value_key(index, w, key)
        if key.decided or key.choices is None or value_key is None:
            return default
        possible = self._domain(value_key, key).possible
        entries = [
            (choice, recv.get(choice))
            for choice in dict.fromkeys(key.choices)
            if (possible is None or choice in possible) and isinstance(choice, str | int)
        ]
        if (
            not any(isinstance(v, Definition) for _, v in entries)
            or len({v for _, v in entries}) < 2
        ):
            return default
        if self.join_all:
            self.joined = True
            return default
        fork = (id(node), w.trail)
        labels = tuple(f"`{code_of(index)} == {_spelled(c)}`" for c, _ in entries)
        arm = self.decisions.get(fork)
        if arm is None or arm >= len(entries):
            if self.trial or (self.fork_budget is not None and len(entries) > self.fork_budget):
                if not self.trial:
                    # (Past the budget: this branch and every one after it joined.)
                    self.join_all = self.joined = True
                    return default
                raise Fork(fork, labels)
            if self.fresh_forks:
                raise Fork(fork, labels)
            arm = self.fork_here(fork, labels, (False,) * len(labels))
        choice, value = entries[arm]
        spelled = _spelled(choice)
        literal = cst.SimpleString(spelled) if isinstance(choice, str) else cst.Integer(spelled)
        self.assume(cst.Comparison(index, [cst.ComparisonTarget(cst.Equal(), literal)]), True, w)
        return value


def _spelled(choice: str | int) -> str:
    """A choice as code spells it (`"base"`, `3`)."""
    if isinstance(choice, str) and '"' not in choice and "\\" not in choice:
        return f'"{choice}"'
    return repr(choice)
