"""Retained tokens: the words LTP keeps (and prunes) by class, confusion cell and layer, as bars,
tables and word clouds, and how deep one word usually stays alive."""

import pandas as pd
import streamlit as st

import dashboard as db
from support import csv_export
from ltp import viz
from ltp.analysis import stats

ALL_CLASSES = -1
CELL_MEANING = {"all": "every text of the class", "TP": "TP: the class, predicted right",
                "FP": "FP: another class, wrongly predicted as it", "FN": "FN: the class, predicted as another",
                "TN": "TN: neither gold nor predicted"}


@st.cache_data(show_spinner=False, max_entries=4)
def plain_words(key: str, _words: pd.DataFrame) -> pd.DataFrame:
    """The bundle's words without clitics and news-source tags (computed once per bundle)."""
    return stats.without_clitics_and_sources(_words)


@st.cache_data(show_spinner=False, max_entries=64)
def cloud(freqs: tuple[tuple[str, int], ...], color: str):
    return viz.word_cloud_image(dict(freqs), width=800, height=360, color=color)


def filters(names: list[str], n_layers: int) -> dict:
    c1, c2, c3, c4 = st.columns([2, 4, 3, 2], vertical_alignment="bottom")
    klass = c1.selectbox("Class", [ALL_CLASSES, *range(len(names))], key="ret_class",
                         format_func=lambda c: "all classes" if c == ALL_CLASSES else names[c])
    cell = c2.radio("Confusion cell (one-vs-rest for the class)", ["all", *stats.CELLS], horizontal=True,
                    key="ret_cell", disabled=klass == ALL_CLASSES,
                    help="Which texts to count, for the chosen class: TP (true positive) its texts predicted "
                         "right; FP (false positive) other classes' texts predicted as it; FN (false negative) its "
                         "texts predicted as another class; TN (true negative) texts neither of nor predicted as it.")
    layer = c3.slider("Layer", 1, n_layers, stats.last_reached_layer(n_layers), key="ret_layer",
                      help="Retained: alive after this layer. Pruned: removed at or before it. The default, "
                           "layer L-1, gives the words the last layer attends over.")
    top = c4.number_input("Top words", 5, 100, 25, step=5, key="ret_top")
    t1, t2 = st.columns(2)
    no_stop = t1.checkbox("Exclude stopwords", value=True, key="ret_nostop")
    hide = t2.toggle("Hide clitics and news-source tags", value=True, key="ret_hide_tags",
                     help="Clitics are pieces split off a word (the “s” of “Association ' s”, “n't”); source tags "
                          "name the agency a news text came from, as in “(AP)” or “Reuters -”. Alone they say "
                          "nothing about a class. The same name inside a sentence (“told Reuters”) is still counted.")
    if klass != ALL_CLASSES:
        st.caption(f"Texts counted: {CELL_MEANING[cell].replace('the class', names[klass])}.")
    return {"class_id": None if klass == ALL_CLASSES else int(klass),
            "cell": "all" if klass == ALL_CLASSES else cell, "layer": int(layer),
            "exclude_stopwords": no_stop, "hide_tags": hide, "top": int(top)}


def described(f: dict, names: list[str], status: str) -> dict:
    """The filters behind a word table, as its CSV records them (leading columns)."""
    return {"Class": "all classes" if f["class_id"] is None else names[f["class_id"]],
            "Confusion cell": f["cell"], "Layer": f["layer"],
            "Words": f"alive after layer {f['layer']}" if status == "retained" else f"pruned by layer {f['layer']}",
            "Stopwords": "excluded" if f["exclude_stopwords"] else "included",
            "Clitics and source tags": "hidden" if f["hide_tags"] else "shown"}


def download_name(what: str, record: dict) -> str:
    return csv_export.file_slug(what, record["Class"], record["Confusion cell"], f"layer {record['Layer']}",
                         "no stopwords" if record["Stopwords"] == "excluded" else "",
                         "no clitics or tags" if record["Clitics and source tags"] == "hidden" else "")


def column(b, f: dict, retained: bool) -> None:
    status = "retained" if retained else "pruned"
    words = plain_words(db.bundle_key(b), b.words) if f["hide_tags"] else b.words
    counted = {k: v for k, v in f.items() if k != "hide_tags"}
    freq = stats.word_frequencies(words, retained=retained, examples=b.examples, num_layers=b.num_layers, **counted)
    when = f"alive after layer {f['layer']}" if retained else f"pruned by layer {f['layer']}"
    st.markdown(f"**{status.capitalize()}** — words {when}")
    if freq.empty:
        st.info("No words match: layer 1 never prunes." if not retained and f["layer"] == 1 else
                "No words match these filters.")
        return
    db.chart(viz.word_frequency_chart(freq, color=viz.STATUS_COLORS[status]), f"{status}-words")
    image = cloud(tuple(zip(freq["word"], freq["count"].astype(int))), viz.STATUS_COLORS[status])
    st.image(image, caption=f"{status} words", width="stretch")
    shown = freq.rename(columns={"word": "Word", "count": "Occurrences", "share": "Share"})
    record = described(f, b.label_names, status)
    name = download_name(f"{status} words", record)
    st.dataframe(shown, hide_index=True, key=f"table-{status}-words", column_config={
        "Share": st.column_config.NumberColumn(format="percent", help="Of all the words these filters select.")})
    db.download(csv_export.with_filters(shown, record), name)


def word_search(b) -> None:
    st.subheader("How deep does a word stay alive?")
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
    rows = [{"Class": b.label_names[c], "Occurrences": v["occurrences"], "Mean deepest layer": v["mean_depth"],
             "Reaches the last layer": v["share_kept_last"]} for c, v in found["per_class"].items()]
    db.table(pd.DataFrame(rows), csv_export.file_slug("word survival", found["word"]), column_config={
        "Mean deepest layer": st.column_config.NumberColumn(format="%.2f"),
        "Reaches the last layer": st.column_config.NumberColumn(format="percent")})


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
