"""The dashboard's quality bars, measured: `python benchmarks/app_speed.py --models-dir DIR
[--data-dir DIR] [--runs 3] [--out benchmarks/app_speed.json]`.

1. Cold start: from starting `streamlit run app/Home.py` until the landing page's per-layer view
   (table.ltp-layers) is visible in headless Chromium; --runs fresh servers, median and max.
2. Live page: trace() of a 50-word sentence (hard and none; 3 warm-ups, median and p90 of 20) with
   the app's interactive thread setting and with torch's default; then, in the browser, the time
   from submitting a new 50-word text until the per-layer view shows its counts (median of 5,
   five variants of the sentence so that none is served from the app's trace cache).
3. Memory: RSS of the server (with children) after every page was visited with every checkpoint
   of the models dir selected once. No page loads spaCy just by being viewed (only "Compute
   analysis" does), so spaCy's RSS is measured apart, in this process.
4. Embedding map: time until the WebGL maps are drawn (first and cached visit) for the first
   checkpoint with an analysis bundle, and the number of points drawn.

The browser is Debian's /usr/bin/chromium driven by Playwright, as in tests/test_app_e2e.py.
Timings are wall-clock and depend on what else runs on the machine (see meta.loadavg).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import torch

from ltp.checkpoint import find_checkpoint, load_checkpoint
from ltp.trace import trace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))  # the dashboard's own helpers, as the pages import them
import support as sup  # noqa: E402
sys.path.insert(0, str(REPO / "benchmarks"))
import harness  # noqa: E402  (the server and browser helper tests share)
from harness import GL_CANVAS, RENDER_MS, Server, new_page, settle, wait_healthy  # noqa: E402

SENTENCE = ("The city council met on Tuesday evening to discuss a new plan for public transport, and after a long "
            "debate its members agreed to fund two more bus lines, repair the old bridge near the river and open "
            "a small park for local families before the end of next {}")  # 50 words with the last one
VARIANTS = ("summer", "autumn", "winter", "spring", "year")  # last words: five texts, none cached
MODES = ("hard", "none")
WARMUPS, REPEATS = 3, 20

# (navigation label, the page's h1), as in app/Home.py and app/views/*.py
PAGES = [("Prune a sentence", "Prune a sentence"), ("Performance", "Performance"),
         ("Retained tokens", "Retained tokens"), ("Parts of speech", "Parts of speech"),
         ("Embedding map", "Embedding map"), ("Domain terms", "Domain terms"),
         ("About LTP", "How Learned Token Pruning works")]
EMBEDDING_MAPS = 2  # tokens and examples
LAYER_TABLE = "table.ltp-layers"


def sentence(variant: int = 0) -> str:
    return SENTENCE.format(VARIANTS[variant])


# --------------------------------------------------------------------------- small helpers


def stats_ms(seconds: list[float]) -> dict:
    ms = [1000 * s for s in seconds]
    return {"median": statistics.median(ms), "p90": float(np.percentile(ms, 90)), "max": max(ms), "n": len(ms)}


def rss_mb(pid: int, children: bool = True) -> float:
    """Resident memory of a process (and its children) in MiB."""
    proc = psutil.Process(pid)
    procs = [proc, *(proc.children(recursive=True) if children else [])]
    return sum(p.memory_info().rss for p in procs) / 2**20


def attempt(name: str, fn, *args) -> dict:
    """A phase's result, or {"error": ...} so that one failing phase does not lose the others."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - reported in the results, the run goes on
        print(f"[{name}] failed: {type(err).__name__}: {err}", file=sys.stderr)
        return {"error": f"{type(err).__name__}: {err}"}


def bundle_dir(checkpoint: Path) -> Path | None:
    """The checkpoint's analysis bundle directory, if it has one (summary.json)."""
    from ltp.analysis.bundle import default_bundle_dir

    where = default_bundle_dir(find_checkpoint(checkpoint))
    return where if (where / "summary.json").is_file() else None


# --------------------------------------------------------------------------- model time (in process)


def time_trace(ckpt, text: str, mode: str) -> dict:
    """trace() wall time and its forward pass alone, WARMUPS untimed calls then REPEATS timed."""
    calls, forwards = [], []
    for i in range(WARMUPS + REPEATS):
        t0 = time.perf_counter()
        tr = trace(ckpt.model, ckpt.tokenizer, text, ckpt.max_length, ckpt.label_names, ckpt.truncation, mode)
        if i >= WARMUPS:
            calls.append(time.perf_counter() - t0)
            forwards.append(tr.seconds)
    return {"trace_ms": stats_ms(calls), "forward_ms": stats_ms(forwards), "input_tokens": tr.input_tokens}


def model_time(ckpt) -> dict:
    """Both modes with the app's interactive thread count, then with torch's default."""
    default_threads = torch.get_num_threads()
    with sup.torch_threads():
        app = {mode: time_trace(ckpt, sentence(), mode) for mode in MODES}
    default = {mode: time_trace(ckpt, sentence(), mode) for mode in MODES}
    return {"sentence": sentence(), "words": len(sentence().split()),
            "app_threads": sup.INTERACTIVE_THREADS, "default_threads": default_threads,
            "app": app, "default": default}


def expected_counts(ckpt) -> dict[str, list[int]]:
    """Tokens alive after each layer (hard mode) for every sentence variant, as the app shows them."""
    with sup.torch_threads():
        return {word: [lt.count for lt in trace(ckpt.model, ckpt.tokenizer, sentence(i), ckpt.max_length,
                                                 ckpt.label_names, ckpt.truncation, "hard").layers]
                for i, word in enumerate(VARIANTS)}


def spacy_memory() -> dict:
    """RSS added to this process by ltp.analysis.bundle.load_spacy() (import + pipeline)."""
    from ltp.analysis.bundle import load_spacy

    gc.collect()
    before = rss_mb(os.getpid(), children=False)
    t0 = time.perf_counter()
    nlp = load_spacy()
    seconds = time.perf_counter() - t0
    after = rss_mb(os.getpid(), children=False)
    del nlp
    return {"rss_delta_mb": after - before, "load_s": seconds, "loaded_by_viewing_a_page": False}


# --------------------------------------------------------------------------- server and browser


def serve(models_dir: Path, data_dir: Path | None, log_dir: Path):
    """The dashboard on ``models_dir`` (harness.serve), not yet waited for: ``cold_start`` times that."""
    env = {sup.MODELS_DIR_ENV: str(models_dir), **({sup.DATA_DIR_ENV: str(data_dir)} if data_dir is not None else {})}
    return harness.serve(log_dir, env, wait=False)


# --------------------------------------------------------------------------- browser measurements


def cold_start(page, server: Server) -> dict:
    """Process start -> health -> landing page's per-layer view visible."""
    health = wait_healthy(server)
    page.goto(server.url)
    page.wait_for_selector(LAYER_TABLE, state="visible", timeout=RENDER_MS)
    landing = time.perf_counter() - server.started
    settle(page)
    return {"health_s": health, "landing_s": landing}


def shown_counts(page) -> list[int]:
    """The per-layer counts of the layer table (layers 1..L: not the input row, not the Classification row)."""
    return page.eval_on_selector_all(
        f"{LAYER_TABLE} tr[data-count]",
        "rows => rows.filter(r => r.dataset.layer !== '0').map(r => Number(r.dataset.count))")


def render_times(page, expected: dict[str, list[int]]) -> dict:
    """Submit each sentence variant; time until the layer table shows that text's counts."""
    area = page.locator('[data-testid="stTextArea"] textarea').first
    seconds, match = [], []
    for i, word in enumerate(VARIANTS):
        area.fill(sentence(i))
        t0 = time.perf_counter()
        area.press("Control+Enter")
        page.wait_for_function("(w) => { const t = document.querySelector('table.ltp-layers');"
                               " return t && t.innerText.includes(w); }", arg=word, timeout=RENDER_MS)
        seconds.append(time.perf_counter() - t0)
        match.append(shown_counts(page) == expected[word])
        settle(page)
    return {"runs_s": seconds, "median_s": statistics.median(seconds), "counts_match_model": all(match)}


def open_page(page, label: str, h1: str) -> None:
    """Go to a page through the sidebar navigation (keeps the session and its selection)."""
    page.locator('[data-testid="stSidebarNavLink"]', has_text=label).first.click()
    page.wait_for_selector(f"h1:has-text('{h1}')", timeout=RENDER_MS)


def select_checkpoint(page, name: str) -> None:
    """Pick a checkpoint in the sidebar's Model box (nothing to do when it is already chosen)."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    if box.locator("input").input_value() == name:
        return
    box.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_function("([sel, n]) => document.querySelector(sel).value === n",
                           arg=['[data-testid="stSidebar"] [data-testid="stSelectbox"] input', name],
                           timeout=RENDER_MS)
    settle(page)


def points_drawn(page) -> list[int]:
    """Points per WebGL map on the page (plotly's full data of each chart with a GL canvas)."""
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(gd => gd.querySelector('canvas.gl-canvas-context'))"
        ".map(gd => (gd._fullData || []).filter(t => t.type === 'scattergl')"  # not the legend's marker-only entries
        ".reduce((n, t) => n + (t._length ?? (t.x ? t.x.length : 0)), 0))")


def time_embedding(page) -> dict:
    """Open the Embedding map page; seconds until the first and until every map's canvas exists."""
    t0 = time.perf_counter()
    open_page(page, "Embedding map", "Embedding map")
    page.wait_for_selector(GL_CANVAS, state="attached", timeout=RENDER_MS)
    first = time.perf_counter() - t0
    page.wait_for_function(f"(n) => document.querySelectorAll('{GL_CANVAS}').length >= n", arg=EMBEDDING_MAPS,
                           timeout=RENDER_MS)
    every = time.perf_counter() - t0
    settle(page)
    return {"first_map_s": first, "all_maps_s": every}


def embedding_map(page, checkpoints: list[Path]) -> dict:
    """Time the Embedding map of the first checkpoint with a bundle: first visit, then cached."""
    with_bundle = [c for c in checkpoints if bundle_dir(c) is not None]
    if not with_bundle:
        return {"skipped": "no checkpoint in the models dir has an analysis bundle"}
    import pyarrow.parquet as pq

    ckpt, where = with_bundle[0], bundle_dir(with_bundle[0])
    select_checkpoint(page, ckpt.name)
    first = time_embedding(page)
    points = points_drawn(page)
    open_page(page, "About LTP", "How Learned Token Pruning works")
    settle(page)
    cached = time_embedding(page)
    rows = {t: pq.read_metadata(where / f"{t}.parquet").num_rows for t in ("token_embeddings", "example_embeddings")}
    return {"checkpoint": str(ckpt), "first_visit": first, "cached_visit": cached,
            "points_drawn": points, "points_in_bundle": rows}


SCREENSHOTS: Path | None = None  # --screenshots: a full-page PNG of every page with every checkpoint


def page_errors(page) -> list[str]:
    """Tracebacks and error boxes Streamlit shows on the current page."""
    boxes = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [boxes.nth(i).inner_text()[:200] for i in range(boxes.count())]


def memory(page, server: Server, checkpoints: list[Path]) -> dict:
    """Server RSS after every page was shown with every checkpoint selected once (and what
    error boxes, if any, each page showed)."""
    errors = {}
    for ckpt in checkpoints:
        select_checkpoint(page, ckpt.name)
        for label, h1 in PAGES:
            open_page(page, label, h1)
            settle(page)
            if page_errors(page):
                errors[f"{ckpt.name} / {label}"] = page_errors(page)
            if SCREENSHOTS:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                slug = label.lower().replace(" ", "-")
                page.screenshot(path=str(SCREENSHOTS / f"{ckpt.name}--{slug}.png"), full_page=True)
    return {"rss_after_all_pages_mb": rss_mb(server.proc.pid), "error_boxes": errors,
            "checkpoints": [c.name for c in checkpoints], "pages": [label for label, _ in PAGES]}


def live_session(page, server: Server, checkpoints: list[Path], expected: dict) -> dict:
    """The measurements that need a running server whose landing page is up."""
    return {"rss_after_landing_mb": rss_mb(server.proc.pid),
            "render": attempt("render", render_times, page, expected),
            "embedding_map": attempt("embedding map", embedding_map, page, checkpoints),
            "memory": attempt("memory", memory, page, server, checkpoints)}


def browser_phase(models_dir: Path, data_dir: Path | None, runs: int, checkpoints: list[Path],
                  expected: dict) -> dict:
    """`runs` cold starts (fresh server each); the last server goes on to the live session."""
    from playwright.sync_api import sync_playwright

    cold, live = [], {}
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="app-speed-") as logs:
        browser = harness.launch_browser(p)
        try:
            for run in range(runs):
                with serve(models_dir, data_dir, Path(logs)) as server, new_page(browser) as page:
                    cold.append(cold_start(page, server))
                    print(f"cold start {run + 1}/{runs}: {cold[-1]['landing_s']:.1f} s", file=sys.stderr)
                    if run == runs - 1:
                        live = live_session(page, server, checkpoints, expected)
            version = browser.version
        finally:
            browser.close()
    landing = [c["landing_s"] for c in cold]
    return {"chromium": version, "cold_start": {"runs": cold, "median_s": statistics.median(landing),
                                                "max_s": max(landing)}, **live}


# --------------------------------------------------------------------------- report


def fmt(value, spec: str) -> str:
    return f"{value:{spec}}" if isinstance(value, (int, float)) else "n/a"


def model_rows(m: dict) -> list[tuple[str, str]]:
    rows = []
    for setting in ("app", "default"):
        threads = m[f"{setting}_threads"]
        for mode in MODES:
            t = m[setting][mode]["trace_ms"]
            rows.append((f"trace() {mode}, {threads} thread(s) ({setting})",
                         f"median {t['median']:.1f} ms, p90 {t['p90']:.1f} ms"))
    return rows


def browser_rows(b: dict) -> list[tuple[str, str]]:
    """Lines for the measurements made through the browser (a failed phase shows its error)."""
    cold, render, mem, emb = (b.get(k, {}) for k in ("cold_start", "render", "memory", "embedding_map"))
    runs = len(cold.get("runs", []))
    rows = [("cold start to landing view", f"median {fmt(cold.get('median_s'), '.1f')} s, "
                                           f"max {fmt(cold.get('max_s'), '.1f')} s ({runs} runs)"),
            ("render: submit -> new layer counts", f"median {fmt(render.get('median_s'), '.2f')} s, counts as the "
                                                   f"model's: {render.get('counts_match_model', render.get('error'))}"),
            ("server RSS after landing", f"{fmt(b.get('rss_after_landing_mb'), '.0f')} MiB"),
            (f"server RSS, all pages x {len(mem.get('checkpoints', []))} checkpoint(s)",
             f"{fmt(mem.get('rss_after_all_pages_mb'), '.0f')} MiB {mem.get('error', '')}"),
            ("pages showing an error box", str(len(mem.get("error_boxes", {}))) if "error_boxes" in mem else "n/a")]
    if "first_visit" not in emb:
        return rows + [("embedding map", emb.get("skipped") or emb.get("error", "n/a"))]
    return rows + [("embedding map drawn, first / cached visit",
                    f"{emb['first_visit']['all_maps_s']:.1f} s / {emb['cached_visit']['all_maps_s']:.1f} s"),
                   ("embedding map points drawn", " + ".join(f"{n:,}" for n in emb["points_drawn"]))]


def report_rows(r: dict) -> list[tuple[str, str]]:
    """(metric, value) lines of the summary table."""
    spacy = [("spaCy load, RSS delta (this process)", f"{fmt(r['spacy'].get('rss_delta_mb'), '.0f')} MiB"),
             ("server RSS, all pages + spaCy (estimate)", f"{fmt(r.get('rss_with_spacy_estimate_mb'), '.0f')} MiB")]
    return [*model_rows(r["model_time"]), *spacy, *browser_rows(r["browser"])]


def print_table(rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


# --------------------------------------------------------------------------- main


def run(models_dir: Path, data_dir: Path | None, runs: int) -> dict:
    checkpoints = sup.discover_checkpoints(models_dir)
    if not checkpoints:
        raise SystemExit(f"No checkpoint in {models_dir}.")
    meta = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "started": dt.datetime.now().isoformat(),
            "models_dir": str(models_dir), "data_dir": str(data_dir) if data_dir else None,
            "checkpoints": [str(c) for c in checkpoints], "cpus": os.cpu_count(), "nice": os.nice(0),
            "loadavg_start": os.getloadavg(), "torch": torch.__version__}
    ckpt = load_checkpoint(checkpoints[0])
    model = model_time(ckpt)
    expected = expected_counts(ckpt)
    del ckpt
    spacy = attempt("spacy", spacy_memory)
    browser = browser_phase(models_dir, data_dir, runs, checkpoints, expected)
    meta["loadavg_end"] = os.getloadavg()
    return {"meta": meta, "model_time": model, "spacy": spacy, "browser": browser,
            "rss_with_spacy_estimate_mb": with_spacy(browser.get("memory", {}), spacy)}


def with_spacy(memory: dict, spacy: dict) -> float | None:
    """The server's RSS after all pages plus spaCy's, as if "Compute analysis" had loaded it."""
    if "rss_after_all_pages_mb" not in memory or "rss_delta_mb" not in spacy:
        return None
    return memory["rss_after_all_pages_mb"] + spacy["rss_delta_mb"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the dashboard: cold start, model and render time, "
                                                 "server memory, Embedding map.")
    parser.add_argument("--models-dir", type=Path, required=True, help="checkpoints, as LTP_MODELS_DIR")
    parser.add_argument("--data-dir", type=Path, help="prepared data sets, as LTP_DATA_DIR (default: the app's)")
    parser.add_argument("--runs", type=int, default=3, help="cold starts, a fresh server each (default 3)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "app_speed.json", help="JSON results")
    parser.add_argument("--screenshots", type=Path, help="save a full-page PNG of every page per checkpoint here")
    args = parser.parse_args()
    global SCREENSHOTS
    SCREENSHOTS = args.screenshots
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    results = run(args.models_dir.resolve(), args.data_dir.resolve() if args.data_dir else None, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print_table(report_rows(results))
    print(f"\nResults: {args.out}")


if __name__ == "__main__":
    main()
