"""The embedding map's t-SNE recompute: finished maps shared by every session, the run in
progress kept per session, and the progress bar that lets Streamlit stop it.

The t-SNE runs in the script thread and updates an ``st.progress`` bar every few iterations.
Each update is a Streamlit yield point (``ScriptRunner._maybe_handle_execution_control_request``
runs whenever a script sends an element): when the session goes away (a closed tab: on the
websocket's close the server calls ``request_script_stop``) or a rerun is requested, Streamlit
raises StopException or RerunException from that update, and the run stops between two
iterations (openTSNE first undoes its exaggeration of P, see ``ltp.analysis.embed``). A rerun
of the same session continues the stopped run where it was; a closed session's run is dropped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import streamlit as st

from ltp.analysis import embed

MAPS_KEPT = 8  # finished maps kept for all sessions (20,000 points: 160 kB each)


class MapStore:
    """Finished recomputed maps by (bundle key, table, perplexity); the least recently used go first."""

    def __init__(self, capacity: int = MAPS_KEPT):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1; got {capacity}.")
        self.capacity = capacity
        self._maps: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # sessions run in their own threads

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            xy = self._maps.get(key)
            if xy is not None:
                self._maps.move_to_end(key)
            return xy

    def put(self, key: Hashable, xy: np.ndarray) -> np.ndarray:
        """Keep a map (read-only from now on); returns it."""
        xy = np.array(xy, dtype=np.float32)
        xy.setflags(write=False)  # shared by sessions: nobody may change it in place
        with self._lock:
            self._maps[key] = xy
            self._maps.move_to_end(key)
            while len(self._maps) > self.capacity:
                self._maps.popitem(last=False)
        return xy


@st.cache_resource
def store() -> MapStore:
    """The server's one MapStore."""
    return MapStore()


class SessionRuns:
    """One session's t-SNE runs in progress: table -> ((bundle key, perplexity), TSNERun)."""

    def __init__(self):
        self.runs: dict[str, tuple[tuple[str, float], embed.TSNERun]] = {}

    def cancel_all(self) -> None:
        """The session ended: cancel every run (a second stop, besides Streamlit's StopException)."""
        for _, run in self.runs.values():
            run.cancel()
        self.runs.clear()


@st.cache_resource(scope="session", on_release=SessionRuns.cancel_all)
def session_runs() -> SessionRuns:
    """This session's runs; Streamlit releases them (cancel_all) as soon as the session disconnects."""
    return SessionRuns()


def session_run(key: str, table: str, perplexity: float, pcs: np.ndarray, start: np.ndarray) -> embed.TSNERun:
    """This session's run for the map: the stopped one continued if it is for the same map."""
    runs = session_runs().runs
    held = runs.get(table)
    if held is not None and held[0] == (key, perplexity) and not held[1].cancelled:
        return held[1]
    run = embed.TSNERun(pcs, perplexity, schedule=embed.QUICK, init=start)
    runs[table] = ((key, perplexity), run)
    return run


def forget(table: str) -> embed.TSNERun | None:
    """Drop this session's run for the table (finished, or a Stop click); the run, or None."""
    held = session_runs().runs.pop(table, None)
    return None if held is None else held[1]


def recompute(key: str, table: str, perplexity: float, pcs: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The table's map at `perplexity`: from the store, or computed now under a progress bar.

    Streamlit stops the computation at the bar's next update when the session ends or reruns
    (module docstring); the exception propagates, and a rerun continues the run.
    """
    found = store().get((key, table, perplexity))
    if found is not None:
        return found
    run = session_run(key, table, perplexity, pcs, start)
    bar = st.progress(0.0, text=f"Recomputing the t-SNE with perplexity {perplexity:g}…")

    def progress(fraction: float, what: str) -> None:  # None: never asks to stop; Streamlit raises instead
        bar.progress(fraction, text=f"Recomputing the t-SNE: {what}…")

    try:
        xy = run.run(progress)
    except embed.TSNEStopped:  # cancelled: the session ended and released its runs; end this run quietly
        forget(table)
        st.stop()
    bar.empty()
    forget(table)
    return store().put((key, table, perplexity), xy)
