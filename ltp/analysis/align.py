"""Align spaCy words with model word pieces by character offsets, never by position.

Rule (any piece): a word is alive at a layer if ANY of its word pieces is alive there, so a
word's depth is the deepest layer reached by any of its pieces. A piece belongs to a word when
their character spans overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pieces_of_words(word_spans: Sequence[tuple[int, int]], piece_spans: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each word span, the indices of the pieces whose spans overlap it.

    Special tokens have the empty span (0, 0) and never overlap anything. Words and (real)
    pieces are both in reading order, so one sweep does the work.
    """
    real = [(s, e, j) for j, (s, e) in enumerate(piece_spans) if e > s]
    out: list[list[int]] = []
    k0 = 0
    for ws, we in word_spans:
        while k0 < len(real) and real[k0][1] <= ws:  # pieces that end before this word
            k0 += 1
        hits, k = [], k0
        while k < len(real) and real[k][0] < we:
            hits.append(real[k][2])
            k += 1
        out.append(hits)
    return out


def piece_depths(alive: np.ndarray) -> np.ndarray:
    """Deepest layer (1-based) each piece is alive after; alive is (L, n) bool, cascading."""
    return alive.sum(0).astype(np.int16)


def word_depths(pieces: list[list[int]], depths: np.ndarray) -> np.ndarray:
    """Any-piece rule: a word's depth is the max depth of its pieces (0 if it has none)."""
    return np.array([int(depths[p].max()) if p else 0 for p in pieces], dtype=np.int16)


def word_of_pieces(pieces: list[list[int]], n_pieces: int) -> np.ndarray:
    """Inverse map: for each piece, the index of the first word it overlaps (-1 if none)."""
    owner = np.full(n_pieces, -1, dtype=np.int32)
    for w, ps in enumerate(pieces):
        for p in ps:
            if owner[p] < 0:
                owner[p] = w
    return owner
