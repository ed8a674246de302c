"""`freezelint inspect SPEC`: what a user needs to write a correct freeze for a model: its module
tree with tensor and element counts, its classifier, its BatchNorm layers, and which names a few
typical filters match."""

from __future__ import annotations

from typing import Any

from freezelint.model.table import ParamTable

TYPICAL_PREFIXES = ("fc", "classifier", "head", "_fc", "heads", "features", "blocks", "layer4")


def module_rows(table: ParamTable, depth: int) -> list[dict[str, Any]]:
    classes = dict(table.modules)
    rows = []
    for path, _ in table.modules:
        level = 0 if not path else path.count(".") + 1
        if not path or level > depth:
            continue
        params = table.params_under(path)
        if not params:
            continue
        rows.append(
            {
                "path": path,
                "class": classes.get(path, ""),
                "depth": level,
                "tensors": len(params),
                "elements": sum(p.numel for p in params),
            }
        )
    return rows


def typical_filters(table: ParamTable) -> list[dict[str, Any]]:
    return [
        {"filter": f'name.startswith("{prefix}.")', "tensors": len(table.params_under(prefix))}
        for prefix in TYPICAL_PREFIXES
    ]


def report(table: ParamTable, depth: int) -> dict[str, Any]:
    return {
        "model": table.label(),
        "version": table.version,
        "kwargs": table.kwargs,
        "tensors": len(table.params),
        "elements": sum(p.numel for p in table.params),
        "classifier": table.classifier,
        "batchnorm_layers": len(table.norms),
        "modules": module_rows(table, depth),
        "filters": typical_filters(table),
    }


def text(data: dict[str, Any]) -> str:
    args = "".join(f", {k}={v!r}" for k, v in data["kwargs"].items())
    lines = [
        f"{data['model']} ({data['model'].split()[0]} {data['version']}{args})",
        f"{data['tensors']} tensors, {data['elements']:,} elements; classifier: "
        f"{data['classifier']}; {data['batchnorm_layers']} BatchNorm layers",
        "",
        f"{'module':<40}{'class':<24}{'tensors':>8}{'elements':>14}",
    ]
    for row in data["modules"]:
        name = "  " * (row["depth"] - 1) + row["path"]
        lines.append(f"{name:<40}{row['class']:<24}{row['tensors']:>8}{row['elements']:>14,}")
    lines += ["", "what typical name filters match:"]
    for item in data["filters"]:
        lines.append(f"  {item['filter']:<48}{item['tensors']:>4} tensors")
    lines.append(
        "  (names start with `module.` under DataParallel/DDP, `_orig_mod.` under torch.compile)"
    )
    return "\n".join(lines)
