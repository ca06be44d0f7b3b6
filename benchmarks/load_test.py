"""A class at once: N browser sessions submit a text to the live page together.

`python benchmarks/load_test.py [--models-dir models] [--n 5,10,20] [--rounds 2] [--out load.json]`

For each N a fresh `streamlit run app/Home.py` (headless, free loopback port, LTP_MODELS_DIR /
LTP_DATA_DIR as benchmarks/app_speed.py sets them, and LTP_TIMING_LOG so that app/timing.py logs
every script run) and one headless Chromium (Debian's /usr/bin/chromium via Playwright) with N
contexts, one page each, tagged ``?ltp_client=i``:

1. open: the N pages load the live page (5 at a time: setup, not the measurement); time until
   each shows its layer table.
2. rounds: every page types its own ~50-word text (distinct per session and round, so none is
   served from the app's trace cache), then all press Ctrl+Enter together (asyncio.gather, the
   barrier). In each page a keydown listener and a MutationObserver record, with the browser's
   Date.now(), when it submitted, when its layer table first shows its own text ("shown"), when
   the run indicator is gone ("idle") and the main area's last DOM change before it stayed quiet
   for 1 s (charts drawn, tables filled), and, where the model's vocabulary holds the text's day
   and word as word pieces, when the heat map shows them ("charts"); "rendered" is the latest. The page's layer counts and prediction are
   then compared with the model's for that session's text: anything else is crosstalk.
3. server vs client: the timing log gives, per session, the script run that produced its answer:
   `wait` (submit -> script start), `script` wall time and the script thread's CPU time (wall - CPU
   is waiting: GIL, model lock, the live page's turn), `server done` (submit -> that script's end:
   the server's whole share) and `after` (script end -> rendered: delivery + browser render).
   CPU seconds used by the server and by Chromium during the burst are measured with psutil.
4. memory: server RSS (with children) sampled every 0.1 s: before the burst, after, peak.

Browser and server share this machine's CPUs (see the CPU split), so "client" time here includes
N pages rendering on the same cores; record what else runs (meta.loadavg, meta.busy_processes).
`--browser-nice 19` runs Chromium at low priority in the bursts, its session's autogroup included (the server first, as if the
browsers were elsewhere); `--streamlit-option runner.postScriptGC=false` passes a Streamlit option to the server (to try a
setting without editing the app); `--burst-hooks BEFORE AFTER` runs two shell commands around each
measured burst (e.g. pause a training job only then); `--table a.json b.json` prints the table of
earlier runs, recomputed from their raw records.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_session import (AREA, BROWSER_ARGS, CHROMIUM, DAYS, LAYER_TABLE, MAIN, OPEN_MS, REPO, RESULT_MS,  # noqa: E402
                          STATUS, VIEWPORT, WORDS, Server, busy_processes, chromium_procs, cpu_s, probe_for,
                          rss_mb, serve, text_for, tree)
from support import places, threads  # noqa: E402  (app/ is on sys.path through live_session)
import timing  # noqa: E402

OPEN_AT_ONCE = 5  # pages loading together while the sessions are set up (the submissions are all at once)
MAX_SESSIONS, MAX_ROUNDS = len(WORDS), len(DAYS)
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'

# In each page, with the browser's clock (epoch ms): when it submitted; when its layer table first
# shows its own text ("shown"); when the run indicator is gone after that ("idle"); the last change
# to the main area's DOM (charts drawing, tables filling: "last"), done once nothing changed for
# QUIET_MS; "charts": when a chart shows this text's own tokens (the heat map's token axis holds
# this round's day and this session's word), awaited where the model's vocabulary has both as word
# pieces (the shipped MiniLM models do), else null. "rendered" is the latest of idle, last, charts.
QUIET_MS = 1000
WATCH_JS = """([probe, words, area, table, status, main]) => {
  const s = window.__ltp = {submit: null, shown: null, idle: null, last: null, charts: null};
  document.querySelector(area).addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && s.submit === null) s.submit = Date.now();
  }, {capture: true});
  const check = () => {
    if (s.submit === null) return;
    const now = Date.now();  // up to 20 ms after the change (checks are throttled)
    if (s.shown === null) {
      const t = document.querySelector(table);
      if (t && t.textContent.includes(probe)) s.shown = now;
    }
    if (s.charts === null && Array.from(document.querySelectorAll('.js-plotly-plot')).some(
          p => { const c = p.textContent.toLowerCase(); return words.every(w => c.includes(w)); })) s.charts = now;
    if (s.shown !== null && s.idle === null && !document.querySelector(status)) s.idle = now;
  };
  let queued = false;  // at most one check per 20 ms: reading a chart's text on every mutation costs
  const obs = new MutationObserver(records => {
    if (s.submit !== null && records.some(r => document.querySelector(main).contains(r.target))) s.last = Date.now();
    if (!queued) { queued = true; setTimeout(() => { queued = false; check(); }, 20); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  s.stop = () => obs.disconnect();
}"""
DONE_JS = """(quiet) => { const s = window.__ltp;
  return !!s && s.shown !== null && s.idle !== null && Date.now() - Math.max(s.last, s.idle) >= quiet; }"""
CHARTS_MS = 60_000  # after the page went quiet: how long a late chart may still take
READ_JS = """([table, metric]) => {
  const rows = Array.from(document.querySelectorAll(table + ' tr[data-layer][data-count]'));  // not the result row
  const m = document.querySelector(metric);
  return {counts: rows.filter(r => r.dataset.layer !== '0').map(r => Number(r.dataset.count)),
          prediction: m ? m.textContent.trim() : null, ...window.__ltp};
}"""
METRIC = f'{MAIN} [data-testid="stMetricValue"]'


def chart_words(session: int, round_: int) -> list[str]:
    """Tokens only this session's text of this round holds (each is one word piece of MiniLM's
    uncased vocabulary), as the heat map's token axis shows them."""
    return [DAYS[round_].lower(), WORDS[session]]


# --------------------------------------------------------------------------- expected answers


def expected_answers(checkpoint: Path, n: int, rounds: int) -> dict[tuple[int, int], dict]:
    """What the live page must show for each (session, round) text: per-layer counts and prediction."""
    from ltp.checkpoint import load_checkpoint
    from ltp.results import pruning_mode
    from ltp.trace import trace

    ck = load_checkpoint(checkpoint)
    mode = pruning_mode(ck.model.mode)
    out = {}
    with threads.torch_threads():
        for r in range(rounds):
            for i in range(n):
                tr = trace(ck.model, ck.tokenizer, text_for(i, r), ck.max_length, ck.label_names, ck.truncation, mode)
                seen = set(ck.tokenizer.tokenize(text_for(i, r))[:ck.max_length - 2])
                out[i, r] = {"counts": [lt.count for lt in tr.layers], "prediction": tr.prediction,
                             "charts_expected": set(chart_words(i, r)) <= seen}
    return out


# --------------------------------------------------------------------------- server


class MemorySampler:
    """Server RSS (with children) every ``every`` seconds in a thread; ``peak`` and ``last`` in MiB."""

    def __init__(self, pid: int, every: float = 0.1):
        self.pid, self.every, self.peak, self.last = pid, every, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.last = rss_mb(self.pid)
                self.peak = max(self.peak, self.last)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- browser


async def open_session(context, url: str, client: int, gate: asyncio.Semaphore) -> dict:
    """Load the live page tagged with the session's number; seconds until its layer table shows."""
    async with gate:
        return await _open(context, url, client)


async def _open(context, url: str, client: int) -> dict:
    page = await context.new_page()
    t0 = time.time()
    await page.goto(f"{url}/?{timing.CLIENT_PARAM}={client}", timeout=OPEN_MS)
    await page.wait_for_selector(LAYER_TABLE, state="visible", timeout=OPEN_MS)
    shown = time.time() - t0
    await page.wait_for_selector(STATUS, state="detached", timeout=OPEN_MS)
    return {"page": page, "open_s": shown, "open_done_s": time.time() - t0}


async def settle(page) -> None:
    await page.wait_for_timeout(300)
    await page.wait_for_selector(STATUS, state="detached", timeout=RESULT_MS)


async def await_result(page, session: int, round_: int, expected: dict) -> dict:
    """Wait for the session's own result and read what the page shows; errors are recorded, not raised."""
    rec: dict = {"session": session, "round": round_, "error": None}
    try:
        await page.wait_for_function(DONE_JS, arg=QUIET_MS, timeout=RESULT_MS, polling=100)
        want = expected[session, round_]
        if want["charts_expected"]:  # a chart drawn after a quiet second still counts
            try:
                await page.wait_for_function("() => window.__ltp.charts !== null", timeout=CHARTS_MS, polling=100)
            except Exception:  # noqa: BLE001 - recorded below
                rec["error"] = "the heat map never showed this session's own tokens"
        await settle(page)
        got = await page.evaluate(READ_JS, [LAYER_TABLE, METRIC])
        await page.evaluate("() => window.__ltp.stop()")
        rec.update({k: got[k] for k in ("submit", "shown", "charts", "idle", "last", "counts", "prediction")})
        rec["own_result"] = got["counts"] == want["counts"] and got["prediction"] == want["prediction"]
        boxes = page.locator(ERRORS)
        rec["error_boxes"] = [(await boxes.nth(k).inner_text())[:200] for k in range(await boxes.count())]
    except Exception as err:  # noqa: BLE001 - a session that failed is a result
        rec["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
        with contextlib.suppress(Exception):
            rec.update(await page.evaluate("() => window.__ltp || {}"))
    return rec


async def burst(pages: list, round_: int, expected: dict) -> dict:
    """All sessions type their text, then press Ctrl+Enter together; each waits for its own result."""
    for i, page in enumerate(pages):
        await page.evaluate(WATCH_JS, [probe_for(i, round_), chart_words(i, round_), AREA, LAYER_TABLE, STATUS, MAIN])
        await page.locator(AREA).fill(text_for(i, round_))
    t0 = time.time()
    await asyncio.gather(*(page.locator(AREA).press("Control+Enter") for page in pages))
    results = await asyncio.gather(*(await_result(page, i, round_, expected) for i, page in enumerate(pages)))
    return {"barrier_start": t0, "sessions": list(results)}


def renice_chromium(nice: int) -> None:
    """Give this process's Chromium processes (renderers appear with each page) niceness ``nice``.

    Playwright starts Chromium in a session of its own, and with the kernel's autogroup scheduling
    (``/proc/sys/kernel/sched_autogroup_enabled``) a process's niceness only ranks it within its
    session's group, while the groups share the CPU equally: reniced processes alone still took
    half the CPU from the server (a forward pass beside 8 nice-19 busy loops in another session took
    84 ms instead of 17). So the group of Chromium's session is reniced too (``/proc/PID/autogroup``
    of any member sets its group's niceness)."""
    for p in chromium_procs():
        with contextlib.suppress(psutil.Error):
            if p.nice() < nice:
                p.nice(nice)
        with contextlib.suppress(OSError):
            Path(f"/proc/{p.pid}/autogroup").write_text(str(nice))


@contextlib.contextmanager
def hooks_around(hooks: tuple[str, str] | None):
    """Run hooks[0] (a shell command) before the block and hooks[1] after it, even when it fails."""
    if not hooks:
        yield
        return
    subprocess.run(hooks[0], shell=True, check=False)
    try:
        yield
    finally:
        subprocess.run(hooks[1], shell=True, check=False)


async def browser_phase(server: Server, n: int, rounds: int, expected: dict, mem: MemorySampler,
                        browser_nice: int = 0, burst_hooks: tuple[str, str] | None = None) -> dict:
    from playwright.async_api import async_playwright

    server_procs = tree(server.proc.pid)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            contexts = [await browser.new_context(viewport=VIEWPORT) for _ in range(n)]
            t0 = time.time()
            gate = asyncio.Semaphore(OPEN_AT_ONCE)
            opened = await asyncio.gather(*(open_session(c, server.url, i, gate) for i, c in enumerate(contexts)))
            opening = {"all_open_s": time.time() - t0, "open_s": [o["open_s"] for o in opened]}
            print(f"N={n}: {n} pages open in {opening['all_open_s']:.1f} s", file=sys.stderr)
            pages = [o["page"] for o in opened]
            out = []
            for r in range(rounds):
                if browser_nice:
                    renice_chromium(browser_nice)
                with hooks_around(burst_hooks):
                    await asyncio.sleep(1.0)
                    rss_before, cpu_server, cpu_browser = mem.last, cpu_s(server_procs), cpu_s(chromium_procs())
                    start = time.time()
                    res = await burst(pages, r, expected)
                res.update({"wall_s": time.time() - start, "rss_before_mb": rss_before, "rss_after_mb": mem.last,
                            "cpu_server_s": cpu_s(server_procs) - cpu_server,
                            "cpu_chromium_s": cpu_s(chromium_procs()) - cpu_browser})
                out.append(res)
                print(f"N={n} round {r + 1}/{rounds}: {res['wall_s']:.1f} s", file=sys.stderr)
            version = browser.version
        finally:
            await browser.close()
    return {"chromium": version, "opening": opening, "rounds": out}


# --------------------------------------------------------------------------- server vs client


def answering_run(runs: list[dict], client: int, submit: float, shown: float) -> tuple[dict | None, int]:
    """The script run of ``client`` that produced what it showed at ``shown`` (the last one that
    started between submit and shown), and how many runs of it started in that window."""
    mine = [r for r in runs if r.get("client") == str(client) and submit - 0.05 <= r["start"] <= shown]
    return (mine[-1] if mine else None), len(mine)


def split_times(sessions: list[dict], runs: list[dict]) -> None:
    """Add per session (in place), in seconds from its submit: shown_s, charts_s, idle_s, rendered_s
    (the later of idle and the main area's last DOM change);
    and from the timing log wait_s (until its script run started), script_s and script_cpu_s (that
    run's wall and CPU time) and after_s (script end -> rendered)."""
    for s in sessions:
        if s.get("submit") is None or s.get("shown") is None:
            continue
        submit = s["submit"] / 1000
        for k in ("shown", "charts", "idle"):
            if s.get(k) is not None:
                s[f"{k}_s"] = s[k] / 1000 - submit
        if s.get("idle") is not None:
            s["rendered_s"] = max(s["idle"], s.get("last") or 0, s.get("charts") or 0) / 1000 - submit
        run, count = answering_run(runs, s["session"], submit, s["shown"] / 1000)
        s["runs_started"] = count
        if run is not None:
            s.update({"wait_s": run["start"] - submit, "script_s": run["wall_s"], "script_cpu_s": run["cpu_s"],
                      "server_done_s": run["end"] - submit, "script_outcome": run["outcome"]})
            if "rendered_s" in s:
                s["after_s"] = submit + s["rendered_s"] - run["end"]


def dist(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95)),
            "max": float(max(values)), "n": len(values)}


def summarize(n: int, rounds: list[dict], runs: list[dict], gcs: list[dict], mem: dict) -> dict:
    """One N's numbers over all its rounds."""
    sessions = [s for r in rounds for s in r["sessions"]]
    key = lambda k: [s[k] for s in sessions if s.get(k) is not None]  # noqa: E731
    errors = [s for s in sessions if s["error"] or s.get("error_boxes")]
    windows = [(r["barrier_start"], r["barrier_start"] + r["wall_s"]) for r in rounds]
    in_burst = lambda e: any(a <= e["start"] <= b for a, b in windows)  # noqa: E731
    burst_runs = [r for r in runs if in_burst(r)]
    submits = [[s["submit"] for s in r["sessions"] if s.get("submit")] for r in rounds]
    return {
        "n": n, "sessions_x_rounds": len(sessions),
        "shown_s": dist(key("shown_s")), "charts_s": dist(key("charts_s")), "idle_s": dist(key("idle_s")),
        "rendered_s": dist(key("rendered_s")),
        "wait_s": dist(key("wait_s")), "script_s": dist(key("script_s")), "script_cpu_s": dist(key("script_cpu_s")),
        "after_s": dist(key("after_s")), "server_done_s": dist(key("server_done_s")),
        "errors": len(errors), "error_detail": [s["error"] or s["error_boxes"] for s in errors][:10],
        "crosstalk_or_wrong": sum(1 for s in sessions if s.get("own_result") is False),
        "extra_runs": sum(max(0, s.get("runs_started", 1) - 1) for s in sessions),
        "burst_runs": {"count": len(burst_runs), "outcomes": {o: sum(1 for r in burst_runs if r["outcome"] == o)
                                                              for o in sorted({r["outcome"] for r in burst_runs})},
                       "cpu_s": sum(r["cpu_s"] for r in burst_runs)},
        "gc_full_in_bursts": {"count": sum(1 for g in gcs if in_burst(g)),
                              "seconds": sum(g["end"] - g["start"] for g in gcs if in_burst(g)),
                              "cpu_s": sum(g.get("cpu_s", 0.0) for g in gcs if in_burst(g))},
        "submit_spread_ms": max((max(s) - min(s) for s in submits if s), default=None),
        "burst_wall_s": [r["wall_s"] for r in rounds],
        "cpu_server_s": [r["cpu_server_s"] for r in rounds], "cpu_chromium_s": [r["cpu_chromium_s"] for r in rounds],
        "memory_mb": mem,
    }


# --------------------------------------------------------------------------- one N, all N


def run_one(models_dir: Path, data_dir: Path | None, n: int, rounds: int, expected: dict, work: Path,
            options: list[str], browser_nice: int, burst_hooks: tuple[str, str] | None) -> dict:
    with serve(models_dir, data_dir, work, options) as server, MemorySampler(server.proc.pid) as mem:
        rss_start = rss_mb(server.proc.pid)
        browser = asyncio.run(browser_phase(server, n, rounds, expected, mem, browser_nice, burst_hooks))
        time.sleep(0.5)
        memory = {"at_start": rss_start, "after_open": browser["rounds"][0]["rss_before_mb"] if browser["rounds"]
                  else None, "after": rss_mb(server.proc.pid), "peak": mem.peak}
        log = timing.read_log(server.timing_log)
    runs = [r for r in log if r["event"] == "run"]
    gcs = [r for r in log if r["event"] == "gc"]
    for r in browser["rounds"]:
        split_times(r["sessions"], runs)
    return {"summary": summarize(n, browser["rounds"], runs, gcs, memory), "opening": browser["opening"],
            "chromium": browser["chromium"], "rounds": browser["rounds"], "timing_log": log}


def resummarize(n: int, result: dict) -> dict:
    """A stored result with its summary computed again from its raw records (rounds, timing log)."""
    runs = [r for r in result["timing_log"] if r["event"] == "run"]
    gcs = [r for r in result["timing_log"] if r["event"] == "gc"]
    for r in result["rounds"]:
        split_times(r["sessions"], runs)
    return {**result, "summary": summarize(n, result["rounds"], runs, gcs, result["summary"]["memory_mb"])}


def run(models_dir: Path, data_dir: Path | None, ns: list[int], rounds: int, options: list[str],
        browser_nice: int = 0, burst_hooks: tuple[str, str] | None = None) -> dict:
    checkpoints = places.discover_checkpoints(models_dir)
    if not checkpoints:
        raise SystemExit(f"No checkpoint in {models_dir}: pass --models-dir with at least one (e.g. models).")
    from ltp.checkpoint import find_checkpoint
    from ltp.errors import CheckpointError

    default = find_checkpoint(checkpoints[0])  # the sidebar's default selection
    meta = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "started": dt.datetime.now().isoformat(),
            "models_dir": str(models_dir), "checkpoint": str(default), "cpus": os.cpu_count(),
            "streamlit_options": options, "browser_nice": browser_nice, "burst_hooks": burst_hooks,
            "loadavg_start": os.getloadavg(), "busy_processes": busy_processes()}
    try:
        expected = expected_answers(default, max(ns), rounds)
    except CheckpointError as err:
        raise SystemExit(f"The models dir's first checkpoint {default} cannot be loaded: {err}") from None
    print(f"expected answers computed; loadavg {os.getloadavg()}", file=sys.stderr)
    results = {}
    with tempfile.TemporaryDirectory(prefix="load-test-") as work:
        for n in ns:
            results[str(n)] = run_one(models_dir, data_dir, n, rounds, expected, Path(work), options,
                                      browser_nice, burst_hooks)
            print(f"N={n}: done", file=sys.stderr)
    meta["loadavg_end"] = os.getloadavg()
    return {"meta": meta, "results": results}


# --------------------------------------------------------------------------- report


def fmt(d: dict | None, spec: str = ".2f") -> str:
    return "n/a" if not d else f"{d['p50']:{spec}} / {d['p95']:{spec}} / {d['max']:{spec}}"


def table_rows(results: dict) -> list[list[str]]:
    rows = [["N", "shown p50/p95/max s", "rendered p50/p95/max s", "server done p50/p95/max s", "wait s",
             "script wall s", "script CPU s", "after s", "errors", "wrong", "server CPU/submit: script+GC+other s",
             "chromium CPU/submit s",
             "RSS after/peak MiB"]]
    for n, r in results.items():
        s = r["summary"]
        subs = max(1, s["sessions_x_rounds"])
        script, gc_cpu = s["burst_runs"]["cpu_s"] / subs, s["gc_full_in_bursts"].get("cpu_s", 0.0) / subs
        other = sum(s["cpu_server_s"]) / subs - script - gc_cpu
        mem = s["memory_mb"]
        rows.append([n, fmt(s["shown_s"]), fmt(s["rendered_s"]), fmt(s.get("server_done_s")), fmt(s["wait_s"]),
                     fmt(s["script_s"]),
                     fmt(s["script_cpu_s"], ".3f"), fmt(s["after_s"]), str(s["errors"]),
                     str(s["crosstalk_or_wrong"]), f"{script:.2f}+{gc_cpu:.2f}+{other:.2f}",
                     f"{sum(s['cpu_chromium_s']) / subs:.2f}", f"{mem['after']:.0f} / {mem['peak']:.0f}"])
    return rows


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def parse_ns(value: str) -> list[int]:
    try:
        ns = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--n takes session counts separated by commas (e.g. 5,10,20), "
                                         f"not {value!r}") from None
    if not ns or any(not 1 <= n <= MAX_SESSIONS for n in ns):
        raise argparse.ArgumentTypeError(f"each --n must be between 1 and {MAX_SESSIONS}, got {value!r}")
    return ns


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout`/kill: still stop the server
    parser = argparse.ArgumentParser(description="N browser sessions submit to the live page at once: "
                                                 "latency per session, server vs browser time, memory.")
    parser.add_argument("--models-dir", type=Path, default=REPO / "models", help="checkpoints, as LTP_MODELS_DIR "
                        "(default: models/); the sidebar's first checkpoint is used")
    parser.add_argument("--data-dir", type=Path, help="prepared data sets, as LTP_DATA_DIR (default: the app's)")
    parser.add_argument("--n", type=parse_ns, default=[5, 10, 20], help="sessions, comma-separated (default 5,10,20)")
    parser.add_argument("--rounds", type=int, default=2, help=f"bursts per N, 1..{MAX_ROUNDS} (default 2)")
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    parser.add_argument("--streamlit-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a Streamlit config option for the server, e.g. runner.postScriptGC=false (repeatable)")
    parser.add_argument("--browser-nice", type=int, default=0, metavar="0..19",
                        help="run Chromium at this niceness during the bursts, so the server gets the CPU first "
                             "(as if the browsers ran elsewhere); default 0")
    parser.add_argument("--burst-hooks", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="shell commands run before and after each measured burst (e.g. to pause other "
                             "work on the machine only while it is measured); AFTER runs even if the burst fails")
    parser.add_argument("--table", type=Path, nargs="+", metavar="JSON", help="only print the table of earlier runs")
    args = parser.parse_args(argv)
    if args.table:
        merged = {}
        for path in args.table:
            try:
                merged.update({n: resummarize(int(n), r) for n, r in json.loads(path.read_text())["results"].items()})
            except (OSError, ValueError, KeyError, TypeError) as err:
                parser.error(f"{path} is not a load_test.py result file ({err})")
        print_table(table_rows(merged))
        return
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be between 1 and {MAX_ROUNDS}")
    if not 0 <= args.browser_nice <= 19:
        parser.error("--browser-nice must be between 0 and 19")
    if not args.models_dir.is_dir():
        parser.error(f"--models-dir {args.models_dir} is not a folder")
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    try:
        import playwright.async_api  # noqa: F401 - only checked to be importable
    except ImportError:
        parser.error("playwright is not installed: pip install playwright (the browser is Debian's chromium)")
    bad = [o for o in args.streamlit_option if "=" not in o or not o.split("=", 1)[0].strip()]
    if bad:
        parser.error(f"--streamlit-option takes KEY=VALUE (e.g. runner.postScriptGC=false), got {bad[0]!r}")
    results = run(args.models_dir.resolve(), args.data_dir.resolve() if args.data_dir else None, args.n, args.rounds,
                  args.streamlit_option, args.browser_nice, tuple(args.burst_hooks) if args.burst_hooks else None)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    print_table(table_rows(results["results"]))
    print(f"\nloadavg {results['meta']['loadavg_start']} -> {results['meta']['loadavg_end']}; "
          f"busy at start: {results['meta']['busy_processes']}")
    if args.out:
        print(f"Results: {args.out}")


if __name__ == "__main__":
    main()
