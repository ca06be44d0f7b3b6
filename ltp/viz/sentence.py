"""Charts of one text: tokens alive per layer, the layer x token score heat map, class probabilities,
the text with pruned pieces struck through (per layer), and the token flow diagram.

Plain data in (lists, dicts, DataFrames), a figure, image or HTML out; user text is escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ltp.viz.style import METHOD_COLORS, PRUNED_STYLE, STATUS_COLORS, UNSEEN_STYLE, finish, floats, method_color

# the live page's layer table: pruned pieces grey and struck through at full opacity (5:1 contrast on
# white; the 35% opacity of PRUNED_STYLE was too faint to read on a projector)
LIVE_PRUNED_STYLE = "color:#6b6b6b;text-decoration:line-through;text-decoration-color:#8c8c8c"
# presentation mode: kept pieces bold black on a yellow mark, pruned ones grey with a heavy strike
PRESENT_KEPT_STYLE = "color:#000;font-weight:700;background:#fde68a;border-radius:3px"
PRESENT_PRUNED_STYLE = "color:#707070;text-decoration:line-through;text-decoration-thickness:.1em"
PRESENT_FONT = "1.75rem"  # presentation mode's type in the layer table
# the score heat map: each cell is log2(score / its layer's threshold), clipped to +-RATIO_CLIP
RATIO_CLIP = 3.0  # 8x above or below the threshold is the end of the colour scale
RATIO_COLORSCALE = "RdBu"  # red below the threshold (pruned), white at it, blue above (kept)
NO_THRESHOLD_COLOR = "#e9e9e9"  # cells of a layer that never prunes (layer 1, threshold <= 0)
GONE_COLOR = "#9e9e9e"  # cells of tokens pruned by an earlier layer


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


def _ratio_cell(score: float, threshold: float | None) -> float:
    """log2(score / threshold), clipped to +-RATIO_CLIP; NaN where there is no comparison (no
    score, or a layer without a positive threshold)."""
    if math.isnan(score) or threshold is None or threshold <= 0:
        return math.nan
    return float(np.clip(math.log2(max(score, 1e-12) / threshold), -RATIO_CLIP, RATIO_CLIP))


def score_heatmap(tokens: Sequence[str], scores: Sequence[Sequence[float | None]],
                  thresholds: Sequence[float | None], alive: Sequence[Sequence[bool]], *,
                  title: str = "Each token's importance against its layer's threshold",
                  no_threshold: str = "never prunes") -> go.Figure:
    """Heat map (layers x tokens) of each token's importance score against its layer's threshold.

    The colour is log2(score / threshold), diverging at the threshold (1x, white): blue above it
    (kept), red below it (pruned), the scale ending at 8x either way, so every token shows where it
    stands whatever [CLS] scores. A layer without a positive threshold (layer 1, or a threshold at or
    below 0, which no score can fall under) never prunes: its cells are light grey, its tick says so.
    Tokens pruned by an earlier layer are dark grey; an x marks each token removed by that layer.

    Args:
        tokens: the T token strings (x axis, in order; repeats are fine).
        scores: L x T importance scores; None/NaN where a token was already gone.
        thresholds: per layer the pruning threshold this input met, None where the layer has none.
        alive: L x T, True where the token is alive after that layer.
        no_threshold: what a layer without a threshold (None) does, for its tick and hover; a
            top-k run's layers have none but do prune ("top-k: no threshold").

    Returns:
        Figure with three Heatmap traces (the ratio, the layers that never prune, the tokens already
        gone) and a Scatter of the x marks; hover shows token, layer, score, threshold and status.
    """
    n_layers, n_tokens = _check_layer_grid(tokens, scores, thresholds, alive)
    z = np.array([floats(row) for row in scores]).reshape(n_layers, n_tokens)
    alive_a = np.array(alive, dtype=bool).reshape(n_layers, n_tokens)
    labels = [html.escape(str(t)) for t in tokens]
    prunes = [t is not None and float(t) > 0 for t in thresholds]
    ratio = np.array([[_ratio_cell(z[i, j], thresholds[i]) for j in range(n_tokens)] for i in range(n_layers)])
    gone = np.isnan(z)
    removed_here = ~alive_a & ~gone

    def hover(i: int, j: int) -> str:
        thr = thresholds[i]
        if gone[i, j]:
            return f"{labels[j]}<br>layer {i + 1}<br>pruned by an earlier layer"
        score = f"score {z[i, j]:.4g}"
        if thr is None:
            where = f"this layer has no threshold: {no_threshold if i > 0 else 'never prunes'}"
        elif not prunes[i]:
            where = f"threshold {float(thr):.4g}: at or below 0, so this layer never prunes"
        else:
            where = f"threshold {float(thr):.4g} (score {max(z[i, j], 0.0) / float(thr):.2f}x the threshold)"
        status = "pruned by this layer" if removed_here[i, j] else "kept"
        return f"{labels[j]}<br>layer {i + 1}<br>{score}<br>{where}<br>{status}"

    text = [[hover(i, j) for j in range(n_tokens)] for i in range(n_layers)]
    x, y = list(range(n_tokens)), list(range(1, n_layers + 1))
    tmpl = "%{text}<extra></extra>"
    never = np.array([[not prunes[i] and not gone[i, j] for j in range(n_tokens)] for i in range(n_layers)])
    ticks = [2.0 ** v for v in range(-int(RATIO_CLIP), int(RATIO_CLIP) + 1)]
    tick_text = [("1x (threshold)" if t == 1 else f"{t:g}x" if t > 1 else f"1/{1 / t:g}x") for t in ticks]
    rows, cols = np.nonzero(removed_here)
    fig = go.Figure([
        # the ratio trace carries every cell's hover text (its gaps included); the grey overlays and the x
        # marks skip hover, so the text is sent once (it is most of the chart's bytes)
        go.Heatmap(z=ratio, x=x, y=y, text=text, hovertemplate=tmpl, hoverongaps=True, name="score / threshold",
                   colorscale=RATIO_COLORSCALE, zmin=-RATIO_CLIP, zmax=RATIO_CLIP, zmid=0,
                   colorbar=dict(title=dict(text="score ÷ layer threshold", side="right"),
                                 tickvals=list(range(-int(RATIO_CLIP), int(RATIO_CLIP) + 1)), ticktext=tick_text)),
        go.Heatmap(z=np.where(never, 1.0, np.nan), x=x, y=y, hoverinfo="skip", name="never prunes",
                   colorscale=[[0, NO_THRESHOLD_COLOR], [1, NO_THRESHOLD_COLOR]], showscale=False),
        go.Heatmap(z=np.where(gone, 1.0, np.nan), x=x, y=y, hoverinfo="skip", name="pruned earlier",
                   colorscale=[[0, GONE_COLOR], [1, GONE_COLOR]], showscale=False),
        go.Scatter(x=[int(c) for c in cols], y=[int(r) + 1 for r in rows], mode="markers", name="pruned by this layer",
                   marker=dict(symbol="x-thin", size=10, line=dict(width=2, color="#222")),
                   hoverinfo="skip", showlegend=False),
    ])
    layer_ticks = [str(l) if p else f"{l} ({no_threshold if t is None and l > 1 else 'never prunes'})"
                   for l, p, t in zip(y, prunes, thresholds)]  # layer 1 never prunes, in every mode
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=labels, tickangle=-60, title="token", showgrid=False)
    fig.update_yaxes(tickmode="array", tickvals=y, ticktext=layer_ticks, autorange="reversed", title="layer",
                     showgrid=False)
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
                            marker_color=method_color(str(name), i), text=[_percent(float(v)) for v in probs.values()],
                            textposition="outside", cliponaxis=False) for i, (name, probs) in enumerate(runs)])
    fig.update_xaxes(title="class")
    fig.update_yaxes(range=[0, 1.15], title="probability")
    # each label is at most its bar's width (plotly's constraintext), bars of a group stand apart, and a
    # label that would shrink below 14 px is hidden (hover has the number): never "0.0120.011"
    return finish(fig, title, barmode="group", bargroupgap=0.15, uniformtext=dict(minsize=14, mode="hide"),
                  legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))


def _percent(p: float) -> str:
    """A probability as a short bar label: "81%", "1.2%", "<0.1%"."""
    return f"{p:.0%}" if p >= 0.095 else f"{p:.1%}" if p >= 0.001 else "<0.1%"


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
                    special: Sequence[bool], *, pruned_style: str = PRUNED_STYLE, kept_style: str | None = None) -> str:
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
        pruned_style: inline CSS of a pruned piece (class ``ltp-pruned``).
        kept_style: if given, kept pieces are wrapped too (class ``ltp-kept``) with this CSS.
    """
    pieces = _check_spans(text, offsets, alive, special)
    out, cursor = [], 0
    for start, end, is_alive in pieces:
        start = max(start, cursor)  # overlapping spans: show each character once
        if end <= start:
            continue
        out.append(_gap_html(text[cursor:start]))
        piece = html.escape(text[start:end])
        if not is_alive:
            piece = f'<span class="ltp-pruned" style="{pruned_style}">{piece}</span>'
        elif kept_style:
            piece = f'<span class="ltp-kept" style="{kept_style}">{piece}</span>'
        out.append(piece)
        cursor = end
    tail = html.escape(text[cursor:])
    out.append(f'<span class="ltp-unseen" style="{UNSEEN_STYLE}" title="not seen by the model (truncated)">'
               f"{tail}</span>" if pieces and tail.strip() else tail)
    return f'<div class="ltp-layer-text" style="white-space:pre-wrap;line-height:1.7">{"".join(out)}</div>'


def layers_table_html(text: str, offsets: Sequence[tuple[int, int]], special: Sequence[bool],
                      alive_by_layer: Sequence[Sequence[bool]], *, input_label: str | None = "input",
                      upto: int | None = None, presentation: bool = False,
                      notes: Mapping[int, str] | None = None, result: str | None = None) -> str:
    """A table with one row per layer: "Layer l", the tokens alive after it, and the text with
    the pieces pruned by then struck through in grey (``layer_text_html``, so text is escaped).

    Args:
        text, offsets, special: as for ``layer_text_html`` (one text, its tokens).
        alive_by_layer: L x T, True where the token is alive after that layer.
        input_label: if given, a first row with every token alive (the input), under this label.
        upto: show the layers 1..upto only (the presentation stepper; None: all of them).
        presentation: large type and high-contrast kept / pruned styles; the newest row is marked.
        notes: {layer (1-based): a short plain-words note shown under that row's label}.
        result: if given and every layer is shown, a last "Classification" row with this text.

    Returns:
        ``<table class="ltp-layers">``; each row carries ``data-layer`` and ``data-count``
        attributes (the count includes special tokens, as ``Trace.layers[l].count`` does).
    """
    if len(alive_by_layer) == 0:
        raise ValueError("alive_by_layer needs one row per layer (True where a token is alive).")
    n_layers = len(alive_by_layer)
    shown = n_layers if upto is None else max(0, min(int(upto), n_layers))
    rows = [(input_label, 0, [True] * len(offsets))] if input_label is not None else []
    rows += [(f"Layer {i + 1}", i + 1, list(alive)) for i, alive in enumerate(alive_by_layer[:shown])]
    notes = notes or {}
    pruned, kept = (PRESENT_PRUNED_STYLE, PRESENT_KEPT_STYLE) if presentation else (LIVE_PRUNED_STYLE, None)
    cell = "padding:4px 10px;vertical-align:top;border-bottom:1px solid #eee"
    size = f";font-size:{PRESENT_FONT};line-height:1.5" if presentation else ""
    out = [f'<table class="ltp-layers{" ltp-present" if presentation else ""}" '
           f'style="border-collapse:collapse;width:100%{size}">']
    for k, (label, layer, alive) in enumerate(rows):
        count = int(sum(bool(a) for a in alive))
        body = layer_text_html(text, offsets, alive, special, pruned_style=pruned, kept_style=kept)
        newest = presentation and upto is not None and k == len(rows) - 1
        mark = ";border-left:6px solid #1f4e79;background:#f3f7fb" if newest else ""
        note = (f'<div class="ltp-note" style="font-weight:400;font-size:.8em;color:#444;white-space:normal;'
                f'max-width:16em">{html.escape(notes[layer])}</div>' if layer in notes else "")
        flag = ' data-newest="1"' if newest else ""
        out.append(f'<tr data-layer="{layer}" data-count="{count}"{flag}>'
                   f'<td style="{cell}{mark};white-space:nowrap;font-weight:600">{html.escape(str(label))}{note}</td>'
                   f'<td class="ltp-count" style="{cell};white-space:nowrap;text-align:right">{count} token{"" if count == 1 else "s"}</td>'
                   f'<td dir="auto" style="{cell};width:100%">{body}</td></tr>')
    if result is not None and shown == n_layers:
        out.append(f'<tr data-layer="result" class="ltp-result"><td style="{cell};font-weight:600">Classification</td>'
                   f'<td style="{cell}"></td><td style="{cell};font-weight:700">{html.escape(result)}</td></tr>')
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
