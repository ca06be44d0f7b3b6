"""The embedding map: a WebGL scatter of a 2-D projection, coloured by a categorical or
continuous column.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ltp.viz.style import LARGE_PALETTE, MAX_CONTINUOUS_LEVELS, PALETTE, class_colors, finish, require_columns


def _escaped(values: pd.Series) -> np.ndarray:
    """A column for the tooltip: numbers as they are, anything else as HTML-escaped text, a missing
    value as "" (each distinct value escaped once, so 20,000 points take milliseconds)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # missing -> -1
    shown = np.asarray([html.escape(str(u)) for u in uniques] + [""], dtype=object)
    return shown[codes]


def _hover(df: pd.DataFrame, hover_cols: Sequence[str]) -> tuple[np.ndarray | None, str]:
    """customdata array and hover template for the hover columns (text columns escaped)."""
    if not hover_cols:
        return None, "(%{x:.2f}, %{y:.2f})<extra></extra>"
    data = np.empty((len(df), len(hover_cols)), dtype=object)
    for i, c in enumerate(hover_cols):
        data[:, i] = _escaped(df[c])
    lines = "<br>".join(f"{html.escape(str(c))}: %{{customdata[{i}]}}" for i, c in enumerate(hover_cols))
    return data, lines + "<extra></extra>"


def _is_continuous(values: pd.Series, label_names: Sequence[str] | None) -> bool:
    """Floats, or integers with many distinct values, are coloured on a continuous scale."""
    if label_names is not None or pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return False
    return pd.api.types.is_float_dtype(values) or values.nunique() > MAX_CONTINUOUS_LEVELS


def embedding_scatter(df: pd.DataFrame, x: str, y: str, color: str, hover_cols: Sequence[str] = (),
                      label_names: Sequence[str] | None = None, *, continuous: bool | None = None,
                      marker_size: float = 4, title: str | None = None) -> go.Figure:
    """WebGL scatter of a 2-D projection, coloured by a column (categorical or continuous).

    Categorical colouring draws one ``Scattergl`` trace per value (class indices shown as
    ``label_names`` with ``class_colors``); continuous colouring draws a single trace with a
    colour scale. Built with vectorised pandas/numpy only, so 20,000 points stay fast.

    Args:
        df: one row per point.
        x, y: coordinate columns; color: the column to colour by.
        hover_cols: columns shown on hover (text is HTML-escaped).
        label_names: class names for an integer class-index colour column.
        continuous: force (True) or forbid (False) a colour scale; default: decided from the dtype.
    """
    require_columns(df, (x, y, color, *hover_cols), "embedding_scatter")
    custom, template = _hover(df, hover_cols)
    xs, ys = df[x].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    marker = dict(size=marker_size, opacity=0.75)
    if continuous if continuous is not None else _is_continuous(df[color], label_names):
        scale = dict(color=df[color].to_numpy(dtype=float), colorscale="Viridis", showscale=True,
                     colorbar=dict(title=str(color)))
        fig = go.Figure(go.Scattergl(x=xs, y=ys, mode="markers", marker={**marker, **scale}, name=str(color),
                                     customdata=custom, hovertemplate=template))
        return finish(fig, title)
    values = _class_labels(df[color], label_names, color)
    groups = pd.Series(np.arange(len(df))).groupby(values, sort=True, dropna=False).indices  # value -> rows
    names = [str(n) for n in label_names] if label_names is not None else None
    keys = [n for n in names if n in groups] if names is not None else list(groups)
    colors = class_colors(names) if names is not None else {}
    palette = PALETTE if len(keys) <= len(PALETTE) else LARGE_PALETTE  # e.g. 17 POS tags: no repeated colour
    traces = [go.Scattergl(x=xs[groups[k]], y=ys[groups[k]], mode="markers", name=str(k),
                           marker={**marker, "color": colors.get(str(k), palette[i % len(palette)])},
                           customdata=None if custom is None else custom[groups[k]], hovertemplate=template)
              for i, k in enumerate(keys)]
    return finish(go.Figure(traces), title, legend=dict(title=str(color), itemsizing="constant"))


def _class_labels(values: pd.Series, label_names: Sequence[str] | None, column: str) -> np.ndarray:
    """The colour column's values, with class indices replaced by names when label_names is given."""
    if label_names is None:
        return values.to_numpy()
    codes = values.to_numpy()
    in_range = len(codes) == 0 or 0 <= codes.min() <= codes.max() < len(label_names)
    if not pd.api.types.is_integer_dtype(values) or not in_range:
        raise ValueError(f"With label_names, column {column!r} must hold class indices 0..{len(label_names) - 1}; "
                         f"leave label_names out to colour by its raw values.")
    return np.asarray([str(n) for n in label_names], dtype=object)[codes]
