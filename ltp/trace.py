"""The trace of one text: which tokens survive each layer, with the threshold each layer
applied, and its forms: a layer x token matrix (for the heat map), a per-layer table, JSON
(`ltp prune --json`) and plain text (`ltp prune`).

Layers are numbered from 1 everywhere a person reads them (``LayerTrace.layer``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import torch

from ltp.model import LTPForSequenceClassification, LTPOutput
from ltp.text import encode, validate_text


@dataclass
class LayerTrace:
    """What one layer did to one text: who survived it and the threshold they met."""

    layer: int  # 1-based layer number
    count: int  # tokens alive after this layer
    positions: list[int]  # token positions alive after this layer
    tokens: list[str]
    scores: list[float]  # importance of every token entering the layer (0 if it was gone)
    threshold: float | None  # theta of this layer for this input, theta * rho(n) (None: the layer does not prune)


@dataclass
class Trace:
    """Per-layer survival of one text: the data behind a "15 -> 11 -> 4 -> 2" view."""

    text: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    special: list[bool]
    truncated: bool
    prediction: str
    probabilities: dict[str, float]
    layers: list[LayerTrace]
    flops: float
    flops_unpruned: float
    seconds: float
    mode: str
    input_tokens: int = field(init=False)

    def __post_init__(self):
        self.input_tokens = len(self.tokens)


def _to_cpu(out: LTPOutput) -> LTPOutput:
    """The record's tensors on the CPU (for a model on a GPU)."""
    for f in fields(out):
        value = getattr(out, f.name)
        if isinstance(value, torch.Tensor):
            setattr(out, f.name, value.detach().cpu())
    return out


@torch.inference_mode()
def trace(model: LTPForSequenceClassification, tokenizer, text: str, max_length: int,
          label_names: Sequence[str], truncation: str = "head", mode: str | None = None) -> Trace:
    """Run one text (unpadded) and record which tokens survive each layer."""
    validate_text(text)
    enc = encode(tokenizer, [text], max_length, truncation)
    device = next(model.parameters()).device
    ids = torch.tensor([enc.input_ids[0]], device=device)
    model.eval()
    t0 = time.perf_counter()
    out = model(ids, torch.ones_like(ids), mode=mode)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens = tokenizer.convert_ids_to_tokens(enc.input_ids[0])
    special_ids = set(tokenizer.all_special_ids)
    out = _to_cpu(out)
    probs = torch.softmax(out.logits[0].float(), -1).tolist()
    used_mode = mode or model.mode
    thresholds = (out.thresholds * out.length_factor[0]).tolist()  # what this input met: theta^l * rho(n)
    layers = []
    for l in range(model.num_layers):
        pos = out.alive[l, 0].nonzero().flatten().tolist()
        prunes = used_mode == "hard" and l > 0  # topk keeps a fixed fraction: no threshold
        layers.append(LayerTrace(
            layer=l + 1, count=len(pos), positions=pos, tokens=[tokens[p] for p in pos],
            scores=[round(float(s), 6) for s in out.scores[l, 0]],
            threshold=round(thresholds[l], 6) if prunes else None,
        ))
    return Trace(
        text=text, tokens=tokens, offsets=enc.offsets[0],
        special=[i in special_ids for i in enc.input_ids[0]], truncated=enc.truncated[0],
        prediction=label_names[int(np.argmax(probs))],
        probabilities={n: round(p, 6) for n, p in zip(label_names, probs)},
        layers=layers, flops=float(out.flops[0]), flops_unpruned=float(out.flops_unpruned[0]),
        seconds=seconds, mode=used_mode,
    )


# --------------------------------------------------------------------------- its matrix and table


def alive_masks(tr: Trace) -> list[list[bool]]:
    """L x T: True where token t is alive after layer l."""
    n = len(tr.tokens)
    alive = [set(lt.positions) for lt in tr.layers]
    return [[i in kept for i in range(n)] for kept in alive]


def heatmap_inputs(tr: Trace) -> tuple[list[str], list[list[float | None]], list[float | None], list[list[bool]]]:
    """(tokens, scores, thresholds, alive) for ``ltp.viz.sentence.score_heatmap``: a score is
    None where the token had already been pruned before entering the layer."""
    alive = alive_masks(tr)
    entering = [[True] * len(tr.tokens)] + alive[:-1]
    scores = [[s if e else None for s, e in zip(lt.scores, ent)] for lt, ent in zip(tr.layers, entering)]
    return list(tr.tokens), scores, [lt.threshold for lt in tr.layers], alive


LAYER_COLUMNS = ["layer", "tokens_alive", "pruned_here", "threshold", "surviving_tokens"]


def layer_rows(tr: Trace) -> pd.DataFrame:
    """One row per layer (numbered from 1): tokens alive after it, pruned by it, its threshold,
    the survivors."""
    previous = tr.input_tokens
    rows = []
    for lt in tr.layers:
        rows.append({"layer": lt.layer, "tokens_alive": lt.count, "pruned_here": previous - lt.count,
                     "threshold": lt.threshold, "surviving_tokens": " ".join(lt.tokens)})
        previous = lt.count
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def seen_text(tr: Trace) -> tuple[str, int]:
    """The part of the text the model saw (all of it unless truncated) and how many
    characters were cut off."""
    if not tr.truncated:
        return tr.text, 0
    spans = sorted((s, e) for (s, e), sp in zip(tr.offsets, tr.special) if not sp)
    end = spans[-1][1] if spans else 0
    # head+tail truncation also cuts out a middle stretch: count the non-blank text between tokens
    hidden = sum(len(tr.text[a:b]) for (_, a), (b, _) in zip(spans, spans[1:]) if tr.text[a:b].strip())
    return tr.text[:end], hidden + len(tr.text) - end


def prune_summary(hard: Trace, none: Trace) -> dict:
    """FLOPs and measured model time of one text with pruning on (hard) and off (none)."""
    return {
        "flops": hard.flops,
        "flops_unpruned": hard.flops_unpruned,
        "flops_reduction": hard.flops_unpruned / hard.flops if hard.flops else None,
        "flops_saved": 1 - hard.flops / hard.flops_unpruned if hard.flops_unpruned else None,
        "ms_hard": 1000 * hard.seconds,
        "ms_none": 1000 * none.seconds,
        "same_prediction": hard.prediction == none.prediction,
    }


# --------------------------------------------------------------------------- JSON and text forms


def trace_json(tr: Trace) -> dict:
    """The JSON form `ltp prune --json` prints: per layer the survivors with their scores."""
    return {
        "text": tr.text,
        "prediction": tr.prediction,
        "probabilities": tr.probabilities,
        "truncated": tr.truncated,
        "mode": tr.mode,
        "input_tokens": tr.input_tokens,
        "flops": tr.flops,
        "flops_unpruned": tr.flops_unpruned,
        "layers": [
            {"layer": lt.layer, "count": lt.count, "tokens": lt.tokens, "positions": lt.positions,
             "scores": [lt.scores[p] for p in lt.positions], "threshold": lt.threshold}
            for lt in tr.layers
        ],
    }


def format_trace(tr: Trace) -> str:
    """The text form `ltp prune` prints: one line per layer, then the prediction and FLOPs."""
    lines = [f"input: {tr.input_tokens} tokens ({tr.mode} mode)"]
    for lt in tr.layers:
        th = f"theta={lt.threshold:.5f}" if lt.threshold is not None else "no pruning"
        lines.append(f"layer {lt.layer:>2}  {lt.count:>4} tokens  [{th}]  {' '.join(lt.tokens)}")
    probs = ", ".join(f"{k} {v:.3f}" for k, v in tr.probabilities.items())
    lines.append(f"prediction: {tr.prediction} ({probs})")
    lines.append(f"FLOPs: {tr.flops / 1e6:.1f} M of {tr.flops_unpruned / 1e6:.1f} M "
                 f"({tr.flops_unpruned / tr.flops:.2f}x fewer)")
    return "\n".join(lines)
