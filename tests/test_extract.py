"""Extraction: each snippet's timeline, in `freezelint events` text form (reviewed by hand)."""

from __future__ import annotations

import pytest

from freezelint.output.explain import describe

CASES = {
    "effnet_alias": (
        """
from efficientnet_pytorch import EfficientNet as EN
import torch.optim as optim
net = EN.from_pretrained("efficientnet-b3", num_classes=10)
net._fc.requires_grad_(False)
opt = optim.Adam(net._fc.parameters(), lr=1e-3)
""",
        """\
timeline 0
  4: ModelBuilt net = efficientnet_pytorch:efficientnet-b3
  5: RequiresGradSet net._fc = False
  6: OptimizerBuilt opt = Adam[{net._fc}]
""",
    ),
    "timm_and_tv_forms": (
        """
from timm import create_model as cm
import torchvision.models as models
from torchvision.models import efficientnet_b0
import torchvision
a = cm("resnet50", pretrained=True, num_classes=3)
b = models.resnet18(weights=None)
c = efficientnet_b0(weights="DEFAULT")
d = torchvision.models.vit_b_16()
e = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
""",
        """\
timeline 0
  6: ModelBuilt a = timm:resnet50
  7: ModelBuilt b = torchvision:resnet18
  8: ModelBuilt c = torchvision:efficientnet_b0
  9: ModelBuilt d = torchvision:vit_b_16
  10: ModelBuilt #5 = torch.nn:Linear
  10: ModelBuilt #6 = torch.nn:ReLU
  10: ModelBuilt e = torch.nn:Sequential
""",
    ),
    "wrappers": (
        """
import torch, timm
from torch.nn.parallel import DistributedDataParallel as DDP
model = timm.create_model("efficientnet_b0")
model = torch.nn.DataParallel(model)
model.module.classifier.requires_grad_(False)
m2 = torch.compile(DDP(timm.create_model("resnet18")))
m2._orig_mod.module.fc.requires_grad_(True)
""",
        """\
timeline 0
  4: ModelBuilt model.module = timm:efficientnet_b0
  5: ModelWrapped model.module in DataParallel
  6: RequiresGradSet model.module.classifier = False
  7: ModelBuilt m2._orig_mod.module = timm:resnet18
  7: ModelWrapped m2._orig_mod.module in DistributedDataParallel
  7: ModelWrapped m2._orig_mod.module in compile
  8: RequiresGradSet m2._orig_mod.module.fc = True
""",
    ),
    "replacements": (
        """
import timm, torch.nn as nn
import timm.utils
m = timm.create_model("efficientnet_b0", pretrained=True)
m.classifier = nn.Linear(1280, 5)
m.blocks[0] = nn.Identity()
m.reset_classifier(7)
m.num_classes = 7
timm.utils.freeze(m, ["blocks", "conv_stem"])
timm.utils.unfreeze(m)
""",
        """\
timeline 0
  4: ModelBuilt m = timm:efficientnet_b0
  5: ModelBuilt #2 = torch.nn:Linear
  5: ModuleReplaced m.classifier params=True
  6: ModelBuilt #3 = torch.nn:Identity
  6: ModuleReplaced m.blocks[0] params=False
  7: ModuleReplaced m.get_classifier() params=True
  8: SizeAttributeSet m.num_classes = 7
  9: RequiresGradSet (m.blocks + m.conv_stem) = False
  10: RequiresGradSet m = True
""",
    ),
    "freeze_loops": (
        """
import torchvision
model = torchvision.models.resnet50()
for name, param in model.named_parameters():
    if "fc" not in name:
        param.requires_grad = False
for n, p in model.named_parameters():
    if n.startswith("layer4"):
        continue
    p.requires_grad_(False)
for p in model.layer1.parameters():
    p.requires_grad = False
for child in list(model.children())[:-2]:
    for p in child.parameters():
        p.requires_grad = False
for m in model.modules():
    m.requires_grad_(True)
""",
        """\
timeline 0
  3: ModelBuilt model = torchvision:resnet50
  6: RequiresGradSet model where "fc" not in name = False [branch]
  10: RequiresGradSet model where not n.startswith("layer4") = False
  12: RequiresGradSet model.layer1 = False
  15: RequiresGradSet model[:-2] = False
  17: RequiresGradSet model = True
""",
    ),
    "helper_freeze": (
        """
import torchvision
def set_parameter_requires_grad(model, feature_extracting):
    if feature_extracting:
        for param in model.parameters():
            param.requires_grad = False
def main():
    net = torchvision.models.resnet18(weights="DEFAULT")
    set_parameter_requires_grad(net, True)
if __name__ == "__main__":
    main()
""",
        """\
timeline 0
  8: ModelBuilt net = torchvision:resnet18
  6: RequiresGradSet net = False
""",
    ),
    "optimizers": (
        """
import torch, timm
from torch.optim import AdamW as Opt
model = timm.create_model("vit_base_patch16_224")
params = [p for p in model.parameters() if p.requires_grad]
o1 = torch.optim.SGD(params, lr=0.1, momentum=0.9)
o2 = Opt(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
o3 = Opt([{"params": model.blocks.parameters(), "lr": 1e-5},
          dict(params=model.head.parameters(), lr=1e-3)])
decay = [p for n, p in model.named_parameters() if "bias" not in n]
o4 = torch.optim.AdamW(decay, lr=1e-4, weight_decay=0.05)
o4.add_param_group({"params": model.norm.parameters()})
o1 = torch.optim.SGD(list(model.head.parameters()) + list(model.norm.parameters()), lr=0.1)
to_update = []
for name, param in model.named_parameters():
    if param.requires_grad:
        to_update.append(param)
o5 = torch.optim.SGD(to_update, lr=0.001)
o6 = timm.optim.create_optimizer_v2(model, "adamw", lr=1e-3)
""",
        """\
timeline 0
  4: ModelBuilt model = timm:vit_base_patch16_224
  5: ParamsListed params = trainable(model)
  6: OptimizerBuilt o1 = SGD[{trainable(model)}]
  7: OptimizerBuilt o2 = AdamW[{trainable(model)}]
  8: OptimizerBuilt o3 = AdamW[{model.blocks, lr=1e-5}, {model.head, lr=1e-3}]
  10: ParamsListed decay = model where "bias" not in n
  11: OptimizerBuilt o4 = AdamW[{model where "bias" not in n}]
  12: ParamGroupAdded o4 {model.norm}
  13: OptimizerBuilt o1 = SGD[{(model.head + model.norm)}]
  18: OptimizerBuilt o5 = SGD[{trainable(model)}]
  19: OptimizerBuilt o6 = create_optimizer_v2[{trainable(model)}]
""",
    ),
    "modes_and_iterators": (
        """
import torch, torchvision
model = torchvision.models.resnet18()
model.train()
model.layer1.eval()
params = model.parameters()
for p in params:
    p.requires_grad = False
opt = torch.optim.SGD(params, lr=0.1)
""",
        """\
timeline 0
  3: ModelBuilt model = torchvision:resnet18
  4: ModeSet model train
  5: ModeSet model.layer1 eval
  6: IteratorBound params
  7: IteratorConsumed params by for loop
  8: RequiresGradSet model = False
  9: OptimizerBuilt opt = SGD[{model}]
  9: IteratorConsumed #2 by optimizer
""",
    ),
    "control_flow": (
        """
import torch, torchvision
model = torchvision.models.resnet18()
opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
for epoch in range(epochs):
    if epoch == 3:
        model.layer4.requires_grad_(True)
    else:
        model.layer3.requires_grad_(False)
    while True:
        model.layer2.requires_grad_(True)
""",
        """\
timeline 0
  3: ModelBuilt model = torchvision:resnet18
  4: OptimizerBuilt opt = SGD[{trainable(model)}]
  6: BranchArm 1/2 [loop]
  7: RequiresGradSet model.layer4 = True [loop] [branch]
  6: BranchArm 2/2 [loop]
  9: RequiresGradSet model.layer3 = False [loop] [branch]
  6: BranchJoin [loop]
  11: RequiresGradSet model.layer2 = True [loop] [loop]
""",
    ),
    "ineffective": (
        """
import torchvision
model = torchvision.models.resnet18()
model.requires_grad = False
model.layer1.requires_grad = False
model.fc.weight.requires_grad = False
for p in model.parameters():
    p.requires_grad == False
    p.requires_grad_ = False
for layer in model.layer2:
    layer.requires_grad = False
""",
        """\
timeline 0
  3: ModelBuilt model = torchvision:resnet18
  4: IneffectiveFreeze module-attribute model
  5: IneffectiveFreeze module-attribute model.layer1
  6: RequiresGradSet model.fc.weight = False
  8: IneffectiveFreeze comparison p.requires_grad == False
  9: IneffectiveFreeze method-overwrite p
  11: IneffectiveFreeze module-attribute layer
""",
    ),
    "get_model_setattr_enumerate": (
        """
import torch, torchvision
m = torchvision.models.get_model("resnet50", weights="DEFAULT")
opt = torch.optim.SGD(m.parameters(), 0)
setattr(m, "fc", torch.nn.Linear(2048, 3))
m.fc = torch.nn.Identity()
for i, (n, p) in enumerate(m.named_parameters()):
    if i < 10:
        p.requires_grad = False
for x in m.named_parameters():
    x[1].requires_grad = False
""",
        """\
timeline 0
  3: ModelBuilt m = torchvision:resnet50
  4: OptimizerBuilt opt = SGD[{m}]
  5: ModelBuilt #3 = torch.nn:Linear
  5: ModuleReplaced m.fc params=True
  6: ModelBuilt #4 = torch.nn:Identity
  6: ModuleReplaced m.fc params=False
  9: RequiresGradSet m tensors [:10] = False [branch]
  10: RequiresGradSet m where ? = None
""",
    ),
    "loops_over_listed_modules": (
        # A list or tuple of submodules is looped over module by module (`*args` of a helper
        # too); parameters by their names; a name that says neither is an unknown part.
        """
import torch, timm
m = timm.create_model("resnet50")


def freeze(*mods):
    for mod in mods:
        for p in mod.parameters():
            p.requires_grad = False


for layer in (m.conv1, m.layer1):
    layer.requires_grad_(False)
for layer in [m.layer2, m.layer3[0]]:
    layer.requires_grad = False
for t in [m.fc.weight, m.fc.bias]:
    t.requires_grad = False
for x in [m.layer4, m.odd]:
    x.requires_grad = False
freeze(m.bn1, m.get_classifier())
""",
        """\
timeline 0
  3: ModelBuilt m = timm:resnet50
  13: RequiresGradSet (m.conv1 + m.layer1) = False
  15: IneffectiveFreeze module-attribute layer
  17: RequiresGradSet (m.fc.weight + m.fc.bias) = False
  19: RequiresGradSet (m.layer4 + m.odd) where ? = False
  9: RequiresGradSet (m.bn1 + m.get_classifier()) = False
""",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_timeline(name: str) -> None:
    source, expected = CASES[name]
    assert describe(source) == expected.splitlines()
