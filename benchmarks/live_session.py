"""The live page under a real server and browser, as the load and rerun benchmarks drive it: the
texts each session types, the page's selectors, the dashboard served with its timing log, and the
CPU and memory of its processes. benchmarks/load_test.py, rerun_profile.py and rerun_parts.py
import it; app/ and the repository are put on sys.path here, as the app itself has them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's ltp, not whichever one is installed
sys.path.insert(0, str(REPO / "app"))  # support and timing, as the app imports them
sys.path.insert(0, str(REPO / "benchmarks"))
from support import places  # noqa: E402
import harness  # noqa: E402  (the server and browser helper tests share)
from harness import CHROMIUM  # noqa: E402,F401  (for the benchmarks that import this module)
import timing  # noqa: E402

BROWSER_ARGS = [*harness.BROWSER_ARGS, "--disable-renderer-backgrounding",  # N pages at once: none throttled
                "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows"]
VIEWPORT = {"width": 1400, "height": 1000}
OPEN_MS = 300_000  # N pages loading together on a shared CPU: generous
RESULT_MS = 180_000  # a session without its own result after this counts as an error
TEMPLATE = ("Before next {word}, the city council met on {day} evening to discuss a new plan for public transport, "
            "and after a long debate its members agreed to fund two more bus lines, repair the old bridge near the "
            "river and open a small park for local families and their children")  # 50 words; what differs comes first (truncation)
WORDS = ("summer", "autumn", "winter", "spring", "year", "month", "week", "decade", "season", "term", "quarter",
         "semester", "festival", "holiday", "election", "harvest", "tournament", "marathon", "concert", "exhibition",
         "conference", "carnival", "parade", "match", "derby", "regatta", "rally", "summit", "session", "hearing",
         "trial", "audit", "census", "survey", "budget", "review", "inspection", "campaign", "referendum",
         "ceremony", "launch", "premiere")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAIN = '[data-testid="stMain"]'
AREA = f'{MAIN} [data-testid="stTextArea"] textarea'  # the page's, not the sidebar's
LAYER_TABLE = "table.ltp-layers"
STATUS = '[data-testid="stStatusWidget"]'


def text_for(session: int, round_: int) -> str:
    return TEMPLATE.format(day=DAYS[round_], word=WORDS[session])


def probe_for(session: int, round_: int) -> str:
    """A piece of text only this session's text of this round holds (the layer table shows it whole;
    the previous round's table, still on the page when the new one is submitted, does not hold it)."""
    return TEMPLATE.format(day=DAYS[round_], word=WORDS[session]).split(" evening")[0]


def tree(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total / 2**20


def cpu_s(procs: list[psutil.Process]) -> float:
    """User + system CPU seconds of these processes so far (gone ones count 0)."""
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    timing_log: Path


@contextlib.contextmanager
def serve(models_dir: Path, data_dir: Path | None, work: Path, options: list[str] = (), profile: Path | None = None):
    """The dashboard (harness.serve) with the timing log on (and cProfile per run into ``profile``
    if given); always stopped, with its children."""
    timing_log = work / f"timing-{time.monotonic_ns()}.jsonl"
    env = {places.MODELS_DIR_ENV: str(models_dir), timing.TIMING_ENV: str(timing_log),
           timing.PROFILE_ENV: None if profile is None else str(profile)}  # profiling distorts timings: on request
    if data_dir is not None:
        env[places.DATA_DIR_ENV] = str(data_dir)
    with harness.serve(work, env, options) as server:
        yield Server(server.proc, server.url, server.log, timing_log)


def chromium_procs() -> list[psutil.Process]:
    """This process's Chromium descendants (through Playwright's driver)."""
    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]


def busy_processes() -> list[str]:
    """Other processes using CPU now (over 0.5 s): what the numbers shared the machine with."""
    procs = list(psutil.process_iter(["pid", "name", "cmdline", "nice"]))
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(0.5)
    busy = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            pct = p.cpu_percent(None)
            if pct >= 5 and p.pid != os.getpid():
                cmd = " ".join(p.info["cmdline"] or [p.info["name"]])[:100]
                busy.append(f"{pct:.0f}% nice {p.info['nice']} {cmd}")
    return busy


def fmt_num(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else f"{value:{spec}}"
