"""`ltp sweep`: accuracy vs FLOPs, LTP at several FLOPs targets against top-k at the same FLOPs."""

from __future__ import annotations

import sys
from pathlib import Path

from ltp.cli import options

NAME = "sweep"


def add_parser(sub) -> None:
    w = options.add_command(sub, NAME, "accuracy vs FLOPs: LTP at several FLOPs targets vs top-k at the same FLOPs")
    g = w.add_argument_group("run")
    g.add_argument("--dataset", required=True, help="prepared data set name")
    g.add_argument("--baseline", required=True,
                   help="the fine-tuned checkpoint every point starts from (its pruning-off results are the baseline)")
    g.add_argument("--out", required=True, help="directory for the points' runs and sweep.json")
    options.add_seed(g, 42, "random seed")
    options.add_data_dir(g)
    g.add_argument("--store-in", default=None, help="also write sweep.json into this checkpoint (shipped model)")
    options.add_quiet(g)
    g = w.add_argument_group("points")
    g.add_argument("--targets", default="2,3,4", help="comma-separated honest FLOPs reductions to train for ('' for none)")
    g.add_argument("--lambdas", default="", help="comma-separated fixed regularisation strengths (besides the targets)")
    g.add_argument("--topk", default="matched,linear",
                   help="top-k baselines per LTP point: matched (LTP's per-layer fractions) and/or linear (the paper's schedule)")
    g.add_argument("--no-topk", action="store_true", help="skip the top-k baselines")
    g = w.add_argument_group("budget of every point")
    g.add_argument("--max-train-examples", type=int, default=8000, help="fixed training subset of every point")
    g.add_argument("--soft-epochs", type=int, default=1, help="LTP soft-stage epochs")
    g.add_argument("--hard-epochs", type=int, default=1, help="LTP hard-stage epochs (top-k gets soft+hard)")
    g.add_argument("--eval-limit", type=int, default=2000, help="stratified test sample of every point (0 = all)")
    options.add_batch_size(g, 32, "training")


def sweep_config(args):
    """The SweepConfig of the parsed options; ValueError for bad --targets / --lambdas."""
    from ltp.sweep import SweepConfig

    lambdas = options.floats(args.lambdas, "--lambdas") if args.lambdas.strip() else None
    targets = options.floats(args.targets, "--targets") if args.targets.strip() else None
    if lambdas and min(lambdas) < 0:
        raise ValueError("--lambdas must be >= 0.")
    if targets and min(targets) <= 1:
        raise ValueError("--targets are FLOPs reductions above 1 (e.g. 2,3,4).")
    topk = () if args.no_topk else options.names(args.topk)
    return SweepConfig(dataset=args.dataset, baseline=args.baseline, out=args.out, targets=targets, lambdas=lambdas,
                       topk=topk, max_train_examples=args.max_train_examples,
                       soft_epochs=args.soft_epochs, hard_epochs=args.hard_epochs,
                       eval_limit=args.eval_limit or None, batch_size=args.batch_size, seed=args.seed,
                       data_dir=args.data_dir, store_in=args.store_in)


def run(args) -> int:
    from ltp.sweep import run_sweep

    record = run_sweep(sweep_config(args), log=lambda m: print(m, file=sys.stderr), show_progress=not args.quiet)
    print(f"{'method':<15} {'point':<26} {'accuracy':>9} {'F1':>7} {'FLOPs red.':>10} {'speed-up':>9}")
    for p in record["points"]:
        sp = f"{p['speedup']:.2f}x" if p["speedup"] else "-"
        print(f"{p['method']:<15} {p['label']:<26} {p['accuracy']:>9.4f} {p['f1']:>7.4f} {p['flops_reduction']:>9.2f}x {sp:>9}")
    print(f"sweep written to {Path(args.out) / 'sweep.json'}")
    return 0
