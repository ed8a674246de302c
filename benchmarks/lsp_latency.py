"""Benchmark: editor latency of `freezelint server`, from `textDocument/didChange` to the
`textDocument/publishDiagnostics` of that version, against an in-process check of the same file.

    python benchmarks/lsp_latency.py [--edits 40]

The script checked is written here: ~300 lines of timm EfficientNet-B0 fine-tuning whose freezing
loop tests `"fc" not in name`, though the head is `classifier` (FRZ005: needs the model's table).
The table is cached first (a temporary FREEZELINT_CACHE_DIR; the server builds it in the
background and publishes again). Then `--edits` one-token edits (a learning rate, a number in a
comment) are sent with increasing versions and timed until their diagnostics arrive, with the
default debounce (25 ms) and with 0; baseline: `runner.run_file` on the same file, in process.
Target (the language-server issue): a median under 150 ms with the default debounce.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lsp_client import Client, apply_edits  # noqa: E402

NEEDS_MODEL = "FRZ005"  # predicate-matches-nothing: needs the parameter table
SITES = (('"--lr", type=float, default=', ("3e-4", "1e-3")), ("for the first ", ("5", "7")))
AUGMENTATIONS = {  # class: (parameter, default, what it does to an HWC float image)
    "RandomHorizontalFlip": ("p", 0.5, "image[:, ::-1] if random.random() < self.p else image"),
    "RandomVerticalFlip": ("p", 0.1, "image[::-1] if random.random() < self.p else image"),
    "RandomRotate90": ("p", 0.25, "np.rot90(image) if random.random() < self.p else image"),
    "Brightness": ("delta", 0.1, "np.clip(image + random.uniform(-self.delta, self.delta), 0, 1)"),
    "GaussianNoise": ("sigma", 0.02, "np.clip(image + np.random.normal(0, self.sigma), 0, 1)"),
    "Gamma": ("spread", 0.2, "image ** random.uniform(1 - self.spread, 1 + self.spread)"),
}
AUGMENTATION = """

class {0}:
    def __init__(self, {1}={2}) -> None:
        self.{1} = {1}

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return {3}
"""
METRICS = {  # name: its value for one class, from its true/false positives/negatives
    "precision": "tp / max(tp + fp, 1)",
    "recall": "tp / max(tp + fn, 1)",
    "f1": "2 * tp / max(2 * tp + fp + fn, 1)",
    "specificity": "tn / max(tn + fp, 1)",
    "negative_predictive_value": "tn / max(tn + fn, 1)",
    "false_positive_rate": "fp / max(fp + tn, 1)",
    "balanced_accuracy": "(tp / max(tp + fn, 1) + tn / max(tn + fp, 1)) / 2",
    "jaccard": "tp / max(tp + fp + fn, 1)",
}
METRIC = '''

def {0}(matrix: torch.Tensor, c: int) -> float:
    """{1} of class `c` against the rest."""
    tp, fp, fn, tn = counts(matrix, c)
    return {2}
'''
SCHEDULES = {  # name: learning-rate factor after warm-up, at `step` of `total`
    "constant": "1.0",
    "linear": "1 - step / total",
    "cosine": "0.5 * (1 + math.cos(math.pi * step / total))",
    "step": "0.1 ** (step * 3 // total)",
    "polynomial": "(1 - step / total) ** 2",
}
SCHEDULE = """

def {0}_schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return {1}
"""
ARGUMENTS = "epochs=20 batch-size=32 lr=3e-4 weight-decay=1e-4 warmup=2 workers=4 seed=0"
HEAD = '''"""Fine-tune EfficientNet-B0 on a folder of labelled images (one sub-folder per class)."""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def counts(matrix: torch.Tensor, c: int) -> tuple[int, int, int, int]:
    """True and false positives, false and true negatives of class `c` in a confusion matrix."""
    tp = matrix[c, c].item()
    fp, fn = matrix[:, c].sum().item() - tp, matrix[c].sum().item() - tp
    return tp, fp, fn, matrix.sum().item() - tp - fp - fn
'''
BODY = '''

class ImageFolderDataset(Dataset):
    def __init__(self, root: Path, train: bool) -> None:
        self.classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        self.samples = [
            (path, index)
            for index, name in enumerate(self.classes)
            for path in sorted((root / name).glob("*.jpg"))
        ]
        self.train = train

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        image = np.asarray(Image.open(path).convert("RGB").resize((224, 224)), np.float32) / 255
        for step in TRAIN_AUGMENTATIONS if self.train else []:
            image = step(image)
        tensor = torch.from_numpy(np.ascontiguousarray(image, np.float32)).permute(2, 0, 1)
        return (tensor - MEAN) / STD, label


def train_one_epoch(model, loader, criterion, optimizer, scheduler, device) -> float:
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total, count = total + loss.item() * len(labels), count + len(labels)
    return total / max(count, 1)


@torch.no_grad()
def evaluate(model, loader, device, classes: int) -> dict[str, float]:
    model.eval()
    matrix = torch.zeros(classes, classes, dtype=torch.long)
    for images, labels in loader:
        for p, t in zip(model(images.to(device)).argmax(1).tolist(), labels.tolist(), strict=True):
            matrix[t, p] += 1
    scores = {"accuracy": matrix.diag().sum().item() / max(matrix.sum().item(), 1)}
    for name, metric in METRICS.items():
        scores[name] = sum(metric(matrix, c) for c in range(classes)) / classes
    return scores


def save_checkpoint(path: Path, model, optimizer, epoch: int, scores: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
    torch.save(state, path)
    path.with_suffix(".json").write_text(json.dumps({"epoch": epoch, **scores}, indent=2))


def main() -> None:
    args = parse_args()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_set = ImageFolderDataset(args.data / "train", train=True)
    loader = DataLoader(train_set, args.batch_size, shuffle=True, num_workers=args.workers)
    val_loader = DataLoader(ImageFolderDataset(args.data / "val", train=False), args.batch_size)
    classes = len(train_set.classes)

    model = timm.create_model("efficientnet_b0", pretrained=True, num_classes=classes)
    # Freeze the pretrained backbone; only the new head is trained.
    for name, param in model.named_parameters():
        if "fc" not in name:
            param.requires_grad = False
    model.to(device)

    # The head trains alone for the first 5 epochs; nothing is unfrozen later.
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=args.weight_decay)
    total, warmup = args.epochs * len(loader), args.warmup * len(loader)
    factor = SCHEDULES[args.schedule]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: factor(s, total, warmup))
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    best = 0.0
    for epoch in range(args.epochs):
        start = time.time()
        loss = train_one_epoch(model, loader, criterion, optimizer, scheduler, device)
        scores = evaluate(model, val_loader, device, classes)
        print(f"epoch {epoch}: loss {loss:.4f} {scores} ({time.time() - start:.0f} s)")
        save_checkpoint(args.output / "last.pt", model, optimizer, epoch, scores)
        if scores["accuracy"] > best:
            best = scores["accuracy"]
            save_checkpoint(args.output / "best.pt", model, optimizer, epoch, scores)


if __name__ == "__main__":
    main()
'''  # fmt: skip


def listed(name: str, items: list[str], brackets: str = "[]") -> str:
    rows = "".join(f"    {item},\n" for item in items)
    return f"\n\n{name} = {brackets[0]}\n{rows}{brackets[1]}\n"


def training_script() -> str:
    """HEAD, the generated augmentations, metrics, schedules and arguments, then BODY."""
    parts = [HEAD, *(AUGMENTATION.format(k, *v) for k, v in AUGMENTATIONS.items())]
    parts.append(listed("TRAIN_AUGMENTATIONS", [f"{k}()" for k in AUGMENTATIONS]))
    parts += (METRIC.format(k, k.replace("_", " ").capitalize(), v) for k, v in METRICS.items())
    parts.append(listed("METRICS", [f'"{k}": {k}' for k in METRICS], "{}"))
    parts += (SCHEDULE.format(k, v) for k, v in SCHEDULES.items())
    parts.append(listed("SCHEDULES", [f'"{k}": {k}_schedule' for k in SCHEDULES], "{}"))
    parts.append("\n\ndef parse_args() -> argparse.Namespace:\n")
    parts.append("    parser = argparse.ArgumentParser(description=__doc__)\n")
    parts.append('    parser.add_argument("--data", type=Path, default=Path("data"))\n')
    parts.append('    parser.add_argument("--output", type=Path, default=Path("runs/effnet"))\n')
    for flag, value in (item.split("=") for item in ARGUMENTS.split()):
        kind = "int" if value.isdigit() else "float"
        parts.append(f'    parser.add_argument("--{flag}", type={kind}, default={value})\n')
    parts.append(
        '    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="cosine")\n'
    )
    return "".join([*parts, "    return parser.parse_args()\n", BODY])


def edits(text: str, count: int) -> list[dict]:
    """`count` one-token edits, at each site of SITES in turn, each value alternating so that
    every edit changes the text; as LSP `contentChanges` of the whole text (the server asks for
    whole-text sync)."""
    lines, out = text.splitlines(), []
    for index in range(count):
        mark, values = SITES[index % len(SITES)]
        row = next(i for i, line in enumerate(lines) if mark in line)
        column = lines[row].index(mark) + len(mark)
        old, new = values[index // len(SITES) % 2], values[(index // len(SITES) + 1) % 2]
        assert lines[row][column:].startswith(values[0]) and len(old) == len(new), lines[row]
        span = [{"line": row, "character": at} for at in (column, column + len(old))]
        text = apply_edits(text, [{"range": {"start": span[0], "end": span[1]}, "newText": new}])
        out.append({"text": text})
    return out


def latencies(script: Path, cache: Path, debounce: int | None, changes: list[dict]) -> list[float]:
    """Open the script in a server, wait for diagnostics checked against the model (built in
    the background if not cached), then time each change until its version's diagnostics."""
    client = Client(ROOT, env={"FREEZELINT_CACHE_DIR": str(cache)})
    try:
        client.initialize(script.parent, None if debounce is None else {"debounce": debounce})
        uri = client.open(script, script.read_text(encoding="utf-8"))
        found: set[str] = set()
        while NEEDS_MODEL not in found:  # published without the table, then once it is built
            found = {d["code"] for d in client.diagnostics(uri, 600, version=1)}
            assert "FRZ000" not in found, "the generated script does not parse"
        out = []
        for version, change in enumerate(changes, 2):
            start = time.perf_counter()
            client.change(uri, version, [change])
            found = {d["code"] for d in client.diagnostics(uri, version=version)}
            out.append(time.perf_counter() - start)
            assert NEEDS_MODEL in found, f"version {version}: {sorted(found)}"
        return out
    finally:
        client.stop()


def bursts(script: Path, cache: Path, changes: list[dict], gap: float = 0.07) -> list[float]:
    """Typing: edits `gap` seconds apart (slower than the debounce, faster than a check), in
    bursts of 10; each timed from the burst's last edit to its version's diagnostics (checks
    of versions already replaced must not queue up in front of it)."""
    client = Client(ROOT, env={"FREEZELINT_CACHE_DIR": str(cache)})
    try:
        client.initialize(script.parent)
        uri = client.open(script, script.read_text(encoding="utf-8"))
        client.diagnostics(uri, 600, version=1)
        out, version = [], 1
        for first in range(0, len(changes) - 9, 10):
            for change in changes[first : first + 10]:
                version += 1
                client.change(uri, version, [change])
                start = time.perf_counter()
                time.sleep(gap)
            client.diagnostics(uri, version=version)
            out.append(time.perf_counter() - start)
        return out
    finally:
        client.stop()


def in_process(script: Path, cache: Path, changes: list[dict]) -> tuple[list[float], list[float]]:
    """In this process, with the cached table and every rule: the check of each edited buffer
    (`run_source`, as the server and `check --stdin-filename` run it), and `run_file` of the
    unchanged file, as often (`freezelint check`'s work; its parse is cached per process)."""
    from freezelint.run.discovery import DiscoveredPath
    from freezelint.run.rule_codes import selected_codes
    from freezelint.run.runner import Options, run_file, run_source

    found, options = DiscoveredPath(script, str(script), explicit=True), Options(cache_dir=cache)
    codes, text = frozenset(selected_codes([], [])), script.read_text(encoding="utf-8")
    first = run_file(found, codes, options)  # imports, the table read, the file parsed: once
    assert NEEDS_MODEL in {d.code for d in first.diagnostics}, first.unverified
    buffers, files = [], []
    for change in changes:
        text = change["text"]
        start = time.perf_counter()
        result = run_source(found, codes, options, (text, text.encode(), None), True)
        buffers.append(time.perf_counter() - start)
        assert NEEDS_MODEL in {d.code for d in result.diagnostics}
        start = time.perf_counter()
        run_file(found, codes, options)
        files.append(time.perf_counter() - start)
    return buffers, files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=40)
    args = parser.parse_args()
    text = training_script()
    changes = edits(text, args.edits)
    with tempfile.TemporaryDirectory() as folder:
        script, cache = Path(folder) / "project" / "train.py", Path(folder) / "cache"
        script.parent.mkdir()
        script.write_text(text, encoding="utf-8")
        served = latencies(script, cache, None, changes)  # builds the table: cached after
        rows = {"server, default debounce (25 ms)": served}
        rows["server, debounce 0"] = latencies(script, cache, 0, changes)
        rows["server, bursts of 10 edits 70 ms apart (from the last)"] = bursts(
            script, cache, changes
        )
        buffers, files = in_process(script, cache, changes)
    rows["baseline: check of the edited buffer, in process"] = buffers
    rows["`run_file` of the unchanged file, in process"] = files
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}. ", end="")
    print(
        f"`python benchmarks/lsp_latency.py --edits {args.edits}`, {len(text.splitlines())} lines\n"
    )
    print("| didChange -> publishDiagnostics | median | p90 | max | median / baseline |")
    print("|---|---|---|---|---|")
    for label, runs in rows.items():
        median, p90 = (
            statistics.median(runs),
            statistics.quantiles(runs, n=10, method="inclusive")[-1],
        )
        print(
            f"| {label} | {median * 1000:.0f} ms | {p90 * 1000:.0f} ms | {max(runs) * 1000:.0f} ms"
            f" | {median / statistics.median(buffers):.2f}x |"
        )
    verdict = "met" if statistics.median(served) < 0.150 else "NOT met"
    print(f"\nTarget, a median under 150 ms with the default debounce: {verdict}.")


if __name__ == "__main__":
    main()
