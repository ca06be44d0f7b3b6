"""Domain terms: the most distinctive words of each class, by weighted log-odds with an
informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words").

For class i against all other classes j, word w, counts y, totals n and prior alpha (the
whole corpus' counts times `prior_scale`, alpha_0 their sum):
    delta_w = log((y_wi + a_w) / (n_i + a_0 - y_wi - a_w)) - log((y_wj + a_w) / (n_j + a_0 - y_wj - a_w))
    var_w   = 1 / (y_wi + a_w) + 1 / (y_wj + a_w)
    z_w     = delta_w / sqrt(var_w)
Words with a large positive z are over-used in class i relative to the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd


def term_counts(token_lists: Iterable[Sequence[str]], labels: Sequence[int], num_classes: int) -> list[Counter]:
    """Per-class counts of terms."""
    counts = [Counter() for _ in range(num_classes)]
    for tokens, y in zip(token_lists, labels):
        counts[int(y)].update(tokens)
    return counts


def log_odds_z(counts: list[Counter], prior_scale: float = 1.0, min_count: int = 5) -> pd.DataFrame:
    """z-scores of every term (seen >= min_count times overall) for every class vs the rest.

    Returns a long DataFrame: class, term, z, count (count of the term in that class).
    """
    if prior_scale <= 0:
        raise ValueError(f"prior_scale must be positive, got {prior_scale}.")
    total = Counter()
    for c in counts:
        total.update(c)
    vocab = sorted(t for t, n in total.items() if n >= min_count)
    if len(vocab) < 2:  # one term cannot be distinctive (and would zero the log-odds denominators)
        return pd.DataFrame({"class": pd.Series(dtype="int16"), "term": pd.Series(dtype=str),
                             "z": pd.Series(dtype="float32"), "count": pd.Series(dtype="int64")})
    y = np.array([[c[t] for t in vocab] for c in counts], dtype=np.float64)  # (C, V)
    alpha = prior_scale * y.sum(0)  # (V,)
    a0 = alpha.sum()
    rows = []
    for i in range(len(counts)):
        yi, yj = y[i], y.sum(0) - y[i]
        ni, nj = yi.sum(), yj.sum()
        delta = np.log((yi + alpha) / (ni + a0 - yi - alpha)) - np.log((yj + alpha) / (nj + a0 - yj - alpha))
        z = delta / np.sqrt(1.0 / (yi + alpha) + 1.0 / (yj + alpha))
        rows.append(pd.DataFrame({"class": np.int16(i), "term": vocab, "z": z.astype(np.float32),
                                  "count": yi.astype(np.int64)}))
    return pd.concat(rows, ignore_index=True)


def top_terms(z: pd.DataFrame, label_names: Sequence[str], top_k: int = 100) -> pd.DataFrame:
    """The top_k terms of each class by z (positive z only): class, class_name, term, z, rank, count."""
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    z = z[z["z"] > 0].sort_values(["class", "z"], ascending=[True, False])
    top = z.groupby("class", sort=True).head(top_k).copy()
    top["rank"] = top.groupby("class").cumcount().astype(np.int32) + 1
    top["class_name"] = [label_names[int(c)] for c in top["class"]]
    return top[["class", "class_name", "term", "z", "rank", "count"]].reset_index(drop=True)


def corpus_terms(texts: Iterable[str], nlp, batch_size: int = 512) -> list[list[str]]:
    """Lowercased content words of each text, from spaCy's tokenizer alone (fast): alphabetic,
    two letters or more, not stopwords."""
    from ltp.text import clean_html

    out = []
    for doc in nlp.tokenizer.pipe((clean_html(t) for t in texts), batch_size=batch_size):
        out.append([t.lower_ for t in doc if t.is_alpha and len(t) > 1 and not t.is_stop])
    return out


def domain_terms(texts: Sequence[str], labels: Sequence[int], label_names: Sequence[str], nlp,
                 top_k: int = 100, min_count: int = 5, prior_scale: float = 1.0) -> pd.DataFrame:
    """Domain terms per class from a (training) corpus."""
    counts = term_counts(corpus_terms(texts, nlp), labels, len(label_names))
    return top_terms(log_odds_z(counts, prior_scale, min_count), label_names, top_k)


def term_classes(terms: pd.DataFrame) -> dict[str, int]:
    """term -> class; a term listed for several classes goes to the one with the highest z."""
    best = terms.sort_values("z", ascending=False).drop_duplicates("term")
    return dict(zip(best["term"], best["class"].astype(int)))
