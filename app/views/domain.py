"""Domain terms: the most distinctive words of each class, how long LTP keeps them, and
whether keeping them goes with correct predictions."""

import streamlit as st

import dashboard as db
from ltp import viz
from ltp.analysis import stats

sel = db.require_checkpoint()
st.title("Domain terms")
b = db.need_bundle(sel)
L, names = b.num_layers, b.label_names
st.caption("Per class, the training-set words with the highest weighted log-odds z-score against the other "
           "classes (informative Dirichlet prior, Monroe et al. 2008).")
c1, c2 = st.columns([2, 3])
klass = c1.selectbox("Class", range(len(names)), format_func=lambda c: names[c], key="dom_class")
top = c2.slider("Top terms", 5, 100, 20, step=5, key="dom_top")

terms = b.domain_terms[b.domain_terms["class"] == klass].sort_values("rank").head(top)
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**Top {len(terms)} terms of {names[klass]}**")
    survival = stats.term_survival(b.words, terms["term"].tolist(), L)
    shown = terms[["term", "z", "count"]].rename(columns={"count": "train_count"}).merge(
        survival, on="term", how="left")
    small = {c: st.column_config.Column(width="small") for c in ("train_count", "occurrences")}
    db.table(shown, f"domain-terms-{klass}", column_config={
        **small,
        "share_kept_last": st.column_config.ProgressColumn("reaches last layer", format="percent",
                                                           min_value=0.0, max_value=1.0),
        "z": st.column_config.NumberColumn(format="%.2f", width="small"),
        "mean_depth": st.column_config.NumberColumn(format="%.2f", width="small")})
with right:
    retention = stats.domain_term_retention(b.words, klass, L, names)
    if retention.empty:
        st.info(f"No domain term of {names[klass]} occurs in the analysed examples.")
    else:
        curves = {g: part.sort_values("layer")["rate"].tolist() for g, part in retention.groupby("group", sort=False)}
        db.chart(viz.retention_curves_chart(curves, title=f"Occurrences of {names[klass]} domain terms alive "
                                                             "per layer"), "domain-retention-by-layer")
        db.table(retention, f"domain-retention-{klass}")

st.subheader("Are examples more often right when their domain terms survive?")
st.caption("Examples containing a domain term of their gold class: accuracy when at least one such term reaches the "
           f"last layer (is alive after layer {stats.last_reached_layer(L)}, so the last layer attends over it) "
           "vs when all were pruned before. Chi-square test of independence (Fisher's exact test when an expected "
           "count is below 5).")
test = stats.domain_retention_test(b.words, b.examples, names, L)
overall = test.iloc[-1]
c = st.columns(4)
c[0].metric("Accuracy, a term reaches the end", "–" if overall["n_kept"] == 0 else f"{overall['acc_kept']:.1%}",
            f"{overall['n_kept']} examples", delta_color="off", delta_arrow="off")
c[1].metric("Accuracy, all terms pruned", "–" if overall["n_pruned"] == 0 else f"{overall['acc_pruned']:.1%}",
            f"{overall['n_pruned']} examples", delta_color="off", delta_arrow="off")
c[2].metric(f"Test statistic ({overall['test']})", "–" if overall["test"] == "n/a" else f"{overall['statistic']:.3g}",
            help="chi-square: the chi2 statistic; fisher: the sample odds ratio")
c[3].metric("p-value", "–" if overall["test"] == "n/a" else f"{overall['p_value']:.3g}")
db.chart(viz.domain_retention_chart(test), "domain-test")
db.table(test, "domain-test", column_config={"p_value": st.column_config.NumberColumn(format="scientific"),
                                             "statistic": st.column_config.NumberColumn(format="%.3f")})
