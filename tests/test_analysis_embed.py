"""PCA and t-SNE projections: shapes, small inputs, separation of obvious clusters."""

import numpy as np

from ltp.analysis.embed import pca, tsne


def test_pca_shapes_and_small_inputs():
    x = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    assert pca(x, 50).shape == (30, 8)
    assert pca(x, 3).shape == (30, 3)
    assert pca(np.zeros((0, 8), np.float32)).shape == (0, 50)


def test_tsne_separates_two_clusters():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, size=(60, 5))
    b = rng.normal(12, 1, size=(60, 5))
    xy = tsne(np.vstack([a, b]).astype(np.float32), perplexity=10, n_jobs=1)
    assert xy.shape == (120, 2)
    ca, cb = xy[:60].mean(0), xy[60:].mean(0)
    spread = max(xy[:60].std(0).max(), xy[60:].std(0).max())
    assert np.linalg.norm(ca - cb) > 3 * spread
    assert tsne(np.zeros((2, 5), np.float32)).shape == (2, 2)
