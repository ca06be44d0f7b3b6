"""The markdown table of a method ablation (benchmarks/method_ablation.sh) or of any folder of
runs evaluated with `ltp evaluate --mode both --json > RUN.eval.json`.

    python benchmarks/ablation_table.py runs/ablation [--baseline runs/ablation/init.eval.json]

Columns: test accuracy with pruning off / on (the same weights), the drop, the short views
(first sentence, first 12 words) off / on, honest FLOPs reduction (and the first release's
all-tokens count), the target and what the binarised model reached on validation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def row(name: str, results: list[dict], run: Path) -> str:
    off = next(r for r in results if r["mode"] == "none")
    on = next(r for r in results if r["mode"] != "none")
    views = on.get("views", {})
    short = " | ".join(f"{v['accuracy_off']:.4f} / {v['accuracy_on']:.4f} ({v['flops_reduction']:.2f}x)"
                       for v in views.values()) or "– | –"
    target = ""
    cfg = _load(run / "hard" / "config.json") if (run / "hard").is_dir() else None
    if cfg:
        hard = cfg.get("training", {}).get("stages", {}).get("hard", {})
        if hard.get("target_flops_reduction"):
            target = f"{hard['target_flops_reduction']:g}x → {hard.get('reached_on_validation')}x"
    all_tokens = on.get("flops_reduction_all_tokens")
    return (f"| {name} | {off['accuracy']:.4f} / {on['accuracy']:.4f} | {100 * (off['accuracy'] - on['accuracy']):.2f} | "
            f"{short} | {on['flops_reduction']:.2f}x ({all_tokens:.2f}x) | {target or '–'} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", type=Path, help="folder holding NAME/ run dirs and NAME.eval.json files")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="`ltp evaluate --mode none --json` of the fine-tuned start, on the same examples")
    args = ap.parse_args(argv)
    print("| arm | test accuracy, pruning off / on | drop (points) | first sentence: off / on (FLOPs) | "
          "first 12 words: off / on (FLOPs) | FLOPs reduction, honest (all tokens) | target → reached (val) |")
    print("|---|---|---|---|---|---|---|")
    base = _load(args.baseline) if args.baseline else None
    if base:
        base = base[0] if isinstance(base, list) else base
        print(f"| fine-tuned start, unpruned | {base['accuracy']:.4f} | | | | 1.00x | |")
    for f in sorted(args.runs.glob("*.eval.json")):
        results = _load(f)
        if isinstance(results, list) and len(results) == 2:
            print(row(f.name.removesuffix(".eval.json"), results, args.runs / f.name.removesuffix(".eval.json")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
