"""Starting the dashboard and a browser: the one helper tests and benchmarks share.

`serve` runs `streamlit run app/Home.py` on a free loopback port with the given environment and
always stops it, with whatever it started (`stop`); `wait_healthy` waits for /_stcore/health;
`launch_browser` opens Debian's headless Chromium through Playwright and `new_page` gives a
fresh context (no cache, no cookies). Imported by tests/conftest.py, app_speed.py, load_test.py,
map_speed.py and rerun_profile.py (benchmarks/ on sys.path).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (apt-get install -y chromium)
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update"]
VIEWPORT = {"width": 1920, "height": 1080}  # a classroom projector
STARTUP_S = 300  # the CPU may be shared with training: generous limits
RENDER_MS = 300_000
GL_CANVAS = ".js-plotly-plot canvas.gl-canvas-context"  # a drawn WebGL chart (the embedding maps)


@dataclass
class Server:
    """A running dashboard."""

    proc: subprocess.Popen
    url: str  # http://127.0.0.1:<port>
    started: float  # perf_counter() just before the process was started
    log: Path  # its stdout and stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(log_dir: Path, env: dict[str, str | None] | None = None, options: list[str] = (), wait: bool = True,
          startup_s: float = STARTUP_S, log_file: Path | None = None):
    """`streamlit run app/Home.py` on a free loopback port, ``os.environ`` updated with ``env`` (a
    None value removes the variable) and ``--key value`` for each "key=value" of ``options``;
    yields a Server once healthy (at once with ``wait=False``); always stopped, with its children.
    Its output goes to ``log_file``, else to ``log_dir/streamlit-<port>.log``.
    Raises RuntimeError with the server's log when it exits or does not answer."""
    port = free_port()
    full = {**os.environ, **(env or {})}
    for key in [k for k, v in full.items() if v is None]:
        del full[key]
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "Home.py"), "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    for option in options:
        key, value = option.split("=", 1)
        cmd += [f"--{key}", value]
    log = Path(log_file) if log_file is not None else Path(log_dir) / f"streamlit-{port}.log"
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=full, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", started, log)
    try:
        if wait:
            wait_healthy(server, startup_s)
        yield server
    finally:
        stop(proc)


def wait_healthy(server: Server, startup_s: float = STARTUP_S) -> float:
    """Seconds from the process start until /_stcore/health answers "ok"."""
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.proc.returncode}:\n{server.log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2).read() == b"ok":
                return time.perf_counter() - server.started
        time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer /_stcore/health within {startup_s:.0f} s:\n"
                       f"{server.log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server and whatever it started; kill what does not exit within 20 s."""
    try:
        server = psutil.Process(proc.pid)
        procs = [server, *server.children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=20)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    proc.wait()


def launch_browser(playwright):
    """Headless Chromium from a (sync) Playwright instance; for the async API, await
    ``playwright.chromium.launch(**BROWSER)``."""
    return playwright.chromium.launch(**BROWSER)


BROWSER = {"executable_path": CHROMIUM, "args": BROWSER_ARGS}  # launch() arguments


@contextlib.contextmanager
def new_page(browser, viewport: dict = VIEWPORT):
    """A fresh browser context (no cache, no cookies) and its page."""
    context = browser.new_context(viewport=viewport)
    try:
        yield context.new_page()
    finally:
        context.close()


def settle(page) -> None:
    """Wait until the script run has ended (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=RENDER_MS)
    page.wait_for_timeout(300)
