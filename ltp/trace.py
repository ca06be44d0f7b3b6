"""The trace of one text: which tokens survive each layer, with the threshold each layer
applied, and its forms: a layer x token matrix (for the heat map), a per-layer table, JSON
(`ltp prune --json`) and plain text (`ltp prune`).

A trace can also run the same weights with other thresholds (a what-if), as top-k with given
per-layer fractions, or with some tokens forced to survive (``trace(..., thresholds=...)`` /
``topk_keep=...`` / ``force_keep=...``): the model's own hard or top-k removal runs with these
overrides of its forward, so the cached model is never changed. ``same_flops_topk`` picks the top-k fractions whose FLOPs on one input match LTP's, and
``time_modes`` measures the model time of one input as several interleaved runs.

Layers are numbered from 1 everywhere a person reads them (``LayerTrace.layer``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd
import torch

from ltp.flops import linear_schedule, profile_flops, topk_counts
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
    seconds: float  # one forward pass (see time_modes for a measurement worth showing)
    mode: str
    topk_keep: list[float] | None = None  # topk mode: the fraction of the input kept after each layer
    first_layer_prunes: bool = False  # the model prunes from layer 1 on (else layer 1 keeps every token)
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


def _input_ids(model: LTPForSequenceClassification, tokenizer, text: str, max_length: int, truncation: str):
    """The encoding of one text and its (1, T) ids on the model's device."""
    validate_text(text)
    enc = encode(tokenizer, [text], max_length, truncation)
    device = next(model.parameters()).device
    return enc, torch.tensor([enc.input_ids[0]], device=device)


def _checked_overrides(model: LTPForSequenceClassification, thresholds: Sequence[float] | None,
                       topk_keep: Sequence[float] | None) -> tuple[torch.Tensor | None, list[float] | None]:
    """The what-if thresholds (L values) and top-k fractions as the model's forward takes them,
    checked: one finite number per layer."""
    L = model.num_layers
    if topk_keep is not None and len(topk_keep) != L:
        raise ValueError(f"topk_keep needs one fraction per layer ({L}), got {len(topk_keep)}.")
    if thresholds is not None and (len(thresholds) != L or not all(math.isfinite(float(t)) for t in thresholds)):
        raise ValueError(f"thresholds needs one finite number per layer ({L}), got {list(thresholds)}.")
    theta = None if thresholds is None else torch.tensor([float(t) for t in thresholds])
    return theta, None if topk_keep is None else [float(k) for k in topk_keep]


@torch.inference_mode()
def trace(model: LTPForSequenceClassification, tokenizer, text: str, max_length: int,
          label_names: Sequence[str], truncation: str = "head", mode: str | None = None, *,
          thresholds: Sequence[float] | None = None, topk_keep: Sequence[float] | None = None,
          force_keep: Sequence[int] | None = None) -> Trace:
    """Run one text (unpadded) and record which tokens survive each layer.

    Args:
        mode: the pruning mode (default: the model's).
        thresholds: a what-if: theta^l for each of the L layers (entry 0 unused: the first layer
            never prunes), applied by hard pruning instead of the learned ones (mode "hard").
        topk_keep: top-k with these per-layer kept fractions (mode "topk").
        force_keep: token positions that survive every layer whatever their score (would the
            answer change had this word been kept?).
    """
    used_mode = mode or ("topk" if topk_keep is not None else "hard" if thresholds is not None else model.mode)
    if thresholds is not None and used_mode != "hard":
        raise ValueError(f"thresholds apply to hard pruning; got mode {used_mode!r}.")
    if topk_keep is not None and used_mode != "topk":
        raise ValueError(f"topk_keep applies to top-k pruning; got mode {used_mode!r}.")
    enc, ids = _input_ids(model, tokenizer, text, max_length, truncation)
    model.eval()
    force = None
    if force_keep:
        force = torch.zeros_like(ids, dtype=torch.bool)
        force[0, [p for p in force_keep if 0 <= p < ids.shape[1]]] = True
    theta, keep = _checked_overrides(model, thresholds, topk_keep)
    t0 = time.perf_counter()
    out = model(ids, torch.ones_like(ids), mode=used_mode, thresholds=theta, topk_keep=keep, force_keep=force)
    if ids.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens = tokenizer.convert_ids_to_tokens(enc.input_ids[0])
    special_ids = set(tokenizer.all_special_ids)
    out = _to_cpu(out)
    probs = torch.softmax(out.logits[0].float(), -1).tolist()
    layer_thresholds = (out.thresholds * out.length_factor[0]).tolist()  # what this input met: theta^l * rho(n)
    layers = []
    for l in range(model.num_layers):
        pos = out.alive[l, 0].nonzero().flatten().tolist()
        prunes = used_mode == "hard" and (l > 0 or model.ltp_config.prune_first_layer)  # topk: no threshold
        layers.append(LayerTrace(
            layer=l + 1, count=len(pos), positions=pos, tokens=[tokens[p] for p in pos],
            scores=[round(float(s), 6) for s in out.scores[l, 0]],
            threshold=round(layer_thresholds[l], 6) if prunes else None,
        ))
    return Trace(
        text=text, tokens=tokens, offsets=enc.offsets[0],
        special=[i in special_ids for i in enc.input_ids[0]], truncated=enc.truncated[0],
        prediction=label_names[int(np.argmax(probs))],
        probabilities={n: round(p, 6) for n, p in zip(label_names, probs)},
        layers=layers, flops=float(out.flops[0]), flops_unpruned=float(out.flops_unpruned[0]),
        seconds=seconds, mode=used_mode,
        topk_keep=(keep or list(model.ltp_config.topk_keep)) if used_mode == "topk" else None,
        first_layer_prunes=model.ltp_config.prune_first_layer,
    )


@torch.inference_mode()
def time_modes(model: LTPForSequenceClassification, tokenizer, text: str, max_length: int,
               truncation: str = "head", modes: Sequence[str] = ("hard", "none"), repeats: int = 7
               ) -> dict[str, list[float]]:
    """Model time of one text in each mode: ``repeats`` forward passes each, interleaved (hard,
    none, hard, none ...) after one untimed warm-up per mode, so that a busy moment of a shared
    CPU hits every mode alike; report their median (one run is noise: 46.6 ms pruned against
    17.5 ms unpruned was once shown for a 17-token sentence).

    Returns: {mode: [seconds of each run]}.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    _, ids = _input_ids(model, tokenizer, text, max_length, truncation)
    mask = torch.ones_like(ids)
    model.eval()
    for mode in modes:  # the first pass at a new length sets up kernels: keep it off the clock
        model(ids, mask, mode=mode)
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(repeats):
        for mode in modes:
            t0 = time.perf_counter()
            model(ids, mask, mode=mode)
            if ids.device.type == "cuda":
                torch.cuda.synchronize()
            times[mode].append(time.perf_counter() - t0)
    return times


# --------------------------------------------------------------------------- top-k at the same FLOPs


def same_flops_topk(n: int, flops: float, num_layers: int, d: int, d_ff: int, floor: float = 0.02,
                    steps: int = 40) -> list[float]:
    """Per-layer kept fractions of the paper's linear top-k schedule whose FLOPs on this input (n
    real tokens) come closest to ``flops`` (LTP's, say): bisection on the slope, then the nearer of
    the two schedules around the target. Fractions are (c - 1/2) / n for the wanted count c, so
    that ceil(fraction * n) is c however the model rounds."""
    def counts(slope: float) -> list[int]:
        return topk_counts(n, linear_schedule(num_layers, slope, floor))

    lo, hi = 0.0, 1.0  # FLOPs fall as the slope grows
    for _ in range(steps):
        mid = (lo + hi) / 2
        if profile_flops(n, counts(mid), d, d_ff) > flops:
            lo = mid
        else:
            hi = mid
    best = min((counts(lo), counts(hi)), key=lambda c: abs(profile_flops(n, c, d, d_ff) - flops))
    return [1.0 if l == 0 else (c - 0.5) / n for l, c in enumerate(best)]


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


LAYER_COLUMNS = ["layer", "tokens_alive", "pruned_here", "threshold", "pruning", "surviving_tokens"]
NO_THRESHOLD = "–"  # how a layer without a threshold (layer 1, top-k, pruning off) shows it, everywhere


def threshold_text(threshold: float | None) -> str:
    """A layer's threshold as the pages show it: "–" where the layer has none (None, or NaN as a
    table column holds it)."""
    return NO_THRESHOLD if threshold is None or math.isnan(threshold) else f"{threshold:.5f}"


def pruning_words(tr: Trace, layer: int) -> str:
    """What layer ``layer`` (1-based) does to the tokens, in plain words."""
    lt = tr.layers[layer - 1]
    if layer == 1 and not tr.first_layer_prunes:
        return "never prunes (the first layer keeps every token)"
    if tr.mode == "none":
        return "pruning off"
    if tr.mode == "topk":
        return f"top-k: keeps the {lt.count} highest-scoring tokens" if tr.topk_keep else "top-k"
    if lt.threshold is not None and lt.threshold <= 0:
        return "never prunes (threshold at or below 0, and no score is negative)"
    return "removes tokens scoring below the threshold"


def layer_rows(tr: Trace) -> pd.DataFrame:
    """One row per layer (numbered from 1): tokens alive after it, pruned by it, its threshold
    (None where it has none), what it does in words, the survivors."""
    previous = tr.input_tokens
    rows = []
    for lt in tr.layers:
        rows.append({"layer": lt.layer, "tokens_alive": lt.count, "pruned_here": previous - lt.count,
                     "threshold": lt.threshold, "pruning": pruning_words(tr, lt.layer),
                     "surviving_tokens": " ".join(lt.tokens)})
        previous = lt.count
    return pd.DataFrame(rows, columns=LAYER_COLUMNS)


def never_pruning_layers(tr: Trace) -> list[int]:
    """Layers (1-based, after the first) whose threshold for this input is at or below 0: every
    importance score is >= 0, so they keep every token that reaches them."""
    return [lt.layer for lt in tr.layers[1:] if lt.threshold is not None and lt.threshold <= 0]


COMPARE_COLUMNS = ["run", "prediction", "confidence", "tokens_per_layer", "flops_m", "flops_reduction",
                   "same_as_unpruned"]


def compare_rows(runs: Mapping[str, Trace], unpruned: Trace) -> pd.DataFrame:
    """One row per run of the same text (LTP, a what-if, top-k, pruning off ...): its prediction
    and confidence, the tokens alive after each layer, FLOPs and their reduction, and whether it
    answers as the unpruned run does."""
    rows = []
    for name, tr in runs.items():
        rows.append({"run": name, "prediction": tr.prediction, "confidence": tr.probabilities[tr.prediction],
                     "tokens_per_layer": " → ".join(str(c) for c in [tr.input_tokens] + [lt.count for lt in tr.layers]),
                     "flops_m": tr.flops / 1e6,
                     "flops_reduction": tr.flops_unpruned / tr.flops if tr.flops else None,
                     "same_as_unpruned": tr.prediction == unpruned.prediction})
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


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


def prune_summary(hard: Trace, none: Trace, times: Mapping[str, Sequence[float]] | None = None) -> dict:
    """FLOPs and model time of one text with pruning on (hard) and off (none). With ``times``
    (``time_modes``: seconds of several runs per mode) the times are their medians, and
    ``runs`` says how many; without, the traces' single runs."""
    hard_s = [hard.seconds] if times is None else list(times[hard.mode])
    none_s = [none.seconds] if times is None else list(times["none"])
    return {
        "flops": hard.flops,
        "flops_unpruned": hard.flops_unpruned,
        "flops_reduction": hard.flops_unpruned / hard.flops if hard.flops else None,
        "flops_saved": 1 - hard.flops / hard.flops_unpruned if hard.flops_unpruned else None,
        "ms_hard": 1000 * float(np.median(hard_s)),
        "ms_none": 1000 * float(np.median(none_s)),
        "ms_hard_range": (1000 * min(hard_s), 1000 * max(hard_s)),
        "ms_none_range": (1000 * min(none_s), 1000 * max(none_s)),
        "runs": min(len(hard_s), len(none_s)),
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
        unit = "token " if lt.count == 1 else "tokens"
        lines.append(f"layer {lt.layer:>2}  {lt.count:>4} {unit}  [{th}]  {' '.join(lt.tokens)}")
    probs = ", ".join(f"{k} {v:.3f}" for k, v in tr.probabilities.items())
    lines.append(f"prediction: {tr.prediction} ({probs})")
    lines.append(f"FLOPs: {tr.flops / 1e6:.1f} M of {tr.flops_unpruned / 1e6:.1f} M "
                 f"({tr.flops_unpruned / tr.flops:.2f}x fewer)")
    return "\n".join(lines)
