"""Embedding map: t-SNE of the last-layer states of the tokens LTP kept (and of each example's
mean kept state), coloured by class, prediction, correctness or part of speech."""

import streamlit as st

import dashboard as db
import support as sup
from ltp import viz
from ltp.analysis import embed

COLOR_BY = {"gold class": "gold", "predicted class": "pred", "correctness": "correctness", "part of speech": "pos"}


@st.cache_data(show_spinner="Preparing the points…", max_entries=8)
def points(key: str, table: str, _b, _texts):
    """The table's rows with class names, correctness and (when texts are known) a text snippet."""
    df = sup.with_names(getattr(_b, table).drop(columns=[c for c in getattr(_b, table).columns
                                                        if c.startswith("pca_")]), _b.label_names)
    if _texts is not None:
        df["context"] = (sup.context_snippets(df, _b.words, _texts) if table == "token_embeddings"
                         else sup.text_previews(df["example_id"], _texts))
    return df


@st.cache_data(show_spinner="Running t-SNE (this can take a minute for 20,000 points)…", max_entries=8)
def tsne_xy(key: str, table: str, perplexity: float, _pcs):
    return embed.tsne(_pcs, perplexity)


def projected(b, table: str, key: str, df):
    """df with x, y from the bundle, or from a t-SNE recomputed at the chosen perplexity."""
    default = float(b.summary["meta"]["config"].get("perplexity", 30.0))
    state = f"emb_perplexity_{table}"
    c1, c2, c3 = st.columns([3, 1, 3], vertical_alignment="bottom")
    perplexity = c1.slider("t-SNE perplexity", 5, 100, int(default), key=f"emb_slider_{table}")
    if c2.button("Recompute", key=f"emb_recompute_{table}", disabled=sup.public_mode(),
                 help="Off in the public demo (a minute of CPU per click)" if sup.public_mode() else None):
        st.session_state[state] = (key, float(perplexity))
    chosen = st.session_state.get(state)
    if chosen and chosen[0] == key and chosen[1] != default:
        table_df = getattr(b, table)
        pcs = table_df[[c for c in table_df.columns if c.startswith("pca_")]].to_numpy(dtype="float32")
        xy = tsne_xy(key, table, chosen[1], pcs)
        df = df.assign(x=xy[:, 0], y=xy[:, 1])
        df.attrs["projection"] = chosen[1]
        c3.caption(f"Shown: t-SNE recomputed with perplexity {chosen[1]:g}.")
    else:
        c3.caption(f"Shown: the bundle's t-SNE (perplexity {default:g}).")
    return df


@st.cache_data(show_spinner="Drawing the map…", max_entries=16)
def scatter(key: str, table: str, projection, color: str, hover: tuple, title: str, legend: str, _df, _names):
    """The map's figure (cached: building 20,000 WebGL points takes a few hundred ms)."""
    fig = viz.embedding_scatter(_df, "x", "y", color, list(hover), _names, marker_size=marker_size(len(_df)),
                                   title=title)
    return fig.update_layout(height=650 if table == "token_embeddings" else 600, legend_title_text=legend)


def marker_size(n: int) -> float:
    """Smaller dots for more points (20,000 points stay readable)."""
    return 3 if n > 5000 else 5 if n > 1000 else 7


def color_args(choice: str, names):
    column = COLOR_BY[choice]
    return column, (names if column in ("gold", "pred") else None)


sel = db.require_checkpoint()
st.title("Embedding map")
b = db.need_bundle(sel)
key = db.bundle_key(b)
texts = db.split_for(b.summary["meta"]["dataset"], b.summary["meta"]["split"])
texts = None if texts is None else texts["text"]
if texts is None:
    st.caption("The data set is not prepared here, so hover labels show no context snippet.")


def map_section(table: str, choices: list[str], radio_key: str, hover: list[str], title: str, caption: str,
                chart_key: str) -> None:
    """One interactive map: colour picker, WebGL scatter (stored or recomputed t-SNE), CSV."""
    pts = points(key, table, b, texts)
    st.caption(caption.format(n=len(pts)))
    choice = st.radio("Colour by", choices, horizontal=True, key=radio_key)
    pts = projected(b, table, key, pts)
    column, names = color_args(choice, b.label_names)
    cols = tuple(hover + (["context"] if "context" in pts else []))
    db.chart(scatter(key, table, pts.attrs.get("projection"), column, cols, f"{title}, coloured by {choice}",
                     choice, pts, names), chart_key)
    db.download(pts, f"{chart_key}-points", "Download the points (CSV)")


st.subheader("Tokens reaching the last layer")
map_section("token_embeddings", list(COLOR_BY), "emb_color", ["piece", "word", "gold_class", "predicted_class"],
            "Tokens reaching the last layer",
            "{n:,} word pieces that reach the last layer (the bundle keeps up to 20,000), their hidden "
            "states reduced to 50 dimensions by PCA, then to 2 by t-SNE. Hover a point for its word and context.",
            "token-map")

st.subheader("Examples")
map_section("example_embeddings", [c for c in COLOR_BY if c != "part of speech"], "emb_ex_color",
            ["example_id", "n_retained", "gold_class", "predicted_class"], "Examples",
            "{n:,} examples, each the mean state of its tokens that reach the last layer.", "example-map")
