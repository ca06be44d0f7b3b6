"""`ltp calibrate`: scale a finished checkpoint's thresholds to a FLOPs target on training texts."""

from __future__ import annotations

from ltp.cli import options

NAME = "calibrate"


def add_parser(sub) -> None:
    x = options.add_command(sub, NAME, "scale a checkpoint's thresholds so it prunes to a FLOPs target "
                                       "(on training texts)")
    options.add_checkpoint(x)
    x.add_argument("--target-flops-reduction", type=float, required=True,
                   help="honest FLOPs reduction the binarised model should reach, e.g. 2.5")
    x.add_argument("--examples", type=int, default=None,
                   help="train texts calibrated on (default: 2048, the training's final calibration)")
    x.add_argument("--out", default=None,
                   help="write the calibrated checkpoint here (default: replace the checkpoint in place; its "
                        "stored metrics, benchmark and analysis no longer hold and are removed)")
    options.add_seed(x, 43, "seed of the sample of train texts")
    options.add_data_dir(x)


def run(args) -> int:
    from ltp.train.recalibrate import recalibrate_checkpoint

    record = recalibrate_checkpoint(args.checkpoint, args.target_flops_reduction, examples=args.examples,
                                    seed=args.seed, data_dir=options.data_dir(args), out=args.out,
                                    backbone=args.backbone)
    print(f"thresholds scaled by {record['scale']:.4f}: binarised FLOPs reduction {record['before']:.3f}x -> "
          f"{record['reached']:.3f}x on {record['examples']} train texts (target {record['target']:g}x); "
          f"written to {record['path']}")
    if record["removed"]:
        print(f"removed (measured with the old thresholds): {', '.join(record['removed'])}; measure again with "
              f"ltp evaluate / ltp bench / ltp analyze")
    return 0
