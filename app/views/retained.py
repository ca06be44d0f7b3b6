"""Retained tokens: the words LTP keeps (and prunes) by class, confusion cell and layer, as bars,
tables and word clouds, and how deep one word usually survives."""

import pandas as pd
import streamlit as st

import dashboard as db
from ltp import viz
from ltp.analysis import stats

ALL_CLASSES = -1


@st.cache_data(show_spinner=False, max_entries=64)
def cloud(freqs: tuple[tuple[str, int], ...], colormap: str):
    return viz.word_cloud_image(dict(freqs), width=800, height=360, colormap=colormap)


def filters(names: list[str], n_layers: int) -> dict:
    c1, c2, c3, c4 = st.columns([2, 4, 3, 2], vertical_alignment="bottom")
    klass = c1.selectbox("Class", [ALL_CLASSES, *range(len(names))], key="ret_class",
                         format_func=lambda c: "all classes" if c == ALL_CLASSES else names[c])
    cell = c2.radio("Confusion cell (one-vs-rest for the class)", ["all", *stats.CELLS], horizontal=True,
                    key="ret_cell", disabled=klass == ALL_CLASSES,
                       help="TP: gold and predicted are the class; FP: predicted only; FN: gold only; TN: neither.")
    layer = c3.slider("Layer", 1, n_layers, stats.last_reached_layer(n_layers), key="ret_layer",
                      help="Retained: alive after this layer. Pruned: removed at or before it. The default, "
                           "layer L-1, gives the words the last layer attends over.")
    top = c4.number_input("Top words", 5, 100, 25, step=5, key="ret_top")
    no_stop = st.checkbox("Exclude stopwords", value=True, key="ret_nostop")
    return {"class_id": None if klass == ALL_CLASSES else int(klass),
            "cell": "all" if klass == ALL_CLASSES else cell, "layer": int(layer),
            "exclude_stopwords": no_stop, "top": int(top)}


def column(b, f: dict, retained: bool) -> None:
    status = "retained" if retained else "pruned"
    freq = stats.word_frequencies(b.words, retained=retained, examples=b.examples, num_layers=b.num_layers, **f)
    when = f"alive after layer {f['layer']}" if retained else f"pruned by layer {f['layer']}"
    st.markdown(f"**{status.capitalize()}** — words {when}")
    if freq.empty:
        st.info("No words match: layer 1 never prunes." if not retained and f["layer"] == 1 else
                "No words match these filters.")
        return
    db.chart(viz.word_frequency_chart(freq, color=viz.STATUS_COLORS[status]), f"{status}-words")
    image = cloud(tuple(zip(freq["word"], freq["count"].astype(int))), "viridis" if retained else "cividis")
    st.image(image, caption=f"{status} words", width="stretch")
    db.table(freq, f"{status}-words")


def word_search(b) -> None:
    st.subheader("How deep does a word survive?")
    word = st.text_input("Word", key="ret_word", placeholder="e.g. excellent")
    if not word.strip():
        st.caption("Type a word to see the deepest layer each of its occurrences reaches.")
        return
    found = stats.word_survival(b.words, word, num_layers=b.num_layers)
    if not found["occurrences"]:
        st.info(f"“{word.strip()}” does not occur in the analysed examples.")
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("Occurrences", found["occurrences"])
    c2.metric("Mean deepest layer", f"{found['mean_depth']:.2f} of {b.num_layers}")
    c3.metric("Reaches the last layer", f"{found['share_kept_last']:.0%}",
              help=f"Alive after layer {stats.last_reached_layer(b.num_layers)}, so the last layer attends over it.")
    db.chart(viz.word_depth_chart(found), "word-depth")
    rows = [{"class": b.label_names[c], **v} for c, v in found["per_class"].items()]
    db.table(pd.DataFrame(rows), "word-survival-by-class")


sel = db.require_checkpoint()
st.title("Retained tokens")
b = db.need_bundle(sel)
meta = b.summary["meta"]
st.caption(f"{meta['examples']:,} {meta['split']} examples of {meta['dataset']} ({meta['sample']}), {len(b.words):,} "
           f"words. {meta['word_rule'].capitalize()}.")
f = filters(b.label_names, b.num_layers)
left, right = st.columns(2)
with left:
    column(b, f, retained=True)
with right:
    column(b, f, retained=False)
word_search(b)
