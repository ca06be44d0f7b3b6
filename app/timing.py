"""Opt-in timing of the dashboard's script runs, so a load test can tell server time from browser time.

With ``LTP_TIMING_LOG=path`` set, every script run (rerun) of a session appends one JSON line to
``path``::

    {"event": "run", "session": "…", "client": "7", "page": "Prune a sentence", "start": 1700000000.12,
     "end": 1700000000.31, "wall_s": 0.19, "cpu_s": 0.17, "outcome": "ok", "pid": 123}

``start``/``end`` are wall-clock epoch seconds (``time.time()``, comparable with a browser's
``Date.now()`` on the same machine); ``cpu_s`` is the CPU time of the script thread alone, so
``wall_s - cpu_s`` is time spent waiting (for the GIL, the model lock, I/O); ``client`` is the
page URL's ``ltp_client`` query parameter (a benchmark tags each browser session with it);
``marks`` lists ``[section, wall s, CPU s]`` at each ``timing.mark(section)`` the script passed
(seconds since its start: where a slow run waited); ``outcome`` is ``ok``, ``stopped`` (``st.stop()``), ``rerun`` (interrupted by a newer rerun
request, or ``st.rerun()``) or ``error``. Full garbage collections (Streamlit runs
``gc.collect(2)`` after every script run, ``runner.postScriptGC``) are logged as
``{"event": "gc", "start", "end", "cpu_s", "thread", "collected"}`` lines.

``LTP_TIMING_PROFILE=dir`` (with the log) also writes a cProfile of each run to
``dir/<client or session>-<n>.prof`` (cProfile adds overhead: profile one session at a time).

Unset, ``script_run()`` is a no-op (one environment lookup per rerun).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

TIMING_ENV = "LTP_TIMING_LOG"
PROFILE_ENV = "LTP_TIMING_PROFILE"
CLIENT_PARAM = "ltp_client"  # ?ltp_client=<tag> on the page URL names the session in the log

_write_lock = threading.Lock()
_gc_started: dict[int, tuple[float, float]] = {}  # thread id -> (wall, thread CPU) at the start of a full collection
_profile_seq = itertools.count()
_marks = threading.local()  # the running script's [(section, wall s, thread CPU s) since its start]


def append(path: str | Path, record: dict) -> None:
    """Append one JSON line to ``path`` (thread-safe within the process)."""
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with _write_lock, open(path, "a", encoding="utf-8") as out:
        out.write(line)


def read_log(path: str | Path) -> list[dict]:
    """The records of a timing log, in file order (a half-written last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def _outcome(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    name = type(exc).__name__
    return {"StopException": "stopped", "RerunException": "rerun"}.get(name, "error")


def _run_context() -> tuple[str | None, str | None, object]:
    """(session id, client tag, the run context) of the current script thread; Nones outside one."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None, None, None
    from urllib.parse import parse_qs

    client = parse_qs(ctx.query_string or "").get(CLIENT_PARAM, [None])[0]
    return ctx.session_id, client, ctx


def _page_name(ctx) -> str | None:
    """The title of the page this run showed, when Streamlit knows it."""
    if ctx is None:
        return None
    with contextlib.suppress(Exception):  # internal registry: never let timing break a run
        info = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
        return info.get("page_name") or info.get("url_pathname") or None
    return None


def _on_gc(phase: str, info: dict) -> None:
    """gc callback: log each full (generation 2) collection to the current timing log."""
    if info.get("generation") != 2:
        return
    tid = threading.get_ident()
    if phase == "start":
        _gc_started[tid] = (time.time(), time.thread_time())
        return
    path = os.environ.get(TIMING_ENV, "").strip()
    start = _gc_started.pop(tid, None)
    if path and start is not None:
        append(path, {"event": "gc", "start": start[0], "end": time.time(), "cpu_s": time.thread_time() - start[1],
                      "thread": threading.current_thread().name, "collected": info.get("collected")})


def _hook_gc() -> None:
    """Install the gc callback once per process."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)


@contextlib.contextmanager
def _profiled(folder: str | None, tag: str) -> Iterator[None]:
    if not folder:
        yield
        return
    import cProfile

    prof = cProfile.Profile()
    prof.enable()  # this thread only
    try:
        yield
    finally:
        prof.disable()
        Path(folder).mkdir(parents=True, exist_ok=True)
        prof.dump_stats(str(Path(folder) / f"{tag}-{next(_profile_seq)}.prof"))


def mark(section: str) -> None:
    """Note that the running script has finished ``section`` (the record's ``marks``: wall and CPU
    seconds since the script started), to tell where a slow run waited; a no-op without the log."""
    marks = getattr(_marks, "current", None)
    if marks is not None:
        marks["list"].append((section, round(time.time() - marks["start"], 4),
                              round(time.thread_time() - marks["cpu"], 4)))


@contextlib.contextmanager
def script_run() -> Iterator[None]:
    """Wrap the body of the app script: logs one record per run when ``LTP_TIMING_LOG`` is set."""
    path = os.environ.get(TIMING_ENV, "").strip()
    if not path:
        yield
        return
    _hook_gc()
    session, client, ctx = _run_context()
    start, cpu = time.time(), time.thread_time()
    _marks.current = {"start": start, "cpu": cpu, "list": []}
    error: BaseException | None = None
    try:
        with _profiled(os.environ.get(PROFILE_ENV, "").strip() or None, client or (session or "none")[:8]):
            yield
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised unchanged
        error = exc
        raise
    finally:
        end = time.time()
        marks, _marks.current = _marks.current["list"], None
        append(path, {"event": "run", "session": session, "client": client, "page": _page_name(ctx),
                      "start": start, "end": end, "wall_s": end - start, "cpu_s": time.thread_time() - cpu,
                      "outcome": _outcome(error), "pid": os.getpid(), "marks": marks})
