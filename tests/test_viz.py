"""Chart builders: trace counts and data lengths, WebGL scatter at 20k points, HTML escaping."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from PIL import Image

from ltp import viz

LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def test_class_colors_fixed_and_cycling():
    colors = viz.class_colors(LABELS)
    assert list(colors) == LABELS and len(set(colors.values())) == 4
    assert viz.class_colors(LABELS) == colors  # same colours on every call
    many = viz.class_colors([f"c{i}" for i in range(12)])
    assert many["c9"] == many["c0"] and len(set(many.values())) == len(viz.CLASS_PALETTE)
    with pytest.raises(ValueError, match="list of class names"):
        viz.class_colors("World")


def test_tokens_alive_chart():
    fig = viz.tokens_alive_chart([10, 8, 5])
    assert len(fig.data) == 1 and list(fig.data[0].x) == [1, 2, 3] and list(fig.data[0].y) == [10, 8, 5]
    fig = viz.tokens_alive_chart([10.5, 8.0, 5.25], input_tokens=12)
    assert list(fig.data[0].x) == [0, 1, 2, 3] and fig.data[0].y[0] == 12
    assert fig.layout.xaxis.ticktext[0] == "input"
    two = viz.tokens_alive_chart({"LTP": [10, 6, 3], "unpruned": [10, 10, 10]})
    assert [t.name for t in two.data] == ["LTP", "unpruned"]
    with pytest.raises(ValueError, match="non-empty"):
        viz.tokens_alive_chart([])
    with pytest.raises(ValueError, match="equal length"):
        viz.tokens_alive_chart({"a": [1, 2], "b": [1]})


def test_score_heatmap_colours_each_token_against_its_layers_threshold():
    tokens = ["[CLS]", "<b>", "good", "&"]
    scores = [[0.9, 0.1, 0.5, 0.3], [0.8, None, 0.1, 0.01], [0.7, None, 0.4, None]]
    alive = [[True, True, True, True], [True, False, True, False], [True, False, True, False]]
    fig = viz.score_heatmap(tokens, scores, [None, 0.05, -0.02], alive)
    ratio, never, gone, crosses = fig.data
    assert all(isinstance(t, go.Heatmap) for t in (ratio, never, gone)) and isinstance(crosses, go.Scatter)
    z = np.asarray(ratio.z, dtype=float)
    assert z.shape == (3, 4) and list(ratio.y) == [1, 2, 3]
    # log2(score / threshold) at layer 2: [CLS] 16x clipped to 8x, "good" 2x, "&" 1/5x
    assert z[1, 0] == 3.0 and z[1, 2] == pytest.approx(1.0) and z[1, 3] == pytest.approx(math.log2(0.2))
    assert ratio.zmid == 0 and ratio.zmin == -3 and ratio.zmax == 3  # diverging at the threshold
    assert "threshold" in ratio.colorbar.title.text and "1x (threshold)" in ratio.colorbar.ticktext
    # layers 1 (no threshold) and 3 (below 0) never prune: no ratio, light grey, said on the axis
    assert np.isnan(z[0]).all() and np.isnan(z[2]).all()
    assert np.nan_to_num(np.asarray(never.z, dtype=float)).tolist() == [[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0]]
    assert list(fig.layout.yaxis.ticktext) == ["1 (never prunes)", "2", "3 (never prunes)"]
    assert np.isnan(np.asarray(gone.z, dtype=float)[1, 0]) and np.asarray(gone.z, dtype=float)[1, 1] == 1
    assert list(zip(crosses.x, crosses.y)) == [(3, 2)]  # "&" is removed by layer 2
    assert "never prunes" in ratio.text[0][0] and "threshold 0.05" in ratio.text[1][0]
    assert "pruned by this layer" in ratio.text[1][3] and "&lt;b&gt;" in ratio.text[0][1]
    assert list(fig.layout.xaxis.ticktext) == ["[CLS]", "&lt;b&gt;", "good", "&amp;"]
    # the hover text is sent once: the ratio trace hovers on its gaps too, the overlays skip hover
    assert ratio.hoverongaps is True and len(ratio.text) == 3
    assert all(t.hoverinfo == "skip" and t.text is None for t in (never, gone, crosses))
    with pytest.raises(ValueError, match="one entry per layer"):
        viz.score_heatmap(tokens, scores, [None, 0.05], alive)
    with pytest.raises(ValueError, match="one value per token"):
        viz.score_heatmap(tokens[:3], scores, [None, 0.05, 0.02], alive)


def test_probabilities_chart():
    a, b = {"neg": 0.3, "pos": 0.7}, {"neg": 0.1, "pos": 0.9}
    one = viz.probabilities_chart(a)
    assert len(one.data) == 1 and list(one.data[0].x) == ["neg", "pos"]
    two = viz.probabilities_chart(a, b)
    assert [t.name for t in two.data] == ["pruned", "unpruned"] and two.layout.barmode == "group"
    with pytest.raises(ValueError, match="same classes"):
        viz.probabilities_chart(a, {"pos": 0.9, "neg": 0.1})


def test_word_frequency_chart_top_at_top():
    freq = pd.DataFrame({"word": ["great", "film", "plot"], "count": [5, 3, 1], "share": [0.5, 0.3, 0.1]})
    fig = viz.word_frequency_chart(freq, title="Kept words")
    bar = fig.data[0]
    assert len(fig.data) == 1 and bar.orientation == "h"
    assert list(bar.y) == ["great", "film", "plot"] and fig.layout.yaxis.autorange == "reversed"
    with pytest.raises(ValueError, match="count"):
        viz.word_frequency_chart(freq.drop(columns="count"))


def _pos_table() -> pd.DataFrame:
    rows = [(layer, c, pos, status, 1, 0.5) for layer in (1, 2) for c in (0, 1) for pos in ("NOUN", "ADJ")
            for status in ("retained", "pruned")]
    return pd.DataFrame(rows, columns=["layer", "class", "pos", "status", "count", "share"])


def test_pos_chart_two_bars_per_class():
    fig = viz.pos_chart(_pos_table(), 2, LABELS[:2])
    assert len(fig.data) == 4 and {t.name for t in fig.data} == {"retained", "pruned"}
    assert all(len(t.y) == 2 and t.orientation == "h" for t in fig.data)
    assert list(fig.data[0].y) == ["NOUN (noun)", "ADJ (adjective)"]  # spelled out, nouns before modifiers
    assert sum(bool(t.showlegend) for t in fig.data) == 2
    assert [a.text for a in fig.layout.annotations] == ["World", "Sports"]
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis2.dtick == 1  # every tag labelled in every panel
    one_layer = viz.pos_chart(_pos_table().query("layer == 1").drop(columns="layer"), 1)
    assert len(one_layer.data) == 4
    with pytest.raises(ValueError, match="layer 5"):
        viz.pos_chart(_pos_table(), 5)


def _retention_table(classes) -> pd.DataFrame:
    rows = [(layer, c, cat, 4, 4 - layer, (4 - layer) / 4) for c in classes for cat in ("stopword", "entity")
            for layer in (1, 2, 3)]
    return pd.DataFrame(rows, columns=["layer", "class", "category", "words", "retained", "rate"])


def test_category_retention_chart():
    overall = viz.category_retention_chart(_retention_table(["all"]))
    assert [t.name for t in overall.data] == ["entity", "stopword"]  # stats.CATEGORIES order
    assert list(overall.data[0].x) == [1, 2, 3]
    by_class = viz.category_retention_chart(_retention_table([0, 1, 2]), LABELS)
    assert len(by_class.data) == 6
    assert sum(bool(t.showlegend) for t in by_class.data) == 2  # one legend entry per category
    colors = {t.name: t.line.color for t in by_class.data}
    assert all(t.line.color == colors[t.name] for t in by_class.data)


def test_confusion_matrix_chart():
    m = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = viz.confusion_matrix_chart(m, LABELS[:3])
    heat = fig.data[0]
    assert len(fig.data) == 1 and np.asarray(heat.z).shape == (3, 3) and heat.text[1][1] == "7"
    norm = viz.confusion_matrix_chart(m, LABELS[:3], normalize=True)
    assert norm.data[0].text[1][1] == "70%" and np.asarray(norm.data[0].z)[2, 2] == 1.0
    assert norm.data[0].customdata[1][1] == "7 texts (70.0% of the row)"  # the count on hover
    with pytest.raises(ValueError, match="4x4"):
        viz.confusion_matrix_chart(m, LABELS)


def test_tradeoff_chart_one_line_per_method():
    points = pd.DataFrame({"method": ["LTP", "LTP", "top-k", "top-k", "top-k"],
                           "accuracy": [0.9, 0.92, 0.85, 0.9, 0.88],
                           "flops_reduction": [2.0, 1.5, 3.0, 1.2, 2.0],
                           "label": ["t=0.02", "t=0.01", "k=8", "k=32", "k=16"]})
    fig = viz.tradeoff_chart(points)
    assert [t.name for t in fig.data] == ["LTP", "top-k"]
    assert list(fig.data[1].x) == [1.2, 2.0, 3.0] and list(fig.data[1].text) == ["k=32", "k=16", "k=8"]


def test_thresholds_chart():
    fig = viz.thresholds_chart([None, 0.01, -0.004, 0.025])
    bar = fig.data[0]
    assert list(bar.x) == [1, 2, 3, 4] and list(bar.y) == [0.0, 0.01, -0.004, 0.025]
    assert list(bar.text) == ["never prunes", "0.01", "-0.004: never prunes", "0.025"]  # scores are never negative
    grey, ltp = viz.STATUS_COLORS["pruned"], viz.METHOD_COLORS["LTP"]
    assert list(bar.marker.color) == [grey, ltp, grey, ltp]
    with pytest.raises(ValueError, match="one value per layer"):
        viz.thresholds_chart([])


def test_domain_retention_chart_annotates_p_values():
    df = pd.DataFrame({"class": ["neg", "pos", "all"], "acc_kept": [1.0, 0.8, 0.85],
                       "acc_pruned": [math.nan, 0.4, 0.5], "n_kept": [1, 50, 51], "n_pruned": [0, 50, 50],
                       "test": ["n/a", "chi-square", "chi-square"], "p_value": [math.nan, 1e-4, 2e-3]})
    fig = viz.domain_retention_chart(df)
    assert len(fig.data) == 2 and all(len(t.x) == 3 for t in fig.data)
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["no test", "p = 0.0001<br>(chi-square)", "p = 0.002<br>(chi-square)"]


def test_embedding_scatter_20k_points_categorical():
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n),
                       "gold": rng.integers(0, 4, size=n).astype(np.int16),
                       "text": np.where(rng.random(n) < 0.5, "<script>alert(1)</script>", "a & b"),
                       "prob": rng.random(n)})
    fig = viz.embedding_scatter(df, "x", "y", "gold", ["text", "prob"], LABELS)
    assert len(fig.data) == 4 and all(isinstance(t, go.Scattergl) for t in fig.data)
    assert [t.name for t in fig.data] == LABELS
    assert sum(len(t.x) for t in fig.data) == n
    assert fig.data[1].marker.color == viz.class_colors(LABELS)["Sports"]
    hover_text = set(np.asarray(fig.data[0].customdata)[:, 0])
    assert hover_text == {"&lt;script&gt;alert(1)&lt;/script&gt;", "a &amp; b"}
    assert len(fig.data[0].customdata) == len(fig.data[0].x)


def test_embedding_scatter_continuous_and_raw_categories():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500), "prob": rng.random(500),
                       "outcome": rng.choice(["TP", "FP", "FN", "TN"], size=500)})
    cont = viz.embedding_scatter(df, "x", "y", "prob")
    assert len(cont.data) == 1 and isinstance(cont.data[0], go.Scattergl) and cont.data[0].marker.showscale
    cat = viz.embedding_scatter(df, "x", "y", "outcome", ["prob"])
    assert [t.name for t in cat.data] == ["FN", "FP", "TN", "TP"]
    with pytest.raises(ValueError, match="class indices"):
        viz.embedding_scatter(df.assign(c=7), "x", "y", "c", label_names=LABELS)
    with pytest.raises(ValueError, match="nope"):
        viz.embedding_scatter(df, "x", "y", "nope")


def test_embedding_scatter_colourings_recolour_in_the_browser():
    """One trace of all points, a button per colouring that restyles its codes, colour scale,
    legend and title: each point gets its category's colour, as embedding_scatter gives it."""
    rng = np.random.default_rng(2)
    n = 3000
    df = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "gold": rng.integers(0, 4, size=n),
                       "outcome": rng.choice(["right", "wrong", None], size=n), "text": "<i>"})
    fig = viz.embedding_scatter_colourings(df, "x", "y", {"gold class": ("gold", LABELS), "outcome": ("outcome", None)},
                                           ["text"], title="Map")
    points, *legend = fig.data
    assert isinstance(points, go.Scattergl) and len(points.x) == n
    assert set(np.asarray(points.customdata)[:, 0]) == {"&lt;i&gt;"}
    assert [t.name for t in legend] == [*LABELS, "n/a", "right", "wrong"]
    assert [t.visible for t in legend] == [True] * 4 + [False] * 3
    assert fig.layout.title.text == "Map, coloured by gold class"
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["gold class", "outcome"] and fig.layout.updatemenus[0].font.size >= 14

    def colour_of_each_point(restyle):
        codes, scale = np.asarray(restyle["marker.color"][0]), restyle["marker.colorscale"][0]
        k = len(scale) // 2
        return [scale[2 * c][1] for c in codes], k

    for button, column, names in ((buttons[0], "gold", LABELS), (buttons[1], "outcome", None)):
        restyle, relayout = button.args
        colours, k = colour_of_each_point(restyle)
        ref = viz.embedding_scatter(df.assign(outcome=df["outcome"].fillna("n/a")), "x", "y", column, label_names=names)
        expected = {t.name: t.marker.color for t in ref.data}
        names_of = np.asarray(LABELS, dtype=object)[df["gold"]] if names else df["outcome"].fillna("n/a").to_numpy()
        assert colours == [expected[v] for v in names_of]  # every point in its category's colour
        assert restyle["marker.cmin"][0] == -0.5 and restyle["marker.cmax"][0] == k - 0.5
        assert sum(restyle["visible"][1:]) == len(expected)
        assert relayout["title.text"] == f"Map, coloured by {button.label}"
    with pytest.raises(ValueError, match="at least one"):
        viz.embedding_scatter_colourings(df, "x", "y", {})


def test_word_cloud_image_size_and_empty():
    image = viz.word_cloud_image({"excellent": 10, "great": 6, "film": 3})
    assert isinstance(image, Image.Image) and image.size == (800, 400)
    small = viz.word_cloud_image({"excellent": 10}, width=300, height=200, colormap="viridis")
    assert small.size == (300, 200)
    grey = np.asarray(viz.word_cloud_image({"excellent": 10, "great": 6}, color="#3B3B3B").convert("RGB"))
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()  # greys only, no hue
    assert grey.min() == 0x3B  # the words in the retained colour (anti-aliased towards white)
    blank = viz.word_cloud_image({})
    assert blank.size == (800, 400) and len(blank.getcolors(maxcolors=10_000)) > 1  # message drawn
    assert viz.word_cloud_image({"x": 0}).size == (800, 400)
    with pytest.raises(ValueError, match="positive ints"):
        viz.word_cloud_image({"a": 1}, width=0)


def test_layer_text_html_escapes_and_strikes_pruned_pieces():
    text = "<script>alert(1)</script> & unbelievable\nend"
    # tokens: [CLS], "<script>alert(1)</script>" as 2 pieces, "&", "un" + "believable", "end", [SEP]
    offsets = [(0, 0), (0, 8), (8, 25), (26, 27), (28, 30), (30, 40), (41, 44), (0, 0)]
    alive = [True, True, False, True, False, False, True, True]
    special = [True, False, False, False, False, False, False, True]
    out = viz.layer_text_html(text, offsets, alive, special)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "&amp;" in out and " & " not in out
    pruned = f'<span class="ltp-pruned" style="{viz.PRUNED_STYLE}">'
    assert "opacity:.35" in viz.PRUNED_STYLE and "line-through" in viz.PRUNED_STYLE
    assert f"{pruned}alert(1)&lt;/script&gt;</span>" in out
    assert f"{pruned}un</span>{pruned}believable</span>\nend" in out  # pieces of one word, newline kept
    assert out.count(pruned) == 3


def test_layer_text_html_preserves_text_and_marks_unseen_tail():
    text = "Hello,  world! and more"
    out = viz.layer_text_html(text, [(0, 0), (0, 5), (5, 6), (8, 13), (13, 14)],
                                 [True, True, True, True, False], [True, False, False, False, False])
    assert out.startswith('<div class="ltp-layer-text"')
    assert "Hello,  world" in out  # double space between tokens kept
    assert 'class="ltp-unseen"' in out and " and more</span>" in out
    # head+tail: an unseen middle between tokens is grey, and a long one collapses to a marker
    short = viz.layer_text_html("ab cd ef", [(0, 2), (6, 8)], [True, True], [False, False])
    assert "<span class=\"ltp-unseen\"" in short and "> cd </span>" in short
    middle = "x" * 500
    long_ = viz.layer_text_html(f"ab {middle} ef", [(0, 2), (504, 506)], [True, False], [False, False])
    assert middle not in long_ and "502 characters not seen by the model" in long_
    full = viz.layer_text_html("a b", [(0, 1), (2, 3)], [True, True], [False, False])
    assert "ltp-unseen" not in full and ">a b</div>" in full
    with pytest.raises(ValueError, match="outside the text"):
        viz.layer_text_html("ab", [(0, 5)], [True], [False])
    with pytest.raises(ValueError, match="one entry per token"):
        viz.layer_text_html("ab", [(0, 1)], [True, False], [False])


# --------------------------------------------------------------------------- dashboard additions


def test_layers_table_html_rows_counts_and_escaping():
    text = "<script>alert(1)</script> ok"
    offsets = [(0, 0), (0, 8), (8, 25), (26, 28), (0, 0)]
    special = [True, False, False, False, True]
    alive = [[True] * 5, [True, False, True, True, True], [True, False, False, True, False]]
    out = viz.layers_table_html(text, offsets, special, alive)
    assert out.startswith('<table class="ltp-layers"') and "<script>" not in out
    assert "&lt;script&gt;" in out
    rows = out.split("<tr ")[1:]
    assert [r.split('data-count="')[1].split('"')[0] for r in rows] == ["5", "5", "4", "2"]
    assert ">input<" in rows[0] and ">Layer 3<" in rows[3] and ">2 tokens<" in rows[3]
    assert rows[2].count("ltp-pruned") == 1 and rows[3].count("ltp-pruned") == 2
    assert "Layer" in viz.layers_table_html(text, offsets, special, alive, input_label=None).split("<tr ")[1]
    with pytest.raises(ValueError, match="one row per layer"):
        viz.layers_table_html(text, offsets, special, [])


def test_word_depth_chart():
    survival = {"word": "<b>", "occurrences": 5, "mean_depth": 2.2, "depth_histogram": {1: 1, 2: 2, 3: 2}}
    fig = viz.word_depth_chart(survival)
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[0].y) == [1, 2, 2]
    assert "&lt;b&gt;" in fig.layout.title.text and "2.20" in fig.layout.title.text
    with pytest.raises(ValueError, match="word_survival"):
        viz.word_depth_chart({"word": "x"})


def test_retention_curves_chart():
    fig = viz.retention_curves_chart({"all": [1.0, 0.5, 0.25], "in <x> examples": [1.0, 0.8, None]})
    assert [t.name for t in fig.data] == ["all", "in &lt;x&gt; examples"]
    assert list(fig.data[0].x) == [1, 2, 3] and math.isnan(fig.data[1].y[2])
    with pytest.raises(ValueError, match="equally long"):
        viz.retention_curves_chart({"a": [1.0], "b": [1.0, 0.5]})


def test_token_flow_chart():
    tokens = ["[CLS]", "good", "<i>"]
    alive = [[True, True, True], [True, True, False], [True, False, False]]
    fig = viz.token_flow_chart(tokens, alive)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    crosses = [t for t in fig.data if t.mode == "markers"]
    assert [list(t.y) for t in lines] == [[0, 1, 2, 3], [0, 1, 2], [0, 1]]
    assert [list(t.y) for t in crosses] == [[3], [2]]  # where "good" and "<i>" were pruned
    assert "&lt;i&gt;" in fig.layout.xaxis.ticktext and fig.layout.yaxis.ticktext[-1] == "layer 3 (1)"
    with pytest.raises(ValueError, match="one row per layer"):
        viz.token_flow_chart(tokens, [[True]])


def test_embedding_scatter_many_categories_get_distinct_colours():
    tags = [f"T{i:02d}" for i in range(17)]  # like spaCy's 17 POS tags
    df = pd.DataFrame({"x": np.arange(34.0), "y": np.arange(34.0), "pos": tags * 2})
    fig = viz.embedding_scatter(df, "x", "y", "pos")
    assert len(fig.data) == 17 and len({t.marker.color for t in fig.data}) == 17


def test_layer_table_says_1_token_not_1_tokens():
    from ltp.viz import layers_table_html

    html_ = layers_table_html("a b", [(0, 0), (0, 1), (2, 3), (0, 0)], [True, False, False, True],
                              [[True, True, False, False], [True, False, False, False]])
    assert ">2 tokens<" in html_ and ">1 token<" in html_ and "1 tokens" not in html_


# --------------------------------------------------------------------------- readable on a projector


@functools.cache
def _chart_gallery() -> dict[str, go.Figure]:
    """One figure from every chart builder the pages other than the live page show."""
    points = pd.DataFrame({"method": ["LTP", "top-k"], "accuracy": [0.9, 0.85], "flops_reduction": [2.0, 2.1],
                           "label": ["a", "b"]})
    domain = pd.DataFrame({"class": ["neg", "all"], "acc_kept": [0.9, 0.85], "acc_pruned": [0.5, 0.5],
                           "n_kept": [5, 5], "n_pruned": [5, 5], "test": ["fisher", "fisher"], "p_value": [0.1, 0.1]})
    return {
        "tokens_alive": viz.tokens_alive_chart({"LTP (hard)": [10, 6], "pruning off": [10, 10]}, input_tokens=10),
        "probabilities": viz.probabilities_chart({"a": 0.4, "b": 0.6}, {"a": 0.3, "b": 0.7}),
        "confusion": viz.confusion_matrix_chart([[3, 1], [0, 4]], ["a", "b"], normalize=True),
        "tradeoff": viz.tradeoff_chart(points, shipped={"accuracy": 0.91, "flops_reduction": 1.8, "label": "shipped"}),
        "thresholds": viz.thresholds_chart([None, 0.01, -0.01]),
        "word_frequency": viz.word_frequency_chart(pd.DataFrame({"word": ["x"], "count": [3], "share": [1.0]})),
        "pos": viz.pos_chart(_pos_table(), 2, LABELS[:2]),
        "category_retention": viz.category_retention_chart(_retention_table([0, 1]), LABELS),
        "domain_retention": viz.domain_retention_chart(domain),
        "retention_curves": viz.retention_curves_chart({"all": [1.0, 0.5]}),
        "word_depth": viz.word_depth_chart({"word": "x", "depth_histogram": {1: 2, 2: 1}, "occurrences": 3,
                                            "mean_depth": 1.3}),
    }


def _font_sizes(node) -> list[float]:
    """Every font size set anywhere in a figure's JSON (layout, axes, annotations, traces)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("font") and isinstance(value, dict) and "size" in value:
                found.append(value["size"])
            found += _font_sizes(value)
    elif isinstance(node, list):
        for value in node:
            found += _font_sizes(value)
    return found


@pytest.mark.parametrize("name", list(_chart_gallery()))
def test_every_chart_text_is_at_least_14px_and_axes_are_titled(name):
    fig = _chart_gallery()[name]
    assert fig.layout.font.size >= 16 and fig.layout.template.layout.font.size >= 16  # body text
    sizes = _font_sizes(fig.to_plotly_json()["layout"]) + _font_sizes(fig.to_plotly_json()["data"])
    assert sizes and min(sizes) >= 14, (name, sorted(set(sizes)))
    for axis in ("xaxis", "yaxis"):
        assert fig.layout[axis].tickfont.size >= 14 and fig.layout[axis].title.text, (name, axis)


def test_palettes_are_one_per_meaning():
    methods, classes = set(viz.METHOD_COLORS.values()), set(viz.CLASS_PALETTE)
    status, pos = set(viz.STATUS_COLORS.values()), set(viz.POS_COLORS.values())
    assert len(methods) == len(viz.METHOD_COLORS) and len(classes) == len(viz.CLASS_PALETTE)
    assert not methods & classes and not methods & status and not classes & status and not status & pos
    four = list(viz.class_colors(LABELS).values())
    assert len(set(four)) == 4 and "#CC6677" not in four and "#332288" not in four  # no red / blue class
    assert len(set(viz.category_colors().values())) == len(viz.category_colors())
    # POS colours: one family one hue; every tag distinct
    assert viz.POS_COLORS["NOUN"] != viz.POS_COLORS["PROPN"] and len(pos) == len(viz.POS_COLORS)


def test_methods_keep_their_colours_on_every_chart():
    ltp, off, topk = viz.METHOD_COLORS["LTP"], viz.METHOD_COLORS["pruning off"], viz.METHOD_COLORS["top-k"]
    alive = viz.tokens_alive_chart({"LTP (hard)": [10, 6], "pruning off": [10, 10]})
    assert [t.line.color for t in alive.data] == [ltp, off]
    probs = viz.probabilities_chart({"a": 0.4, "b": 0.6}, {"a": 0.3, "b": 0.7}, ("LTP (hard)", "pruning off"))
    assert [t.marker.color for t in probs.data] == [ltp, off]
    points = pd.DataFrame({"method": ["baseline", "LTP", "top-k"], "accuracy": [0.9, 0.88, 0.87],
                           "flops_reduction": [1.0, 2.0, 2.0], "label": ["u", "l", "k"]})
    trade = viz.tradeoff_chart(points)
    assert [t.marker.color for t in trade.data] == [viz.METHOD_COLORS["baseline"], ltp, topk]
    assert viz.method_color("this model, pruning off") == off and viz.method_color("top-k, linear") != topk


def test_tradeoff_chart_marks_the_shipped_model():
    points = pd.DataFrame({"method": ["LTP", "top-k"], "accuracy": [0.9, 0.85], "flops_reduction": [2.0, 2.1],
                           "label": ["a", "b"]})
    fig = viz.tradeoff_chart(points, shipped={"accuracy": 0.93, "flops_reduction": 1.7, "label": "this model <x>",
                                              "note": "full test split"}, flops_count="all-tokens")
    star = fig.data[-1]
    assert len(fig.data) == 3 and star.marker.symbol == "star" and star.mode == "markers+text"
    assert list(star.x) == [1.7] and list(star.y) == [0.93] and star.name == "this model &lt;x&gt;"
    assert all(t.marker.symbol != "star" for t in fig.data[:-1]) and "full test split" in star.hovertemplate
    assert fig.layout.xaxis.title.text == "FLOPs reduction (x, all-tokens count)"
    assert len(viz.tradeoff_chart(points).data) == 2  # no shipped point given, none drawn


def test_the_template_as_plotly_default_gives_the_same_figures():
    """The dashboard makes the ltp template plotly's default (``style.use_as_default``) so that
    ``finish`` need not validate a copy per figure: the figures come out the same."""
    import plotly.io as pio
    from ltp.viz import style

    def spec():
        return viz.probabilities_chart({"neg": 0.2, "pos": 0.8}).to_plotly_json()

    default = pio.templates.default  # the dashboard's AppTests, run in this process, may have set it
    try:
        pio.templates.default = "plotly"
        before = spec()
        style.use_as_default()
        after = spec()
    finally:
        pio.templates.default = default
    assert after == before and after["layout"]["template"]["layout"]["font"]["size"] == style.FONT_SIZE
