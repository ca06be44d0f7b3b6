"""`ltp train`: the LTP procedure (baseline, soft and hard stages, or the top-k baseline)."""

from __future__ import annotations

import sys

from ltp.cli import options

NAME = "train"


def add_parser(sub) -> None:
    from ltp.backbones import DEFAULT_BACKBONE

    t = options.add_command(sub, NAME, "fine-tune with LTP: baseline, soft and hard stages")
    g = t.add_argument_group("run")
    g.add_argument("--dataset", required=True, help="prepared data set name (ag_news, imdb)")
    g.add_argument("--out", required=True, help="run directory; each stage writes <out>/<stage>/")
    g.add_argument("--backbone", default=DEFAULT_BACKBONE, help="Hugging Face model id or local path")
    g.add_argument("--stages", default="baseline,soft,hard", help="comma-separated stages to run, in order")
    g.add_argument("--init", default=None, help="checkpoint the first stage starts from (instead of <out>/<previous stage>)")
    options.add_seed(g, 42, "random seed (data order, sampling, head init)")
    options.add_data_dir(g)
    options.add_quiet(g)
    _budget_args(t.add_argument_group("budget"))
    _optimisation_args(t.add_argument_group("optimisation"))
    g = t.add_argument_group("top-k baseline (--stages topk, from a baseline checkpoint)")
    g.add_argument("--topk-keep", default=None,
                   help="comma-separated fraction of the input kept after each layer, one per layer "
                        "(layer 1's is used only when layer 1 prunes)")
    g.add_argument("--topk-epochs", type=int, default=None, help="epochs of the topk stage")
    g.add_argument("--topk-lr", type=float, default=2e-5, help="weights LR, topk stage (the soft stage's)")
    _pruning_args(t.add_argument_group("pruning"))


def _budget_args(g) -> None:
    g.add_argument("--epochs", type=int, default=1, help="epochs of every stage unless overridden below")
    for stage in ("baseline", "soft", "hard"):
        g.add_argument(f"--{stage}-epochs", type=int, default=None, help=f"epochs of the {stage} stage")
    g.add_argument("--max-train-examples", type=int, default=None, help="stratified subset of the train split")
    g.add_argument("--val-examples", type=int, default=500, help="train rows held out for per-epoch validation")
    g.add_argument("--max-length", type=int, default=128, help="max tokens per example (and N_ref)")
    g.add_argument("--truncation", choices=("head", "head+tail"), default="head",
                   help="keep the first tokens, or the first quarter and last three quarters")
    options.add_batch_size(g, 32, "training")


def _optimisation_args(g) -> None:
    for stage, lr in (("baseline", 5e-5), ("soft", 2e-5), ("hard", 1e-5)):
        g.add_argument(f"--{stage}-lr", type=float, default=lr, help=f"weights LR, {stage} stage")
    g.add_argument("--threshold-lr", type=float, default=None,
                   help="thresholds LR (own group, no weight decay, same warm-up and decay as the weights); "
                        "default 0.01 / N_ref: each step moves theta by at most ~1%% of the mean content score")
    g.add_argument("--no-threshold-clamp", dest="clamp_thresholds", action="store_false",
                   help="let thresholds go negative (a negative threshold never prunes)")
    g.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay of the weights")
    g.add_argument("--warmup-ratio", type=float, default=0.06, help="linear warm-up fraction of each stage")
    g.add_argument("--train-embeddings", action="store_true",
                   help="also train the word embeddings (frozen by default; checkpoints get larger)")
    g.add_argument("--save-dtype", choices=("float32", "float16"), default="float32", help="checkpoint weights dtype")


def _pruning_args(g) -> None:
    g.add_argument("--target-flops-reduction", type=float, default=None,
                   help="honest FLOPs reduction to reach, e.g. 2.5 (a Lagrangian controller in the soft stage, "
                        "then the binarised thresholds are calibrated to it); replaces --lambda")
    g.add_argument("--lambda", dest="mask_lambda", type=float, default=0.1,
                   help="weight of the pruning regulariser (without a target)")
    g.add_argument("--regularizer", choices=("flops", "kept"), default="flops",
                   help="flops: expected FLOPs ratio of the soft model; kept: the first release's mean mask per layer")
    g.add_argument("--score", choices=("sink", "paper"), default="sink",
                   help="importance score: sink (content tokens carry the whole mass; robust to length) or paper (r / N_ref)")
    g.add_argument("--no-key-fade", dest="key_fade", action="store_false",
                   help="soft stage: pruned tokens keep full weight as keys (the first release)")
    g.add_argument("--temperature", type=float, default=None,
                   help="soft-mask temperature T at the start of the soft stage (default 0.128 / N_ref)")
    g.add_argument("--temperature-end", type=float, default=None,
                   help="T at the end of the soft stage, annealed geometrically (default: --temperature / 4)")
    g.add_argument("--short-spans", type=float, default=0.25,
                   help="mixed lengths: soft and hard stages also train on a short span (1-3 sentences, 8-64 tokens) "
                        "of this fraction of the texts; 0 turns it off")
    g.add_argument("--length-half", type=float, default=16.0,
                   help="length-aware thresholds: an input of n tokens uses theta * (n/(n+h)) / (N_ref/(N_ref+h)), "
                        "so short inputs are pruned more gently; 0 turns it off (one threshold for every length)")
    g.add_argument("--final-threshold", type=float, default=None,
                   help="f, the slope of the base thresholds: layer l of L (1..L) starts at f * (l-1) / L, the "
                        "learned offset is added to it (default 0.01 * 128 / N_ref)")
    g.add_argument("--n-ref", type=int, default=None, help="constant score divisor N_ref (default: --max-length)")
    g.add_argument("--no-prune-first-layer", dest="prune_first_layer", action="store_false",
                   help="layer 1 never prunes (the first two releases; caps a 6-layer model near 3.7x honest FLOPs)")
    g.add_argument("--min-keep", type=int, default=1,
                   help="content tokens every pruning layer keeps whatever the thresholds (its best-scoring); 0: none")
    g.add_argument("--soft-drop-below", type=float, default=1e-4,
                   help="soft stage: remove a token once its survival falls below this (it contributes nothing); 0: keep all")
    g.add_argument("--controller-signal", choices=("binarised", "expected"), default="binarised",
                   help="what the FLOPs controller steers: the batch's binarised FLOPs (what the hard stage runs) or "
                        "the soft model's expected FLOPs (the second release)")
    g.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="with a target: no threshold calibration at the stage starts and the hard stage's end "
                        "(the controller alone)")
    g.add_argument("--teacher", default="auto",
                   help="soft/hard/topk stages distil this checkpoint run with pruning off: auto (the fine-tuned "
                        "checkpoint the pruning starts from), a path, or none (cross-entropy on the labels)")
    g.add_argument("--distill-alpha", type=float, default=1.0,
                   help="weight of the KL to the teacher; 1 - alpha goes to the labels' cross-entropy")
    g.add_argument("--distill-temperature", type=float, default=2.0, help="softmax temperature of the distillation")
    g.add_argument("--rank-distill", type=float, default=0.0,
                   help="soft stage: weight of the teacher's token ranking distilled into every pruning layer's "
                        "scores (ToP), decaying to 0 over the stage; 0: off")


def train_config(args):
    """The TrainConfig of the parsed options (its checks raise ValueError saying the fix)."""
    from ltp.train import TrainConfig

    return TrainConfig(
        dataset=args.dataset, out=args.out, backbone=args.backbone, stages=options.names(args.stages),
        epochs=args.epochs, baseline_epochs=args.baseline_epochs, soft_epochs=args.soft_epochs,
        hard_epochs=args.hard_epochs, topk_epochs=args.topk_epochs, topk_lr=args.topk_lr,
        topk_keep=options.floats(args.topk_keep, "--topk-keep") if args.topk_keep else None,
        baseline_lr=args.baseline_lr, soft_lr=args.soft_lr, hard_lr=args.hard_lr,
        threshold_lr=args.threshold_lr, weight_decay=args.weight_decay, warmup_ratio=args.warmup_ratio,
        batch_size=args.batch_size, max_length=args.max_length, n_ref=args.n_ref, truncation=args.truncation,
        max_train_examples=args.max_train_examples, val_examples=args.val_examples, mask_lambda=args.mask_lambda,
        temperature=args.temperature, temperature_end=args.temperature_end, final_threshold=args.final_threshold,
        clamp_thresholds=args.clamp_thresholds, score=args.score, key_fade=args.key_fade,
        regularizer=args.regularizer, target_flops_reduction=args.target_flops_reduction, short_spans=args.short_spans,
        length_half=args.length_half or None, prune_first_layer=args.prune_first_layer, min_keep=args.min_keep,
        soft_drop_below=args.soft_drop_below, controller_signal=args.controller_signal, calibrate=args.calibrate,
        teacher=args.teacher, distill_alpha=args.distill_alpha, distill_temperature=args.distill_temperature,
        rank_distill=args.rank_distill,
        freeze_embeddings=not args.train_embeddings, save_dtype=args.save_dtype, seed=args.seed,
        data_dir=args.data_dir, init=args.init, command=args.command_line,
    )


def format_record(rec: dict) -> str | None:
    """The line a training log record shows on stderr (None: not shown)."""
    if "epoch" in rec and "val_accuracy" in rec:
        return (f"[{rec['stage']}] epoch {rec['epoch']}: loss {rec['loss']:.4f}, kept {rec['kept']:.3f}, "
                f"val acc {rec['val_accuracy']:.4f}, val FLOPs reduction {rec['val_flops_reduction']:.2f}x"
                + (f" (binarised: acc {rec['val_hard_accuracy']:.4f}, {rec['val_hard_flops_reduction']:.2f}x)"
                   if "val_hard_accuracy" in rec else "")
                + f", {rec['seconds']:.0f} s")
    if rec.get("event") in ("calibrated", "recalibrated"):
        return (f"[{rec['stage']}] {'after training, ' if rec['event'] == 'recalibrated' else ''}thresholds scaled by {rec['scale']:.3f}: binarised FLOPs reduction "
                f"{rec['before']:.2f}x -> {rec['reached']:.2f}x (target {rec['target']:g}x, "
                f"{rec['examples']} train texts)")
    if "event" in rec:
        return f"[{rec['stage']}] {rec['event']}"
    return None


def _show(rec: dict) -> None:
    line = format_record(rec)
    if line is not None:
        print(line, file=sys.stderr)


def run(args) -> int:
    from ltp.train import train

    cfg = train_config(args)
    try:
        final = train(cfg, show_progress=not args.quiet, log_fn=_show)
    except KeyboardInterrupt:
        print("ltp: interrupted; finished stages are saved. Rerun the same command to resume.", file=sys.stderr)
        return options.EXIT_INTERRUPTED
    print(f"done: {final}")
    return 0
