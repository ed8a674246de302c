"""What each scheduler class freezelint knows does when its optimizer gains a param group after
it was built (recognize.SCHEDULERS_*), measured again with the installed torch: FRZ017 and
FRZ008's fix rely on it."""

from __future__ import annotations

import warnings

import pytest

from freezelint.script import recognize

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

BUILD = {
    "StepLR": lambda o: L.StepLR(o, 1),
    "MultiStepLR": lambda o: L.MultiStepLR(o, [1]),
    "ExponentialLR": lambda o: L.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: L.CosineAnnealingLR(o, 10),
    "PolynomialLR": lambda o: L.PolynomialLR(o, 10),
    "ReduceLROnPlateau": lambda o: L.ReduceLROnPlateau(o),
    "LambdaLR": lambda o: L.LambdaLR(o, lambda e: 0.5),
    "MultiplicativeLR": lambda o: L.MultiplicativeLR(o, lambda e: 0.9),
    "OneCycleLR": lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=10),
    "CyclicLR": lambda o: L.CyclicLR(o, 0.01, 0.1),
    "CosineAnnealingWarmRestarts": lambda o: L.CosineAnnealingWarmRestarts(o, 5),
    "SequentialLR": lambda o: L.SequentialLR(
        o, [L.ConstantLR(o, 0.5, total_iters=2), L.ExponentialLR(o, 0.9)], milestones=[2]
    ),
    "LinearLR": lambda o: L.LinearLR(o, start_factor=0.1, total_iters=4),
    "ConstantLR": lambda o: L.ConstantLR(o, factor=0.5, total_iters=4),
}


def _add_group_then_step(name: str) -> tuple[str | None, float]:
    """(the exception the steps raise, the new group's lr at the end over the lr it was added
    with)."""
    first, second = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(first.parameters(), lr=0.1, momentum=0.9)
    scheduler = BUILD[name](optimizer)
    optimizer.add_param_group({"params": second.parameters(), "lr": 0.01})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for _ in range(6):
                optimizer.step()
                scheduler.step(1.0) if name == "ReduceLROnPlateau" else scheduler.step()
        except (ValueError, KeyError) as error:
            return type(error).__name__, 0.0
    return None, optimizer.param_groups[1]["lr"] / 0.01


def test_every_known_scheduler_is_measured() -> None:
    known = recognize.SCHEDULERS_RAISING | recognize.SCHEDULERS_COPING
    assert known | set(recognize.SCHEDULERS_MISSCALING) == set(BUILD)


@pytest.mark.parametrize("name", sorted(recognize.SCHEDULERS_RAISING))
def test_raising(name: str) -> None:
    assert _add_group_then_step(name)[0] is not None


@pytest.mark.parametrize("name", sorted(recognize.SCHEDULERS_MISSCALING))
def test_misscaling_raises_the_new_group(name: str) -> None:
    error, ratio = _add_group_then_step(name)
    assert error is None
    argument, _ = recognize.SCHEDULERS_MISSCALING[name]
    factor = {"LinearLR": 0.1, "ConstantLR": 0.5}[name]
    assert argument in ("start_factor", "factor")
    assert ratio == pytest.approx(1 / factor)  # added before the first step: the whole warm-up


@pytest.mark.parametrize("name", sorted(recognize.SCHEDULERS_COPING))
def test_coping(name: str) -> None:
    error, ratio = _add_group_then_step(name)
    assert error is None and ratio <= 1.0
