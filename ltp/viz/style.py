"""The look shared by every chart: palettes (a class keeps one colour everywhere; retained and
pruned words one colour each), the plotly template, and the small helpers charts share."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from ltp.analysis.stats import CATEGORIES, STATUSES

PALETTE = qualitative.Plotly  # qualitative palette for classes and methods, cycled
LARGE_PALETTE = qualitative.Dark24  # for a categorical colour column with more values than PALETTE has
CATEGORY_PALETTE = qualitative.D3  # word categories, in stats.CATEGORIES order
STATUS_COLORS = {STATUSES[0]: "#2E86AB", STATUSES[1]: "#C0C0C0"}  # retained / pruned
PRUNED_OVERLAY = "rgba(90, 90, 90, 0.55)"  # shade over pruned cells of the score heat map
TEMPLATE = "plotly_white"
PRUNED_STYLE = "opacity:.35;text-decoration:line-through"  # pruned pieces in sentence.layer_text_html
UNSEEN_STYLE = "color:#999;font-style:italic"  # text after the last token (truncated input)
MAX_CONTINUOUS_LEVELS = 20  # an integer colour column with more distinct values is continuous
FACET_COLS = 4  # class panels per row in faceted charts


def class_colors(label_names: Sequence[str]) -> dict[str, str]:
    """One fixed colour per class name (palette order = class index), cycling past 10 classes."""
    if isinstance(label_names, str) or not isinstance(label_names, Sequence):
        raise ValueError("label_names must be a list of class names, e.g. ['World', 'Sports'].")
    return {str(name): PALETTE[i % len(PALETTE)] for i, name in enumerate(label_names)}


def category_colors() -> dict[str, str]:
    """One fixed colour per word category of ``stats.CATEGORIES``."""
    return {name: CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i, name in enumerate(CATEGORIES)}


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the columns a chart needs (``what``: the chart's name)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what} needs a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; build the table with ltp.analysis.stats.")


def finish(fig: go.Figure, title: str | None, **layout) -> go.Figure:
    """Shared layout: template, title and compact margins."""
    fig.update_layout(template=TEMPLATE, title=title, margin=dict(l=60, r=20, t=60 if title else 30, b=50),
                      **layout)
    return fig


def class_name(value: object, label_names: Sequence[str] | None) -> str:
    """A class index shown as its name when names are known ("all" and names pass through)."""
    if label_names is not None and isinstance(value, (int, np.integer)) and 0 <= int(value) < len(label_names):
        return str(label_names[int(value)])
    return str(value)


def floats(values: Sequence[float | None]) -> np.ndarray:
    """A float array with None as NaN."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
