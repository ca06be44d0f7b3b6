"""Tokenising, batched prediction and the per-layer trace of one text."""

from __future__ import annotations

import html
import re

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from ltp.model import LTPForSequenceClassification, LTPOutput

MAX_CHARS = 200_000  # longer texts are cut before tokenising (far beyond any max length)


class InputError(ValueError):
    """Bad user input (empty text ...); the message says what to do."""


@dataclass
class Encoded:
    """Token ids of texts, unpadded, with character offsets into each text."""

    input_ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]  # (start, end) per token; (0, 0) for special tokens
    truncated: list[bool]


_BR_TAG = re.compile(r"<br\s*/?>", flags=re.IGNORECASE)


_HTML_TAG = re.compile(r"<[^<>]{1,200}>")
_ENTITY = re.compile(r"&?#(\d{1,6});|&(#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});|\bquot;")


def _decoded_entity(m: re.Match) -> str:
    """An HTML entity (also AG News' '#39;' and 'quot;' whose '&' was lost) as its character,
    padded with spaces to the entity's length."""
    raw = m.group()
    if raw == "quot;":
        char = '"'
    elif m.group(1) is not None:
        char = chr(int(m.group(1))) if int(m.group(1)) < 0x110000 else " "
    else:
        char = html.unescape(raw)
        if char == raw:
            char = " "
    char = char if len(char) == 1 and char.isprintable() else " "
    return char + " " * (len(raw) - 1)


def clean_html(text: str) -> str:
    """clean_text plus HTML entities decoded and tags blanked, still offset-preserving.

    For the analysis' word-level view (spaCy words, domain terms), so that AG News' '#39;s',
    'quot;' and '<a href=...>' do not become "words"; the model's own input is left as it was
    trained on (clean_text)."""
    text = _ENTITY.sub(_decoded_entity, clean_text(text))
    return _HTML_TAG.sub(lambda m: " " * len(m.group()), text)


def clean_text(text: str) -> str:
    """Blank out HTML line breaks (IMDb has `<br />`) with as many spaces, so character
    offsets into the cleaned text are offsets into the original text."""
    return _BR_TAG.sub(lambda m: " " * len(m.group()), text)


def encode(tokenizer, texts: Sequence[str], max_length: int, truncation: str = "head") -> Encoded:
    """Tokenise with special tokens; `head` keeps the first tokens, `head+tail` the first
    quarter and the last three quarters of the budget (Sun et al. 2019 for long reviews)."""
    if truncation not in ("head", "head+tail"):
        raise ValueError(f"truncation must be 'head' or 'head+tail', got {truncation!r}")
    texts = [clean_text(t[:MAX_CHARS]) for t in texts]
    enc = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False,
                    verbose=False)  # we truncate ourselves (head or head+tail): no "longer than" warning
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    budget = max_length - 2
    ids_out, offs_out, cut = [], [], []
    for ids, offs in zip(enc["input_ids"], enc["offset_mapping"]):
        offs = [tuple(o) for o in offs]
        over = len(ids) > budget
        if over and truncation == "head":
            ids, offs = ids[:budget], offs[:budget]
        elif over:
            head = budget // 4
            tail = budget - head
            ids, offs = ids[:head] + ids[-tail:], offs[:head] + offs[-tail:]
        ids_out.append([cls_id, *ids, sep_id])
        offs_out.append([(0, 0), *offs, (0, 0)])
        cut.append(over)
    return Encoded(ids_out, offs_out, cut)


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


# --------------------------------------------------------------------------- trace


@dataclass
class LayerTrace:
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


def validate_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise InputError("The text is empty: type a sentence to classify.")
    return text


@torch.inference_mode()
def trace(model: LTPForSequenceClassification, tokenizer, text: str, max_length: int,
          label_names: Sequence[str], truncation: str = "head", mode: str | None = None) -> Trace:
    """Run one text (unpadded) and record which tokens survive each layer."""
    import time

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
