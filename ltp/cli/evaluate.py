"""`ltp evaluate`: accuracy, P/R/F1, tokens alive, FLOPs and speed of a checkpoint (metrics.json)."""

from __future__ import annotations

import json

from ltp.cli import options

NAME = "evaluate"


def add_parser(sub) -> None:
    e = options.add_command(sub, NAME, "accuracy, P/R/F1, tokens alive, FLOPs and speed of a checkpoint")
    options.add_checkpoint(e)
    options.add_split(e)
    options.add_limit(e)
    e.add_argument("--mode", choices=("none", "soft", "hard", "topk", "both"), default=None,
                   help="pruning mode (default: the checkpoint's own; both = none and the checkpoint's pruning mode)")
    options.add_batch_size(e, 64, "inference")
    options.add_seed(e, 0, "seed of the --limit sample")
    options.add_data_dir(e)
    e.add_argument("--views", choices=("short", "none"), default="short",
                   help="short: also score each text's first sentence and first 12 words, pruning off and on")
    options.add_int8(e, "evaluate that (stored as test/<mode>+int8 beside the fp32 results)")
    options.add_json(e, "the metrics")
    options.add_no_save(e, "metrics.json")


def run(args) -> int:
    from ltp.checkpoint import load_checkpoint
    from ltp.evaluate import evaluate, format_table, store_metrics
    from ltp.quantize import apply_quantization
    from ltp.results import pruning_mode

    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    apply_quantization(ckpt.model, "int8" if args.int8 else "none")
    pruning = pruning_mode(ckpt.model.mode)
    modes = ["none", pruning] if args.mode == "both" else [args.mode or ckpt.model.mode]
    results = []
    for mode in modes:
        res = evaluate(ckpt, split=args.split, limit=args.limit, mode=mode, batch_size=args.batch_size,
                       data_dir=options.data_dir(args), seed=args.seed, views=args.views == "short")
        results.append(res)
        if not args.no_save:
            store_metrics(ckpt.path, res)
        if not args.json:
            print(format_table(res, ckpt.label_names))
            print()
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
    elif not args.no_save:
        print(f"metrics written to {ckpt.path / 'metrics.json'}")
    return 0
