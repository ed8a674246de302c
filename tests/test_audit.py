"""`freezelint.audit` and the Lightning callback on real models from the three libraries (built
without weights), each check positive and negative, and `import freezelint` staying torch-free."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import freezelint  # noqa: E402
from freezelint.findings.diagnostics import Severity  # noqa: E402


def resnet18(num_classes: int = 1000):
    import torchvision

    return torchvision.models.resnet18(weights=None, num_classes=num_classes)


def effnet_timm():
    import timm

    return timm.create_model("efficientnet_b0", pretrained=False, num_classes=5)


def effnet_pytorch():
    from efficientnet_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-b0", num_classes=3)


def codes(findings) -> list[str]:
    return sorted(f.code for f in findings)


def frozen_but(model: nn.Module, head: str) -> nn.Module:
    for name, p in model.named_parameters():
        p.requires_grad = name.startswith(head)
    return model


def test_import_freezelint_imports_no_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, freezelint; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


def test_frozen_tensors_handed_to_the_optimizer_frz001() -> None:
    model = frozen_but(resnet18(), "fc.")
    [finding] = freezelint.audit(model.eval(), torch.optim.SGD(model.parameters(), lr=0.1))
    assert finding.code == "FRZ001" and finding.name == "optimizer-includes-frozen"
    assert finding.message.startswith("60 of 62 tensors (11,176,512 of 11,689,512 elements)")
    assert finding.modules[:3] == ("model.conv1", "model.bn1", "model.layer1")
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert freezelint.audit(model.eval(), torch.optim.SGD(trainable, lr=0.1)) == []


def test_nothing_trainable_frz011_and_head_replaced_after_the_optimizer_frz002() -> None:
    model = effnet_timm().eval()
    model.requires_grad_(False)
    optimizer = torch.optim.Adam(model.classifier.parameters())
    assert codes(freezelint.audit(model, optimizer)) == ["FRZ011"]
    model.classifier = nn.Linear(1280, 5)
    found = freezelint.audit(model, optimizer)
    assert codes(found) == ["FRZ002", "FRZ011"]
    frz002 = next(f for f in found if f.code == "FRZ002")
    assert "2 tensors the model no longer has" in frz002.message
    assert frz002.modules == ("model.classifier",)
    assert freezelint.audit(model, torch.optim.Adam(model.classifier.parameters())) == []


def test_trainable_head_replaced_after_the_optimizer_is_frz002_alone() -> None:
    """The optimizer holds only the old head's tensors, trainable: FRZ002 tells the mistake and
    FRZ011 stays out, as in the static rules (FRZ011 beside FRZ002 only for frozen ones)."""
    model = frozen_but(resnet18(), "fc.").eval()
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    model.fc = nn.Linear(512, 10)
    assert codes(freezelint.audit(model, optimizer)) == ["FRZ002"]
    model.fc.requires_grad_(False)  # nothing left for FRZ002 to tell: the optimizer updates nothing
    assert codes(freezelint.audit(model, optimizer)) == ["FRZ011"]


def test_trainable_left_out_frz006_and_shared_frz007() -> None:
    model = frozen_but(effnet_pytorch(), "_fc").eval()
    model._conv_head.requires_grad_(True)
    head = torch.optim.Adam(model._fc.parameters())
    [finding] = freezelint.audit(model, head)
    assert finding.code == "FRZ006" and finding.modules == ("model._conv_head",)
    both = torch.optim.SGD([*model._fc.parameters(), *model._conv_head.parameters()], lr=0.1)
    found = freezelint.audit(model, head, both)
    assert codes(found) == ["FRZ007"]
    assert "optimizer #1 (Adam) and optimizer #2 (SGD)" in found[0].message
    assert freezelint.audit(model, torch.optim.Adam(model._conv_head.parameters()), head) == []


def test_optimizers_as_arguments_or_one_list_and_a_clear_error_otherwise() -> None:
    model = frozen_but(resnet18(), "fc.").eval()
    model.layer4.requires_grad_(True)
    head = torch.optim.Adam(model.fc.parameters())
    body = torch.optim.SGD(model.layer4.parameters(), lr=0.1)
    assert freezelint.audit(model, head, body) == []
    assert freezelint.audit(model, [head, body]) == []
    assert freezelint.audit(model, (head, body)) == []
    assert codes(freezelint.audit(model, [head])) == ["FRZ006"]  # layer4 in no optimizer
    for wrong in (None, "adam", [head, None]):
        with pytest.raises(TypeError, match=r"audit\(\) takes the model, then optimizers"):
            freezelint.audit(model, wrong)


def test_frozen_batchnorm_in_train_mode_frz009() -> None:
    model = frozen_but(resnet18(), "fc.")
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    [finding] = freezelint.audit(model.train(), optimizer)
    assert finding.code == "FRZ009" and finding.severity is Severity.WARNING
    assert finding.message.startswith("20 BatchNorm layers")
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
    assert freezelint.audit(model, optimizer) == []


def test_zero_lr_group_frz010() -> None:
    model = effnet_timm().eval()
    optimizer = torch.optim.SGD(
        [
            {"params": model.blocks.parameters(), "lr": 0.0},
            {"params": [p for n, p in model.named_parameters() if not n.startswith("blocks")]},
        ],
        lr=0.1,
    )
    [finding] = freezelint.audit(model, optimizer)
    assert finding.code == "FRZ010" and finding.modules == ("model.blocks",)
    optimizer.param_groups[0]["lr"] = 1e-5
    assert freezelint.audit(model, optimizer) == []


def test_a_warm_up_from_lr_0_is_not_frz010() -> None:
    """A scheduler that starts a group at 0 keeps the lr it was given as `initial_lr`: that one
    is checked."""
    model = frozen_but(resnet18(), "fc.").eval()
    optimizer = torch.optim.AdamW(model.fc.parameters(), lr=1e-3)
    torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.0 if step < 1 else 1.0)
    assert optimizer.param_groups[0]["lr"] == 0
    assert freezelint.audit(model, optimizer) == []
    zero = torch.optim.AdamW(model.fc.parameters(), lr=0.0)
    torch.optim.lr_scheduler.LambdaLR(zero, lambda step: 1.0)
    assert codes(freezelint.audit(model, zero)) == ["FRZ010"]


def test_head_resized_by_attribute_frz014_through_data_parallel() -> None:
    model = resnet18().eval()
    model.fc.out_features = 10
    [finding] = freezelint.audit(nn.DataParallel(model), torch.optim.SGD(model.parameters(), 0.1))
    assert finding.code == "FRZ014" and finding.modules == ("model.module.fc",)
    assert "says out_features=10 but its weight is 1000 x 512" in finding.message
    model.fc = nn.Linear(512, 10)
    assert freezelint.audit(nn.DataParallel(model), torch.optim.SGD(model.parameters(), 0.1)) == []


def test_num_classes_set_on_a_timm_model_frz014() -> None:
    import timm

    model = timm.create_model("resnet18", pretrained=False).eval()
    model.num_classes = 3
    [finding] = freezelint.audit(model, torch.optim.SGD(model.parameters(), lr=0.1))
    assert finding.code == "FRZ014" and finding.modules == ("model",)
    assert "says num_classes=3 but its classifier `model.fc` is 1000 x 512" in finding.message
    model.reset_classifier(3)
    assert freezelint.audit(model, torch.optim.SGD(model.parameters(), lr=0.1)) == []
    # A head replaced by hand leaves the attribute behind (1000): harmless, not reported.
    model.fc = nn.Linear(512, 5)
    model.num_classes = 1000
    assert freezelint.audit(model, torch.optim.SGD(model.parameters(), lr=0.1)) == []


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0), ["FRZ017"]),
        (lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10), ["FRZ017"]),
        (lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1), ["FRZ017"]),
        (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1), []),
        (lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o), []),
    ],
    ids=["LambdaLR", "OneCycleLR", "LinearLR", "StepLR", "ReduceLROnPlateau"],
)
def test_group_added_after_the_scheduler_frz017(make, expected: list[str]) -> None:
    model = frozen_but(effnet_pytorch(), "_fc").eval()
    optimizer = torch.optim.SGD(model._fc.parameters(), lr=0.1)
    scheduler = make(optimizer)
    assert freezelint.audit(model, optimizer, schedulers=[scheduler]) == []
    rest = [p for n, p in model.named_parameters() if not n.startswith("_fc")]
    for p in rest:  # the two-phase fine-tune: unfreeze, add the group, keep the scheduler
        p.requires_grad = True
    optimizer.add_param_group({"params": rest, "lr": 0.01})
    assert codes(freezelint.audit(model, optimizer, schedulers=[scheduler])) == expected


def test_scheduler_left_on_a_replaced_optimizer_frz019_through_compile() -> None:
    model = frozen_but(resnet18(), "fc.").eval()
    old = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(old, step_size=1)
    new = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    [finding] = freezelint.audit(torch.compile(model), new, schedulers=[scheduler])
    assert finding.code == "FRZ019"
    assert freezelint.audit(model, old, schedulers=[scheduler]) == []


def test_strict_raises_on_errors_only() -> None:
    model = frozen_but(resnet18(), "fc.").eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # FRZ001 is a warning
    assert codes(freezelint.audit(model, optimizer, strict=True)) == ["FRZ001"]
    model.requires_grad_(False)
    with pytest.raises(freezelint.FreezeError) as raised:
        freezelint.audit(model, optimizer, strict=True)
    assert [f.code for f in raised.value.findings] == ["FRZ011"]


def test_lightning_callback_audits_each_epoch_after_base_finetuning() -> None:
    pl = pytest.importorskip("lightning.pytorch")
    from lightning.pytorch.callbacks import BaseFinetuning

    import freezelint.lightning

    class Classifier(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = resnet18(num_classes=3)

        def training_step(self, batch, _):
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    class Unfreeze(BaseFinetuning):
        def freeze_before_training(self, pl_module) -> None:
            self.freeze(pl_module.net.layer1)

        def finetune_function(self, pl_module, epoch, optimizer) -> None:
            if epoch == 1:
                self.unfreeze_and_add_param_group(pl_module.net.layer1, optimizer)

    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.randn(4, 3, 32, 32), torch.randint(0, 3, (4,))),
        batch_size=2,
    )

    def trainer(epochs: int, callback) -> pl.Trainer:
        return pl.Trainer(
            max_epochs=epochs,
            callbacks=[Unfreeze(), callback],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )

    callback = freezelint.lightning.FreezeAudit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer(2, callback).fit(Classifier(), data)
    # layer1's convs frozen in an optimizer that holds everything: once, though audited at the
    # start and at each epoch; unfrozen at epoch 1, nothing new.
    assert codes(callback.findings) == ["FRZ001"]
    assert callback.findings[0].modules == ("model.net.layer1",)
    ours = [w for w in caught if issubclass(w.category, freezelint.lightning.FreezeAuditWarning)]
    assert len(ours) == 1 and "FRZ001" in str(ours[0].message)

    class Broken(Classifier):
        def configure_optimizers(self):
            return torch.optim.SGD(self.net.layer1[0].conv1.parameters(), lr=0.01)

    strict = freezelint.lightning.FreezeAudit(strict=True)
    with pytest.raises(freezelint.FreezeError):
        trainer(1, strict).fit(Broken(), data)
    assert "FRZ011" in codes(strict.findings)
