"""The Embedding map's speed bars, measured: `python benchmarks/map_speed.py [--model models/ag_news-minilm-ltp]
[--data-dir data] [--perplexities 10,50,100] [--reference] [--out benchmarks/map_speed.json]`.

1. Recompute: the dashboard's t-SNE (ltp.analysis.embed.QUICK, continuing from the stored map)
   of the bundle's token map at each perplexity, on 2 threads; wall and CPU seconds, and how
   well it keeps each point's 10 nearest neighbours (1,000 probe points, exact) next to the
   stored map's. --reference also runs a full t-SNE (FULL, from PCA) at each perplexity.
2. Stop: a recompute cancelled 2 s in (what the session's end does), and one whose progress
   callback raises 2 s in (what Streamlit's StopException does): seconds from the stop to the
   run's end.
3. Recolour: the Embedding map page under Streamlit's AppTest with the model, the server time of
   a whole-page rerun after a colour change (first time for a colour, then again; in the browser
   only the map's fragment reruns, a part of this) and of Streamlit's serialisation of the chart.
4. Browser (when /usr/bin/chromium is there): `streamlit run` with only this model, Chromium via
   Playwright: seconds from clicking a colour until the token map shows it (twice per colour), on
   two clocks: the harness's (Playwright's click and polling included: `recolour_s`) and the
   page's own (the click event reaching the page to the first animation frame after plotly.js
   reports the update: `recolour_in_page_s`, what a person at the screen waits); and from
   clicking Recompute at --browser-perplexity until the recomputed map is shown.

Threads are fixed to 2 before numpy loads. Timings are wall-clock and depend on what else runs
(meta.loadavg); pause other work to measure.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "2"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's ltp, even where another one is installed
from ltp.analysis import embed  # noqa: E402
PROBES, K = 1000, 10


def token_map(bundle: Path) -> tuple[np.ndarray, np.ndarray]:
    """The bundle's token PCA states (N, 50) and stored map (N, 2)."""
    tok = pd.read_parquet(bundle / "token_embeddings.parquet")
    return (tok[[c for c in tok.columns if c.startswith("pca_")]].to_numpy(np.float32),
            tok[["x", "y"]].to_numpy(np.float64))


def neighbours_kept(x: np.ndarray, xy: np.ndarray, seed: int = 1) -> float:
    """Mean share of each probe point's K nearest neighbours in x that are also its K nearest in xy."""
    from sklearn.neighbors import NearestNeighbors

    probe = np.random.default_rng(seed).choice(len(x), min(PROBES, len(x)), replace=False)
    hi = NearestNeighbors(n_neighbors=K + 1).fit(x).kneighbors(x[probe], return_distance=False)[:, 1:]
    lo = NearestNeighbors(n_neighbors=K + 1).fit(xy).kneighbors(xy[probe], return_distance=False)[:, 1:]
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(hi, lo)]))


def timed_run(x, perplexity, schedule, init) -> dict:
    reports = []
    t0, c0 = time.perf_counter(), time.process_time()
    run = embed.TSNERun(x, perplexity, schedule=schedule, init=init)
    xy = run.run(lambda f, what: reports.append(f))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "iterations": run.iterations_done,
            "progress_reports": len(reports),
            "neighbours_kept": round(neighbours_kept(x, xy), 4)}


def recompute(x, stored, perplexities, reference: bool) -> dict:
    out = {"points": len(x), "dims": x.shape[1], "schedule": dict(vars(embed.QUICK)),
           "stored_map_neighbours_kept": round(neighbours_kept(x, stored), 4), "runs": {}}
    for p in perplexities:
        row = {"quick": timed_run(x, p, embed.QUICK, stored)}
        if reference:
            row["full_from_pca"] = timed_run(x, p, embed.FULL, None)
        out["runs"][str(p)] = row
        print(f"perplexity {p:g}: {row}", flush=True)
    return out


def stop_latency(x, stored, perplexity: float, after_s: float = 2.0) -> dict:
    """Seconds from a stop (cancel, or a raising progress callback) to the end of the run."""
    result = {}
    for how in ("cancel", "raise"):
        run = embed.TSNERun(x, perplexity, schedule=embed.QUICK, init=stored)
        flag = threading.Event()
        ended = {}

        def progress(fraction, what, flag=flag):
            if flag.is_set():
                raise KeyboardInterrupt("stop")  # stands for Streamlit's StopException (a BaseException too)

        def work(run=run, ended=ended, progress=progress, how=how):
            try:
                run.run(progress if how == "raise" else None)
            except (embed.TSNEStopped, KeyboardInterrupt) as err:
                ended["error"] = type(err).__name__
            ended["t"] = time.perf_counter()

        thread = threading.Thread(target=work)
        thread.start()
        time.sleep(after_s)
        t_stop = time.perf_counter()
        run.cancel() if how == "cancel" else flag.set()
        thread.join()
        result[how] = {"stop_to_end_s": round(ended["t"] - t_stop, 3), "ended_with": ended.get("error", "finished"),
                       "iterations_done": run.iterations_done}
    print(f"stop: {result}", flush=True)
    return result


def typed_arrays(spec: dict) -> dict:
    """A chart spec with plotly's base64 arrays ({"dtype", "bdata"}) back as numpy arrays, as the page has them."""
    import base64

    for trace in spec["data"]:
        for axis in ("x", "y"):
            if isinstance(trace.get(axis), dict) and "bdata" in trace[axis]:
                trace[axis] = np.frombuffer(base64.b64decode(trace[axis]["bdata"]), dtype=trace[axis]["dtype"])
    return spec


# The page's own clock for a recolour, without Playwright's share (finding the button, actionability
# checks, the round trips of its polling): from the click event reaching the page (a capturing listener)
# to the first animation frame after plotly.js reports the update done (`plotly_update`).
IN_PAGE_CLOCK = """() => {
  window.__recolour = {};
  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('.updatemenu-button')) window.__recolour.clicked = performance.now();
  }, true);
  const gd = document.querySelectorAll('.js-plotly-plot')[0];
  gd.on('plotly_update', () => requestAnimationFrame(() => { window.__recolour.painted = performance.now(); }));
}"""


def recolour(model: Path, data_dir: Path, repeats: int = 3) -> dict:
    """Server seconds of Embedding-map reruns after a colour change, under AppTest."""
    import hashlib

    import plotly.graph_objects
    import plotly.io as pio
    import plotly.tools
    from streamlit.testing.v1 import AppTest

    os.environ["LTP_MODELS_DIR"], os.environ["LTP_DATA_DIR"] = str(model.parent), str(data_dir)
    sys.path.insert(0, str(REPO / "app"))
    at = AppTest.from_file(str(REPO / "app" / "Home.py"), default_timeout=600).run()
    box = at.sidebar.selectbox(key="ckpt_choice")
    box.select_index(box.options.index(model.name)).run()  # options are the checkpoints' names
    assert Path(box.value).name == model.name
    t0 = time.perf_counter()
    at.switch_page("views/embedding.py").run()
    first_visit = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    colours = ["part of speech", "correctness", "predicted class", "gold class"]
    first, again = [], []  # a recolour is a click on the figure's buttons, in the browser: no rerun at all;
    for rounds in (first, again):  # these are plain reruns of the page (cached points and figures)
        for _ in colours:
            t0 = time.perf_counter()
            at.run()
            rounds.append(time.perf_counter() - t0)
    assert not at.exception, [e.value for e in at.exception]
    assert not [c for c in at.caption if "recomputed" in c.value]  # the stored map: no recompute involved
    serialise = []  # a fragment rerun's own cost: the cached figure through st.plotly_chart's serialisation
    fig = plotly.graph_objects.Figure(typed_arrays(json.loads(at.get("plotly_chart")[0].proto.spec)))
    for _ in range(repeats):
        t0 = time.perf_counter()
        spec = pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)
        hashlib.md5(spec.encode()).hexdigest()  # Streamlit hashes the spec for the element id
        serialise.append(time.perf_counter() - t0)
    out = {"first_visit_s": round(first_visit, 2), "colours": colours, "recolour_is_in_the_browser": True,
           "page_rerun_s": [round(t, 3) for t in first + again],
           "rerun_median_s": round(statistics.median(first + again), 3),
           "chart_serialisation_median_s": round(statistics.median(serialise), 3),
           "chart_spec_mb": round(len(spec) / 1e6, 2), "points_drawn": sum(len(t.customdata) for t in fig.data
                                                               if t.customdata is not None)}
    print(f"recolour: {out}", flush=True)
    return out


def browser(model: Path, data_dir: Path, perplexity: int, work: Path) -> dict:
    """Recolour and recompute as a user sees them: click -> the token map redrawn."""
    import harness  # the server and browser helper tests share

    if not Path(harness.CHROMIUM).exists():
        return {"skipped": f"{harness.CHROMIUM} is missing"}
    from playwright.sync_api import sync_playwright

    models = work / "models"
    models.mkdir(parents=True, exist_ok=True)
    if not (models / model.name).exists():
        (models / model.name).symlink_to(model.resolve())
    title_has = "(t) => { const gd = document.querySelectorAll('.js-plotly-plot')[0];" \
                " return gd && gd.layout && gd.layout.title && gd.layout.title.text.includes(t); }"
    out = {"recolour_s": {}, "recolour_in_page_s": {}}
    env = {"LTP_MODELS_DIR": str(models), **({"LTP_DATA_DIR": str(data_dir)} if data_dir is not None else {})}
    with harness.serve(work, env) as server, sync_playwright() as p:
        b = harness.launch_browser(p)
        try:
            with harness.new_page(b) as page:
                page.goto(f"{server.url}/embedding")
                page.wait_for_function(f"() => document.querySelectorAll('{harness.GL_CANVAS}').length >= 2",
                                       timeout=harness.RENDER_MS)
                harness.settle(page)
                gd = page.locator(".js-plotly-plot").first  # the token map; its buttons recolour it
                page.evaluate(IN_PAGE_CLOCK)
                for colour in ["part of speech", "correctness", "predicted class", "gold class"] * 2:
                    page.evaluate("() => { window.__recolour = {}; }")
                    t0 = time.perf_counter()
                    gd.locator(".updatemenu-button", has_text=colour).first.click()
                    page.wait_for_function(title_has, arg=f"coloured by {colour}", timeout=harness.RENDER_MS)
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")  # drawn
                    out["recolour_s"].setdefault(colour, []).append(round(time.perf_counter() - t0, 3))
                    page.wait_for_function("() => window.__recolour.painted !== undefined", timeout=harness.RENDER_MS)
                    clock = page.evaluate("() => window.__recolour")
                    out["recolour_in_page_s"].setdefault(colour, []).append(
                        round((clock["painted"] - clock["clicked"]) / 1000, 3))
                    harness.settle(page)
                slider = page.get_by_role("slider").first
                slider.focus()
                stored = json.loads((model / "analysis" / "summary.json").read_text())["meta"]["config"]["perplexity"]
                for _ in range(perplexity - int(stored)):  # the slider starts at the stored map's perplexity
                    slider.press("ArrowRight")
                harness.settle(page)
                t0 = time.perf_counter()
                page.get_by_role("button", name="Recompute").first.click()
                page.get_by_text(f"recomputed with perplexity {perplexity}").first.wait_for(timeout=harness.RENDER_MS)
                out["recompute_s"] = round(time.perf_counter() - t0, 2)
                out["recompute_perplexity"] = perplexity
        finally:
            b.close()
    every = [t for ts in out["recolour_s"].values() for t in ts]
    out["recolour_median_s"], out["recolour_max_s"] = round(statistics.median(every), 3), max(every)
    inside = [t for ts in out["recolour_in_page_s"].values() for t in ts]
    out["recolour_in_page_median_s"], out["recolour_in_page_max_s"] = round(statistics.median(inside), 3), max(inside)
    print(f"browser: {out}", flush=True)
    return out


def main() -> None:
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--model", type=Path, default=REPO / "models" / "ag_news-minilm-ltp")
    a.add_argument("--data-dir", type=Path, default=REPO / "data")
    a.add_argument("--perplexities", default="10,50,100")
    a.add_argument("--reference", action="store_true", help="also time a full t-SNE from PCA (slow)")
    a.add_argument("--browser-perplexity", type=int, default=50)
    a.add_argument("--skip", default="", help="comma-separated parts to skip: recompute,stop,recolour,browser")
    a.add_argument("--out", type=Path, default=None)
    args = a.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    x, stored = token_map(args.model / "analysis")
    result = {"meta": {"model": args.model.name, "loadavg_start": os.getloadavg(), "threads": 2,
                       "cpus": os.cpu_count()}}
    if "recompute" not in skip:
        result["recompute"] = recompute(x, stored, [float(p) for p in args.perplexities.split(",")], args.reference)
    if "stop" not in skip:
        result["stop"] = stop_latency(x, stored, 50.0)
    if "recolour" not in skip:
        result["recolour"] = recolour(args.model, args.data_dir)
    if "browser" not in skip:
        import tempfile

        sys.path.insert(0, str(REPO / "benchmarks"))
        with tempfile.TemporaryDirectory() as work:
            result["browser"] = browser(args.model, args.data_dir, args.browser_perplexity, Path(work))
    result["meta"]["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
