"""FRZ020 (a Lightning hook the installed Lightning never calls): which classes, which bodies,
which Lightning versions, and the rename fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from freezelint.checking.checker import check_source
from freezelint.fixing.loop import fix_source
from freezelint.script import lightning_hooks


def findings(text: str, path: str = "train.py") -> list[str]:
    return [f"{d.row} {d.message}" for d in check_source(textwrap.dedent(text), path, {"FRZ020"})]


MODULE = """
import lightning.pytorch as pl


class Lit(pl.LightningModule):
    def on_epoch_start(self):
        if self.current_epoch == 1:
            self.backbone.requires_grad_(True)
"""


@pytest.mark.parametrize(
    ("version", "reported", "named"),
    [
        ((1, 7), False, None),  # still called (deprecated)
        ((1, 8), False, None),  # refused at fit: loud, not silent
        ((1, 9), False, None),
        ((2, 0), True, "Lightning 2.x"),
        ((2, 6), True, "Lightning 2.x"),
        (None, True, "Lightning 2.x"),  # none installed: the 2.x list
    ],
)
def test_the_installed_version_decides(
    monkeypatch: pytest.MonkeyPatch, version: tuple[int, int] | None, reported: bool, named: str
) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: version)
    found = findings(MODULE)
    assert bool(found) == reported
    if reported:
        assert found[0].startswith(f"6 {named} never calls `LightningModule.on_epoch_start`")


def test_the_distribution_is_the_package_the_base_comes_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def version(package: str) -> tuple[int, int]:
        asked.append(package)
        return (2, 1)

    monkeypatch.setattr(lightning_hooks, "installed_version", version)
    findings(MODULE)
    findings(MODULE.replace("import lightning.pytorch as pl", "import pytorch_lightning as pl"))
    assert asked == ["lightning", "pytorch_lightning"]


def test_installed_version_reads_metadata_without_importing() -> None:
    import sys

    before = "lightning" in sys.modules
    lightning_hooks.installed_version.cache_clear()
    version = lightning_hooks.installed_version("lightning")
    assert version is None or version >= (1, 0)
    assert ("lightning" in sys.modules) == before


@pytest.mark.parametrize(
    "text",
    [
        # only logs
        """
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def on_epoch_start(self):
                print(self.current_epoch)
        """,
        # not a Lightning class
        """
        from torch import nn
        class Net(nn.Module):
            def on_epoch_start(self):
                self.backbone.requires_grad_(True)
        """,
        # the file calls it itself (by attribute, or by name through getattr)
        """
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def on_epoch_start(self):
                self.backbone.requires_grad_(True)
            def on_train_epoch_start(self):
                self.on_epoch_start()
        """,
        """
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def on_epoch_start(self):
                self.backbone.requires_grad_(True)
        hook = getattr(Lit(), "on_epoch_start")
        """,
        # a hook modules never had (callbacks only)
        """
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def on_batch_start(self):
                self.backbone.requires_grad_(True)
        """,
        # a nested function defined in the hook, never called
        """
        import lightning.pytorch as pl
        class Lit(pl.LightningModule):
            def on_epoch_end(self):
                def later():
                    self.backbone.requires_grad_(True)
                return later
        """,
    ],
    ids=[
        "logs",
        "plain-module",
        "called-by-attribute",
        "called-by-string",
        "callback-only",
        "nested",
    ],
)
def test_not_reported(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: (2, 6))
    assert findings(text) == []


def test_what_the_hook_does_through_methods_functions_mixins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: (2, 6))
    text = """
    import pytorch_lightning as pl


    def freeze(module):
        for p in module.parameters():
            p.requires_grad = False


    class Schedule:
        def on_epoch_end(self):
            self.backbone.eval()


    class Lit(Schedule, pl.LightningModule):
        def on_pretrain_routine_start(self):
            freeze(self.backbone)

        def on_epoch_start(self):
            self._grow()

        def _grow(self):
            self.trainer.optimizers[0].param_groups[0]["lr"] = 1e-4


    class Unfreeze(pl.Callback):
        def on_init_end(self, trainer):
            trainer.lightning_module.unfreeze()
    """
    found = findings(text)
    assert [f.split(" ")[0] for f in found] == ["11", "16", "19", "27"]
    assert (
        "it puts `self.backbone` in eval mode (line 12); rename it `on_train_epoch_end`" in found[0]
    )
    assert "it freezes (line 7); rename it `on_fit_start`" in found[1]
    assert "it sets a learning rate (line 23)" in found[2]
    assert "`Callback.on_init_end`" in found[3] and "do it in `__init__` or `setup`" in found[3]


def test_a_base_class_in_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: (2, 6))
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "base.py").write_text(
        "import lightning.pytorch as pl\n\n\nclass Base(pl.LightningModule):\n    pass\n"
    )
    script = tmp_path / "model.py"
    script.write_text(
        "from base import Base\n\n\nclass Lit(Base):\n"
        "    def on_epoch_start(self):\n        self.net.requires_grad_(True)\n"
    )
    found = check_source(script.read_text(), str(script), {"FRZ020"})
    assert [(d.row, d.code) for d in found] == [(5, "FRZ020")]


def test_the_fix_renames_the_hook_and_its_super_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: (2, 6))
    text = textwrap.dedent(
        """
        import lightning.pytorch as pl


        class Lit(pl.LightningModule):
            def on_epoch_start(self):
                super().on_epoch_start()
                self.backbone.requires_grad_(True)
        """
    )
    result = fix_source(text, "train.py", {"FRZ020"}, None, unsafe=True)
    assert "def on_train_epoch_start(self):" in result.text
    assert "super().on_train_epoch_start()" in result.text
    assert "on_epoch_start" not in result.text
    assert fix_source(text, "train.py", {"FRZ020"}, None, unsafe=False).text == text


def test_no_fix_where_the_replacement_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lightning_hooks, "installed_version", lambda package: (2, 6))
    text = textwrap.dedent(
        """
        import lightning.pytorch as pl


        class Lit(pl.LightningModule):
            def on_epoch_start(self):
                self.backbone.requires_grad_(True)

            def on_train_epoch_start(self):
                self.log("lr", 0.1)
        """
    )
    (finding,) = check_source(text, "train.py", {"FRZ020"})
    assert finding.fix is None
    assert finding.message.endswith("move it into the class's `on_train_epoch_start`")
