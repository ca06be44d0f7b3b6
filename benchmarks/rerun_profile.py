"""What one rerun of the live page costs on the server, and where it goes:
`python benchmarks/rerun_profile.py [--models-dir models] [--texts 6] [--clicks 6] [--out profile.json]`.

One Chromium page on a real `streamlit run app/Home.py` (as benchmarks/load_test.py starts it)
submits --texts new texts (each a trace-cache miss: the model runs) and then clicks "Prune"
--clicks times on the same text (a cache hit: everything else reruns). Two passes on two fresh
servers:

1. timing only (app/timing.py): per rerun the script's wall and thread-CPU time, the full garbage
   collection Streamlit runs after it (runner.postScriptGC), and the websocket bytes the page got;
2. cProfile of every run (LTP_TIMING_PROFILE): mean cumulative seconds per rerun of the page's
   sections and of the library calls under them, misses and hits apart. cProfile inflates pure
   Python code (plotly's validators) more than C code: read the shares, take totals from pass 1.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live_session as ls  # noqa: E402  (the live page under a real server and browser)

# (label, file suffix, function name): what a rerun of the live page does, outermost first
SECTIONS = [
    ("st.navigation", "streamlit/commands/navigation.py", "navigation"),
    ("sidebar()", "app/dashboard.py", "sidebar"),
    ("  discover_checkpoints", "app/support/places.py", "discover_checkpoints"),
    ("  model_card", "app/support/cards.py", "model_card"),
    ("page: prune.py", "app/views/prune.py", "<module>"),
    ("  input_area()", "app/views/prune.py", "input_area"),
    ("    split_for (test split, st.cache_data copy)", "app/dashboard.py", "split_for"),
    ("  traces() body (model, on a miss)", "app/views/prune.py", "traces"),
    ("    trace() (ltp.trace)", "ltp/trace.py", "trace"),
    ("  st.cache_data lookup+copy of traces", "streamlit/runtime/caching/cache_utils.py", "__call__"),
    ("  headline()", "app/views/prune.py", "headline"),
    ("  per_layer()", "app/views/prune.py", "per_layer"),
    ("    layers_table_html", "ltp/viz/sentence.py", "layers_table_html"),
    ("    st.html", "streamlit/elements/html.py", "html"),
    ("  charts_row()", "app/views/prune.py", "charts_row"),
    ("    tokens_alive_chart", "ltp/viz/sentence.py", "tokens_alive_chart"),
    ("    probabilities_chart", "ltp/viz/sentence.py", "probabilities_chart"),
    ("    score_heatmap", "ltp/viz/sentence.py", "score_heatmap"),
    ("    db.chart -> st.plotly_chart", "app/dashboard.py", "chart"),
    ("      plotly.io.to_json", "plotly/io/_json.py", "to_json"),
    ("      Figure.to_dict", "plotly/basedatatypes.py", "to_dict"),
    ("    layer_rows", "ltp/trace.py", "layer_rows"),
    ("    db.table", "app/dashboard.py", "table"),
    ("      st.dataframe", "streamlit/elements/arrow.py", "dataframe"),
    ("      download (to_csv_bytes + button)", "app/dashboard.py", "download"),
    ("plotly: building figures (BaseFigure.__init__)", "plotly/basedatatypes.py", "__init__"),
    ("plotly: update_xaxes/update_yaxes/update_layout", "plotly/basedatatypes.py", "update_layout"),
]


def matches(key: tuple, suffix: str, name: str) -> bool:
    return key[2] == name and key[0].replace("\\", "/").endswith(suffix)


def section_times(prof: Path) -> dict[str, float]:
    """Cumulative seconds of each SECTIONS entry in one run's profile (summed over same-named keys)."""
    stats = pstats.Stats(str(prof)).stats  # {(file, line, func): (cc, nc, tt, ct, callers)}
    out = {"everything profiled (sum of own times)": sum(v[2] for v in stats.values())}
    for label, suffix, name in SECTIONS:
        keys = [k for k in stats if matches(k, suffix, name)]
        out[label] = sum(stats[k][3] for k in keys)
    return out


def top_functions(profs: list[Path], limit: int = 25) -> list[tuple[str, float, float]]:
    """(function, mean cumulative s, mean own s) per run over ``profs``, the most expensive first,
    among the app's, ltp's, plotly's, pandas' and Streamlit's functions."""
    total: dict[str, list[float]] = {}
    for prof in profs:
        for (file, line, func), (_, _, tt, ct, _) in pstats.Stats(str(prof)).stats.items():
            f = file.replace("\\", "/")
            for root in ("/app/", "/ltp/", "/plotly/", "/pandas/", "/streamlit/", "/pyarrow/", "/torch/"):
                if root in f:
                    name = f"{f[f.rindex(root) + 1:]}:{func}"
                    acc = total.setdefault(name, [0.0, 0.0])
                    acc[0] += ct
                    acc[1] += tt
                    break
    rows = [(name, ct / len(profs), tt / len(profs)) for name, (ct, tt) in total.items()]
    return sorted(rows, key=lambda r: -r[1])[:limit]


def texts(k: int) -> list[str]:
    return [ls.TEMPLATE.format(day=ls.DAYS[i % len(ls.DAYS)], word=ls.WORDS[-1 - i]) for i in range(k)]


def drive(url: str, n_texts: int, clicks: int) -> list[dict]:
    """One page: land, submit new texts, click Prune; per action its kind and websocket bytes."""
    from playwright.sync_api import sync_playwright

    received = {"bytes": 0, "frames": 0}

    def on_ws(ws):
        def count(payload):
            received["bytes"] += len(payload)
            received["frames"] += 1
        ws.on("framereceived", count)

    actions = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ls.CHROMIUM, args=ls.BROWSER_ARGS)
        try:
            page = browser.new_context(viewport=ls.VIEWPORT).new_page()
            page.on("websocket", on_ws)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            cdp.send("Profiler.enable")
            page.goto(f"{url}/?ltp_client=0")
            page.wait_for_selector(ls.LAYER_TABLE, timeout=ls.OPEN_MS)
            settle(page)
            area = page.locator(ls.AREA)
            for kind, text in [("miss", t) for t in texts(n_texts)] + [("hit", None)] * clicks:
                received.update(bytes=0, frames=0)
                cdp.send("Profiler.start")
                t0, cpu0, kinds0, perf0 = time.time(), ls.cpu_s(ls.chromium_procs()), cpu_by_type(), metrics(cdp)
                if text is not None:
                    area.fill(text)
                    area.press("Control+Enter")
                    page.wait_for_function("(w) => { const t = document.querySelector('table.ltp-layers');"
                                           " return t && t.textContent.includes(w); }", arg=text[-30:],
                                           timeout=ls.RESULT_MS)
                else:
                    page.get_by_role("button", name="Prune", exact=True).click()
                settle(page)
                actions.append({"kind": kind, "start": t0, "ws_bytes": received["bytes"],
                                "ws_frames": received["frames"],
                                "chromium_cpu_s": ls.cpu_s(ls.chromium_procs()) - cpu0,
                                "chromium_cpu_by_type_s": {k: v - kinds0.get(k, 0.0) for k, v in cpu_by_type().items()},
                                "page_metrics_s": {k: v - perf0.get(k, 0.0) for k, v in metrics(cdp).items()},
                                "js_self_s_by_script": js_by_script(cdp.send("Profiler.stop")["profile"])})
        finally:
            browser.close()
    return actions


PAGE_METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def metrics(cdp) -> dict[str, float]:
    """The page's main-thread time so far (seconds), from Chrome's Performance domain."""
    got = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {k: float(got.get(k, 0.0)) for k in PAGE_METRICS}


def js_by_script(profile: dict) -> dict[str, float]:
    """Self time (seconds) of a V8 CPU profile by script file (Streamlit's bundle chunks, plotly's ...)."""
    by_id = {n["id"]: n for n in profile["nodes"]}
    spent: dict[int, float] = {}
    for sample, delta in zip(profile.get("samples", []), profile.get("timeDeltas", [])):
        spent[sample] = spent.get(sample, 0.0) + delta / 1e6
    out: dict[str, float] = {}
    for node_id, seconds in spent.items():
        frame = by_id[node_id]["callFrame"]
        name = frame["url"].rsplit("/", 1)[-1] or f"({frame['functionName'] or 'native'})"
        out[name] = out.get(name, 0.0) + seconds
    return dict(sorted(out.items(), key=lambda kv: -kv[1])[:8])


def cpu_by_type() -> dict[str, float]:
    """CPU seconds so far of this process's Chromium processes by their --type (browser, renderer, gpu-process...)."""
    out: dict[str, float] = {}
    for p in ls.chromium_procs():
        try:
            kind = next((a.split("=", 1)[1] for a in p.cmdline() if a.startswith("--type=")), "browser")
            out[kind] = out.get(kind, 0.0) + ls.cpu_s([p])
        except ls.psutil.Error:
            continue
    return out


def settle(page) -> None:
    page.wait_for_timeout(400)
    page.wait_for_selector(ls.STATUS, state="detached", timeout=ls.RESULT_MS)
    page.wait_for_timeout(1500)  # the post-run GC and late messages are over before the next action


def runs_of(actions: list[dict], log: list[dict]) -> list[dict]:
    """Each action's script run (the first that started after it) with the GC that followed it."""
    runs = [r for r in log if r["event"] == "run" and r["outcome"] == "ok"]
    gcs = [r for r in log if r["event"] == "gc"]
    out = []
    for a in actions:
        run = next((r for r in runs if r["start"] >= a["start"] - 0.05), None)
        if run is None:
            continue
        gc = next((g for g in gcs if 0 <= g["start"] - run["end"] < 0.5), None)
        out.append({**a, "wall_s": run["wall_s"], "cpu_s": run["cpu_s"], "run_end": run["end"],
                    "gc_after_s": gc["end"] - gc["start"] if gc else None, "gc_after_cpu_s": gc["cpu_s"] if gc else None})
    return out


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def summary(rows: list[dict], kind: str) -> dict:
    mine = [r for r in rows if r["kind"] == kind]
    keys = ("wall_s", "cpu_s", "gc_after_s", "gc_after_cpu_s", "ws_bytes", "chromium_cpu_s")
    nested = {group: {k: mean(r[group].get(k) for r in mine) for k in {k for r in mine for k in r[group]}}
              for group in ("chromium_cpu_by_type_s", "page_metrics_s", "js_self_s_by_script")}
    return {k: mean(r[k] for r in mine) for k in keys} | nested | {"n": len(mine)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Where one rerun of the live page spends its server time.")
    parser.add_argument("--models-dir", type=Path, default=ls.REPO / "models", help="as LTP_MODELS_DIR")
    parser.add_argument("--data-dir", type=Path, help="as LTP_DATA_DIR (default: the app's)")
    parser.add_argument("--texts", type=int, default=6, help="new texts (cache misses), default 6")
    parser.add_argument("--clicks", type=int, default=6, help="Prune clicks on the same text (hits), default 6")
    parser.add_argument("--out", type=Path, help="JSON results")
    args = parser.parse_args(argv)
    if not 1 <= args.texts <= len(ls.WORDS) or args.clicks < 1:
        parser.error(f"--texts must be 1..{len(ls.WORDS)} and --clicks at least 1")
    if not ls.places.discover_checkpoints(args.models_dir):
        parser.error(f"no checkpoint in --models-dir {args.models_dir}")
    data_dir = args.data_dir.resolve() if args.data_dir else None
    meta = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "loadavg_start": os.getloadavg(),
            "busy_processes": ls.busy_processes()}
    with tempfile.TemporaryDirectory(prefix="rerun-profile-") as work:
        work = Path(work)
        with ls.serve(args.models_dir.resolve(), data_dir, work) as server:
            actions = drive(server.url, args.texts, args.clicks)
            timed = runs_of(actions, ls.timing.read_log(server.timing_log))
        prof_dir = work / "prof"
        with ls.serve(args.models_dir.resolve(), data_dir, work, profile=prof_dir) as server:
            actions = drive(server.url, args.texts, args.clicks)
            log = ls.timing.read_log(server.timing_log)
        profiled = profiles_by_kind(actions, log, prof_dir)
    meta["loadavg_end"] = os.getloadavg()
    result = {"meta": meta, "timed": {"miss": summary(timed, "miss"), "hit": summary(timed, "hit"), "runs": timed},
              "profiled": profiled}
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    report(result)


def profiles_by_kind(actions: list[dict], log: list[dict], prof_dir: Path) -> dict:
    """Mean section times per kind (miss / hit) from the profiles of the actions' runs."""
    runs = [r for r in log if r["event"] == "run" and r["outcome"] == "ok"]
    # profiles are numbered in the order the runs ended: 0-<n>.prof, n from one counter per server
    files = sorted(prof_dir.glob("*.prof"), key=lambda f: int(f.stem.rsplit("-", 1)[1]))
    if len(files) != len([r for r in log if r["event"] == "run"]):
        raise RuntimeError(f"{len(files)} profiles for {len(log)} logged runs: cannot pair them")
    by_end = {id(r): f for r, f in zip([r for r in log if r["event"] == "run"], files)}
    out = {}
    for kind in ("miss", "hit"):
        mine = []
        for a in (a for a in actions if a["kind"] == kind):
            run = next((r for r in runs if r["start"] >= a["start"] - 0.05), None)
            if run is not None:
                mine.append(by_end[id(run)])
        per_run = [section_times(f) for f in mine]
        out[kind] = {"n": len(mine), "sections_s": {label: mean(t[label] for t in per_run) for label in per_run[0]}
                     if per_run else {},
                     "top": top_functions(mine)}
    return out


def report(r: dict) -> None:
    t = r["timed"]
    print("unprofiled, per rerun (mean): script wall s / CPU s, full GC after it wall s / CPU s, "
          "websocket bytes, Chromium CPU s")
    for kind in ("miss", "hit"):
        s = t[kind]
        print(f"  {kind:<5} (n={s['n']})  {s['wall_s']:.3f} / {s['cpu_s']:.3f}   {ls.fmt_num(s['gc_after_s'])} / "
              f"{ls.fmt_num(s['gc_after_cpu_s'])}   {ls.fmt_num(s['ws_bytes'], ',.0f')}   "
              f"{ls.fmt_num(s['chromium_cpu_s'], '.2f')}")
        print(f"        Chromium CPU by process type: { {k: round(v, 2) for k, v in s['chromium_cpu_by_type_s'].items()} }; "
              f"page main thread: { {k: round(v, 3) for k, v in s['page_metrics_s'].items()} }")
        js = sorted(s["js_self_s_by_script"].items(), key=lambda kv: -(kv[1] or 0))[:6]
        print(f"        JS self time by script: { {k: round(v, 3) for k, v in js} }")
    for kind in ("miss", "hit"):
        p = r["profiled"][kind]
        print(f"\ncProfile, {kind} (n={p['n']}), mean cumulative s per rerun:")
        for label, sec in p["sections_s"].items():
            print(f"  {label:<52} {ls.fmt_num(sec, '.4f')}")
    print("\ntop functions (hit):")
    for name, ct, tt in r["profiled"]["hit"]["top"]:
        print(f"  {ct:.4f} cum  {tt:.4f} own  {name}")
    print(f"\nloadavg {r['meta']['loadavg_start']} -> {r['meta']['loadavg_end']}; busy: {r['meta']['busy_processes']}")


if __name__ == "__main__":
    main()
