"""The live page's texts: a checkpoint's examples and their button labels, a data set's text as a
reader sees it, cut to the public demo's limit."""

from __future__ import annotations

import re
from pathlib import Path


DEFAULT_SENTENCE = "This is the best restaurant, and I will be returning for another meal."
EXAMPLE_LABEL_WORDS = 7  # an example's button shows its first words


def live_examples(path: Path) -> tuple[list[dict], str | None]:
    """The examples a checkpoint opens the live page on (``examples.json``, display-clean), or one
    generic sentence when it stores none; and a warning when its file is malformed (the fallback
    is used then)."""
    from ltp.export import read_examples

    try:
        found = read_examples(path)
    except ValueError as err:
        return [{"text": DEFAULT_SENTENCE, "label": None}], str(err)
    return (found or [{"text": DEFAULT_SENTENCE, "label": None}]), None


def example_label(example: dict, words: int = EXAMPLE_LABEL_WORDS) -> str:
    """A short button label for an example: its first words (… when cut), and its class if known."""
    parts = example["text"].split()
    head = " ".join(parts[:words]) + ("…" if len(parts) > words else "")
    return f"{head} ({example['label']})" if example.get("label") else head


_DETACHED_CLITIC = re.compile(r"(?<=\w) '(s|t|re|ve|ll|d|m)\b")  # AG News' "Apple #39;s" is "Apple 's" once decoded


def reader_text(raw: str) -> str:
    """A data set's text as a reader sees it: ``ltp.text.display_text`` (entities decoded, tags and
    <br /> blanked, white space folded), and a contraction whose '&' was lost in AG News joined
    again ("Apple 's" -> "Apple's")."""
    from ltp.text import display_text

    return _DETACHED_CLITIC.sub(r"'\1", display_text(raw))


def fit_text(text: str, limit: int | None) -> tuple[str, bool]:
    """``text`` cut at the last space before ``limit`` characters (None: no limit), and whether it was cut
    (a random test review can be longer than the public demo's text box allows)."""
    if limit is None or len(text) <= limit:
        return text, False
    cut = text[:limit]
    return (cut[:cut.rfind(" ")] if " " in cut else cut).rstrip(), True
