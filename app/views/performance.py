"""Performance: baseline vs LTP accuracy and F1, what pruning saves in FLOPs and in measured
time, the learned thresholds, and the accuracy-vs-FLOPs trade-off when a sweep is stored.

Every number here is one ``ltp report`` prints for the checkpoint: accuracy and FLOPs from
``ltp evaluate`` (metrics.json), speed from ``ltp bench`` alone (bench.json), never from the
examples/s an evaluation pass happened to run at."""

import streamlit as st

import dashboard as db
from support import bench_speed, places, sweeps, tables
from ltp import viz
from ltp.report import bench_markdown
from ltp.results import baseline_of, int8_rows, load_results


def table(df, name: str) -> None:
    db.table(df, name, column_config=tables.column_config(df))


sel = db.require_checkpoint()
st.title("Performance")
path = sel.path
try:
    results = load_results(path)
    sweep = sweeps.sweep_points(results)
except ValueError as err:
    st.error(places.redact(str(err), db.REPO))
    st.stop()

speed = bench_speed.headline_speed(results)
pruned, none = results.pruned(), results.unpruned()
if not pruned and not none:
    st.info(f"No test metrics are stored for this model yet. Measure them with:\n\n"
            f"```bash\nltp evaluate --checkpoint {sel.in_command} --mode both\n```")
else:
    baseline = baseline_of(results, repo=db.REPO)
    main = pruned or none
    cols = st.columns(4)
    cols[0].metric("Accuracy (LTP)" if pruned else "Accuracy (pruning off)", f"{main.accuracy:.4f}",
                   f"{main.accuracy - baseline.accuracy:+.4f} vs baseline" if baseline and pruned else None)
    cols[1].metric("Macro F1", f"{main.f1_macro:.4f}",
                   f"{main.f1_macro - baseline.f1_macro:+.4f} vs baseline" if baseline and pruned else None,
                   help="The mean over classes of per-class F1 (the harmonic mean of precision and recall).")
    if pruned:
        cols[2].metric("FLOPs reduction" + (" (honest)" if pruned.flops_count == "honest" else " (all tokens)"),
                       f"{pruned.flops:.2f}x",
                       f"{pruned.gflops_mean * 1000:.1f} M vs {pruned.gflops_unpruned_mean * 1000:.1f} M per example",
                       delta_color="off", delta_arrow="off")
    if speed:
        cols[3].metric("Measured speed-up", f"{speed['speedup']:.2f}x", f"ltp bench, batch {speed['batch']}",
                       delta_color="off", delta_arrow="off", help=f"Throughput with pruning on / off. {speed['source']}")
    else:
        cols[3].metric("Measured speed-up", "–", "not measured (see below)", delta_color="off", delta_arrow="off")
    st.caption(f"Accuracy, F1 and FLOPs: `ltp evaluate` on the test split ({main.sample}). Speed: "
               + (speed["source"] if speed else "not measured") + ". Baseline: "
               + ("the separately fine-tuned model without LTP." if baseline else
                  "not stored (a `baseline/test` entry in metrics.json or a sibling `baseline` stage)."))
    table(tables.metrics_table(results, baseline), "metrics")
    st.caption("FLOPs reduction is honest: pruned and unpruned both run the last layer's feed-forward block for "
               "[CLS] alone (the classifier reads nothing else). *FLOPs, all tokens* is the first release's count, "
               "with every token through every layer. No examples/s here: an evaluation pass is timed on a shared "
               "machine, which is no benchmark; every speed on this page comes from `ltp bench`.")
    if pruned and len(views := tables.short_views_table(pruned)):
        st.subheader("Short inputs")
        st.caption("Each test text's first sentence and first 12 words, the same weights with pruning off and on: "
                   "what a typed sentence meets.")
        table(views, "short-views")

    st.subheader("Per class and confusion matrix")
    st.caption("Rows of the matrix are the gold (true) class, columns the predicted one; each cell gives its share of "
               "the row (hover for the count), so the diagonal is each class's recall.")
    runs = [(name, r) for name, r in ((f"LTP ({pruned.mode})" if pruned else "", pruned), ("pruning off", none)) if r]
    for tab, (name, result) in zip(st.tabs([n for n, _ in runs]), runs):
        with tab:
            left, right = st.columns(2)
            with left:
                table(tables.per_class_table(result), f"per-class-{result.mode}")
                st.code(result.report, language=None)
            with right:
                db.chart(viz.confusion_matrix_chart(result.confusion_matrix, sel.card["labels"],
                                                       normalize=True, title=f"Confusion matrix, {name}"),
                         f"confusion-{result.mode}")

    st.subheader("Tokens alive per layer over the test set")
    left, right = st.columns(2)
    with left:
        series = {name: list(r.tokens_alive_per_layer) for name, r in runs}
        db.chart(viz.tokens_alive_chart(series, input_tokens=main.mean_input_tokens,
                                           title="Mean tokens alive after each layer"), "tokens-alive-dataset")
    with right:
        db.chart(viz.thresholds_chart(sel.card["thresholds"]), "thresholds")
    st.caption("A token is pruned at a layer when its importance score falls below the layer's threshold. Scores "
               "are never negative, so a layer whose threshold is zero or negative (grey bars) never prunes; "
               "layer 1 never prunes by design.")

st.subheader("Measured speed (`ltp bench`)")
if speed:
    for entry in results.bench:
        if entry.complete:
            try:
                st.markdown(bench_markdown(entry))
            except (KeyError, TypeError, ValueError):
                st.warning(f"bench.json's `{entry.key}` entry is incomplete; rerun `ltp bench --checkpoint "
                           f"{sel.in_command}`.")
    db.download(tables.bench_table(results.bench), "bench")
    st.caption("The same tables as `ltp report --details`. Throughput in examples/s; latency at batch 1.")
else:
    st.info(f"No timing is stored for this model. Measure it with `ltp bench --checkpoint {sel.in_command}` (writes bench.json).")

st.subheader("LTP with int8")
if rows := int8_rows(results):
    table(tables.quantization_table(rows), "int8")
    st.caption("int8: the encoder's linear layers quantized to int8 (dynamic: per-token int8 activations, "
               "int8 GEMM, CPU), the same pruning thresholds. LTP removes tokens, int8 makes each remaining token cheaper; every speed-up is "
               "against the fp32 model with pruning off. Accuracy from `ltp evaluate --int8`, speed from "
               "`ltp bench --int8`" + (f" ({speed['source']})." if speed else "."))
else:
    st.info(f"No int8 results are stored. Measure them with `ltp evaluate --checkpoint {sel.in_command} --mode both --int8` "
            f"and `ltp bench --checkpoint {sel.in_command} --int8`.")

st.subheader("Accuracy vs FLOPs trade-off")
if sweep is None:
    st.info("`ltp` sweep results are not stored for this model (no sweep.json beside the checkpoint). "
            f"Make them with `{sweeps.sweep_command(sel.in_command, sel.dataset)}`.")
else:
    count = sweeps.sweep_flops_count(sweep)
    shipped = sweeps.shipped_point(results, sweep, f"this model ({sel.path.name})")
    db.chart(viz.tradeoff_chart(sweep, shipped=shipped, flops_count=count), "tradeoff")
    st.caption("Each line is one method, each point one `ltp sweep` run from the same baseline; "
               + (f"the star is this model ({shipped['note']})." if shipped else
                  "this model has no pruned test result to mark.")
               + " The sweep's own speed-ups are not shown: each point was timed inside its evaluation pass, "
                 "which is no benchmark.")
    table(sweeps.sweep_table(sweep), "sweep")
