"""t-SNE speed on stored PCA states: `python benchmarks/tsne_speed.py BUNDLE_DIR [N]`.

Times ltp.analysis.embed.tsne (openTSNE, 2 threads, the FULL schedule from PCA) on the first N
(default 10,000) token states of an analysis bundle, the way `ltp analyze` makes the stored maps.
The dashboard's recompute (the QUICK schedule from the stored map) is timed by
benchmarks/map_speed.py.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's ltp
from ltp.analysis.embed import tsne  # noqa: E402


def main(bundle_dir: str, n: int = 10_000) -> None:
    tok = pd.read_parquet(f"{bundle_dir}/token_embeddings.parquet")
    x = tok[[c for c in tok.columns if c.startswith("pca_")]].to_numpy(np.float32)[:n]
    t0 = time.perf_counter()
    xy = tsne(x, perplexity=30, seed=0, n_jobs=2)
    print(f"t-SNE of {len(x)} points x {x.shape[1]} dims: {time.perf_counter() - t0:.1f} s -> {xy.shape}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
