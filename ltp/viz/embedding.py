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
    codes, keys, shades = _category_codes(df, color, label_names)
    rows = [np.flatnonzero(codes == i) for i in range(len(keys))]
    traces = [go.Scattergl(x=xs[r], y=ys[r], mode="markers", name=k, marker={**marker, "color": shade},
                           customdata=None if custom is None else custom[r], hovertemplate=template)
              for k, shade, r in zip(keys, shades, rows)]
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


def _category_codes(df: pd.DataFrame, column: str, label_names: Sequence[str] | None) -> tuple[np.ndarray, list[str],
                                                                                                list[str]]:
    """(code per row, category names, a colour per category) of a categorical colour column: the
    classes present in class order (class names for class indices), else the values sorted (numbers
    as numbers, then "n/a" for a missing value; text alphabetically, "n/a" among it); class colours
    for classes, else a palette with no repeated colour (``LARGE_PALETTE`` past ``PALETTE``'s size,
    e.g. 17 POS tags)."""
    raw = pd.Series(_class_labels(df[column], label_names, column), dtype=object)
    values = raw.map(str).where(raw.notna(), "n/a")
    names = [str(n) for n in label_names] if label_names is not None else None
    if names is not None:
        keys = [n for n in names if n in set(values)]
    else:
        present, missing = raw.dropna().unique(), (["n/a"] if raw.isna().any() else [])
        if all(isinstance(v, (int, float, np.number)) for v in present):  # 2 before 10
            keys = [str(v) for v in sorted(present)] + missing
        else:
            keys = sorted({str(v) for v in present} | set(missing))
    colors = class_colors(names) if names is not None else {}
    palette = PALETTE if len(keys) <= len(PALETTE) else LARGE_PALETTE
    shades = [colors.get(k, palette[i % len(palette)]) for i, k in enumerate(keys)]
    codes = pd.Categorical(values, categories=keys).codes.astype(np.int16)
    return codes, keys, shades


def _discrete_scale(colors: Sequence[str]) -> list[list]:
    """A colour scale that paints code i (of k, with cmin -0.5 and cmax k - 0.5) in colors[i] alone."""
    k = len(colors)
    return [stop for i, c in enumerate(colors) for stop in ([i / k, c], [(i + 1) / k, c])]


def embedding_scatter_colourings(df: pd.DataFrame, x: str, y: str,
                                 colourings: dict[str, tuple[str, Sequence[str] | None]],
                                 hover_cols: Sequence[str] = (), *, marker_size: float = 4,
                                 title: str = "Embedding map") -> go.Figure:
    """One WebGL scatter with buttons that recolour it in the browser, without a server round trip.

    All points are one ``Scattergl`` trace whose colour is a category code per point; each button
    ("gold class", "part of speech", ...) restyles that code array, its colour scale, the legend
    (one marker-only entry per category: the legend names colours, a click on it hides nothing)
    and the title. Categories and colours are those ``embedding_scatter`` gives the column.

    Args:
        colourings: {button label: (categorical column, class names for a class-index column or
            None)}, in button order; the first is shown first.
        hover_cols: columns shown on hover (text is HTML-escaped), the same for every colouring.
        title: the title's stem; it reads "<title>, coloured by <button label>".
    """
    if not colourings:
        raise ValueError("colourings needs at least one {label: (column, label_names)} entry.")
    require_columns(df, (x, y, *(c for c, _ in colourings.values()), *hover_cols), "embedding_scatter_colourings")
    custom, template = _hover(df, hover_cols)
    coded = {label: _category_codes(df, column, names) for label, (column, names) in colourings.items()}
    legend = [(label, name, shade) for label, (_, keys, shades) in coded.items() for name, shade in zip(keys, shades)]
    first = next(iter(coded))

    def marker(label: str) -> dict:
        codes, _, shades = coded[label]
        return dict(color=codes, colorscale=_discrete_scale(shades), cmin=-0.5, cmax=len(shades) - 0.5)

    traces = [go.Scattergl(x=df[x].to_numpy(dtype=float), y=df[y].to_numpy(dtype=float), mode="markers",
                           marker=dict(size=marker_size, opacity=0.75, showscale=False, **marker(first)),
                           customdata=custom, hovertemplate=template, showlegend=False, name="points")]
    traces += [go.Scatter(x=[None], y=[None], mode="markers", name=name, marker=dict(size=10, color=shade),
                          visible=label == first, hoverinfo="skip") for label, name, shade in legend]
    buttons, shades = [], [shade for _, _, shade in legend]
    for label in coded:
        m = marker(label)
        restyle = {"marker.color": [m["color"], *shades], "marker.colorscale": [m["colorscale"]] * len(traces),
                   "marker.cmin": [m["cmin"]] * len(traces), "marker.cmax": [m["cmax"]] * len(traces),
                   "visible": [True, *(lab == label for lab, _, _ in legend)]}
        relayout = {"title.text": f"{title}, coloured by {label}", "legend.title.text": label}
        buttons.append(dict(label=label, method="update", args=[restyle, relayout]))
    fig = go.Figure(traces)
    legend_layout = dict(title=first, itemsizing="constant", itemclick=False, itemdoubleclick=False)
    return finish(fig, f"{title}, coloured by {first}", legend=legend_layout,
                  updatemenus=[dict(type="buttons", direction="right", buttons=buttons, active=0, showactive=True,
                                    x=0, xanchor="left", y=1.0, yanchor="bottom", pad=dict(t=4, b=4),
                                    font=dict(size=14))]).update_layout(margin_t=120)  # room for the buttons
