"""Charts of one text: tokens alive per layer, the layer x token score heat map, class probabilities,
the text with pruned pieces struck through (per layer), and the token flow diagram.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ltp.viz.style import (METHOD_COLORS, PRUNED_OVERLAY, PRUNED_STYLE, STATUS_COLORS, UNSEEN_STYLE, finish, floats,
                           method_color)


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
        color = METHOD_COLORS["LTP"] if len(series) == 1 else method_color(str(name), i)  # one run: a pruned one
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=str(name), line=dict(color=color, width=3),
                                 marker=dict(size=9),
                                 hovertemplate="layer %{x}: %{y:.1f} tokens<extra>%{fullData.name}</extra>"))
    ticks = ["input" if v == 0 else str(v) for v in x]
    fig.update_xaxes(title="layer", tickmode="array", tickvals=x, ticktext=ticks)
    fig.update_yaxes(title="tokens alive", rangemode="tozero")
    return finish(fig, title, showlegend=len(series) > 1)


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
    z = np.array([floats(row) for row in scores]).reshape(n_layers, n_tokens)
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
    return finish(fig, title)


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
                            marker_color=method_color(str(name), i), text=[f"{float(v):.3f}" for v in probs.values()],
                            textposition="outside") for i, (name, probs) in enumerate(runs)])
    fig.update_xaxes(title="class")
    fig.update_yaxes(range=[0, 1.1], title="probability")
    return finish(fig, title, barmode="group")


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
                   f'<td class="ltp-count" style="{cell};white-space:nowrap;text-align:right">{count} token{"" if count == 1 else "s"}</td>'
                   f'<td dir="auto" style="{cell};width:100%">{body}</td></tr>')
    out.append("</table>")
    return "".join(out)


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
    return finish(fig, title, height=max(300, 60 * (n_layers + 1) + 80))
