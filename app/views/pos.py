"""Parts of speech: the POS mix of retained vs pruned words per class at one layer, and how
fast each word category (entity, domain term, stopword ...) is pruned."""

import numbers

import pandas as pd
import streamlit as st

import dashboard as db
from support import csv_export
from ltp import viz
from ltp.analysis import stats


@st.cache_data(show_spinner=False, max_entries=4)
def plain_words(key: str, _words: pd.DataFrame) -> pd.DataFrame:
    """The bundle's words without clitics and news-source tags (computed once per bundle)."""
    return stats.without_clitics_and_sources(_words)


@st.cache_data(show_spinner=False, max_entries=16)
def category_table(key: str, _words, num_layers: int, by_class: bool):
    return stats.category_retention(_words, num_layers, by_class=by_class)


def class_names(values, names: list[str]) -> list[str]:
    return [names[c] if isinstance(c, numbers.Integral) else str(c) for c in values]


sel = db.require_checkpoint()
st.title("Parts of speech")
b = db.need_bundle(sel)
L = b.num_layers
c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
layer = c1.slider("Layer", 1, L, stats.last_reached_layer(L), key="pos_layer",
                  help="Retained: alive after this layer; pruned: removed by it. The default, layer L-1, gives the "
                       "words the last layer attends over.")
by = c2.radio("Group examples by", ["gold", "pred"], horizontal=True, key="pos_by",
              format_func={"gold": "gold class", "pred": "predicted class"}.get)
hide = c3.toggle("Hide clitics and news-source tags", value=True, key="pos_hide_tags",
                 help="Leave out pieces split off a word (“'s”, “n't”) and the agency tags of news texts (“(AP)”, "
                      "“Reuters -”), as the Retained tokens page does.")
key = db.bundle_key(b)
words = plain_words(key, b.words) if hide else b.words
filters = {"Layer": layer, "Grouped by": f"{by} class", "Clitics and source tags": "hidden" if hide else "shown"}
pos = stats.pos_distribution(words, layer, by, num_layers=L)
db.chart(viz.pos_chart(pos, layer, b.label_names), "pos")
st.caption("Tags are spaCy's universal parts of speech: ADP covers prepositions (in, of), DET articles (the, a), "
           "PART particles (to, not, the possessive 's), PROPN names, X words spaCy could not tag.")
shown = pos[pos["count"] > 0]
table = pd.DataFrame({"Class": class_names(shown["class"], b.label_names),
                      "Part of speech": shown["pos"].map(stats.pos_label), "Status": shown["status"],
                      "Words": shown["count"], "Share": shown["share"]})
name = csv_export.file_slug("pos", f"layer {layer}", f"by {by}", "no clitics or tags" if hide else "")
st.dataframe(table, hide_index=True, key=f"table-{name}", column_config={
    "Share": st.column_config.NumberColumn(format="percent", help="Of the class's retained (or pruned) words.")})
db.download(csv_export.with_filters(table, filters), name)

st.subheader("Retention by word category")
st.caption("Share of the words of each category still alive at each layer. Categories in priority order: "
           + ", ".join(stats.CATEGORIES) + " (a word gets the first that applies).")
split = st.toggle("One panel per class", value=True, key="pos_cat_by_class")
cat = category_table(f"{key}-{hide}", words, L, split)
db.chart(viz.category_retention_chart(cat, b.label_names), "category-retention")
names = pd.DataFrame({"Layer": cat["layer"], "Class": class_names(cat["class"], b.label_names),
                      "Category": cat["category"], "Words": cat["words"], "Alive": cat["retained"],
                      "Share alive": cat["rate"]})
cat_name = csv_export.file_slug("category retention", "by class" if split else "all classes",
                         "no clitics or tags" if hide else "")
st.dataframe(names, hide_index=True, key=f"table-{cat_name}",
             column_config={"Share alive": st.column_config.NumberColumn(format="percent")})
db.download(csv_export.with_filters(names, {"Clitics and source tags": filters["Clitics and source tags"]}), cat_name)
