"""Text views: sentences, the short inputs people type, and short training spans.

Short inputs matter because thresholds learned on 50-250-token texts meet 10-20-token
sentences in the dashboard; `ltp evaluate` scores each test text's first sentence and first
12 words, and training can add short spans of the training texts (mixed lengths).
"""

from __future__ import annotations

import html
import re

import numpy as np

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


def display_text(text: str) -> str:
    """What a reader sees: entities decoded (also AG News' '#39;', 'quot;' and '\\$'),
    tags and line breaks blanked, white space folded."""
    text = _LOST_AMP.sub(r"&#\1;", text).replace("quot;", '"').replace("\\$", "$")
    text = _TAG.sub(" ", html.unescape(_TAG.sub(" ", text)))
    return " ".join(text.split())


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
