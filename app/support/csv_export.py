"""A page table as a CSV download: its file name and the filters that made it."""

from __future__ import annotations

import re

import pandas as pd


def file_slug(*parts: object) -> str:
    """A download's file name from its parts ("retained words", "Sci/Tech", "layer 5" ->
    "retained-words_Sci-Tech_layer-5"): letters, digits, "-" and "_" only."""
    words = [re.sub(r"[^0-9A-Za-z]+", "-", str(p)).strip("-") for p in parts]
    return "_".join(w for w in words if w) or "table"


def with_filters(df: pd.DataFrame, filters: dict) -> pd.DataFrame:
    """A table for download with the filters that made it as leading constant columns, so a CSV
    says where it came from on its own."""
    out = df.copy()
    for i, (name, value) in enumerate(filters.items()):
        out.insert(i, name, value)
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV bytes (no index), for a download button."""
    return df.to_csv(index=False).encode("utf-8")
