"""Charts of a model's measured performance: confusion matrix, accuracy vs FLOPs trade-off,
the learned threshold per layer.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ltp.viz.style import (FONT_SIZE, METHOD_COLORS, SHIPPED_SYMBOL, STATUS_COLORS, finish, floats, method_color,
                           require_columns)


def confusion_matrix_chart(matrix: Sequence[Sequence[int]] | np.ndarray, label_names: Sequence[str], *,
                           normalize: bool = False, title: str = "Confusion matrix") -> go.Figure:
    """Annotated heat map: rows gold class, columns predicted class, counts in the cells.

    With ``normalize=True`` colours and cells show each gold row's shares ("94%"), the counts on
    hover, so the cells stay readable at projector text size.
    """
    m = np.asarray(matrix)
    n = len(label_names)
    if m.shape != (n, n):
        raise ValueError(f"matrix must be {n}x{n} (one row and column per class in label_names), got {m.shape}.")
    rows = m.sum(axis=1, keepdims=True)
    shares = m / np.where(rows == 0, 1, rows)
    text = [[f"{shares[i, j]:.0%}" if normalize else str(m[i, j]) for j in range(n)] for i in range(n)]
    names = [str(x) for x in label_names]
    counts = [[f"{m[i, j]:,} texts ({shares[i, j]:.1%} of the row)" for j in range(n)] for i in range(n)]
    fig = go.Figure(go.Heatmap(z=shares if normalize else m, x=names, y=names, text=text, texttemplate="%{text}",
                               customdata=counts, textfont=dict(size=FONT_SIZE), colorscale="Blues",
                               colorbar=dict(title="share of the row" if normalize else "texts", tickformat=".0%"
                                             if normalize else None),
                               hovertemplate="gold %{y}, predicted %{x}: %{customdata}<extra></extra>"))
    fig.update_xaxes(title="predicted class", type="category")
    fig.update_yaxes(title="gold class (true)", type="category", autorange="reversed")
    return finish(fig, title, height=max(420, 120 + 70 * n))


def tradeoff_chart(points: pd.DataFrame, *, shipped: dict | None = None, flops_count: str | None = None,
                   title: str = "Accuracy vs FLOPs reduction") -> go.Figure:
    """Accuracy against FLOPs reduction, one line of points per method (e.g. LTP vs top-k), and the
    shipped checkpoint as its own star.

    Args:
        points: DataFrame[method, accuracy, flops_reduction, label]; label (e.g. the
            threshold or k) shows on hover.
        shipped: {"accuracy", "flops_reduction", "label"} of the checkpoint itself (a star, named
            by its label, with ``note`` on hover when given); None: not drawn.
        flops_count: which FLOPs count the x axis uses ("honest", "all tokens"), for its title.
    """
    require_columns(points, ("method", "accuracy", "flops_reduction", "label"), "tradeoff_chart")
    fig = go.Figure()
    for i, (method, part) in enumerate(points.groupby("method", sort=False)):
        part = part.sort_values("flops_reduction")
        color = method_color(str(method), i)
        fig.add_trace(go.Scatter(x=part["flops_reduction"].to_numpy(), y=part["accuracy"].to_numpy(),
                                 mode="lines+markers", name=html.escape(str(method)), marker=dict(color=color, size=10),
                                 line=dict(color=color, width=3),
                                 text=part["label"].astype(str).map(html.escape).to_numpy(),
                                 hovertemplate="%{text}<br>%{x:.2f}x fewer FLOPs, accuracy %{y:.2%}<extra>"
                                               + html.escape(str(method)) + "</extra>"))
    if shipped is not None:
        label = html.escape(str(shipped.get("label", "this model")))
        note = html.escape(str(shipped.get("note", "")))
        fig.add_trace(go.Scatter(x=[float(shipped["flops_reduction"])], y=[float(shipped["accuracy"])],
                                 mode="markers+text", name=label, text=[label], textposition="top center",
                                 textfont=dict(color=METHOD_COLORS["LTP"]),
                                 marker=dict(symbol=SHIPPED_SYMBOL, size=22, color=METHOD_COLORS["LTP"],
                                             line=dict(color="#000000", width=1.5)),
                                 hovertemplate=label + "<br>%{x:.2f}x fewer FLOPs, accuracy %{y:.2%}"
                                               + (f"<br>{note}" if note else "") + "<extra></extra>"))
    fig.update_xaxes(title="FLOPs reduction (x" + (f", {flops_count} count)" if flops_count else ")"))
    fig.update_yaxes(title="accuracy", tickformat=".0%")
    return finish(fig, title)


def thresholds_chart(thresholds: Sequence[float | None], *, title: str = "Learned threshold per layer") -> go.Figure:
    """Bars of the pruning threshold of each layer 1..L. A layer whose threshold is None, zero or
    negative never prunes (every importance score is positive): its bar is grey and says so."""
    if len(thresholds) == 0:
        raise ValueError("thresholds must list one value per layer (None where the layer does not prune).")
    y = np.nan_to_num(floats(thresholds), nan=0.0)
    prunes = [t is not None and float(t) > 0 for t in thresholds]
    text = [f"{float(t):.3g}" if p else ("never prunes" if t is None or float(t) == 0 else f"{float(t):.3g}: never prunes")
            for t, p in zip(thresholds, prunes)]
    x = list(range(1, len(thresholds) + 1))
    colors = [METHOD_COLORS["LTP"] if p else STATUS_COLORS["pruned"] for p in prunes]
    fig = go.Figure(go.Bar(x=x, y=y, text=text, textposition="outside", marker_color=colors, cliponaxis=False,
                           hovertemplate="layer %{x}: %{text}<extra></extra>"))
    fig.update_xaxes(title="layer", dtick=1)
    fig.update_yaxes(title="threshold (importance score)", zeroline=True, zerolinecolor="#666666")
    return finish(fig, title)
