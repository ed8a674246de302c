"""Fine-tune a pretrained EfficientNet-B0 on a 5-class dataset: a typical blog-post recipe,
with the silent mistakes freezelint exists to catch."""

import timm
import torch
import torch.nn as nn

model = timm.create_model("efficientnet_b0", pretrained=True)

# Freeze the backbone... but this sets a plain attribute and freezes nothing.
model.requires_grad = False

# Build the optimizer, then swap in a new 5-class head: the head is in no optimizer.
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
model.classifier = nn.Linear(model.num_features, 5)

# "Freeze everything but the head" runs after the head swap and freezes the new head too.
for param in model.parameters():
    param.requires_grad = False

criterion = nn.CrossEntropyLoss()
for _ in range(3):
    x = torch.randn(4, 3, 224, 224)
    y = torch.randint(0, 5, (4,))
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
