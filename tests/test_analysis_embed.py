"""PCA and t-SNE projections: shapes, small inputs, separation of obvious clusters, and the
stoppable, resumable run the dashboard's recompute relies on."""

import threading
import time

import numpy as np
import pytest

from ltp.analysis.embed import QUICK, TSNERun, TSNESchedule, TSNEStopped, _drop_self, pca, tsne

SMALL = TSNESchedule(early_exaggeration_iter=30, n_iter=60)  # a few hundred points in well under a second


def two_clusters(n: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(0, 1, size=(n, 5)), rng.normal(12, 1, size=(n, 5))]).astype(np.float32)


def separated(xy: np.ndarray, n: int) -> bool:
    ca, cb = xy[:n].mean(0), xy[n:].mean(0)
    spread = max(xy[:n].std(0).max(), xy[n:].std(0).max())
    return bool(np.linalg.norm(ca - cb) > 3 * spread)


def test_pca_shapes_and_small_inputs():
    x = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    assert pca(x, 50).shape == (30, 8)
    assert pca(x, 3).shape == (30, 3)
    assert pca(np.zeros((0, 8), np.float32)).shape == (0, 50)


def test_tsne_separates_two_clusters():
    xy = tsne(two_clusters(), perplexity=10, n_jobs=1)
    assert xy.shape == (120, 2) and xy.dtype == np.float32
    assert separated(xy, 60)
    assert tsne(np.zeros((2, 5), np.float32)).shape == (2, 2)


def test_quick_schedule_from_a_finished_map_keeps_the_clusters():
    x = two_clusters()
    stored = tsne(x, perplexity=10, n_jobs=1)
    xy = TSNERun(x, 25, n_jobs=1, schedule=QUICK, init=stored).run()
    assert separated(xy, 60)
    assert not np.allclose(xy, stored)  # it did optimise at the new perplexity


@pytest.mark.parametrize("stop_at", [2, 6])  # a stop in early exaggeration and one after it
def test_progress_returning_true_stops_and_the_run_resumes_to_the_same_map(stop_at):
    x = two_clusters()
    whole = TSNERun(x, 10, n_jobs=1, schedule=SMALL).run()
    calls = []

    def progress(fraction, what):
        calls.append(what)
        return len(calls) == stop_at

    run = TSNERun(x, 10, n_jobs=1, schedule=SMALL, every=10)
    with pytest.raises(TSNEStopped, match="stopped by its caller"):
        run.run(progress)
    assert len(calls) == stop_at  # nothing ran after the stop
    assert 0 <= run.iterations_done < SMALL.total_iter and not run.done
    resumed = run.run(progress)
    assert run.done and run.iterations_done == SMALL.total_iter
    np.testing.assert_allclose(resumed, whole, atol=1e-4)  # P was un-exaggerated, nothing lost or repeated


class _ScriptStop(BaseException):
    """Stands for Streamlit's StopException (a BaseException raised at the next st.* call)."""


def test_an_exception_from_progress_stops_between_iterations_and_propagates():
    x = two_clusters()
    whole = TSNERun(x, 10, n_jobs=1, schedule=SMALL).run()
    stop = threading.Event()
    iterations_at_stop = []

    def progress(fraction, what):
        if stop.is_set():
            raise _ScriptStop()
        if "iteration 19" in what:  # early exaggeration: the exaggerated P must be undone
            stop.set()
            iterations_at_stop.append(19)

    run = TSNERun(x, 10, n_jobs=1, schedule=SMALL, every=10)
    with pytest.raises(_ScriptStop):
        run.run(progress)
    assert run.iterations_done == 29  # stopped at the next report, 10 iterations later
    np.testing.assert_allclose(run.run(), whole, atol=1e-4)


def test_cancel_from_another_thread_ends_the_run_quickly_and_for_good():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 20)).astype(np.float32)
    run = TSNERun(x, 30, n_jobs=1, schedule=TSNESchedule(early_exaggeration_iter=0, n_iter=5000), every=5)
    started = threading.Event()
    ended = {}

    def work():
        try:
            run.run(lambda fraction, what: started.set() if "iteration" in what else None)
        except TSNEStopped as err:
            ended["error"] = str(err)
        ended["t"] = time.perf_counter()

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(120), "the optimisation never reported"
    t_cancel = time.perf_counter()
    run.cancel()
    thread.join(60)
    assert not thread.is_alive() and "cancelled" in ended["error"]
    assert ended["t"] - t_cancel < 10  # 5 iterations of 3,000 points, even on a busy machine
    assert run.iterations_done < 5000
    with pytest.raises(TSNEStopped, match="cancelled"):
        run.run()


def test_tolerance_ends_the_plain_phase_once_kl_settles():
    x = two_clusters()
    run = TSNERun(x, 10, n_jobs=1, schedule=TSNESchedule(20, 400, tolerance=0.5, min_iter=30), every=10)
    run.run()
    assert run.converged_at == run.iterations_done and run.iterations_done < 100
    full = TSNERun(x, 10, n_jobs=1, schedule=TSNESchedule(20, 100), every=10)
    full.run()
    assert full.converged_at is None and full.iterations_done == 120


def test_progress_fractions_rise_to_one():
    seen = []
    TSNERun(two_clusters(), 10, n_jobs=1, schedule=SMALL).run(lambda f, what: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0 <= seen[0] < 0.2


def test_exact_neighbours_drop_the_point_itself_even_with_duplicates():
    rows = np.array([0, 1])
    idx = np.array([[0, 5, 6], [2, 1, 7]])  # row 1: a duplicate (2) came before the point itself
    dist = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    i, d = _drop_self(rows, idx, dist)
    assert i.tolist() == [[5, 6], [2, 7]] and d.tolist() == [[1.0, 2.0], [0.0, 3.0]]
    i, _ = _drop_self(np.array([0]), np.array([[3, 4, 5]]), np.zeros((1, 3)))  # not found: the farthest goes
    assert i.tolist() == [[3, 4]]


@pytest.mark.parametrize("x, perplexity, kwargs, message", [
    (np.zeros(10), 30, {}, "2-D array"),
    (np.full((10, 3), np.nan), 30, {}, "NaN or infinite"),
    (np.array([["a", "b"]] * 5), 30, {}, "numeric"),
    (np.zeros((10, 3)), 0, {}, "perplexity must be a positive"),
    (np.zeros((10, 3)), 5, {"init": np.zeros((9, 2))}, r"init must be an \(N, 2\) layout"),
    (np.zeros((10, 3)), 5, {"init": np.full((10, 2), np.inf)}, "init contains NaN"),
    (np.zeros((10, 3)), 5, {"every": 0}, "every must be"),
])
def test_bad_input_says_what_is_wrong(x, perplexity, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TSNERun(x, perplexity, **kwargs)


def test_bad_schedule_says_what_is_wrong():
    with pytest.raises(ValueError, match="n_iter"):
        TSNESchedule(n_iter=0)
    with pytest.raises(ValueError, match="gradient must be"):
        TSNESchedule(gradient="exact")
    with pytest.raises(ValueError, match="tolerance"):
        TSNESchedule(tolerance=2.0)
