"""The `ltp` command line: data prepare | train | evaluate | prune.

Bad input (empty text, unknown data set, missing or broken checkpoint ...) ends with a
one-line message on stderr and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from ltp import __version__
    from ltp.checkpoint import DEFAULT_BACKBONE

    p = argparse.ArgumentParser(prog="ltp", description="Learned Token Pruning for transformer text classifiers.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--version", action="version", version=f"ltp-lens {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{data,train,evaluate,prune,analyze,bench,sweep,report}")

    # data prepare
    d = sub.add_parser("data", help="prepare data sets")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="{prepare}")
    dp = dsub.add_parser("prepare", help="write data/<name>/{train,test}.parquet from the Hub or a local folder",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    dp.add_argument("name", help="data set: ag_news or imdb")
    dp.add_argument("--from", dest="source", default=None,
                    help="local folder with <name>/{train,test}.{parquet,csv} (or {train,test}.*); "
                         "default: download from the Hugging Face Hub")
    dp.add_argument("--data-dir", default=None, help="where prepared data goes (default: $LTP_DATA_DIR or ./data)")

    # train
    t = sub.add_parser("train", help="fine-tune with LTP: baseline, soft and hard stages",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    g = t.add_argument_group("run")
    g.add_argument("--dataset", required=True, help="prepared data set name (ag_news, imdb)")
    g.add_argument("--out", required=True, help="run directory; each stage writes <out>/<stage>/")
    g.add_argument("--backbone", default=DEFAULT_BACKBONE, help="Hugging Face model id or local path")
    g.add_argument("--stages", default="baseline,soft,hard", help="comma-separated stages to run, in order")
    g.add_argument("--init", default=None, help="checkpoint the first stage starts from (instead of <out>/<previous stage>)")
    g.add_argument("--seed", type=int, default=42, help="random seed (data order, sampling, head init)")
    g.add_argument("--data-dir", default=None, help="prepared data root (default: $LTP_DATA_DIR or ./data)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g = t.add_argument_group("budget")
    g.add_argument("--epochs", type=int, default=1, help="epochs of every stage unless overridden below")
    for stage in ("baseline", "soft", "hard"):
        g.add_argument(f"--{stage}-epochs", type=int, default=None, help=f"epochs of the {stage} stage")
    g.add_argument("--max-train-examples", type=int, default=None, help="stratified subset of the train split")
    g.add_argument("--val-examples", type=int, default=500, help="train rows held out for per-epoch validation")
    g.add_argument("--max-length", type=int, default=128, help="max tokens per example (and N_ref)")
    g.add_argument("--truncation", choices=("head", "head+tail"), default="head",
                   help="keep the first tokens, or the first quarter and last three quarters")
    g.add_argument("--batch-size", type=int, default=32, help="training batch size")
    g = t.add_argument_group("optimisation")
    g.add_argument("--baseline-lr", type=float, default=5e-5, help="weights LR, baseline stage")
    g.add_argument("--soft-lr", type=float, default=2e-5, help="weights LR, soft stage")
    g.add_argument("--hard-lr", type=float, default=1e-5, help="weights LR, hard stage")
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
    g = t.add_argument_group("top-k baseline (--stages topk, from a baseline checkpoint)")
    g.add_argument("--topk-keep", default=None,
                   help="comma-separated fraction of the input kept after each layer, one per layer")
    g.add_argument("--topk-epochs", type=int, default=None, help="epochs of the topk stage")
    g.add_argument("--topk-lr", type=float, default=1e-5, help="weights LR, topk stage")
    g = t.add_argument_group("pruning")
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
                   help="f, the last layer's base threshold (default 0.01 * 128 / N_ref)")
    g.add_argument("--n-ref", type=int, default=None, help="constant score divisor N_ref (default: --max-length)")

    # evaluate
    e = sub.add_parser("evaluate", help="accuracy, P/R/F1, tokens alive, FLOPs and speed of a checkpoint",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _checkpoint_args(e)
    e.add_argument("--split", default="test", help="data split")
    e.add_argument("--limit", type=int, default=None, help="seeded stratified sample of N examples (default: all)")
    e.add_argument("--mode", choices=("none", "soft", "hard", "topk", "both"), default=None,
                   help="pruning mode (default: the checkpoint's own; both = none and the checkpoint's pruning mode)")
    e.add_argument("--batch-size", type=int, default=64, help="inference batch size")
    e.add_argument("--seed", type=int, default=0, help="seed of the --limit sample")
    e.add_argument("--data-dir", default=None, help="prepared data root (default: $LTP_DATA_DIR or ./data)")
    e.add_argument("--views", choices=("short", "none"), default="short",
                   help="short: also score each text's first sentence and first 12 words, pruning off and on")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--no-save", action="store_true", help="do not write metrics.json beside the checkpoint")

    # prune
    r = sub.add_parser("prune", help="show which tokens survive each layer for one text",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _checkpoint_args(r)
    r.add_argument("text", help='the text ("-" reads standard input)')
    r.add_argument("--mode", choices=("none", "soft", "hard", "topk"), default=None,
                   help="pruning mode (default: the checkpoint's)")
    r.add_argument("--json", action="store_true", help="print JSON: text, prediction, probabilities, layers")
    # analyze
    a = sub.add_parser("analyze", help="write the retained-token analysis bundle the dashboard reads",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _checkpoint_args(a)
    a.add_argument("--split", default="test", help="data split")
    a.add_argument("--limit", type=int, default=None, help="seeded stratified sample of N examples (default: all)")
    a.add_argument("--out", default=None, help="bundle directory (default: <checkpoint>/analysis)")
    a.add_argument("--max-embeddings", type=int, default=20_000, help="retained tokens kept for the embedding map")
    a.add_argument("--top-k-terms", type=int, default=100, help="domain terms per class")
    a.add_argument("--domain-train-docs", type=int, default=20_000, help="training texts used to find domain terms")
    a.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    a.add_argument("--batch-size", type=int, default=64, help="inference batch size")
    a.add_argument("--seed", type=int, default=0, help="seed of samples and projections")
    a.add_argument("--data-dir", default=None, help="prepared data root (default: $LTP_DATA_DIR or ./data)")
    a.add_argument("--quiet", action="store_true", help="no progress bar")

    # bench
    b = sub.add_parser("bench", help="wall-clock speed of the same weights with pruning off and on",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    _checkpoint_args(b)
    b.add_argument("--split", default="test", help="data split")
    b.add_argument("--limit", type=int, default=2000, help="examples timed (seeded stratified sample; 0 = all)")
    b.add_argument("--batch-sizes", default="32", help="comma-separated throughput batch sizes")
    b.add_argument("--latency-examples", type=int, default=200, help="examples timed one at a time (batch 1)")
    b.add_argument("--repeats", type=int, default=3, help="timed passes per measurement; the median is reported")
    b.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    b.add_argument("--device", default="cpu", help="cpu or cuda")
    b.add_argument("--data-dir", default=None, help="prepared data root (default: $LTP_DATA_DIR or ./data)")
    b.add_argument("--no-backbone-check", action="store_true",
                   help="skip the backbone sha256 check (for a re-encoded copy of the backbone, e.g. float16)")
    b.add_argument("--json", action="store_true", help="print the result as JSON")
    b.add_argument("--no-save", action="store_true", help="do not write bench.json beside the checkpoint")

    # sweep
    w = sub.add_parser("sweep", help="accuracy vs FLOPs: LTP at several FLOPs targets vs top-k at the same FLOPs",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    w.add_argument("--dataset", required=True, help="prepared data set name")
    w.add_argument("--baseline", required=True,
                   help="the fine-tuned checkpoint every point starts from (its pruning-off results are the baseline)")
    w.add_argument("--out", required=True, help="directory for the points' runs and sweep.json")
    w.add_argument("--targets", default="2,3,4", help="comma-separated honest FLOPs reductions to train for ('' for none)")
    w.add_argument("--lambdas", default="", help="comma-separated fixed regularisation strengths (besides the targets)")
    w.add_argument("--topk", default="matched,linear",
                   help="top-k baselines per LTP point: matched (LTP's per-layer fractions) and/or linear (the paper's schedule)")
    w.add_argument("--no-topk", action="store_true", help="skip the top-k baselines")
    w.add_argument("--max-train-examples", type=int, default=8000, help="fixed training subset of every point")
    w.add_argument("--soft-epochs", type=int, default=1, help="LTP soft-stage epochs")
    w.add_argument("--hard-epochs", type=int, default=1, help="LTP hard-stage epochs (top-k gets soft+hard)")
    w.add_argument("--eval-limit", type=int, default=2000, help="stratified test sample of every point (0 = all)")
    w.add_argument("--batch-size", type=int, default=32, help="training batch size")
    w.add_argument("--seed", type=int, default=42, help="random seed")
    w.add_argument("--data-dir", default=None, help="prepared data root (default: $LTP_DATA_DIR or ./data)")
    w.add_argument("--store-in", default=None, help="also write sweep.json into this checkpoint (shipped model)")
    w.add_argument("--quiet", action="store_true", help="no progress bars")

    # export / card
    x = sub.add_parser("export", help="ship a pruned checkpoint (with its baseline's metrics and lineage) to a model dir",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    x.add_argument("source", help="pruned checkpoint or training run directory")
    x.add_argument("--out", required=True, help="model directory to write (e.g. models/ag_news-minilm-ltp)")
    x.add_argument("--baseline", default=None,
                   help="the unpruned baseline checkpoint (default: the run's baseline stage or its --init)")
    x.add_argument("--force", action="store_true", help="replace an existing model directory")
    x.add_argument("--data-note", default=None, help="where the training data came from (shown in the model card)")
    c = sub.add_parser("card", help="rewrite a model's README.md from its stored metrics, benchmark, sweep, bundle")
    c.add_argument("checkpoint", help="model (checkpoint) directory")

    # report
    rp = sub.add_parser("report", help="markdown results table from stored metrics and benchmarks",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    rp.add_argument("checkpoints", nargs="+", help="checkpoint or run directories")
    rp.add_argument("--split", default="test", help="data split")
    rp.add_argument("--json", action="store_true", help="print the rows as JSON")
    rp.add_argument("--details", action="store_true", help="also the stored benchmark and sweep tables of each model")
    return p


def _checkpoint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (or a training run directory)")
    p.add_argument("--backbone", default=None, help="use this backbone path/id instead of the recorded one")


# --------------------------------------------------------------------------- commands


def cmd_data(args) -> int:
    from ltp.data import prepare_dataset

    info = prepare_dataset(args.name, args.source, Path(args.data_dir) if args.data_dir else None)
    rows = ", ".join(f"{k} {v}" for k, v in info["rows"].items())
    print(f"prepared {args.name} ({rows}) from {info['source']}")
    return 0


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}.") from None
    if not values:
        raise ValueError(f"{option} needs at least one number.")
    return values


def cmd_train(args, argv) -> int:
    from ltp.train import TrainConfig, train

    cfg = TrainConfig(
        dataset=args.dataset, out=args.out, backbone=args.backbone, stages=tuple(s.strip() for s in args.stages.split(",") if s.strip()),
        epochs=args.epochs, baseline_epochs=args.baseline_epochs, soft_epochs=args.soft_epochs,
        hard_epochs=args.hard_epochs, topk_epochs=args.topk_epochs, topk_lr=args.topk_lr,
        topk_keep=_floats(args.topk_keep, "--topk-keep") if args.topk_keep else None,
        baseline_lr=args.baseline_lr, soft_lr=args.soft_lr, hard_lr=args.hard_lr,
        threshold_lr=args.threshold_lr, weight_decay=args.weight_decay, warmup_ratio=args.warmup_ratio,
        batch_size=args.batch_size, max_length=args.max_length, n_ref=args.n_ref, truncation=args.truncation,
        max_train_examples=args.max_train_examples, val_examples=args.val_examples, mask_lambda=args.mask_lambda,
        temperature=args.temperature, temperature_end=args.temperature_end, final_threshold=args.final_threshold,
        clamp_thresholds=args.clamp_thresholds, score=args.score, key_fade=args.key_fade,
        regularizer=args.regularizer, target_flops_reduction=args.target_flops_reduction, short_spans=args.short_spans,
        length_half=args.length_half or None,
        freeze_embeddings=not args.train_embeddings, save_dtype=args.save_dtype, seed=args.seed,
        data_dir=args.data_dir, init=args.init, command="ltp " + shlex.join(argv),
    )

    def show(rec: dict) -> None:
        if "epoch" in rec and "val_accuracy" in rec:
            print(f"[{rec['stage']}] epoch {rec['epoch']}: loss {rec['loss']:.4f}, kept {rec['kept']:.3f}, "
                  f"val acc {rec['val_accuracy']:.4f}, val FLOPs reduction {rec['val_flops_reduction']:.2f}x"
                  + (f" (binarised: acc {rec['val_hard_accuracy']:.4f}, {rec['val_hard_flops_reduction']:.2f}x)"
                     if "val_hard_accuracy" in rec else "")
                  + f", {rec['seconds']:.0f} s", file=sys.stderr)
        elif rec.get("event") == "calibrated":
            print(f"[{rec['stage']}] thresholds scaled by {rec['scale']:.3f}: binarised FLOPs reduction "
                  f"{rec['before']:.2f}x -> {rec['reached']:.2f}x (target {rec['target']:g}x, "
                  f"{rec['examples']} train texts)", file=sys.stderr)
        elif "event" in rec:
            print(f"[{rec['stage']}] {rec['event']}", file=sys.stderr)

    try:
        final = train(cfg, show_progress=not args.quiet, log_fn=show)
    except KeyboardInterrupt:
        print("ltp: interrupted; finished stages are saved. Rerun the same command to resume.", file=sys.stderr)
        return 130
    print(f"done: {final}")
    return 0


def cmd_evaluate(args) -> int:
    from ltp.checkpoint import load_checkpoint
    from ltp.evaluate import evaluate, format_table, store_metrics

    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    pruning = ckpt.model.mode if ckpt.model.mode in ("hard", "topk") else "hard"
    modes = ["none", pruning] if args.mode == "both" else [args.mode or ckpt.model.mode]
    results = []
    for mode in modes:
        res = evaluate(ckpt, split=args.split, limit=args.limit, mode=mode, batch_size=args.batch_size,
                       data_dir=Path(args.data_dir) if args.data_dir else None, seed=args.seed,
                       views=args.views == "short")
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


def cmd_prune(args) -> int:
    from ltp.checkpoint import load_checkpoint
    from ltp.inference import trace, validate_text

    text = sys.stdin.read() if args.text == "-" else args.text
    validate_text(text)  # fail fast, before loading the model
    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    tr = trace(ckpt.model, ckpt.tokenizer, text, ckpt.max_length, ckpt.label_names, ckpt.truncation, args.mode)
    if tr.truncated:
        print(f"ltp: note: the text is longer than the model's max length ({ckpt.max_length} tokens); "
              "it was truncated.", file=sys.stderr)
    if args.json:
        print(json.dumps(prune_json(tr), ensure_ascii=False))
    else:
        print(format_trace(tr))
    return 0


def cmd_bench(args) -> int:
    from ltp.bench import BenchConfig, format_benchmark, run_benchmark, store_benchmark
    from ltp.checkpoint import find_checkpoint

    path = find_checkpoint(args.checkpoint)
    try:
        sizes = tuple(int(x) for x in args.batch_sizes.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--batch-sizes must be comma-separated integers, got {args.batch_sizes!r}.") from None
    if not sizes or min(sizes) < 1 or args.repeats < 1 or args.latency_examples < 1:
        raise ValueError("--batch-sizes, --repeats and --latency-examples must be positive.")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu.")
    cfg = BenchConfig(checkpoint=str(path), split=args.split, limit=args.limit or None, batch_sizes=sizes,
                      latency_examples=args.latency_examples, repeats=args.repeats, threads=args.threads,
                      device=args.device, data_dir=args.data_dir, backbone=args.backbone,
                      check_backbone=not args.no_backbone_check)
    summary = run_benchmark(cfg)
    if not args.no_save:
        store_benchmark(path, summary, "cuda" if args.device.startswith("cuda") else "cpu")
    print(json.dumps(summary, indent=2) if args.json else format_benchmark(summary))
    return 0


def cmd_sweep(args) -> int:
    from ltp.sweep import SweepConfig, run_sweep

    lambdas = _floats(args.lambdas, "--lambdas") if args.lambdas.strip() else None
    targets = _floats(args.targets, "--targets") if args.targets.strip() else None
    if lambdas and min(lambdas) < 0:
        raise ValueError("--lambdas must be >= 0.")
    if targets and min(targets) <= 1:
        raise ValueError("--targets are FLOPs reductions above 1 (e.g. 2,3,4).")
    topk = () if args.no_topk else tuple(k.strip() for k in args.topk.split(",") if k.strip())
    cfg = SweepConfig(dataset=args.dataset, baseline=args.baseline, out=args.out, targets=targets, lambdas=lambdas,
                      topk=topk, max_train_examples=args.max_train_examples,
                      soft_epochs=args.soft_epochs, hard_epochs=args.hard_epochs,
                      eval_limit=args.eval_limit or None, batch_size=args.batch_size, seed=args.seed,
                      data_dir=args.data_dir, store_in=args.store_in)
    record = run_sweep(cfg, log=lambda m: print(m, file=sys.stderr), show_progress=not args.quiet)
    print(f"{'method':<15} {'point':<26} {'accuracy':>9} {'F1':>7} {'FLOPs red.':>10} {'speed-up':>9}")
    for p in record["points"]:
        sp = f"{p['speedup']:.2f}x" if p["speedup"] else "-"
        print(f"{p['method']:<15} {p['label']:<26} {p['accuracy']:>9.4f} {p['f1']:>7.4f} {p['flops_reduction']:>9.2f}x {sp:>9}")
    print(f"sweep written to {Path(args.out) / 'sweep.json'}")
    return 0


def cmd_export(args) -> int:
    from ltp.export import export_model

    out = export_model(args.source, args.out, baseline=args.baseline, force=args.force, data_note=args.data_note)
    print(f"model written to {out}")
    return 0


def cmd_card(args) -> int:
    from ltp.export import write_card

    print(f"model card written to {write_card(args.checkpoint)}")
    return 0


def cmd_report(args) -> int:
    from ltp.report import details_markdown, markdown_table, results_row

    rows = [results_row(p, args.split) for p in args.checkpoints]
    print(json.dumps(rows, indent=2) if args.json else markdown_table(rows))
    if args.details and not args.json:
        for p in args.checkpoints:
            print("\n" + details_markdown(p))
    return 0


def cmd_analyze(args) -> int:
    from ltp.analysis.bundle import AnalysisConfig, build_bundle, default_bundle_dir, save_bundle
    from ltp.checkpoint import load_checkpoint

    if args.limit is not None and args.limit <= 0:
        raise ValueError(f"--limit must be a positive number of examples, got {args.limit}.")
    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    cfg = AnalysisConfig(split=args.split, limit=args.limit, max_embeddings=args.max_embeddings,
                         top_k_terms=args.top_k_terms, domain_train_docs=args.domain_train_docs,
                         perplexity=args.perplexity, batch_size=args.batch_size, seed=args.seed)
    bundle = build_bundle(ckpt, cfg, Path(args.data_dir) if args.data_dir else None,
                          progress=None if args.quiet else _ProgressBar())
    out = save_bundle(bundle, Path(args.out) if args.out else default_bundle_dir(ckpt.path))
    print(format_analysis(bundle))
    print(f"bundle written to {out}")
    return 0


class _ProgressBar:
    """tqdm bars per phase, driven by the analysis progress callback."""

    def __init__(self):
        self.bar, self.phase = None, None

    def __call__(self, phase: str, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if phase != self.phase:
            if self.bar is not None:
                self.bar.close()
            self.bar, self.phase = tqdm(total=total, desc=phase, dynamic_ncols=True), phase
        self.bar.n = done
        self.bar.refresh()
        if done >= total:
            self.bar.close()


def format_analysis(bundle) -> str:
    """Top retained words per class, POS retention and the domain-term test, as text."""
    from ltp.analysis import stats

    names, L = bundle.label_names, bundle.num_layers
    meta = bundle.summary["meta"]
    lines = [f"{meta['examples']} examples of {meta['dataset']}/{meta['split']} ({meta['sample']}); "
             f"timings: " + ", ".join(f"{k} {v:.1f}" for k, v in meta["timings"].items())]
    alive = bundle.summary["statistics"]["mean_alive_per_layer"]
    reach = stats.last_reached_layer(L)  # alive after layer L-1: what the final layer attends over
    for layer in (reach,):
        lines.append(f"top words kept to layer {layer} (mean {alive[layer - 1]:.1f} tokens alive), stopwords excluded:")
        for c, name in enumerate(names):
            top = stats.word_frequencies(bundle.words, layer=layer, class_id=c, exclude_stopwords=True, top=12,
                                         num_layers=L)
            lines.append(f"  {name}: " + ", ".join(top["word"]))
    rates = bundle.summary["statistics"]["retention_by_pos"]
    lines.append("retention by POS (share of words alive) per layer " + " ".join(f"L{l + 1:<5}" for l in range(L)))
    for pos, r in sorted(rates.items(), key=lambda kv: -kv[1][reach - 1]):
        lines.append(f"  {pos:<6} " + " ".join(f"{x:6.3f}" for x in r))
    lines.append(f"domain terms reaching the last layer (alive after layer {reach}) vs correctness:")
    for row in bundle.summary["domain_test"]:
        lines.append(f"  {row['class']:<9} kept n={row['n_kept']} acc={row['acc_kept']:.4f} | pruned n={row['n_pruned']} "
                     f"acc={row['acc_pruned']:.4f} | {row['test']} p={row['p_value']:.3g}")
    return "\n".join(lines)


def prune_json(tr) -> dict:
    return {
        "text": tr.text,
        "prediction": tr.prediction,
        "probabilities": tr.probabilities,
        "truncated": tr.truncated,
        "mode": tr.mode,
        "input_tokens": tr.input_tokens,
        "flops": tr.flops,
        "flops_unpruned": tr.flops_unpruned,
        "layers": [
            {"layer": lt.layer, "count": lt.count, "tokens": lt.tokens, "positions": lt.positions,
             "scores": [lt.scores[p] for p in lt.positions], "threshold": lt.threshold}
            for lt in tr.layers
        ],
    }


def format_trace(tr) -> str:
    lines = [f"input: {tr.input_tokens} tokens ({tr.mode} mode)"]
    for lt in tr.layers:
        th = f"theta={lt.threshold:.5f}" if lt.threshold is not None else "no pruning"
        lines.append(f"layer {lt.layer:>2}  {lt.count:>4} tokens  [{th}]  {' '.join(lt.tokens)}")
    probs = ", ".join(f"{k} {v:.3f}" for k, v in tr.probabilities.items())
    lines.append(f"prediction: {tr.prediction} ({probs})")
    lines.append(f"FLOPs: {tr.flops / 1e6:.1f} M of {tr.flops_unpruned / 1e6:.1f} M "
                 f"({tr.flops_unpruned / tr.flops:.2f}x fewer)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from ltp.checkpoint import CheckpointError
    from ltp.data import DataError
    from ltp.analysis.bundle import BundleError
    from ltp.inference import InputError

    try:
        if args.command == "data":
            return cmd_data(args)
        if args.command == "train":
            return cmd_train(args, argv)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "prune":
            return cmd_prune(args)
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "bench":
            return cmd_bench(args)
        if args.command == "report":
            return cmd_report(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "card":
            return cmd_card(args)
    except (CheckpointError, DataError, InputError, BundleError, ValueError, RuntimeError, OSError) as err:
        print(f"ltp: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ltp: interrupted.", file=sys.stderr)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
