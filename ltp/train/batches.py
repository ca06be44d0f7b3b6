"""What training reads: the tokenised train split, its held-out part, short spans, and a
deterministic length-grouped batch order (so a resumed run skips exactly the batches done)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ltp.text import encode
from ltp.train.config import TrainConfig


@dataclass
class TrainData:
    """Token ids and labels of the training rows, the validation rows and the short spans."""

    ids: list[list[int]]
    labels: np.ndarray
    label_names: list[str]
    val_ids: list[list[int]]
    val_labels: np.ndarray
    description: dict  # the data set as recorded in the checkpoint (name, split, examples, ...)
    short_ids: list[list[int]] = field(default_factory=list)  # mixed lengths: short spans of the texts
    short_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def for_stage(self, stage: str) -> tuple[list[list[int]], np.ndarray]:
        """The rows a stage trains on: the texts, plus their short spans in the pruning stages
        (top-k too: a fair baseline trains on the same rows)."""
        if stage in ("soft", "hard", "topk") and self.short_ids:
            return self.ids + self.short_ids, np.concatenate([self.labels, self.short_labels])
        return self.ids, self.labels


def held_out_rows(df, val_examples: int, seed: int):
    """The validation rows a run holds out of its train split: a seeded, stratified sample of
    `val_examples`, at most a fifth of the split (none for 0)."""
    from ltp import data

    n_val = min(val_examples, len(df) // 5)
    return data.stratified_sample(df, n_val, seed + 1) if n_val > 0 else df.iloc[:0]


def load_train_data(cfg: TrainConfig, tokenizer) -> TrainData:
    """Tokenise the (sub-sampled) train split and hold out a validation part."""
    from ltp import data

    df = data.load_split(cfg.dataset, "train", cfg.data_path)
    names = data.load_label_names(cfg.dataset, cfg.data_path)
    if len(df) == 0:
        raise data.DataError(f"The train split of {cfg.dataset} is empty; prepare it again.")
    val = held_out_rows(df, cfg.val_examples, cfg.seed)
    rest = df.drop(index=val.index)
    if cfg.max_train_examples is not None and cfg.max_train_examples < len(rest):
        rest = data.stratified_sample(rest, cfg.max_train_examples, cfg.seed)
    texts = rest["text"].tolist()
    enc = encode(tokenizer, texts, cfg.max_length, cfg.truncation)
    venc = encode(tokenizer, val["text"].tolist(), cfg.max_length, cfg.truncation)
    short, src = _short_spans(texts, cfg, tokenizer)
    labels = rest["label"].to_numpy()
    return TrainData(enc.input_ids, labels, names, venc.input_ids, val["label"].to_numpy(),
                     _describe(cfg, len(df), len(rest), len(val), len(short)),
                     short, labels[src] if len(src) else np.zeros(0, dtype=labels.dtype))


def _short_spans(texts: list[str], cfg: TrainConfig, tokenizer) -> tuple[list[list[int]], np.ndarray]:
    """Token ids of short spans (1-3 sentences, 8-64 tokens) of a fraction of the texts, and
    the index of the text each came from; none when cfg.short_spans is 0."""
    if cfg.short_spans <= 0:
        return [], np.zeros(0, dtype=int)
    from ltp.text import short_spans

    def count(spans):
        return [len(x) for x in tokenizer(spans, add_special_tokens=True, verbose=False)["input_ids"]]

    spans, src = short_spans(texts, cfg.short_spans, cfg.seed + 7, count)
    short = encode(tokenizer, spans, cfg.max_length, cfg.truncation).input_ids if spans else []
    return short, src


def _describe(cfg: TrainConfig, rows: int, examples: int, held_out: int, spans: int) -> dict:
    """The training data as the checkpoint records it."""
    description = {
        "name": cfg.dataset,
        "split": "train",
        "examples": examples,
        "validation_examples": held_out,
        "of_rows": rows,
        "description": f"{cfg.dataset} train split: {examples} of {rows} rows "
        f"(seed {cfg.seed}), {held_out} held out for validation; max length {cfg.max_length} ({cfg.truncation})",
        "short_spans": spans,
    }
    if spans:
        description["description"] += f"; soft/hard stages add {spans} short spans (8-64 tokens) of the texts"
    return description


class LengthGroupedBatches:
    """Shuffled batches of similar length: megabatches of 50 batches are sorted by length.

    Deterministic for (seed, epoch), so a resumed run skips exactly the batches already done.
    """

    def __init__(self, lengths: list[int], batch_size: int, seed: int):
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0  # set by the loop before each epoch
        self.skip = 0  # batches of this epoch already trained (a resumed run)

    def batches(self, epoch: int) -> list[list[int]]:
        """Every batch of one epoch (row indices), in training order."""
        rng = np.random.default_rng(self.seed + epoch)
        perm = rng.permutation(len(self.lengths))
        mega = self.batch_size * 50
        out = []
        for i in range(0, len(perm), mega):
            chunk = perm[i : i + mega]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            out += [chunk[j : j + self.batch_size].tolist() for j in range(0, len(chunk), self.batch_size)]
        order = rng.permutation(len(out))
        return [out[k] for k in order]

    def __iter__(self):
        yield from self.batches(self.epoch)[self.skip :]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size) - self.skip
