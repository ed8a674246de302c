"""Fixes inside helpers and methods (`freezelint/checking/call_agreement.py`): offered where the
code is when every call that runs it agrees, withheld when one call has no finding; and the fix
engine applies a fix once even when the analysis still reports its finding afterwards."""

from __future__ import annotations

import textwrap

from freezelint.checking.checker import check_source
from freezelint.findings.diagnostics import Diagnostic, Severity
from freezelint.findings.fixes import UNSAFE, Edit, Fix
from freezelint.fixing.loop import fix_source

HELPER = """\
import torch
import torch.nn as nn
from torchvision.models import resnet18


def make_optimizer(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    return optimizer


first = resnet18()
for p in first.parameters():
    p.requires_grad = False
first.fc = nn.Linear(512, 3)
second = resnet18()
{second_frozen}
opt_a = make_optimizer(first)
opt_b = make_optimizer(second)
"""
FREEZE_SECOND = """\
for p in second.parameters():
    p.requires_grad = False
second.fc = nn.Linear(512, 3)
"""
FILTERED = "[p for p in model.parameters() if p.requires_grad]"


def _frz001(text: str) -> list:
    return [d for d in check_source(text, "train.py", {"FRZ001"}) if d.code == "FRZ001"]


def _line(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def test_both_calls_have_the_finding_so_the_helper_is_fixed_once() -> None:
    text = HELPER.format(second_frozen=FREEZE_SECOND)
    found = _frz001(text)
    # One finding per call, each naming its own call's line.
    assert [d.row for d in found] == [7, 7]
    assert {d.message.rsplit("on line ", 1)[1] for d in found} == {
        f"{_line(text, 'opt_a =')})",
        f"{_line(text, 'opt_b =')})",
    }
    assert all(d.fix is not None for d in found)
    fixed = fix_source(text, "train.py", {"FRZ001"}, None, unsafe=False)
    assert fixed.text.count(FILTERED) == 1
    assert fixed.text.replace(FILTERED, "model.parameters()") == text
    assert not fixed.remaining


def test_a_call_without_the_finding_withholds_the_fix() -> None:
    text = HELPER.format(second_frozen="")
    found = _frz001(text)
    assert len(found) == 1 and found[0].fix is None
    # The call that hands the frozen model.
    assert found[0].message.endswith(f"on line {_line(text, 'opt_a =')})")
    assert fix_source(text, "train.py", {"FRZ001"}, None, unsafe=True).text == text


def test_a_method_reached_through_the_constructor_is_fixed_in_the_method() -> None:
    text = textwrap.dedent(
        """\
        import torch
        import torch.nn as nn
        from torchvision.models import resnet18


        class Trainer:
            def __init__(self):
                self.model = resnet18()
                self.model.requires_grad_(False)
                self.model.fc = nn.Linear(512, 3)
                self.optimizer = self.build_optimizer()

            def build_optimizer(self):
                return torch.optim.SGD(self.model.parameters(), lr=0.01)


        Trainer()
        """
    )
    fixed = fix_source(text, "train.py", {"FRZ001"}, None, unsafe=False)
    assert "torch.optim.SGD([p for p in self.model.parameters() if p.requires_grad]" in fixed.text
    assert not fixed.remaining


def test_a_fix_whose_finding_stays_is_applied_once(monkeypatch) -> None:
    # A fix the analysis cannot see through (its finding is reported again after it) must be
    # applied once, not once per pass of the engine.
    import freezelint.fixing.loop

    def always_found(text: str, *args: object, **kwargs: object) -> list[Diagnostic]:
        end = len(text)
        fix = Fix(UNSAFE, "Freeze the rest", (Edit(end, end, "model.requires_grad_(False)\n"),))
        return [Diagnostic("FRZ006", "left out", "train.py", 1, 1, 1, 2, Severity.WARNING, fix=fix)]

    monkeypatch.setattr(freezelint.fixing.loop, "check_source", always_found)
    fixed = fix_source("model = None\n", "train.py", None, None, unsafe=True)
    assert fixed.text == "model = None\nmodel.requires_grad_(False)\n"
    assert fixed.fixed == 1
