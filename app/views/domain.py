"""Domain terms: the most distinctive words of each class, how long LTP keeps them, and
whether keeping them goes with correct predictions."""

import pandas as pd
import streamlit as st

import dashboard as db
from support import csv_export
from ltp import viz
from ltp.analysis import stats

TEST_COLUMNS = {"class": "Class", "n_kept": "Texts, a term retained", "n_pruned": "Texts, all pruned",
                "acc_kept": "Accuracy, retained", "acc_pruned": "Accuracy, pruned", "test": "Test",
                "statistic": "Statistic", "p_value": "p-value"}


@st.cache_data(show_spinner=False, max_entries=4)
def source_free(key: str, _words: pd.DataFrame) -> pd.DataFrame:
    """The words with news-source names no longer counted as domain terms (once per bundle)."""
    return stats.without_source_terms(_words)


sel = db.require_checkpoint()
st.title("Domain terms")
b = db.need_bundle(sel)
L, names = b.num_layers, b.label_names
st.caption("Per class, the training-set words that set it apart from the other classes, ranked by their weighted "
           "log-odds z-score (informative Dirichlet prior, Monroe et al. 2008): how many standard errors more often "
           "the word occurs in this class than in the others; above 2 is unlikely to be chance.")
c1, c2, c3 = st.columns([2, 3, 2], vertical_alignment="bottom")
klass = c1.selectbox("Class", range(len(names)), format_func=lambda c: names[c], key="dom_class")
top = c2.slider("Top terms", 5, 100, 20, step=5, key="dom_top")
hide = c3.toggle("Hide news-source names", value=True, key="dom_hide_sources",
                 help="Agency and outlet names (AFP, AP, Reuters, washingtonpost.com ...) are distinctive of a class "
                      "only because one agency covers it more; they say where a text came from, not what it is "
                      "about. Hidden, they are not counted as domain terms below either.")
words = source_free(db.bundle_key(b), b.words) if hide else b.words
terms = b.domain_terms[b.domain_terms["class"] == klass].sort_values("rank")
if hide:
    terms = terms[~stats.is_source_name(terms["term"]).to_numpy()]
terms = terms.head(top)
name = names[klass]
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**Top {len(terms)} terms of {name}**")
    survival = stats.term_survival(words, terms["term"].tolist(), L)
    shown = terms[["term", "z", "count"]].merge(survival, on="term", how="left").rename(columns={
        "term": "Term", "z": "z-score", "count": "Training count", "occurrences": "Occurrences",
        "mean_depth": "Mean depth", "share_kept_last": "Reaches last layer"})
    table_name = csv_export.file_slug("domain terms", name, f"top {top}", "no source names" if hide else "")
    st.dataframe(shown, hide_index=True, key=f"table-{table_name}", column_config={
        "z-score": st.column_config.NumberColumn(format="%.2f", help="Weighted log-odds z-score against the "
                                                 "other classes: the higher, the more the term marks this class."),
        "Training count": st.column_config.NumberColumn(help="Occurrences in the training texts used to find terms."),
        "Occurrences": st.column_config.NumberColumn(help="Occurrences among the analysed test words."),
        "Mean depth": st.column_config.NumberColumn(format="%.2f", help="Mean deepest layer reached (1..L)."),
        "Reaches last layer": st.column_config.ProgressColumn(format="percent", min_value=0.0, max_value=1.0,
                                                              help="Share of occurrences the last layer attends over.")})
    db.download(csv_export.with_filters(shown, {"Class": name, "News-source names": "hidden" if hide else "shown"}),
                table_name)
with right:
    retention = stats.domain_term_retention(words, klass, L, names)
    if retention.empty:
        st.info(f"No domain term of {name} occurs in the analysed examples.")
    else:
        curves = {g: part.sort_values("layer")["rate"].tolist() for g, part in retention.groupby("group", sort=False)}
        colors = {"all": viz.STATUS_COLORS["retained"], f"in {name} examples": viz.class_colors(names)[name],
                  "in other examples": viz.STATUS_COLORS["pruned"]}
        db.chart(viz.retention_curves_chart(curves, colors=colors,
                                            title=f"Occurrences of {name} domain terms alive per layer"),
                 "domain-retention-by-layer")
        shown_ret = retention.rename(columns={"layer": "Layer", "group": "Where", "words": "Words",
                                              "retained": "Alive", "rate": "Share alive"})
        db.table(shown_ret, csv_export.file_slug("domain retention", name, "no source names" if hide else ""),
                 column_config={"Share alive": st.column_config.NumberColumn(format="percent")})

st.subheader("Are examples more often right when their domain terms are retained?")
st.caption("Examples containing a domain term of their gold class: accuracy when at least one such term reaches the "
           f"last layer (is alive after layer {stats.last_reached_layer(L)}, so the last layer attends over it) "
           "vs when all were pruned before. Chi-square test of independence (Fisher's exact test when an expected "
           "count is below 5); a p-value below 0.05 says the difference is unlikely to be chance.")
test = stats.domain_retention_test(words, b.examples, names, L)
overall = test.iloc[-1]
c = st.columns(4)
c[0].metric("Accuracy, a term reaches the end", "–" if overall["n_kept"] == 0 else f"{overall['acc_kept']:.1%}",
            f"{overall['n_kept']} examples", delta_color="off", delta_arrow="off")
c[1].metric("Accuracy, all terms pruned", "–" if overall["n_pruned"] == 0 else f"{overall['acc_pruned']:.1%}",
            f"{overall['n_pruned']} examples", delta_color="off", delta_arrow="off")
c[2].metric(f"Test statistic ({overall['test']})", "–" if overall["test"] == "n/a" else f"{overall['statistic']:.3g}",
            help="chi-square: the chi2 statistic; fisher: the sample odds ratio")
c[3].metric("p-value", "–" if overall["test"] == "n/a" else f"{overall['p_value']:.3g}",
            help="The chance of a difference at least this large if keeping a term had nothing to do with being right.")
db.chart(viz.domain_retention_chart(test), "domain-test")
test_table = test[list(TEST_COLUMNS)].rename(columns=TEST_COLUMNS)
db.table(test_table, csv_export.file_slug("domain test", "no source names" if hide else ""), column_config={
    "p-value": st.column_config.NumberColumn(format="scientific"),
    "Statistic": st.column_config.NumberColumn(format="%.3f"),
    "Accuracy, retained": st.column_config.NumberColumn(format="percent"),
    "Accuracy, pruned": st.column_config.NumberColumn(format="percent")})
