"""Chart builders for the LTP analyses: plain data in, a plotly figure, image or HTML out.

Nothing here computes statistics (see ``ltp.analysis.stats``) or imports Streamlit, so the same
figures serve the app, notebooks and exported reports. Classes keep one colour everywhere
(``class_colors``); retained words are drawn in one colour and pruned words in another.
User text shown as HTML (hover labels, the layer-by-layer text view) is escaped first.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots
from PIL import Image, ImageDraw, ImageFont

from ltp.analysis.stats import CATEGORIES, STATUSES

PALETTE = qualitative.Plotly  # qualitative palette for classes and methods, cycled
LARGE_PALETTE = qualitative.Dark24  # for a categorical colour column with more values than PALETTE has
CATEGORY_PALETTE = qualitative.D3  # word categories, in stats.CATEGORIES order
STATUS_COLORS = {STATUSES[0]: "#2E86AB", STATUSES[1]: "#C0C0C0"}  # retained / pruned
PRUNED_OVERLAY = "rgba(90, 90, 90, 0.55)"  # shade over pruned cells of the score heat map
TEMPLATE = "plotly_white"
PRUNED_STYLE = "opacity:.35;text-decoration:line-through"  # pruned pieces in layer_text_html
UNSEEN_STYLE = "color:#999;font-style:italic"  # text after the last token (truncated input)
MAX_CONTINUOUS_LEVELS = 20  # an integer colour column with more distinct values is continuous
FACET_COLS = 4  # class panels per row in faceted charts


# --------------------------------------------------------------------------- helpers


def class_colors(label_names: Sequence[str]) -> dict[str, str]:
    """One fixed colour per class name (palette order = class index), cycling past 10 classes."""
    if isinstance(label_names, str) or not isinstance(label_names, Sequence):
        raise ValueError("label_names must be a list of class names, e.g. ['World', 'Sports'].")
    return {str(name): PALETTE[i % len(PALETTE)] for i, name in enumerate(label_names)}


def category_colors() -> dict[str, str]:
    """One fixed colour per word category of ``stats.CATEGORIES``."""
    return {name: CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i, name in enumerate(CATEGORIES)}


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the columns a chart needs."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what} needs a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; build the table with ltp.analysis.stats.")


def _finish(fig: go.Figure, title: str | None, **layout) -> go.Figure:
    """Shared layout: template, title and compact margins."""
    fig.update_layout(template=TEMPLATE, title=title, margin=dict(l=60, r=20, t=60 if title else 30, b=50),
                      **layout)
    return fig


def _class_name(value: object, label_names: Sequence[str] | None) -> str:
    """A class index shown as its name when names are known ("all" and names pass through)."""
    if label_names is not None and isinstance(value, (int, np.integer)) and 0 <= int(value) < len(label_names):
        return str(label_names[int(value)])
    return str(value)


def _floats(values: Sequence[float | None]) -> np.ndarray:
    """A float array with None as NaN."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


# --------------------------------------------------------------------------- per-example charts


def tokens_alive_chart(counts: Sequence[float] | Mapping[str, Sequence[float]], *,
                       input_tokens: float | None = None, title: str = "Tokens alive per layer") -> go.Figure:
    """Line + markers of tokens alive after each layer 1..L.

    Args:
        counts: tokens alive per layer (one example, or per-layer means), or {series name:
            counts} to compare several runs (one line each).
        input_tokens: if given, a leading point at x = 0 labelled "input".
    """
    series = dict(counts) if isinstance(counts, Mapping) else {"tokens alive": counts}
    lengths = {len(v) for v in series.values()}
    if not series or 0 in lengths or len(lengths) != 1:
        raise ValueError("counts must be a non-empty list of tokens alive per layer (or several of equal length).")
    n_layers = lengths.pop()
    x = list(range(0 if input_tokens is not None else 1, n_layers + 1))
    fig = go.Figure()
    for i, (name, ys) in enumerate(series.items()):
        y = ([float(input_tokens)] if input_tokens is not None else []) + [float(v) for v in ys]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=str(name),
                                 line=dict(color=PALETTE[i % len(PALETTE)]),
                                 hovertemplate="layer %{x}: %{y:.1f} tokens<extra>%{fullData.name}</extra>"))
    ticks = ["input" if v == 0 else str(v) for v in x]
    fig.update_xaxes(title="layer", tickmode="array", tickvals=x, ticktext=ticks)
    fig.update_yaxes(title="tokens alive", rangemode="tozero")
    return _finish(fig, title, showlegend=len(series) > 1)


def _check_layer_grid(tokens: Sequence[str], scores, thresholds, alive) -> tuple[int, int]:
    """(L, T) after checking that scores and alive are L x T and thresholds has L entries."""
    n_layers, n_tokens = len(scores), len(tokens)
    if n_layers == 0 or len(thresholds) != n_layers or len(alive) != n_layers:
        raise ValueError(f"scores, thresholds and alive need one entry per layer; got {len(scores)}, "
                         f"{len(thresholds)} and {len(alive)}.")
    if any(len(row) != n_tokens for row in scores) or any(len(row) != n_tokens for row in alive):
        raise ValueError(f"every row of scores and alive needs one value per token ({n_tokens} tokens).")
    return n_layers, n_tokens


def score_heatmap(tokens: Sequence[str], scores: Sequence[Sequence[float | None]],
                  thresholds: Sequence[float | None], alive: Sequence[Sequence[bool]], *,
                  title: str = "Importance score per layer") -> go.Figure:
    """Heat map of token importance (layers x tokens) with pruned cells shaded grey.

    Args:
        tokens: the T token strings (x axis, in order; repeats are fine).
        scores: L x T importance scores; None/NaN where a token was already gone.
        thresholds: per layer the pruning threshold, None where the layer does not prune.
        alive: L x T, True where the token is alive after that layer.

    Returns:
        Figure with two Heatmap traces: the scores, and a grey overlay on pruned cells. Hover
        shows token, layer, score, threshold and status on both.
    """
    n_layers, n_tokens = _check_layer_grid(tokens, scores, thresholds, alive)
    z = np.array([_floats(row) for row in scores]).reshape(n_layers, n_tokens)
    alive_a = np.array(alive, dtype=bool).reshape(n_layers, n_tokens)
    labels = [html.escape(str(t)) for t in tokens]
    thr = ["none" if t is None else f"{float(t):.4g}" for t in thresholds]
    text = [[f"{labels[j]}<br>layer {i + 1}<br>score {'—' if np.isnan(z[i, j]) else f'{z[i, j]:.4g}'}"
             f"<br>threshold {thr[i]}<br>{'alive' if alive_a[i, j] else 'pruned'}" for j in range(n_tokens)]
            for i in range(n_layers)]
    x, y = list(range(n_tokens)), list(range(1, n_layers + 1))
    hover = "%{text}<extra></extra>"
    fig = go.Figure([
        go.Heatmap(z=z, x=x, y=y, text=text, hovertemplate=hover, colorscale="Viridis", name="score",
                   colorbar=dict(title="score")),
        go.Heatmap(z=np.where(alive_a, np.nan, 1.0), x=x, y=y, text=text, hovertemplate=hover, name="pruned",
                   colorscale=[[0, PRUNED_OVERLAY], [1, PRUNED_OVERLAY]], showscale=False),
    ])
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=labels, tickangle=-60, title="token")
    fig.update_yaxes(tickmode="array", tickvals=y, autorange="reversed", title="layer")
    return _finish(fig, title)


def probabilities_chart(probs_a: Mapping[str, float], probs_b: Mapping[str, float] | None = None,
                        names: tuple[str, str] = ("pruned", "unpruned"), *,
                        title: str = "Class probabilities") -> go.Figure:
    """Grouped bars of class probabilities of one run, or of two runs side by side."""
    if not probs_a:
        raise ValueError("probs_a must map each class name to its probability, e.g. {'neg': 0.2, 'pos': 0.8}.")
    if probs_b is not None and list(probs_b) != list(probs_a):
        raise ValueError(f"probs_b must have the same classes in the same order as probs_a ({list(probs_a)}).")
    classes = [str(c) for c in probs_a]
    runs = [(names[0], probs_a)] + ([(names[1], probs_b)] if probs_b is not None else [])
    fig = go.Figure([go.Bar(x=classes, y=[float(v) for v in probs.values()], name=str(name),
                            marker_color=PALETTE[i], text=[f"{float(v):.3f}" for v in probs.values()],
                            textposition="outside") for i, (name, probs) in enumerate(runs)])
    fig.update_yaxes(range=[0, 1.1], title="probability")
    return _finish(fig, title, barmode="group")


# --------------------------------------------------------------------------- corpus charts


def word_frequency_chart(freq_df: pd.DataFrame, *, title: str | None = None,
                         color: str = STATUS_COLORS["retained"]) -> go.Figure:
    """Horizontal bars of word counts (from ``stats.word_frequencies``), most frequent at the top."""
    _require(freq_df, ("word", "count"), "word_frequency_chart")
    share = freq_df["share"] if "share" in freq_df.columns else pd.Series(np.nan, index=freq_df.index)
    fig = go.Figure(go.Bar(x=freq_df["count"].to_numpy(), y=freq_df["word"].astype(str).to_numpy(), orientation="h",
                           marker_color=color, customdata=share.to_numpy(),
                           hovertemplate="%{y}: %{x} (%{customdata:.1%})<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title="count")
    return _finish(fig, title, height=max(300, 22 * len(freq_df) + 100))


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
    """Per class, grouped bars of the POS mix of retained vs pruned words at one layer.

    Args:
        pos_df: ``stats.pos_distribution`` (one layer) or ``pos_distribution_all_layers``
            (filtered to ``layer`` here).
        layer: the layer shown (used in the title and to filter an all-layers table).

    Returns:
        One panel per class, each with a "retained" and a "pruned" Bar trace (share on y).
    """
    _require(pos_df, ("class", "pos", "status", "count", "share"), "pos_chart")
    df = pos_df[pos_df["layer"] == layer] if "layer" in pos_df.columns else pos_df
    if df.empty:
        raise ValueError(f"No POS rows for layer {layer}; pick a layer present in the table.")
    classes = list(dict.fromkeys(df["class"].tolist()))
    fig = _facets(len(classes), [_class_name(c, label_names) for c in classes])
    for k, klass in enumerate(classes):
        for status in STATUSES:
            part = df[(df["class"] == klass) & (df["status"] == status)]
            fig.add_trace(go.Bar(x=part["pos"].to_numpy(), y=part["share"].to_numpy(), name=status,
                                 legendgroup=status, showlegend=k == 0, marker_color=STATUS_COLORS[status],
                                 customdata=part["count"].to_numpy(),
                                 hovertemplate="%{x}: %{y:.1%} (%{customdata} words)<extra>" + status + "</extra>"),
                          **_cell(k))
    fig.update_yaxes(tickformat=".0%")
    # every POS tag labelled (plotly would skip every other one in a narrow panel)
    fig.update_xaxes(type="category", tickmode="linear", dtick=1, tickangle=-90, tickfont=dict(size=10))
    rows = math.ceil(len(classes) / FACET_COLS)
    return _finish(fig, title or f"Part of speech of retained vs pruned words at layer {layer}", barmode="group",
                   height=120 + 320 * rows)


def category_retention_chart(df: pd.DataFrame, label_names: Sequence[str] | None = None, *,
                             title: str = "Share of words alive per layer, by category") -> go.Figure:
    """Lines of retention rate over layers, one per word category; one panel per class if present.

    Args:
        df: ``stats.category_retention`` output (class column "all" or class indices).

    Returns:
        One Scatter trace per (class, category) present; categories keep their colour.
    """
    _require(df, ("layer", "class", "category", "rate"), "category_retention_chart")
    classes = list(dict.fromkeys(df["class"].tolist()))
    colors = category_colors()
    fig = _facets(len(classes), [_class_name(c, label_names) for c in classes] if len(classes) > 1 else [""])
    shown: set[str] = set()
    for k, klass in enumerate(classes):
        part = df[df["class"] == klass]
        for category in [c for c in CATEGORIES if c in set(part["category"])]:
            line = part[part["category"] == category].sort_values("layer")
            fig.add_trace(go.Scatter(x=line["layer"].to_numpy(), y=line["rate"].to_numpy(), mode="lines+markers",
                                     name=category, legendgroup=category, showlegend=category not in shown,
                                     line=dict(color=colors[category]),
                                     hovertemplate="layer %{x}: %{y:.1%}<extra>" + category + "</extra>"),
                          **_cell(k))
            shown.add(category)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(dtick=1)
    return _finish(fig, title)


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
    return _finish(fig, title)


def tradeoff_chart(points: pd.DataFrame, *, title: str = "Accuracy vs FLOPs reduction") -> go.Figure:
    """Accuracy against FLOPs reduction, one line of points per method (e.g. LTP vs top-k).

    Args:
        points: DataFrame[method, accuracy, flops_reduction, label]; label (e.g. the
            threshold or k) shows on hover.
    """
    _require(points, ("method", "accuracy", "flops_reduction", "label"), "tradeoff_chart")
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
    return _finish(fig, title)


def thresholds_chart(thresholds: Sequence[float | None], *, title: str = "Learned threshold per layer") -> go.Figure:
    """Bars of the pruning threshold of each layer 1..L (None or 0 where a layer does not prune)."""
    if len(thresholds) == 0:
        raise ValueError("thresholds must list one value per layer (None where the layer does not prune).")
    y = np.nan_to_num(_floats(thresholds), nan=0.0)
    text = ["none" if t is None else f"{float(t):.3g}" for t in thresholds]
    x = list(range(1, len(thresholds) + 1))
    fig = go.Figure(go.Bar(x=x, y=y, text=text, textposition="outside", marker_color=PALETTE[0],
                           hovertemplate="layer %{x}: %{text}<extra></extra>"))
    fig.update_xaxes(title="layer", dtick=1)
    fig.update_yaxes(title="threshold")
    return _finish(fig, title)


def domain_retention_chart(test_df: pd.DataFrame, *,
                           title: str = "Accuracy when a domain term of the gold class is kept vs pruned") -> go.Figure:
    """Bars of acc_kept vs acc_pruned per class (``stats.domain_retention_test``), p-value on top."""
    _require(test_df, ("class", "acc_kept", "acc_pruned", "n_kept", "n_pruned", "test", "p_value"),
             "domain_retention_chart")
    x = test_df["class"].astype(str).to_numpy()
    fig = go.Figure()
    for i, group in enumerate(("kept", "pruned")):
        fig.add_trace(go.Bar(x=x, y=test_df[f"acc_{group}"].to_numpy(dtype=float), name=f"term {group}",
                             marker_color=STATUS_COLORS[STATUSES[i]], customdata=test_df[f"n_{group}"].to_numpy(),
                             hovertemplate="%{x}: accuracy %{y:.1%} over %{customdata} examples<extra></extra>"))
    tops = test_df[["acc_kept", "acc_pruned"]].astype(float).max(axis=1).fillna(0.0)
    for name, top, p, test in zip(x, tops, test_df["p_value"], test_df["test"]):
        label = "no test" if pd.isna(p) else f"p = {p:.3g} ({test})"
        fig.add_annotation(x=name, y=top + 0.06, text=label, showarrow=False, font=dict(size=11))
    fig.update_yaxes(range=[0, 1.15], tickformat=".0%", title="accuracy")
    return _finish(fig, title, barmode="group")


# --------------------------------------------------------------------------- embeddings


def _hover(df: pd.DataFrame, hover_cols: Sequence[str]) -> tuple[np.ndarray | None, str]:
    """customdata array and hover template for the hover columns (text columns escaped)."""
    if not hover_cols:
        return None, "(%{x:.2f}, %{y:.2f})<extra></extra>"
    data = pd.DataFrame({c: df[c].astype(str).map(html.escape) if not pd.api.types.is_numeric_dtype(df[c])
                         else df[c] for c in hover_cols})
    lines = "<br>".join(f"{html.escape(str(c))}: %{{customdata[{i}]}}" for i, c in enumerate(hover_cols))
    return data.to_numpy(dtype=object), lines + "<extra></extra>"


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
    _require(df, (x, y, color, *hover_cols), "embedding_scatter")
    custom, template = _hover(df, hover_cols)
    xs, ys = df[x].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    marker = dict(size=marker_size, opacity=0.75)
    if continuous if continuous is not None else _is_continuous(df[color], label_names):
        scale = dict(color=df[color].to_numpy(dtype=float), colorscale="Viridis", showscale=True,
                     colorbar=dict(title=str(color)))
        fig = go.Figure(go.Scattergl(x=xs, y=ys, mode="markers", marker={**marker, **scale}, name=str(color),
                                     customdata=custom, hovertemplate=template))
        return _finish(fig, title)
    values = _class_labels(df[color], label_names, color)
    groups = pd.Series(np.arange(len(df))).groupby(values, sort=True, dropna=False).indices  # value -> rows
    names = [str(n) for n in label_names] if label_names is not None else None
    keys = [n for n in names if n in groups] if names is not None else list(groups)
    colors = class_colors(names) if names is not None else {}
    palette = PALETTE if len(keys) <= len(PALETTE) else LARGE_PALETTE  # e.g. 17 POS tags: no repeated colour
    fig = go.Figure()
    for i, key in enumerate(keys):
        idx = groups[key]
        fig.add_trace(go.Scattergl(x=xs[idx], y=ys[idx], mode="markers", name=str(key),
                                   marker={**marker, "color": colors.get(str(key), palette[i % len(palette)])},
                                   customdata=None if custom is None else custom[idx], hovertemplate=template))
    return _finish(fig, title, legend=dict(title=str(color), itemsizing="constant"))


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


# --------------------------------------------------------------------------- word cloud and text


def _blank_image(width: int, height: int, message: str, background: str) -> Image.Image:
    """A plain image with a short centred message (for an empty word cloud)."""
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), message, font=font)
    draw.text(((width - (right - left)) / 2, (height - (bottom - top)) / 2), message, fill="#888888", font=font)
    return image


def word_cloud_image(freqs: Mapping[str, int], width: int = 800, height: int = 400, colormap: str | None = None, *,
                     background: str = "white", message: str = "No words to show") -> Image.Image:
    """A word cloud (PIL image of width x height) sized by frequency; blank with a message if empty.

    Args:
        freqs: {word: count}, e.g. dict(zip(freq_df.word, freq_df["count"])). Non-positive
            counts are ignored.
        colormap: matplotlib colormap name (default: wordcloud's own).
    """
    if not _positive_int(width) or not _positive_int(height):
        raise ValueError(f"width and height must be positive ints in pixels, got {width!r} x {height!r}.")
    words = {str(w): float(c) for w, c in dict(freqs).items() if str(w).strip() and c and c > 0}
    if not words:
        return _blank_image(width, height, message, background)
    from wordcloud import WordCloud  # imported lazily: it loads matplotlib

    cloud = WordCloud(width=width, height=height, background_color=background, colormap=colormap, random_state=0)
    return cloud.generate_from_frequencies(words).to_image()


def _positive_int(value: object) -> bool:
    """True for an int (not bool) above zero."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


def _check_spans(text: str, offsets, alive, special) -> list[tuple[int, int, bool]]:
    """Non-special, non-empty (start, end, alive) pieces sorted by start, after validation."""
    if not isinstance(text, str):
        raise ValueError(f"text must be the original string, got {type(text).__name__}.")
    if not len(offsets) == len(alive) == len(special):
        raise ValueError(f"offsets, alive and special need one entry per token; got {len(offsets)}, "
                         f"{len(alive)} and {len(special)}.")
    pieces = []
    for (start, end), is_alive, is_special in zip(offsets, alive, special):
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"offset ({start}, {end}) lies outside the text (length {len(text)}); pass the "
                             f"tokenizer's offset mapping for this same text.")
        if not is_special and end > start:
            pieces.append((int(start), int(end), bool(is_alive)))
    return sorted(pieces)


UNSEEN_GAP_CHARS = 120  # an unseen stretch longer than this is shown as a marker, not in full


def _gap_html(gap: str) -> str:
    """Text between two tokens: white space as is; anything else the model never saw (the middle
    that head+tail truncation cuts out, or characters the tokenizer drops) in grey italics, a long
    stretch collapsed to a marker that says how many characters it holds."""
    if not gap.strip():
        return html.escape(gap)
    title = "not seen by the model"
    if len(gap.strip()) > UNSEEN_GAP_CHARS:
        body = f" [… {len(gap):,} characters not seen by the model (truncated) …] "
        title += " (cut out by head+tail truncation)"
    else:
        body = html.escape(gap)
    return f'<span class="ltp-unseen" style="{UNSEEN_STYLE}" title="{title}">{body}</span>'


def layer_text_html(text: str, offsets: Sequence[tuple[int, int]], alive: Sequence[bool],
                    special: Sequence[bool]) -> str:
    """The original text as HTML with the word pieces pruned at one layer faded and struck through.

    Text between tokens (spaces, newlines) is kept as is; special tokens (offset (0, 0)) are not
    shown; text after the last token (cut off by truncation, so never seen) is grey italic, and so
    is other text between tokens that the model never saw (a long unseen middle, as head+tail
    truncation leaves, becomes a "[… N characters not seen …]" marker).
    All user text is escaped with ``html.escape``.

    Args:
        text: the example's original text.
        offsets: per model token its (start, end) character span in ``text``.
        alive: per token, True if alive at the layer shown.
        special: per token, True for special tokens ([CLS], [SEP], <s>, padding).
    """
    pieces = _check_spans(text, offsets, alive, special)
    out, cursor = [], 0
    for start, end, is_alive in pieces:
        start = max(start, cursor)  # overlapping spans: show each character once
        if end <= start:
            continue
        out.append(_gap_html(text[cursor:start]))
        piece = html.escape(text[start:end])
        out.append(piece if is_alive else f'<span class="ltp-pruned" style="{PRUNED_STYLE}">{piece}</span>')
        cursor = end
    tail = html.escape(text[cursor:])
    out.append(f'<span class="ltp-unseen" style="{UNSEEN_STYLE}" title="not seen by the model (truncated)">'
               f"{tail}</span>" if pieces and tail.strip() else tail)
    return f'<div class="ltp-layer-text" style="white-space:pre-wrap;line-height:1.7">{"".join(out)}</div>'


def layers_table_html(text: str, offsets: Sequence[tuple[int, int]], special: Sequence[bool],
                      alive_by_layer: Sequence[Sequence[bool]], *, input_label: str | None = "input") -> str:
    """A table with one row per layer: "Layer l", the tokens alive after it, and the text with
    the pieces pruned by then faded and struck through (``layer_text_html``, so text is escaped).

    Args:
        text, offsets, special: as for ``layer_text_html`` (one text, its tokens).
        alive_by_layer: L x T, True where the token is alive after that layer.
        input_label: if given, a first row with every token alive (the input), under this label.

    Returns:
        ``<table class="ltp-layers">``; each row carries ``data-layer`` and ``data-count``
        attributes (the count includes special tokens, as ``Trace.layers[l].count`` does).
    """
    if len(alive_by_layer) == 0:
        raise ValueError("alive_by_layer needs one row per layer (True where a token is alive).")
    rows = [(input_label, 0, [True] * len(offsets))] if input_label is not None else []
    rows += [(f"Layer {i + 1}", i + 1, list(alive)) for i, alive in enumerate(alive_by_layer)]
    cell = "padding:4px 10px;vertical-align:top;border-bottom:1px solid #eee"
    out = ['<table class="ltp-layers" style="border-collapse:collapse;width:100%">']
    for label, layer, alive in rows:
        count = int(sum(bool(a) for a in alive))
        body = layer_text_html(text, offsets, alive, special)
        out.append(f'<tr data-layer="{layer}" data-count="{count}">'
                   f'<td style="{cell};white-space:nowrap;font-weight:600">{html.escape(str(label))}</td>'
                   f'<td class="ltp-count" style="{cell};white-space:nowrap;text-align:right">{count} tokens</td>'
                   f'<td dir="auto" style="{cell};width:100%">{body}</td></tr>')
    out.append("</table>")
    return "".join(out)


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
    return _finish(fig, title or default)


def retention_curves_chart(curves: Mapping[str, Sequence[float]], *,
                           title: str = "Share alive per layer") -> go.Figure:
    """Lines of the share of some words alive at each layer 1..L, one line per group."""
    lengths = {len(v) for v in curves.values()}
    if not curves or 0 in lengths or len(lengths) != 1:
        raise ValueError("curves must map group names to equally long lists of shares per layer (1..L).")
    n_layers = lengths.pop()
    fig = go.Figure()
    for i, (name, values) in enumerate(curves.items()):
        fig.add_trace(go.Scatter(x=list(range(1, n_layers + 1)), y=_floats(values), mode="lines+markers",
                                 name=html.escape(str(name)), line=dict(color=PALETTE[i % len(PALETTE)]),
                                 hovertemplate="layer %{x}: %{y:.1%}<extra>%{fullData.name}</extra>"))
    fig.update_xaxes(title="layer", dtick=1)
    fig.update_yaxes(title="share alive", range=[0, 1.05], tickformat=".0%")
    return _finish(fig, title)


def token_flow_chart(tokens: Sequence[str], alive: Sequence[Sequence[bool]], *,
                     title: str = "Tokens flowing through the layers") -> go.Figure:
    """Diagram: one column per token, one row per layer; a token is a filled dot while it
    is alive and its line stops where it is pruned (an x marks the layer that removed it).

    Args:
        tokens: the T token strings.
        alive: L x T, True where the token is alive after that layer (cascading).
    """
    n_layers = len(alive)
    if n_layers == 0 or any(len(row) != len(tokens) for row in alive):
        raise ValueError("alive needs one row per layer with one value per token.")
    a = np.array(alive, dtype=bool).reshape(n_layers, len(tokens))
    layers = np.arange(1, n_layers + 1)
    fig = go.Figure()
    for j, tok in enumerate(tokens):
        depth = int(a[:, j].sum())
        ys = [0, *layers[:depth]]
        fig.add_trace(go.Scatter(x=[j] * len(ys), y=ys, mode="lines+markers", showlegend=False,
                                 line=dict(color=STATUS_COLORS["retained"], width=3),
                                 marker=dict(size=12, color=STATUS_COLORS["retained"]),
                                 hovertemplate=f"{html.escape(str(tok))}: alive through layer {depth}<extra></extra>"))
        if depth < n_layers:
            fig.add_trace(go.Scatter(x=[j], y=[depth + 1], mode="markers", showlegend=False,
                                     marker=dict(symbol="x", size=12, color=STATUS_COLORS["pruned"]),
                                     hovertemplate=f"{html.escape(str(tok))}: pruned at layer {depth + 1}"
                                                   "<extra></extra>"))
    counts = a.sum(axis=1)
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(tokens))),
                     ticktext=[html.escape(str(t)) for t in tokens], side="top", showgrid=False)
    fig.update_yaxes(tickmode="array", tickvals=[0, *layers],
                     ticktext=[f"input ({len(tokens)})", *[f"layer {l} ({c})" for l, c in zip(layers, counts)]],
                     autorange="reversed", showgrid=False, zeroline=False)
    return _finish(fig, title, height=max(300, 60 * (n_layers + 1) + 80))
