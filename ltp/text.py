"""Text: cleaning and encoding for the model, and views of it (sentences, the short inputs
people type, short training spans).

Two cleanings on purpose: `clean_text` / `clean_html` keep every character offset (the model's
input and the word-level analysis map tokens back into the original text), `display_text` is
what a reader sees (white space folded) and is what the short views and training spans are made
of; changing either changes stored evaluations and training data, so each stays as it was.

Short inputs matter because thresholds learned on 50-250-token texts meet 10-20-token
sentences in the dashboard; `ltp evaluate` scores each test text's first sentence and first
12 words, and training can add short spans of the training texts (mixed lengths).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_CHARS = 200_000  # longer texts are cut before tokenising (far beyond any max length)

# a sentence ends at . ! ? (or a run of them, maybe closed by a quote or bracket) followed by
# white space and something that can start a sentence; "St. Louis" and "U.S. officials" are
# kept together by the capital-letter and the short-abbreviation rules
_BOUNDARY = re.compile(r"(?<=[.!?])([\"')\]]?)\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Sr|Jr|Prof|Gen|Sen|Rep|Gov|Lt|Col|Capt|Inc|Corp|Ltd|Co|vs|etc|No|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sep|Sept|Oct|Nov|Dec|Mt|Ft|Ave)|\b[A-Z](?:\.[A-Z])*)\.$")  # titles, months, initials, U.S.
SHORT_VIEWS = ("first_sentence", "first_12_words")


_LOST_AMP = re.compile(r"(?<!&)#(\d{1,6});")  # AG News lost the '&' of '&#39;'
_TAG = re.compile(r"<[^<>]{1,200}>")


# --------------------------------------------------------------------------- cleaning


class InputError(ValueError):
    """Bad user input (empty text ...); the message says what to do."""


def validate_text(text: str | None) -> str:
    """The text itself, or InputError when there is nothing to classify (checked before loading a model)."""
    if text is None or not text.strip():
        raise InputError("The text is empty: type a sentence to classify.")
    return text


_BR_TAG = re.compile(r"<br\s*/?>", flags=re.IGNORECASE)
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
    return _TAG.sub(lambda m: " " * len(m.group()), text)


def clean_text(text: str) -> str:
    """Blank out HTML line breaks (IMDb has `<br />`) with as many spaces, so character
    offsets into the cleaned text are offsets into the original text."""
    return _BR_TAG.sub(lambda m: " " * len(m.group()), text)


def display_text(text: str) -> str:
    """What a reader sees: entities decoded (also AG News' '#39;', 'quot;' and '\\$'),
    tags and line breaks blanked, white space folded."""
    text = _LOST_AMP.sub(r"&#\1;", text).replace("quot;", '"').replace("\\$", "$")
    text = _TAG.sub(" ", html.unescape(_TAG.sub(" ", text)))
    return " ".join(text.split())


# --------------------------------------------------------------------------- encoding


@dataclass
class Encoded:
    """Token ids of texts, unpadded, with character offsets into each text."""

    input_ids: list[list[int]]
    offsets: list[list[tuple[int, int]]]  # (start, end) per token; (0, 0) for special tokens
    truncated: list[bool]


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


# --------------------------------------------------------------------------- reader's views


def sentences(text: str) -> list[str]:
    """The text's sentences (a heuristic splitter: no model, fast on a million rows)."""
    text = display_text(text)
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        piece = text[start:m.start() + len(m.group(1))].rstrip()  # a closing quote stays
        if _ABBREVIATION.search(piece.split(" ")[-1] if piece else ""):
            continue
        if piece:
            out.append(piece)
        start = m.end()
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out


def first_sentence(text: str, min_words: int = 3) -> str:
    """The first sentence with at least `min_words` words (shorter leading pieces such as a
    headline fragment are joined to the next)."""
    parts = sentences(text)
    out = ""
    for part in parts:
        out = f"{out} {part}".strip()
        if len(out.split()) >= min_words:
            return out
    return out


def first_words(text: str, n: int = 12) -> str:
    return " ".join(display_text(text).split()[:n])


def short_view(text: str, view: str) -> str:
    if view == "first_sentence":
        return first_sentence(text)
    if view == "first_12_words":
        return first_words(text, 12)
    raise ValueError(f"Unknown short view {view!r}: use one of {', '.join(SHORT_VIEWS)}.")


def short_spans(texts: list[str], fraction: float, seed: int, count_tokens, min_tokens: int = 8,
                max_tokens: int = 64) -> tuple[list[str], np.ndarray]:
    """Short spans (one to three consecutive sentences, 8-64 tokens) of a seeded random
    `fraction` of the texts, for mixed-length training. Like the evaluation's short views they
    are the reader's text (`display_text`), what a person types.

    Args:
        count_tokens: callable(list[str]) -> list[int], the tokenizer's length of each span.
    Returns: (spans, index of the source text of each span).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"The short-span fraction must be in [0, 1], got {fraction}.")
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(len(texts)) < fraction)
    spans, sources = [], []
    for i in chosen:
        parts = sentences(texts[i])
        if not parts:
            continue
        start = int(rng.integers(len(parts)))
        take = int(rng.integers(1, 4))
        spans.append(" ".join(parts[start:start + take]))
        sources.append(i)
    if not spans:
        return [], np.zeros(0, dtype=int)
    lengths = count_tokens(spans)
    for i, (span, n) in enumerate(zip(spans, lengths)):
        if n > max_tokens:  # cut at a word boundary, in proportion to the budget
            words = span.split()
            spans[i] = " ".join(words[: max(1, int(len(words) * max_tokens / n))])
    lengths = count_tokens(spans)  # counted again: the cut is an estimate
    keep = [k for k, n in enumerate(lengths) if min_tokens <= n <= max_tokens]
    return [spans[k] for k in keep], np.asarray([sources[k] for k in keep], dtype=int)
