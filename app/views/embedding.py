"""Embedding map: t-SNE of the last-layer states of the tokens LTP retained (and of each example's
mean retained state), coloured by class, prediction, correctness or part of speech.

Each map carries every colouring (``viz.embedding_scatter_colourings``): its "colour by" buttons
recolour it in the browser, with no server round trip (a rerun-and-redraw took ~1.9 s for 20,000
WebGL points). Points and figures are cached without copies (cache_resource: never mutated), and
the CSV is made only when downloaded. A recompute runs in the page's run under a progress bar: a
closed tab, a Stop click or any other rerun stops it at the bar's next update (maps.py)."""

import numpy as np
import streamlit as st

import dashboard as db
import maps
from support import bundle_views, csv_export, places
from ltp import viz
from ltp.analysis import embed

COLOR_BY = {"gold class": "gold", "predicted class": "pred", "correctness": "correctness", "part of speech": "pos"}


@st.cache_resource(show_spinner="Preparing the points…", max_entries=8)
def points(key: str, table: str, with_texts: bool, _b, _texts):
    """The table's rows with class names, correctness and (when texts are known) a text snippet.

    cache_resource, not cache_data: the 20,000-row table would be copied on every rerun, and
    nobody changes it (pages derive new frames with assign)."""
    df = bundle_views.with_names(getattr(_b, table).drop(columns=[c for c in getattr(_b, table).columns
                                                        if c.startswith("pca_")]), _b.label_names)
    if with_texts:
        df["context"] = (bundle_views.context_snippets(df, _b.words, _texts) if table == "token_embeddings"
                         else bundle_views.text_previews(df["example_id"], _texts))
    return df


def stop_recompute(table: str) -> None:
    """The Stop button: back to the bundle's map, this session's run dropped."""
    run = maps.forget(table)
    if run is not None:
        run.cancel()
        st.session_state[f"emb_note_{table}"] = (f"Recompute stopped after {run.iterations_done} of "
                                                 f"{run.schedule.total_iter} iterations.")
    st.session_state.pop(f"emb_perplexity_{table}", None)


def projected(b, table: str, key: str, df):
    """df with x, y from the bundle, or from a t-SNE recomputed at the chosen perplexity."""
    default = float(b.summary["meta"]["config"].get("perplexity", 30.0))
    state = f"emb_perplexity_{table}"
    c1, c2, c3 = st.columns([3, 1, 3], vertical_alignment="bottom")
    perplexity = c1.slider("t-SNE perplexity", 5, 100, int(default), key=f"emb_slider_{table}")
    if c2.button("Recompute", key=f"emb_recompute_{table}", disabled=places.public_mode(),
                 help="Off in the public demo (seconds of CPU per click)" if places.public_mode() else None):
        st.session_state[state] = (key, float(perplexity))
        st.session_state.pop(f"emb_note_{table}", None)
    chosen = st.session_state.get(state)
    note = c3.empty()
    if chosen and chosen[0] == key and chosen[1] != default and not places.public_mode():
        table_df = getattr(b, table)
        pcs = table_df[[c for c in table_df.columns if c.startswith("pca_")]].to_numpy(dtype="float32")
        if maps.store().get((key, table, chosen[1])) is None:
            note.button("Stop", key=f"emb_stop_{table}", on_click=stop_recompute, args=(table,),
                        help="Stop the recompute and show the bundle's map")
        xy = maps.recompute(key, table, chosen[1], pcs, df[["x", "y"]].to_numpy(dtype=np.float64))
        df = df.assign(x=xy[:, 0], y=xy[:, 1])
        df.attrs["projection"] = chosen[1]
        note.caption(f"Shown: t-SNE recomputed with perplexity {chosen[1]:g} (up to {embed.QUICK.n_iter} "
                     f"iterations continuing from the bundle's map, perplexity {default:g}).")
    else:
        stopped = st.session_state.get(f"emb_note_{table}")
        note.caption((f"{stopped} " if stopped else "") + f"Shown: the bundle's t-SNE (perplexity {default:g}).")
    return df


@st.cache_resource(show_spinner="Drawing the map…", max_entries=16)
def scatter(key: str, table: str, projection, choices: tuple, hover: tuple, title: str, _df, _names):
    """The map's figure with every colouring of ``choices`` (cached without copies; st.plotly_chart
    only reads it)."""
    colourings = {choice: color_args(choice, _names) for choice in choices}
    fig = viz.embedding_scatter_colourings(_df, "x", "y", colourings, list(hover), marker_size=marker_size(len(_df)),
                                           title=title)
    return fig.update_layout(height=700 if table == "token_embeddings" else 650)


def marker_size(n: int) -> float:
    """Smaller dots for more points (20,000 points stay readable)."""
    return 3 if n > 5000 else 5 if n > 1000 else 7


def color_args(choice: str, names):
    column = COLOR_BY[choice]
    return column, (names if column in ("gold", "pred") else None)


def coloured_map(pts, key: str, table: str, names, choices: list[str], hover: tuple, title: str,
                 chart_key: str) -> None:
    """The WebGL scatter (its buttons recolour it in the browser) and the CSV of one map."""
    st.caption("Colour by: the buttons above the map (" + ", ".join(choices) + ") recolour it at once, in "
               "your browser. The legend names the colours.")
    db.chart(scatter(key, table, pts.attrs.get("projection"), tuple(choices), hover, title, pts, names), chart_key)
    st.download_button("Download the points (CSV)", lambda: csv_export.to_csv_bytes(pts), file_name=f"{chart_key}-points.csv",
                       mime="text/csv", key=f"csv-{chart_key}-points", icon=":material/download:")


def map_section(table: str, choices: list[str], hover: list[str], title: str, caption: str, chart_key: str) -> None:
    """One interactive map: perplexity and recompute, then the map with its colour buttons."""
    pts = points(bundle_key, table, split_texts is not None, bundle, split_texts)
    st.caption(caption.format(n=len(pts), total=bundle.summary["meta"]["examples"]))
    pts = projected(bundle, table, bundle_key, pts)
    cols = tuple(hover + (["context"] if "context" in pts else []))
    coloured_map(pts, bundle_key, table, bundle.label_names, choices, cols, title, chart_key)


sel = db.require_checkpoint()
st.title("Embedding map")
bundle = db.need_bundle(sel)
bundle_key = db.bundle_key(bundle)
split = db.split_for(bundle.summary["meta"]["dataset"], bundle.summary["meta"]["split"])
split_texts = None if split is None else split["text"]
if split_texts is None:
    st.caption("The data set is not prepared here, so hover labels show no context snippet.")

st.subheader("Tokens reaching the last layer")
map_section("token_embeddings", list(COLOR_BY),
            ["piece", "word", "gold_class", "predicted_class"], "Tokens reaching the last layer",
            "{n:,} word pieces that reach the last layer (the bundle keeps up to 20,000), their hidden "
            "states reduced to 50 dimensions by PCA, then to 2 by t-SNE. Hover a point for its word and context.",
            "token-map")

st.subheader("Examples")
map_section("example_embeddings", [c for c in COLOR_BY if c != "part of speech"],
            ["example_id", "n_retained", "gold_class", "predicted_class"], "Examples",
            "{n:,} of the {total:,} analysed examples, each the mean state of its word pieces that reach the "
            "last layer; an example whose every word piece was pruned before then (only [CLS] left) has no "
            "point.", "example-map")
