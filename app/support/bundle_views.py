"""An analysis bundle's rows for the pages: class names, the text around a word for a hover,
text previews, and the progress of building a bundle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from support.markup import printable


SNIPPET_CHARS = 40  # context on each side of a word in the embedding map's hover


def with_names(df: pd.DataFrame, label_names: list[str]) -> pd.DataFrame:
    """Adds gold_class / predicted_class names and a "correctness" column (correct / wrong)."""
    names = np.asarray([str(n) for n in label_names], dtype=object)
    out = df.copy()
    out["gold_class"] = names[out["gold"].to_numpy().astype(int)]
    out["predicted_class"] = names[out["pred"].to_numpy().astype(int)]
    out["correctness"] = np.where(out["correct"].to_numpy().astype(bool), "correct", "wrong")
    return out


def context_snippets(points: pd.DataFrame, words: pd.DataFrame, texts: pd.Series,
                     width: int = SNIPPET_CHARS) -> pd.Series:
    """Per point (example_id, word_index) the text around its word: ``width`` characters each
    side, the word in «», whitespace collapsed. Unescaped (the chart escapes hover text);
    "" where the example or word is unknown."""
    spans = words.set_index(["example_id", "word_index"])[["start", "end"]]
    keys = pd.MultiIndex.from_arrays([points["example_id"].to_numpy(), points["word_index"].to_numpy()])
    found = spans.reindex(keys)
    out = []
    for ex_id, start, end in zip(points["example_id"].to_numpy(), found["start"].to_numpy(), found["end"].to_numpy()):
        text = texts.get(int(ex_id)) if not pd.isna(start) else None
        if not isinstance(text, str):
            out.append("")
            continue
        s, e = int(start), int(end)
        left = text[max(0, s - width):s]
        right = text[e:e + width]
        snippet = (("…" if s > width else "") + left + "«" + text[s:e] + "»" + right
                   + ("…" if e + width < len(text) else ""))
        out.append(" ".join(printable(snippet).split()))
    return pd.Series(out, index=points.index, name="context", dtype=object)


def text_previews(ids: pd.Series, texts: pd.Series, chars: int = 2 * SNIPPET_CHARS) -> pd.Series:
    """The first characters of each example's text (unescaped), "" where unknown."""
    out = []
    for ex_id in ids.to_numpy():
        text = texts.get(int(ex_id))
        out.append("" if not isinstance(text, str) else
                   " ".join(printable(text[:chars]).split()) + ("…" if len(text) > chars else ""))
    return pd.Series(out, index=ids.index, name="text", dtype=object)


PROGRESS_SPANS = {"model": (0.0, 0.4), "spacy": (0.4, 0.85), "t-SNE (tokens)": (0.85, 0.95),
                  "t-SNE (examples)": (0.95, 1.0)}


def progress_fraction(phase: str, done: int, total: int) -> float:
    """Overall progress in 0..1 of ``build_bundle`` from its (phase, done, total) callback."""
    lo, hi = PROGRESS_SPANS.get(phase, (0.0, 1.0))
    share = done / total if total else 1.0
    return float(min(1.0, max(0.0, lo + (hi - lo) * min(1.0, max(0.0, share)))))
