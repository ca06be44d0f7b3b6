"""The Embedding map page's recompute and recolour under Streamlit's AppTest, on the tiny
checkpoint (conftest's app_models): a stop request (what the server sends when the tab closes)
ends the t-SNE at its next progress update, a rerun continues it, Stop drops it, and a colour
change neither recomputes nor rebuilds a figure it has built before."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

APP = Path(__file__).resolve().parents[1] / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

pytest.importorskip("streamlit")
import streamlit as st  # noqa: E402
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from ltp import viz  # noqa: E402
from ltp.analysis import embed  # noqa: E402

HOME = APP / "Home.py"
PAGE = "views/embedding.py"
TIMEOUT = 120


@pytest.fixture
def app_env(app_env):
    st.cache_resource.clear()  # maps, points and figures of earlier tests
    return app_env


@pytest.fixture
def runs(monkeypatch):
    """Every TSNERun.run call: (run, iterations done when it started, progress calls it made, how it ended).

    ``stop_after`` (calls) makes the wrapper ask Streamlit to stop the script from another thread,
    as the server does when the websocket closes (AppSession.request_script_stop)."""
    real = embed.TSNERun.run
    log = {"calls": [], "stop_after": None}

    def run(self, progress=None):
        entry = {"run": self, "start": self.iterations_done, "progress": 0, "ended": "finished"}
        log["calls"].append(entry)
        requests = get_script_run_ctx().script_requests

        def wrapped(fraction, what):
            entry["progress"] += 1
            if log["stop_after"] is not None and entry["progress"] == log["stop_after"]:
                t = threading.Thread(target=requests.request_stop)  # the server's thread, not the script's
                t.start()
                t.join()
            return progress(fraction, what)

        try:
            return real(self, wrapped)
        except BaseException as err:
            entry["ended"] = type(err).__name__
            raise

    monkeypatch.setattr(embed.TSNERun, "run", run)
    return log


def start() -> AppTest:
    at = AppTest.from_file(str(HOME), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def recompute(at: AppTest, perplexity: int = 6) -> AppTest:
    at.slider(key="emb_slider_token_embeddings").set_value(perplexity).run()
    return at.button(key="emb_recompute_token_embeddings").click().run()


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def test_a_stop_request_ends_the_tsne_at_its_next_progress_update(app_env, runs):
    at = start()
    runs["stop_after"] = 3  # past the neighbours and the affinities, inside the optimisation
    recompute(at)
    assert len(runs["calls"]) == 1
    call = runs["calls"][0]
    assert call["ended"] == "StopException"  # raised by Streamlit from the progress bar's update
    assert call["progress"] == 3  # the update after the request raised: not one iteration block more
    assert not call["run"].done and call["run"].iterations_done < embed.QUICK.total_iter
    assert "recomputed with perplexity 6" not in captions(at)


def test_a_rerun_continues_the_stopped_run_and_stop_drops_it(app_env, runs):
    at = start()
    runs["stop_after"] = 4
    recompute(at)
    stopped = runs["calls"][0]["run"]
    done = stopped.iterations_done
    runs["stop_after"] = None
    at.run()  # e.g. the next rerun of the same session: the same run goes on from where it was
    assert runs["calls"][1]["run"] is stopped and runs["calls"][1]["start"] == done
    assert stopped.done and "recomputed with perplexity 6" in captions(at)

    runs["stop_after"] = 4
    recompute(at, 7)  # stopped again, then the user clicks Stop
    runs["stop_after"] = None
    at.button(key="emb_stop_token_embeddings").click().run()
    assert runs["calls"][-1]["run"].cancelled and len(runs["calls"]) == 3  # dropped, not continued
    assert "Recompute stopped after" in captions(at) and "Shown: the bundle's t-SNE" in captions(at)
    assert not at.exception, [e.value for e in at.exception]


def test_the_map_carries_every_colouring_and_is_built_once(app_env, runs, monkeypatch):
    """Recolouring happens in the browser (the figure's buttons): the page's reruns reuse the
    recomputed map and its one figure, which holds every colouring."""
    at = start()
    recompute(at)
    assert len(runs["calls"]) == 1 and runs["calls"][0]["run"].done
    built = []
    real = viz.embedding_scatter_colourings
    monkeypatch.setattr(viz, "embedding_scatter_colourings", lambda *a, **k: built.append(a[3]) or real(*a, **k))
    for _ in range(3):
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert "recomputed with perplexity 6" in captions(at)
    assert len(runs["calls"]) == 1 and built == []  # no t-SNE again, no figure built again
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    buttons = spec["layout"]["updatemenus"][0]["buttons"]
    assert [b["label"] for b in buttons] == ["gold class", "predicted class", "correctness", "part of speech"]
    assert spec["data"][0]["type"] == "scattergl" and "NOUN" in [t.get("name") for t in spec["data"]]
    assert not at.radio  # no server-side colour picker: a click recolours without a rerun


def test_public_demo_never_recomputes(app_env, runs, monkeypatch):
    monkeypatch.setenv("LTP_PUBLIC_DEMO", "1")
    at = start()
    button = at.button(key="emb_recompute_token_embeddings")
    assert button.disabled
    import dashboard
    from ltp.analysis.bundle import default_bundle_dir, load_bundle

    key = dashboard.bundle_key(load_bundle(default_bundle_dir(app_env["checkpoint"])))
    at.session_state["emb_perplexity_token_embeddings"] = (key, 6.0)  # even a forged request
    at.run()
    assert runs["calls"] == [] and "Shown: the bundle's t-SNE" in captions(at)


def test_the_map_store_keeps_the_latest_maps_read_only():
    import maps

    store = maps.MapStore(capacity=2)
    for i in range(3):
        store.put(("k", "t", float(i)), np.full((4, 2), i))
    assert store.get(("k", "t", 0.0)) is None and store.get(("k", "t", 2.0))[0, 0] == 2
    with pytest.raises(ValueError):
        store.get(("k", "t", 1.0))[0, 0] = 5  # shared by sessions: read-only
    with pytest.raises(ValueError, match="capacity"):
        maps.MapStore(0)
