"""Parts of speech: the POS mix of retained vs pruned words per class at one layer, and how
fast each word category (entity, domain term, stopword ...) is pruned."""

import numbers

import streamlit as st

import dashboard as db
from ltp import viz
from ltp.analysis import stats


@st.cache_data(show_spinner=False, max_entries=16)
def category_table(key: str, _words, num_layers: int, by_class: bool):
    return stats.category_retention(_words, num_layers, by_class=by_class)


sel = db.require_checkpoint()
st.title("Parts of speech")
b = db.need_bundle(sel)
L = b.num_layers
c1, c2 = st.columns([3, 2])
layer = c1.slider("Layer", 1, L, stats.last_reached_layer(L), key="pos_layer",
                  help="Retained: alive after this layer; pruned: removed by it. The default, layer L-1, gives the "
                       "words the last layer attends over.")
by = c2.radio("Group examples by", ["gold", "pred"], horizontal=True, key="pos_by",
              format_func={"gold": "gold class", "pred": "predicted class"}.get)
pos = stats.pos_distribution(b.words, layer, by, num_layers=L)
db.chart(viz.pos_chart(pos, layer, b.label_names), "pos")
table = pos.assign(**{"class": [b.label_names[c] for c in pos["class"]]})
db.table(table[table["count"] > 0], f"pos-layer-{layer}")

st.subheader("Retention by word category")
st.caption("Share of the words of each category still alive at each layer. Categories in priority order: "
           + ", ".join(stats.CATEGORIES) + " (a word gets the first that applies).")
split = st.toggle("One panel per class", value=True, key="pos_cat_by_class")
key = db.bundle_key(b)
cat = category_table(key, b.words, L, split)
db.chart(viz.category_retention_chart(cat, b.label_names), "category-retention")
names = cat.assign(**{"class": [b.label_names[c] if isinstance(c, numbers.Integral) else c for c in cat["class"]]})
db.table(names, "category-retention")
