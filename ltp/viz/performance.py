"""Charts of a model's measured performance: confusion matrix, accuracy vs FLOPs trade-off,
the learned threshold per layer.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ltp.viz.style import PALETTE, finish, floats, require_columns


def confusion_matrix_chart(matrix: Sequence[Sequence[int]] | np.ndarray, label_names: Sequence[str], *,
                           normalize: bool = False, title: str = "Confusion matrix") -> go.Figure:
    """Annotated heat map: rows gold class, columns predicted class, counts in the cells.

    With ``normalize=True`` colours show each gold row's shares and cells read "count (share)".
    """
    m = np.asarray(matrix)
    n = len(label_names)
    if m.shape != (n, n):
        raise ValueError(f"matrix must be {n}x{n} (one row and column per class in label_names), got {m.shape}.")
    rows = m.sum(axis=1, keepdims=True)
    shares = m / np.where(rows == 0, 1, rows)
    text = [[f"{m[i, j]} ({shares[i, j]:.0%})" if normalize else str(m[i, j]) for j in range(n)] for i in range(n)]
    names = [str(x) for x in label_names]
    fig = go.Figure(go.Heatmap(z=shares if normalize else m, x=names, y=names, text=text, texttemplate="%{text}",
                               colorscale="Blues", hovertemplate="gold %{y}, predicted %{x}: %{text}<extra></extra>"))
    fig.update_xaxes(title="predicted", type="category")
    fig.update_yaxes(title="gold", type="category", autorange="reversed")
    return finish(fig, title)


def tradeoff_chart(points: pd.DataFrame, *, title: str = "Accuracy vs FLOPs reduction") -> go.Figure:
    """Accuracy against FLOPs reduction, one line of points per method (e.g. LTP vs top-k).

    Args:
        points: DataFrame[method, accuracy, flops_reduction, label]; label (e.g. the
            threshold or k) shows on hover.
    """
    require_columns(points, ("method", "accuracy", "flops_reduction", "label"), "tradeoff_chart")
    fig = go.Figure()
    for i, (method, part) in enumerate(points.groupby("method", sort=False)):
        part = part.sort_values("flops_reduction")
        fig.add_trace(go.Scatter(x=part["flops_reduction"].to_numpy(), y=part["accuracy"].to_numpy(),
                                 mode="lines+markers", name=str(method), marker_color=PALETTE[i % len(PALETTE)],
                                 text=part["label"].astype(str).map(html.escape).to_numpy(),
                                 hovertemplate="%{text}<br>%{x:.2f}x fewer FLOPs, accuracy %{y:.2%}<extra>"
                                               + html.escape(str(method)) + "</extra>"))
    fig.update_xaxes(title="FLOPs reduction (x)")
    fig.update_yaxes(title="accuracy", tickformat=".0%")
    return finish(fig, title)


def thresholds_chart(thresholds: Sequence[float | None], *, title: str = "Learned threshold per layer") -> go.Figure:
    """Bars of the pruning threshold of each layer 1..L (None or 0 where a layer does not prune)."""
    if len(thresholds) == 0:
        raise ValueError("thresholds must list one value per layer (None where the layer does not prune).")
    y = np.nan_to_num(floats(thresholds), nan=0.0)
    text = ["none" if t is None else f"{float(t):.3g}" for t in thresholds]
    x = list(range(1, len(thresholds) + 1))
    fig = go.Figure(go.Bar(x=x, y=y, text=text, textposition="outside", marker_color=PALETTE[0],
                           hovertemplate="layer %{x}: %{text}<extra></extra>"))
    fig.update_xaxes(title="layer", dtick=1)
    fig.update_yaxes(title="threshold")
    return finish(fig, title)
