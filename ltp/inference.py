"""Batched prediction: padding, length-sorted batches, per-example probabilities and FLOPs.

`encode` (text -> token ids) lives in ltp.text, `pad_batch` (ids -> tensors) here, beside the
only code that feeds tensors to the model in batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ltp.model import LTPForSequenceClassification, LTPOutput
from ltp.text import Encoded


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence: (input_ids (B, T), attention_mask (B, T))."""
    length = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), length), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Index batches of similar length (longest first), for inference."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for i in range(0, len(order), batch_size):
        yield order[i : i + batch_size]


@dataclass
class Predictions:
    """Per-example results of `predict`, in input order."""

    probabilities: np.ndarray  # (N, C)
    tokens_alive: np.ndarray  # (N, L) tokens alive after each layer
    lengths: np.ndarray  # (N,) real tokens (with special tokens)
    flops: np.ndarray  # (N,) honest: the last FFN runs for [CLS] alone
    flops_unpruned: np.ndarray  # (N,)
    seconds: float  # wall time of the model calls
    flops_all_tokens: np.ndarray | None = None  # (N,) the first release's accounting
    flops_unpruned_all_tokens: np.ndarray | None = None  # (N,)

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(1)


@torch.inference_mode()
def predict(
    model: LTPForSequenceClassification,
    encoded: Encoded,
    pad_id: int,
    batch_size: int = 64,
    mode: str | None = None,
    on_batch: Callable[[int, LTPOutput, np.ndarray], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Predictions:
    """Batched, length-sorted inference. `on_batch(i, output, example_indices)` sees each
    raw output (for analyses that need the pruning record); `progress(n)` counts examples."""
    import time

    model.eval()
    n = len(encoded.input_ids)
    layers = model.num_layers
    probs = np.zeros((n, model.hf.config.num_labels), dtype=np.float32)
    alive = np.zeros((n, layers), dtype=np.int32)
    flops, flops_un, flops_all, flops_un_all = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    lengths = np.array([len(s) for s in encoded.input_ids])
    seconds = 0.0
    device = next(model.parameters()).device
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for i, idx in enumerate(length_sorted_batches(lengths, batch_size)):
        ids, mask = pad_batch([encoded.input_ids[j] for j in idx], pad_id)
        t0 = time.perf_counter()
        out = model(ids.to(device), mask.to(device), mode=mode)
        sync()
        seconds += time.perf_counter() - t0
        probs[idx] = torch.softmax(out.logits.float(), -1).cpu().numpy()
        alive[idx] = out.tokens_alive.T.cpu().numpy()
        flops[idx] = out.flops.cpu().numpy()
        flops_un[idx] = out.flops_unpruned.cpu().numpy()
        flops_all[idx] = out.flops_all_tokens.cpu().numpy()
        flops_un_all[idx] = out.flops_unpruned_all_tokens.cpu().numpy()
        if on_batch is not None:
            on_batch(i, out, idx)
        if progress is not None:
            progress(len(idx))
    return Predictions(probs, alive, lengths, flops, flops_un, seconds, flops_all, flops_un_all)


def score_texts(ckpt, texts: Sequence[str], batch_size: int = 64,
                progress: Callable[[int], None] | None = None):
    """Each text scored with pruning off and on: prediction and confidence both ways, whether
    they agree, tokens alive after each layer (1-based) and the FLOPs saved; one row per text.

    Args:
        ckpt: a loaded ``ltp.checkpoint.Checkpoint``.
        progress: called with the number of texts done (over both passes, so 2 x len(texts) in all).
    """
    import pandas as pd

    from ltp.results import pruning_mode
    from ltp.text import encode

    enc = encode(ckpt.tokenizer, list(texts), ckpt.max_length, ckpt.truncation)
    pad = ckpt.tokenizer.pad_token_id
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0])

    off = predict(ckpt.model, enc, pad, batch_size, mode="none", progress=step)
    on = predict(ckpt.model, enc, pad, batch_size, mode=pruning_mode(ckpt.model.mode), progress=step)
    names = np.array(ckpt.label_names, dtype=object)
    table = {
        "text": list(texts),
        "prediction_pruned": names[on.predicted], "confidence_pruned": on.probabilities.max(1).round(4),
        "prediction_unpruned": names[off.predicted], "confidence_unpruned": off.probabilities.max(1).round(4),
        "agree": on.predicted == off.predicted,
        "input_tokens": on.lengths, "truncated": np.asarray(enc.truncated, dtype=bool),
    }
    for layer in range(on.tokens_alive.shape[1]):
        table[f"alive_after_layer_{layer + 1}"] = on.tokens_alive[:, layer]
    table["flops_reduction"] = (on.flops_unpruned / on.flops).round(3)
    return pd.DataFrame(table)


__all__ = ["pad_batch", "length_sorted_batches", "Predictions", "predict", "score_texts"]
