"""PCA to 50 dimensions and 2-D t-SNE (openTSNE, FFT-accelerated) of hidden states.

A t-SNE runs in steps (exact nearest neighbours in chunks of rows, the affinities, then gradient
descent in blocks of ``every`` iterations) and reports after each step to a ``progress``
callback, which can stop it; a stopped run resumes where it stopped. That is what lets the
dashboard show a progress bar and drop the work as soon as its session goes away.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# progress(fraction done in [0, 1], what is running) -> True to stop; it may also raise, which stops too
Progress = Callable[[float, str], "bool | None"]

EXACT_NEIGHBOURS_MAX = 50_000  # up to this many points, exact neighbours (chunked, stoppable); above, Annoy
_CHUNK_ROWS = 5_000  # query rows per neighbour chunk: ~1 s each for 20,000 points on 2 cores (smaller chunks cost
# sklearn more CPU per row: 2,000 rows take 1.6x the CPU of 5,000)
_WEIGHTS = {"neighbours": 0.15, "affinities": 0.05}  # share of the progress bar; the rest is optimisation


class TSNEStopped(RuntimeError):
    """The progress callback asked the t-SNE to stop (``run`` again continues it), or the run was
    cancelled (``cancel``: for good)."""


@dataclass(frozen=True)
class TSNESchedule:
    """How long a t-SNE optimises and how finely it approximates the repulsion."""

    early_exaggeration_iter: int = 125  # iterations with exaggeration 12 (clusters form)
    n_iter: int = 375  # iterations without exaggeration (the layout spreads and settles)
    ints_in_interval: int = 1  # FFT grid cells per unit of layout; 2: a 4x coarser grid, cheaper once the map spread
    gradient: str = "auto"  # repulsion: "fft", "bh" (Barnes-Hut) or "auto" (openTSNE: BH below 10,000 points)
    tolerance: float = 0.0  # end the plain phase early once KL fell by less than this share between two reports
    min_iter: int = 0  # ... but not before this many plain iterations

    def __post_init__(self) -> None:
        if self.early_exaggeration_iter < 0 or self.n_iter < 1 or self.ints_in_interval < 1:
            raise ValueError(f"Bad t-SNE schedule {self}: early_exaggeration_iter must be >= 0, n_iter and "
                             "ints_in_interval >= 1.")
        if not 0 <= self.tolerance < 1 or not 0 <= self.min_iter <= self.n_iter:
            raise ValueError(f"Bad t-SNE schedule {self}: tolerance must be in [0, 1), min_iter in [0, n_iter].")
        if self.gradient not in ("auto", "fft", "bh"):
            raise ValueError(f"gradient must be 'auto', 'fft' or 'bh'; got {self.gradient!r}.")

    @property
    def total_iter(self) -> int:
        return self.early_exaggeration_iter + self.n_iter


FULL = TSNESchedule()  # `ltp analyze`: the maps stored in a bundle, from a PCA start
# The dashboard's recompute at another perplexity, continuing from the stored map (init=): no early
# exaggeration (the clusters exist already), a coarser FFT grid (3 cells per unit lost neighbours),
# at most 100 iterations, fewer once KL improves by < 0.1% per 10 (perplexity 50-100: ~40-50).
# For AG News' 20,000 tokens it keeps each point's 10 nearest neighbours about as well as a full
# 500-iteration run from PCA, in a fifth of the CPU (benchmarks/map_speed.py --reference).
QUICK = TSNESchedule(early_exaggeration_iter=0, n_iter=100, ints_in_interval=2, gradient="fft", tolerance=1e-3,
                     min_iter=20)


def pca(x: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """(N, d) -> (N, min(dims, d, N)) principal components, float32."""
    from sklearn.decomposition import PCA

    if len(x) == 0:
        return np.zeros((0, dims), dtype=np.float32)
    k = min(dims, x.shape[1], len(x))
    return PCA(n_components=k, random_state=seed, svd_solver="randomized" if k < min(x.shape) else "full").fit_transform(
        x.astype(np.float32)).astype(np.float32)


def _check_points(x: np.ndarray, perplexity: float) -> np.ndarray:
    """x as C-contiguous float32 (N, k), or a ValueError that says what is wrong."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"t-SNE needs a 2-D array of points (N, k); got shape {x.shape}.")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"t-SNE needs numeric points; got dtype {x.dtype}.")
    if not np.isfinite(x).all():
        raise ValueError("t-SNE points contain NaN or infinite values; drop or fill those rows first.")
    if not np.isfinite(perplexity) or perplexity <= 0:
        raise ValueError(f"perplexity must be a positive number; got {perplexity!r}.")
    return np.ascontiguousarray(x, dtype=np.float32)


class TSNERun:
    """One t-SNE of (N, k) points that runs in stoppable steps and resumes where it stopped.

    Args:
        x: (N, k) points (e.g. 50 PCA components).
        perplexity: capped at (N - 1) / 3 for small N.
        seed: seeds the PCA initialisation (the neighbours are exact, so the run is repeatable).
        n_jobs: threads for neighbours, affinities and gradients.
        schedule: iterations and FFT grid (FULL for stored maps, QUICK for the dashboard).
        init: (N, 2) finished layout to continue from (e.g. the stored map), used as it is;
            None: PCA of x, rescaled to openTSNE's small initial spread.
        every: iterations between progress reports (and chances to stop).
    """

    def __init__(self, x: np.ndarray, perplexity: float = 30.0, *, seed: int = 0, n_jobs: int = 2,
                 schedule: TSNESchedule = FULL, init: np.ndarray | None = None, every: int = 10):
        self.x = _check_points(x, perplexity)
        n = len(self.x)
        if init is not None and np.shape(init) != (n, 2):
            raise ValueError(f"init must be an (N, 2) layout with N = {n} points; got shape {np.shape(init)}.")
        if init is not None and not np.isfinite(init).all():
            raise ValueError("init contains NaN or infinite coordinates; pass None to start from PCA.")
        if every < 1:
            raise ValueError(f"every must be >= 1 iteration; got {every}.")
        self.perplexity = float(min(perplexity, (n - 1) / 3)) if n >= 4 else float(perplexity)
        self.k = min(n - 1, int(3 * self.perplexity))
        self.seed, self.n_jobs, self.schedule, self.every = seed, n_jobs, schedule, every
        self.init = None if init is None else np.asarray(init, dtype=np.float64)
        self.iterations_done = 0  # gradient-descent iterations applied so far
        self.converged_at: int | None = None  # iterations done when KL stopped improving (schedule.tolerance)
        self._last_kl: float | None = None  # KL at the last report of the plain phase
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []  # neighbour chunks found so far: (indices, distances)
        self._embedding = None  # openTSNE TSNEEmbedding once the affinities exist
        self.result: np.ndarray | None = None
        self._cancelled = threading.Event()

    @property
    def done(self) -> bool:
        return self.result is not None

    def cancel(self) -> None:
        """Stop for good, from any thread: the run raises TSNEStopped at its next step (within one
        neighbour chunk or `every` iterations) and whenever it is run again."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self, progress: Progress | None = None) -> np.ndarray:
        """Run (or continue) to the end; (N, 2) float32 coordinates.

        Raises:
            TSNEStopped: progress returned True (call run again to continue).
            Whatever progress raised (e.g. Streamlit's StopException), after leaving the run resumable.
        """
        if self.result is not None:
            return self.result
        if self._cancelled.is_set():
            raise TSNEStopped("t-SNE cancelled.")
        if len(self.x) < 4:
            self.result = np.zeros((len(self.x), 2), dtype=np.float32)
            return self.result
        report = progress or (lambda fraction, what: None)
        if self._embedding is None:
            neighbours, distances = self._neighbours(report)
            self._embedding = self._prepare(neighbours, distances, report)
            self._rows = []
        self._optimise(report)
        self.result = np.asarray(self._embedding, dtype=np.float32).copy()
        self._embedding = None  # drop the affinity matrix (tens of MB) once finished
        report(1.0, "t-SNE done")
        return self.result

    def _ask(self, report: Progress, fraction: float, what: str) -> None:
        if self._cancelled.is_set():
            raise TSNEStopped(f"t-SNE cancelled ({what}).")
        if report(min(max(fraction, 0.0), 1.0), what):
            raise TSNEStopped(f"t-SNE stopped by its caller ({what}).")

    def _neighbours(self, report: Progress) -> tuple[np.ndarray, np.ndarray]:
        """(N, k) indices and distances of each point's k nearest other points."""
        n = len(self.x)
        if n > EXACT_NEIGHBOURS_MAX:  # one Annoy call: not stoppable inside, but O(N log N)
            from openTSNE.nearest_neighbors import Annoy

            self._ask(report, 0.0, f"finding {self.k} neighbours of {n:,} points (approximate)")
            return Annoy(self.x, self.k, n_jobs=self.n_jobs, random_state=self.seed).build()
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=self.k + 1, algorithm="brute", n_jobs=self.n_jobs).fit(self.x)
        while (start := len(self._rows) * _CHUNK_ROWS) < n:
            self._ask(report, _WEIGHTS["neighbours"] * start / n, f"finding {self.k} neighbours of {n:,} points")
            rows = np.arange(start, min(start + _CHUNK_ROWS, n))
            dist, idx = index.kneighbors(self.x[rows])  # (c, k + 1), nearest first; usually the point itself
            self._rows.append(_drop_self(rows, idx, dist))
        return np.vstack([i for i, _ in self._rows]), np.vstack([d for _, d in self._rows])

    def _prepare(self, neighbours: np.ndarray, distances: np.ndarray, report: Progress):
        """The openTSNE embedding: perplexity-based affinities and the (rescaled) initial layout."""
        from openTSNE import TSNEEmbedding, affinity, initialization
        from openTSNE.nearest_neighbors import PrecomputedNeighbors

        self._ask(report, _WEIGHTS["neighbours"], f"computing affinities (perplexity {self.perplexity:g})")
        aff = affinity.PerplexityBasedNN(knn_index=PrecomputedNeighbors(neighbours, distances),
                                         perplexity=self.perplexity, n_jobs=self.n_jobs)
        start = initialization.pca(self.x, random_state=self.seed) if self.init is None else self.init.copy()
        return TSNEEmbedding(start, aff, n_jobs=self.n_jobs, random_state=self.seed,
                             negative_gradient_method=self.schedule.gradient,
                             ints_in_interval=self.schedule.ints_in_interval, momentum=0.8, theta=0.5,
                             max_grad_norm=None, max_step_norm=5)

    def _optimise(self, report: Progress) -> None:
        """Early exaggeration, then plain gradient descent; every `every` iterations ask progress."""
        from openTSNE.tsne import OptimizationInterrupt

        ee, total = self.schedule.early_exaggeration_iter, self.schedule.total_iter
        base = sum(_WEIGHTS.values())
        while self.iterations_done < total and self.converged_at is None:
            exaggerated = self.iterations_done < ee
            left = (ee if exaggerated else total) - self.iterations_done
            failure: list[BaseException] = []
            reached = [0]  # the iteration of this call at the last callback

            def callback(it: int, error: float, embedding, start=self.iterations_done) -> bool:
                # it-th iteration of this call: its gradient is computed, its update not yet applied
                reached[0] = it
                done = start + it - 1
                if self._cancelled.is_set():
                    return True
                try:
                    phase = " (early exaggeration)" if exaggerated else ""
                    stop = report(base + (1 - base) * done / total, f"t-SNE iteration {done} of {total}{phase}")
                except BaseException as err:  # e.g. Streamlit's StopException: stop openTSNE cleanly first
                    failure.append(err)
                    return True
                if stop or exaggerated:
                    return bool(stop)
                return self._settled(done, float(error))

            try:  # on a stop openTSNE undoes the exaggeration of P and raises OptimizationInterrupt
                self._embedding.optimize(n_iter=left, exaggeration=12 if exaggerated else 1, inplace=True,
                                         propagate_exception=True, callbacks=callback, callbacks_every_iters=self.every)
                self.iterations_done += left
            except OptimizationInterrupt:
                self.iterations_done += reached[0] - 1
                if self.converged_at is not None:  # KL settled: done, not stopped
                    break
                if failure:
                    raise failure[0] from None
                how = "cancelled" if self._cancelled.is_set() else "stopped by its caller"
                raise TSNEStopped(f"t-SNE {how} after {self.iterations_done} of {total} iterations.") from None


    def _settled(self, done: int, kl: float) -> bool:
        """True (and converged_at = done) once the plain phase's KL fell by less than schedule.tolerance
        (a share) since the last report, after schedule.min_iter plain iterations."""
        last, self._last_kl = self._last_kl, kl
        tol, plain = self.schedule.tolerance, done - self.schedule.early_exaggeration_iter
        if tol > 0 and last is not None and plain >= self.schedule.min_iter and last - kl < tol * abs(last):
            self.converged_at = done
            return True
        return False


def _drop_self(rows: np.ndarray, idx: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's neighbours without the point itself (k + 1 -> k columns; duplicates handled)."""
    is_self = idx == rows[:, None]
    keep = ~is_self
    no_self = ~is_self.any(axis=1)
    keep[no_self, -1] = False  # an exact duplicate came first: drop the farthest instead
    k = idx.shape[1] - 1
    return idx[keep].reshape(-1, k), dist[keep].reshape(-1, k)


def tsne(x: np.ndarray, perplexity: float = 30.0, seed: int = 0, n_jobs: int = 2,
         early_exaggeration_iter: int = FULL.early_exaggeration_iter, n_iter: int = FULL.n_iter, *,
         schedule: TSNESchedule | None = None, init: np.ndarray | None = None, progress: Progress | None = None,
         every: int = 10) -> np.ndarray:
    """(N, k) -> (N, 2) t-SNE coordinates (float32); perplexity is capped for small N.

    500 iterations instead of openTSNE's 750 (125 with early exaggeration, 375 without): the
    FFT-accelerated layout has settled by then for maps of 10-20k points. ``schedule`` (e.g.
    QUICK) overrides the iteration counts; see TSNERun for init, progress and every.
    """
    schedule = schedule or TSNESchedule(early_exaggeration_iter, n_iter)
    return TSNERun(x, perplexity, seed=seed, n_jobs=n_jobs, schedule=schedule, init=init, every=every).run(progress)
