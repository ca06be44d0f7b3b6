"""Accuracy vs honest FLOPs of a hard checkpoint on its run's held-out validation rows, with every
learned threshold scaled by c: how much a weaker or stronger operating point of the same weights
would keep, without touching the test set.

    python benchmarks/threshold_scale_curve.py CHECKPOINT --scales 0.8,0.9,1.0

The validation rows are the ones the checkpoint's own training run held out (its config's
`val_examples` and seed). A run that started from another checkpoint (`--init`) may hold out rows
that the earlier run trained on: read the numbers as relative, not as test accuracy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--scales", default="0.8,0.9,1.0,1.1", help="comma-separated threshold scales")
    args = ap.parse_args(argv)

    from ltp import data
    from ltp.checkpoint import load_checkpoint
    from ltp.inference import predict
    from ltp.text import encode
    from ltp.train.batches import held_out_rows
    from ltp.train.controller import threshold_scaler

    try:
        scales = [float(s) for s in args.scales.split(",") if s.strip()]
    except ValueError:
        print(f"--scales: expected comma-separated numbers, got {args.scales!r}", file=sys.stderr)
        return 2
    ck = load_checkpoint(args.checkpoint)
    cfg = (ck.config.get("training") or {}).get("config")
    if not cfg or not cfg.get("val_examples"):
        print(f"{args.checkpoint}: no training config with held-out validation rows", file=sys.stderr)
        return 2
    df = data.load_split(cfg["dataset"], "train", Path(cfg["data_dir"]) if cfg.get("data_dir") else None)
    val = held_out_rows(df, cfg["val_examples"], cfg["seed"])
    enc = encode(ck.tokenizer, val["text"].tolist(), ck.max_length, ck.truncation)
    m = ck.model.eval()
    scale = threshold_scaler(m)
    labels = val["label"].to_numpy()
    off = predict(m, enc, ck.tokenizer.pad_token_id, batch_size=32, mode="none")
    print(f"{len(val)} validation rows; pruning off: accuracy {np.mean(off.predicted == labels):.4f}", flush=True)
    for c in scales:
        scale(c)
        p = predict(m, enc, ck.tokenizer.pad_token_id, batch_size=32, mode="hard")
        print(f"thresholds x {c:.3f}: accuracy {np.mean(p.predicted == labels):.4f}, honest FLOPs reduction "
              f"{p.flops_unpruned.sum() / p.flops.sum():.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
