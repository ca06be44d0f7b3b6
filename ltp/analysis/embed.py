"""PCA to 50 dimensions and 2-D t-SNE (openTSNE, FFT-accelerated) of hidden states."""

from __future__ import annotations

import numpy as np


def pca(x: np.ndarray, dims: int = 50, seed: int = 0) -> np.ndarray:
    """(N, d) -> (N, min(dims, d, N)) principal components, float32."""
    from sklearn.decomposition import PCA

    if len(x) == 0:
        return np.zeros((0, dims), dtype=np.float32)
    k = min(dims, x.shape[1], len(x))
    return PCA(n_components=k, random_state=seed, svd_solver="randomized" if k < min(x.shape) else "full").fit_transform(
        x.astype(np.float32)).astype(np.float32)


def tsne(x: np.ndarray, perplexity: float = 30.0, seed: int = 0, n_jobs: int = 2,
         early_exaggeration_iter: int = 125, n_iter: int = 375) -> np.ndarray:
    """(N, k) -> (N, 2) t-SNE coordinates; perplexity is capped for small N.

    500 iterations instead of openTSNE's 750 (125 with early exaggeration, 375 without): the
    FFT-accelerated layout has settled by then for maps of 10-20k points, and 10,000 points
    take ~20 s instead of ~30 s on 2 cores (benchmarks/tsne_speed.py)."""
    if len(x) < 4:
        return np.zeros((len(x), 2), dtype=np.float32)
    from openTSNE import TSNE

    perplexity = float(min(perplexity, (len(x) - 1) / 3))
    emb = TSNE(n_components=2, perplexity=perplexity, random_state=seed, n_jobs=n_jobs, verbose=False,
               early_exaggeration_iter=early_exaggeration_iter, n_iter=n_iter)
    return np.asarray(emb.fit(np.ascontiguousarray(x, dtype=np.float32)), dtype=np.float32)
