"""The sidebar's model card: a checkpoint's data set, backbone, thresholds and stored accuracy."""

from __future__ import annotations

from pathlib import Path

from ltp.checkpoint import find_checkpoint, read_config
from ltp.results import load_results
from support.markup import escape_md


def layer_thresholds(config: dict) -> list[float | None]:
    """Per layer 1..L the pruning threshold, None for layer 1 unless the model prunes from it."""
    first = bool(config.get("ltp", {}).get("prune_first_layer", False))
    return [None if i == 0 and not first else float(t) for i, t in enumerate(config.get("thresholds", []))]


def model_card(path: Path) -> dict:
    """A short summary of a checkpoint for the sidebar: data set, backbone, layers,
    thresholds, mode, accuracy (when metrics.json has it)."""
    path = find_checkpoint(path)
    config = read_config(path)
    backbone = config.get("backbone", {})
    data = config.get("dataset") or {}
    results = load_results(path, damaged_as_missing=True)  # a damaged file does not break the sidebar
    mode, result = results.own_mode, results.headline()
    return {
        "path": str(path),
        "stage": config.get("stage"),
        "dataset": data.get("name"),
        "dataset_description": data.get("description"),
        "labels": list(config.get("labels", [])),
        "backbone": backbone.get("spec"),
        "model_type": backbone.get("model_type"),
        "num_layers": backbone.get("num_layers"),
        "hidden_size": backbone.get("hidden_size"),
        "max_length": config.get("max_length"),
        "truncation": config.get("truncation", "head"),
        "mode": mode,
        "thresholds": layer_thresholds(config),
        "accuracy": result and result.accuracy,
        "f1_macro": result and result.f1_macro,
        "flops_reduction": result.flops if result and result.mode == results.pruning else None,
        "evaluated_on": f"{result.key}, {result.sample}" if result else None,
    }


def model_card_markdown(card: dict) -> str:
    """The model card as a few markdown lines (values escaped for markdown)."""
    thr = ", ".join("–" if t is None else f"{t:.4f}" for t in card["thresholds"])
    lines = [
        f"**Data set** {escape_md(card['dataset'] or 'n/a')} ({len(card['labels'])} classes)",
        f"**Backbone** `{card['backbone']}` ({escape_md(card['model_type'])}, {card['num_layers']} layers, "
        f"{card['hidden_size']} wide)",
        f"**Stage / mode** {escape_md(card['stage'])} / {escape_md(card['mode'])}; max length {card['max_length']}",
        f"**Thresholds** {thr}" + (" (– or ≤ 0: the layer never prunes)" if any(t is None or t <= 0
                                                                                for t in card["thresholds"]) else ""),
    ]
    if card["accuracy"] is not None:
        extra = f", {card['flops_reduction']:.2f}x fewer FLOPs" if card["flops_reduction"] else ""
        lines.append(f"**Accuracy** {card['accuracy']:.4f} (F1 {card['f1_macro']:.4f}{extra}; "
                     f"{escape_md(card['evaluated_on'])})")
    else:
        lines.append(f"**Accuracy** not measured: `ltp evaluate --checkpoint {card['path']} --mode both`")
    return "  \n".join(lines)
