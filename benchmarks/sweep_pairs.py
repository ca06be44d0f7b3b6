"""Is LTP level with top-k at a sweep point? A paired comparison on the sweep's own test sample.

    python benchmarks/sweep_pairs.py SWEEP_DIR [--data-dir data] [--boot 2000]

For every LTP point of `SWEEP_DIR/sweep.json` and each top-k baseline trained at it, both
checkpoints predict the same seeded, stratified test sample the sweep scored (its `eval_limit`,
seed 0). Prints the accuracy difference (LTP minus top-k, in points) with a paired bootstrap 95%
interval, the exact McNemar p-value on the texts where the two disagree, and both FLOPs reductions:
"level" means the interval contains 0; "ahead" / "behind" that it lies above / below it.
"""

from __future__ import annotations

import argparse
import json
import sys
from math import comb
from pathlib import Path

import numpy as np


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b and c discordant pairs."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n)


def paired_interval(a_right: np.ndarray, b_right: np.ndarray, boot: int, seed: int = 0) -> tuple[float, float]:
    """Paired bootstrap 95% interval of mean(a_right) - mean(b_right), in points."""
    rng = np.random.default_rng(seed)
    d = a_right.astype(float) - b_right.astype(float)
    idx = rng.integers(0, len(d), size=(boot, len(d)))
    means = d[idx].mean(axis=1) * 100
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def verdict(lo: float, hi: float) -> str:
    return "ahead" if lo > 0 else "behind" if hi < 0 else "level"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    args = ap.parse_args(argv)

    from ltp.checkpoint import load_checkpoint
    from ltp.evaluate import evaluation_examples
    from ltp.inference import predict
    from ltp.text import encode

    root = Path(args.sweep_dir)
    try:
        record = json.loads((root / "sweep.json").read_text())
    except (OSError, ValueError) as err:
        print(f"{root}: no readable sweep.json ({err})", file=sys.stderr)
        return 2
    limit = record["config"].get("eval_limit") or None
    data_dir = Path(args.data_dir) if args.data_dir else None
    right: dict[str, np.ndarray] = {}

    def correct(point: dict, mode: str) -> np.ndarray:
        key = point["checkpoint"]
        if key not in right:
            ck = load_checkpoint(root / key)
            df = evaluation_examples(ck, "test", limit, data_dir, 0)
            enc = encode(ck.tokenizer, df["text"].tolist(), ck.max_length, ck.truncation)
            pred = predict(ck.model, enc, ck.tokenizer.pad_token_id, batch_size=64, mode=mode)
            right[key] = pred.predicted == df["label"].to_numpy()
        return right[key]

    points = record["points"]
    print("| point | against | LTP acc (FLOPs) | top-k acc (FLOPs) | LTP − top-k, points [95% CI] | McNemar p | verdict |")
    print("|---|---|---|---|---|---|---|")
    for ltp in (p for p in points if p["method"] == "LTP"):
        a = correct(ltp, "hard")
        for other in (p for p in points if p["method"].startswith("top-k") and p["label"].endswith(ltp["label"])):
            b = correct(other, "topk")
            lo, hi = paired_interval(a, b, args.boot)
            p = mcnemar_exact(int(np.sum(a & ~b)), int(np.sum(~a & b)))
            print(f"| {ltp['label']} | {other['method']} | {a.mean():.4f} ({ltp['flops_reduction']:.2f}x) | "
                  f"{b.mean():.4f} ({other['flops_reduction']:.2f}x) | {100 * (a.mean() - b.mean()):+.2f} "
                  f"[{lo:+.2f}, {hi:+.2f}] | {'< 0.001' if p < 0.001 else f'{p:.3f}'} | {verdict(lo, hi)} |", flush=True)
    print(f"\n{len(a)} test texts, the sweep's sample; FLOPs reductions are the sweep's (honest).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
