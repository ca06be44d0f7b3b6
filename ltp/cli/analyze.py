"""`ltp analyze`: write the retained-token analysis bundle the dashboard reads, and summarise it."""

from __future__ import annotations

from pathlib import Path

from ltp.cli import options

NAME = "analyze"


def add_parser(sub) -> None:
    a = options.add_command(sub, NAME, "write the retained-token analysis bundle the dashboard reads")
    options.add_checkpoint(a)
    options.add_split(a)
    options.add_limit(a)
    a.add_argument("--out", default=None, help="bundle directory (default: <checkpoint>/analysis)")
    a.add_argument("--max-embeddings", type=int, default=20_000, help="retained tokens kept for the embedding map")
    a.add_argument("--top-k-terms", type=int, default=100, help="domain terms per class")
    a.add_argument("--domain-train-docs", type=int, default=20_000, help="training texts used to find domain terms")
    a.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    options.add_batch_size(a, 64, "inference")
    options.add_seed(a, 0, "seed of samples and projections")
    options.add_data_dir(a)
    options.add_quiet(a)


def run(args) -> int:
    from ltp.analysis.bundle import AnalysisConfig, build_bundle, default_bundle_dir, save_bundle
    from ltp.checkpoint import load_checkpoint

    if args.limit is not None and args.limit <= 0:
        raise ValueError(f"--limit must be a positive number of examples, got {args.limit}.")
    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    cfg = AnalysisConfig(split=args.split, limit=args.limit, max_embeddings=args.max_embeddings,
                         top_k_terms=args.top_k_terms, domain_train_docs=args.domain_train_docs,
                         perplexity=args.perplexity, batch_size=args.batch_size, seed=args.seed)
    bundle = build_bundle(ckpt, cfg, options.data_dir(args), progress=None if args.quiet else ProgressBar())
    out = save_bundle(bundle, Path(args.out) if args.out else default_bundle_dir(ckpt.path))
    print(format_analysis(bundle))
    print(f"bundle written to {out}")
    return 0


class ProgressBar:
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
    """Top retained words per class, POS retention and the domain-term test, as text (layers 1..L)."""
    from ltp.analysis import stats

    names, L = bundle.label_names, bundle.num_layers
    meta = bundle.summary["meta"]
    lines = [f"{meta['examples']} examples of {meta['dataset']}/{meta['split']} ({meta['sample']}); "
             f"timings: " + ", ".join(f"{k} {v:.1f}" for k, v in meta["timings"].items())]
    alive = bundle.summary["statistics"]["mean_alive_per_layer"]
    reach = stats.last_reached_layer(L)  # alive after layer L-1: what the final layer attends over
    lines.append(f"top words kept to layer {reach} (mean {alive[reach - 1]:.1f} tokens alive), stopwords excluded:")
    for c, name in enumerate(names):
        top = stats.word_frequencies(bundle.words, layer=reach, class_id=c, exclude_stopwords=True, top=12,
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
