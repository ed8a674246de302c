"""`freezelint.lightning.FreezeAudit`: the run-time audit as a Lightning callback.

`Trainer(callbacks=[FreezeAudit()])` audits the LightningModule with the trainer's optimizers and
schedulers when training starts and at the first batch of every epoch (after every callback's
`on_train_epoch_start`, so after `BaseFinetuning` has frozen or unfrozen for that epoch). Each
new finding is logged once, as a Python warning and, when the trainer has a logger, as the count
`freezelint/findings`; all of them stay on `.findings`. `strict=True` stops the fit on an error.

Lightning is optional (`freezelint[lightning]`): `lightning.pytorch` or `pytorch_lightning` is
imported when the callback class is first asked for, not when this module is.
"""

from __future__ import annotations

import warnings
from typing import Any

from freezelint.findings.diagnostics import Severity
from freezelint.runtime.audit import FreezeError, audit
from freezelint.runtime.findings import AuditFinding


class FreezeAuditWarning(UserWarning):
    """The category of the warnings `FreezeAudit` logs (filter it like any warning)."""


def _callback_base() -> type:
    try:
        from lightning.pytorch.callbacks import Callback
    except ImportError:
        try:
            from pytorch_lightning.callbacks import Callback
        except ImportError:
            raise ImportError(
                "freezelint.lightning needs Lightning: pip install 'freezelint[lightning]'"
            ) from None
    return Callback


def _build() -> type:
    class FreezeAudit(_callback_base()):  # type: ignore[misc]
        """Audit the model's freezing when training starts and at every epoch's first batch."""

        def __init__(self, strict: bool = False) -> None:
            super().__init__()
            self.strict = strict
            self.findings: list[AuditFinding] = []
            self._seen: set[tuple[str, str]] = set()
            self._epoch = -1

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self._audit(trainer, pl_module)

        def on_train_batch_start(
            self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
        ) -> None:
            if trainer.current_epoch != self._epoch:
                self._epoch = trainer.current_epoch
                self._audit(trainer, pl_module)

        def _audit(self, trainer: Any, pl_module: Any) -> None:
            schedulers = [config.scheduler for config in trainer.lr_scheduler_configs]
            found = audit(pl_module, *trainer.optimizers, schedulers=schedulers)
            new = [f for f in found if (f.code, f.message) not in self._seen]
            for finding in new:
                self._seen.add((finding.code, finding.message))
                self.findings.append(finding)
                warnings.warn(
                    f"epoch {trainer.current_epoch}: {finding}", FreezeAuditWarning, stacklevel=2
                )
            if new and trainer.logger is not None:
                trainer.logger.log_metrics(
                    {"freezelint/findings": float(len(self.findings))}, step=trainer.global_step
                )
            errors = [f for f in new if f.severity is Severity.ERROR]
            if self.strict and errors:
                raise FreezeError(errors)

    FreezeAudit.__module__ = __name__
    return FreezeAudit


def __getattr__(name: str) -> Any:
    if name == "FreezeAudit":
        cls = _build()
        globals()["FreezeAudit"] = cls
        return cls
    raise AttributeError(name)
