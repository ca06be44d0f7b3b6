"""The live page's server-side parts, timed one by one without a profiler and without Streamlit:
`python benchmarks/rerun_parts.py [--checkpoint models/ag_news-minilm-ltp] [--repeats 20]`.

For one ~50-word text (benchmarks/load_test.py's first): both traces (pruned and unpruned, the
app's one torch thread), the three figures of charts_row, what st.plotly_chart does to them
(to_dict + to_json), the template object finish() builds per figure, the layer table HTML and
CSV, the st.cache_data copy of the traces; and what a full garbage collection costs in a process
holding the model and the page's libraries, before and after gc.freeze(). Median thread CPU ms.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "app"), str(REPO / "benchmarks")]

import plotly.graph_objects as go  # noqa: E402
import plotly.io as pio  # noqa: E402
import plotly.tools  # noqa: E402

import live_session as ls  # noqa: E402  (the live page under a real server and browser)
from support import csv_export, markup, threads  # noqa: E402
from ltp import viz  # noqa: E402
from ltp.checkpoint import load_checkpoint  # noqa: E402
from ltp.results import pruning_mode  # noqa: E402
from ltp.trace import alive_masks, heatmap_inputs, layer_rows, seen_text, trace  # noqa: E402
from ltp.viz.style import TEMPLATE  # noqa: E402


def cpu_ms(fn, repeats: int) -> float:
    """Median thread CPU time of fn() in ms, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return 1000 * statistics.median(times)


def page_figures(hard, none) -> list[go.Figure]:
    """The three figures charts_row() (app/views/prune.py) builds."""
    counts = {"LTP (hard)": [lt_.count for lt_ in hard.layers], "pruning off": [lt_.count for lt_ in none.layers]}
    tokens, scores, thresholds, alive = heatmap_inputs(hard)
    return [viz.tokens_alive_chart(counts, input_tokens=hard.input_tokens),
            viz.probabilities_chart(hard.probabilities, none.probabilities, ("LTP (hard)", "pruning off")),
            viz.score_heatmap(tokens, scores, thresholds, alive, title="Importance score per layer")]


def without_template_argument(hard, none) -> list[go.Figure]:
    """page_figures() with the template made plotly's default once instead of passed to every figure
    (ltp.viz.style.finish patched in this process only); checks that the figures look the same."""
    import ltp.viz.style as style

    finish, default = style.finish, pio.templates.default

    def finish_without_template(fig, title, **layout):
        fig.update_layout(title=title, margin=dict(l=60, r=20, t=60 if title else 30, b=50), **layout)
        return fig

    style.finish, pio.templates.default = finish_without_template, TEMPLATE
    for module in (sys.modules["ltp.viz.sentence"],):
        module.finish = finish_without_template
    try:
        figs = page_figures(hard, none)
    finally:
        style.finish, pio.templates.default = finish, default
        sys.modules["ltp.viz.sentence"].finish = finish
    if figs[0].layout.template != pio.templates[TEMPLATE]:
        raise AssertionError("the variant changed the figures' template")
    return figs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The live page's server-side parts, timed one by one.")
    parser.add_argument("--checkpoint", type=Path, default=REPO / "models" / "ag_news-minilm-ltp")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    ck = load_checkpoint(args.checkpoint)
    text, mode = ls.text_for(0, 0), pruning_mode(ck.model.mode)

    def both():
        return [trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, m)
                for m in (mode, "none")]

    rows = {}
    with threads.torch_threads():
        rows["traces: pruned + unpruned forward (1 torch thread)"] = cpu_ms(both, args.repeats)
        hard, none = both()
    figs = page_figures(hard, none)
    rows["3 figures built (tokens_alive_chart, probabilities_chart, score_heatmap)"] = cpu_ms(
        lambda: page_figures(hard, none), args.repeats)
    template = pio.templates[TEMPLATE]
    rows[f"  of which: one go.layout.Template({TEMPLATE!r}) (finish() builds one per figure)"] = cpu_ms(
        lambda: go.layout.Template(template), args.repeats)
    rows["st.plotly_chart's share: to_dict + to_json, 3 figures"] = cpu_ms(
        lambda: [pio.to_json(plotly.tools.return_figure_from_figure_or_data(f, True), validate=False) for f in figs],
        args.repeats)
    rows["  variant: pio.templates.default set once, finish() passing no template"] = cpu_ms(
        lambda: without_template_argument(hard, none), args.repeats)
    specs = [f.to_dict() for f in figs]
    rows["  lower bound: the same 3 specs as dicts into go.Figure(spec, _validate=False)"] = cpu_ms(
        lambda: [go.Figure(spec, _validate=False) for spec in specs], args.repeats)
    shown, _ = seen_text(hard)
    rows["layers_table_html"] = cpu_ms(lambda: viz.layers_table_html(markup.printable(shown), hard.offsets,
                                                                     hard.special, alive_masks(hard)), args.repeats)
    rows["layer_rows + to_csv_bytes"] = cpu_ms(lambda: csv_export.to_csv_bytes(layer_rows(hard)), args.repeats)
    rows["st.cache_data copy of the two traces (pickle round trip)"] = cpu_ms(
        lambda: pickle.loads(pickle.dumps((hard, none))), args.repeats)
    import pandas, pyarrow, streamlit  # noqa: F401, E401 - the server's heap holds these too

    gc.collect()
    tracked = len(gc.get_objects())
    rows[f"gc.collect() with {tracked:,} tracked objects"] = cpu_ms(gc.collect, 3)
    gc.freeze()
    rows["gc.collect() after gc.freeze()"] = cpu_ms(gc.collect, 3)
    width = max(map(len, rows))
    for name, ms in rows.items():
        print(f"{name:<{width}}  {ms:8.2f} ms")
    print(f"\nfigure JSON bytes: {[len(pio.to_json(f, validate=False)) for f in figs]}; loadavg {os.getloadavg()}")


if __name__ == "__main__":
    main()
