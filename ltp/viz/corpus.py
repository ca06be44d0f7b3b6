"""Charts over a corpus (the analysis bundle's tables): word frequencies and clouds, parts of
speech, retention by category and layer, domain terms, one word's depth.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from PIL import Image, ImageDraw, ImageFont

from ltp.analysis.stats import CATEGORIES, POS_ORDER, STATUSES, pos_label
from ltp.viz.style import (CATEGORY_SYMBOLS, FACET_COLS, PALETTE, STATUS_COLORS, category_colors, class_name, finish,
                           floats, require_columns)


def word_frequency_chart(freq_df: pd.DataFrame, *, title: str | None = None,
                         color: str = STATUS_COLORS["retained"]) -> go.Figure:
    """Horizontal bars of word counts (from ``stats.word_frequencies``), most frequent at the top."""
    require_columns(freq_df, ("word", "count"), "word_frequency_chart")
    share = freq_df["share"] if "share" in freq_df.columns else pd.Series(np.nan, index=freq_df.index)
    fig = go.Figure(go.Bar(x=freq_df["count"].to_numpy(), y=freq_df["word"].astype(str).to_numpy(), orientation="h",
                           marker_color=color, customdata=share.to_numpy(),
                           hovertemplate="%{y}: %{x} (%{customdata:.1%})<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category", title="word")
    fig.update_xaxes(title="occurrences")
    return finish(fig, title, height=max(300, 26 * len(freq_df) + 120))


def _facets(n: int, titles: list[str]) -> go.Figure:
    """A subplot grid with one panel per class (FACET_COLS per row), sharing the y axis."""
    cols = max(1, min(n, FACET_COLS))
    rows = max(1, math.ceil(n / cols))
    return make_subplots(rows=rows, cols=cols, subplot_titles=titles, shared_yaxes=True,
                         horizontal_spacing=0.04, vertical_spacing=0.12)


def _cell(k: int) -> dict[str, int]:
    """row/col keyword arguments of the k-th panel of ``_facets``."""
    return {"row": k // FACET_COLS + 1, "col": k % FACET_COLS + 1}


def pos_chart(pos_df: pd.DataFrame, layer: int, label_names: Sequence[str] | None = None, *,
              title: str | None = None) -> go.Figure:
    """Per class, grouped horizontal bars of the POS mix of retained vs pruned words at one layer.

    Tags read as "ADP (preposition)" and come in family order (nouns, verbs, modifiers, function
    words, the rest: ``stats.POS_ORDER``), the same rows in every panel.

    Args:
        pos_df: ``stats.pos_distribution`` (one layer) or ``pos_distribution_all_layers``
            (filtered to ``layer`` here).
        layer: the layer shown (used in the title and to filter an all-layers table).

    Returns:
        One panel per class, each with a "retained" and a "pruned" Bar trace (share on x).
    """
    require_columns(pos_df, ("class", "pos", "status", "count", "share"), "pos_chart")
    df = pos_df[pos_df["layer"] == layer] if "layer" in pos_df.columns else pos_df
    if df.empty:
        raise ValueError(f"No POS rows for layer {layer}; pick a layer present in the table.")
    classes = list(dict.fromkeys(df["class"].tolist()))
    present = set(df["pos"].astype(str))
    tags = [t for t in POS_ORDER if t in present] + sorted(present - set(POS_ORDER))
    labels = [pos_label(t) for t in tags]
    fig = _facets(len(classes), [class_name(c, label_names) for c in classes])
    for k, klass in enumerate(classes):
        for status in STATUSES:
            part = df[(df["class"] == klass) & (df["status"] == status)].set_index("pos").reindex(tags)
            fig.add_trace(go.Bar(y=labels, x=part["share"].to_numpy(), name=status, orientation="h",
                                 legendgroup=status, showlegend=k == 0, marker_color=STATUS_COLORS[status],
                                 customdata=part["count"].fillna(0).astype(int).to_numpy(),
                                 hovertemplate="%{y}: %{x:.1%} (%{customdata} words)<extra>" + status + "</extra>"),
                          **_cell(k))
    rows = math.ceil(len(classes) / FACET_COLS)
    fig.update_xaxes(tickformat=".0%", title="share of the words")
    # every tag labelled, in the same order top to bottom in every panel
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels[::-1], dtick=1)
    fig.update_yaxes(title="part of speech", col=1)
    return finish(fig, title or f"Part of speech of retained vs pruned words at layer {layer}", barmode="group",
                  height=140 + (34 * len(tags) + 60) * rows, legend=dict(orientation="h", y=1.02, yanchor="bottom",
                                                                        x=1, xanchor="right"))


def category_retention_chart(df: pd.DataFrame, label_names: Sequence[str] | None = None, *,
                             title: str = "Share of words alive per layer, by category") -> go.Figure:
    """Lines of retention rate over layers, one per word category; one panel per class if present.

    Args:
        df: ``stats.category_retention`` output (class column "all" or class indices).

    Returns:
        One Scatter trace per (class, category) present; categories keep their colour.
    """
    require_columns(df, ("layer", "class", "category", "rate"), "category_retention_chart")
    classes = list(dict.fromkeys(df["class"].tolist()))
    colors = category_colors()
    fig = _facets(len(classes), [class_name(c, label_names) for c in classes] if len(classes) > 1 else [""])
    shown: set[str] = set()
    for k, klass in enumerate(classes):
        part = df[df["class"] == klass]
        for category in [c for c in CATEGORIES if c in set(part["category"])]:
            line = part[part["category"] == category].sort_values("layer")
            fig.add_trace(go.Scatter(x=line["layer"].to_numpy(), y=line["rate"].to_numpy(), mode="lines+markers",
                                     name=category, legendgroup=category, showlegend=category not in shown,
                                     line=dict(color=colors[category], width=3),
                                     marker=dict(symbol=CATEGORY_SYMBOLS[category], size=10, color=colors[category]),
                                     hovertemplate="layer %{x}: %{y:.1%}<extra>" + category + "</extra>"),
                          **_cell(k))
            shown.add(category)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    fig.update_yaxes(title="share alive", col=1)
    fig.update_xaxes(dtick=1, title="layer")
    rows = math.ceil(len(classes) / FACET_COLS)
    return finish(fig, title, height=max(420, 120 + 340 * rows))


def domain_retention_chart(test_df: pd.DataFrame, *,
                           title: str = "Accuracy when a domain term of the gold class is kept vs pruned") -> go.Figure:
    """Bars of acc_kept vs acc_pruned per class (``stats.domain_retention_test``), p-value on top."""
    require_columns(test_df, ("class", "acc_kept", "acc_pruned", "n_kept", "n_pruned", "test", "p_value"),
             "domain_retention_chart")
    x = test_df["class"].astype(str).to_numpy()
    fig = go.Figure()
    for i, group in enumerate(("kept", "pruned")):
        fig.add_trace(go.Bar(x=x, y=test_df[f"acc_{group}"].to_numpy(dtype=float), name=f"term {group}",
                             marker_color=STATUS_COLORS[STATUSES[i]], customdata=test_df[f"n_{group}"].to_numpy(),
                             hovertemplate="%{x}: accuracy %{y:.1%} over %{customdata} examples<extra></extra>"))
    tops = test_df[["acc_kept", "acc_pruned"]].astype(float).max(axis=1).fillna(0.0)
    for name, top, p, test in zip(x, tops, test_df["p_value"], test_df["test"]):
        label = "no test" if pd.isna(p) else f"p = {p:.3g}<br>({test})"  # two short lines: no overlap
        fig.add_annotation(x=name, y=top + 0.03, text=label, showarrow=False, yanchor="bottom", font=dict(size=14))
    fig.update_xaxes(title="gold class")
    fig.update_yaxes(range=[0, 1.25], tickformat=".0%", title="accuracy", tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0])
    return finish(fig, title, barmode="group")


def retention_curves_chart(curves: Mapping[str, Sequence[float]], *, colors: Mapping[str, str] | None = None,
                           title: str = "Share alive per layer") -> go.Figure:
    """Lines of the share of some words alive at each layer 1..L, one line per group
    (``colors``: {group: colour}, e.g. a class's own colour; others cycle through PALETTE)."""
    lengths = {len(v) for v in curves.values()}
    if not curves or 0 in lengths or len(lengths) != 1:
        raise ValueError("curves must map group names to equally long lists of shares per layer (1..L).")
    n_layers = lengths.pop()
    fig = go.Figure()
    for i, (name, values) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=list(range(1, n_layers + 1)), y=floats(values), mode="lines+markers",
                                 name=html.escape(str(name)), marker=dict(size=9),
                                 line=dict(color=(colors or {}).get(name, PALETTE[i % len(PALETTE)]), width=3),
                                 hovertemplate="layer %{x}: %{y:.1%}<extra>%{fullData.name}</extra>"))
    fig.update_xaxes(title="layer", dtick=1)
    fig.update_yaxes(title="share alive", range=[0, 1.05], tickformat=".0%")
    return finish(fig, title)


def word_depth_chart(survival: Mapping, label_names: Sequence[str] | None = None, *,
                     title: str | None = None) -> go.Figure:
    """Bars of how many occurrences of one word reach each layer as their deepest
    (``stats.word_survival`` output); the title names the word and its mean depth."""
    if "depth_histogram" not in survival or "word" not in survival:
        raise ValueError("survival must be the dict returned by ltp.analysis.stats.word_survival.")
    hist = {int(k): int(v) for k, v in survival["depth_histogram"].items()}
    x = sorted(hist)
    fig = go.Figure(go.Bar(x=x, y=[hist[k] for k in x], marker_color=STATUS_COLORS["retained"],
                           hovertemplate="deepest layer %{x}: %{y} occurrences<extra></extra>"))
    fig.update_xaxes(title="deepest layer reached", dtick=1)
    fig.update_yaxes(title="occurrences", rangemode="tozero")
    mean = survival.get("mean_depth")
    default = f"“{html.escape(str(survival['word']))}”: {survival.get('occurrences', 0)} occurrences" + (
        f", mean depth {mean:.2f} of {len(x)}" if mean is not None else "")
    return finish(fig, title or default)


def _blank_image(width: int, height: int, message: str, background: str) -> Image.Image:
    """A plain image with a short centred message (for an empty word cloud)."""
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), message, font=font)
    draw.text(((width - (right - left)) / 2, (height - (bottom - top)) / 2), message, fill="#888888", font=font)
    return image


def word_cloud_image(freqs: Mapping[str, int], width: int = 800, height: int = 400, colormap: str | None = None, *,
                     color: str | None = None, background: str = "white",
                     message: str = "No words to show") -> Image.Image:
    """A word cloud (PIL image of width x height) sized by frequency; blank with a message if empty.

    Args:
        freqs: {word: count}, e.g. dict(zip(freq_df.word, freq_df["count"])). Non-positive
            counts are ignored.
        colormap: matplotlib colormap name (default: wordcloud's own).
        color: one colour for every word (e.g. ``STATUS_COLORS["retained"]``); wins over colormap.
    """
    if not _positive_int(width) or not _positive_int(height):
        raise ValueError(f"width and height must be positive ints in pixels, got {width!r} x {height!r}.")
    words = {str(w): float(c) for w, c in dict(freqs).items() if str(w).strip() and c and c > 0}
    if not words:
        return _blank_image(width, height, message, background)
    from wordcloud import WordCloud  # imported lazily: it loads matplotlib

    cloud = WordCloud(width=width, height=height, background_color=background, colormap=colormap, random_state=0,
                      color_func=(lambda *args, **kwargs: color) if color else None)
    return cloud.generate_from_frequencies(words).to_image()


def _positive_int(value: object) -> bool:
    """True for an int (not bool) above zero."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0
