"""`ltp data prepare NAME --from FILE|FOLDER|HUB_ID`: write data/<name>/{train,test}.parquet."""

from __future__ import annotations

from ltp.cli import options

NAME = "data"


def add_parser(sub) -> None:
    d = options.add_command(sub, NAME, "prepare data sets")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="{prepare}")
    dp = options.add_command(dsub, "prepare", "write data/<name>/{train,test}.parquet from a file, a folder or the Hub")
    dp.add_argument("name", help="data set name: a preset (ag_news, imdb) or any new name (it names the folder)")
    dp.add_argument("--from", dest="source", default=None,
                    help="a CSV/TSV/JSON-lines/parquet file, a folder of split files (train.csv, test.csv, or "
                         "data/train-00000-of-00001.parquet as on the Hub), or a Hub dataset id; "
                         "default for a preset: its Hub dataset")
    options.add_data_dir(dp)
    g = dp.add_argument_group("columns and labels (found by their usual names when not given)")
    g.add_argument("--text-column", default=None, help="text column, or columns joined by '+' (title+description)")
    g.add_argument("--label-column", default=None, help="label column (integers, strings or booleans)")
    g.add_argument("--label-names", default=None, help="comma-separated names of integer labels 0..K-1 "
                                                       "(or the order of string labels)")
    g.add_argument("--hub-config", default=None, help="configuration of a Hub dataset (e.g. sst2 of nyu-mll/glue)")
    s = dp.add_argument_group("splits and cleaning")
    s.add_argument("--test-fraction", type=float, default=0.2,
                   help="held out (stratified, seeded) when the source has no labelled test or validation split")
    options.add_seed(s, 42, "seed of the made test split")
    s.add_argument("--keep-duplicates", action="store_true",
                   help="keep repeated texts (default: dropped and counted, except in a preset's published splits)")


def run(args) -> int:
    from ltp.data import PrepareOptions, prepare_dataset

    opts = PrepareOptions(
        text_column=args.text_column, label_column=args.label_column,
        label_names=tuple(n.strip() for n in args.label_names.split(",")) if args.label_names else None,
        hub_config=args.hub_config, test_fraction=args.test_fraction, seed=args.seed,
        dedupe=False if args.keep_duplicates else None,
    )
    info = prepare_dataset(args.name, args.source, options.data_dir(args), options=opts)
    print(prepare_summary(args.name, info))
    return 0


def prepare_summary(name: str, info: dict) -> str:
    """What was written and what was dropped, made or found, in a few lines."""
    rows = ", ".join(f"{k} {v}" for k, v in info["rows"].items())
    lines = [f"prepared {name} ({rows}; {len(info['label_names'])} classes: {', '.join(info['label_names'][:8])}"
             f"{' ...' if len(info['label_names']) > 8 else ''}) from {info['source']}"]
    cols = info.get("columns", {}).get("train")
    if cols:
        lines.append(f"  text column: {cols['text']}; label column: {cols['label']}")
    split = info.get("test_split", {})
    if split.get("from") == "made":
        lines.append(f"  no labelled test split in the source: made one of {split['fraction']:.0%} "
                     f"(stratified, seed {split['seed']})")
    elif split.get("from") == "validation":
        lines.append("  test split: the source's validation split (its test split is missing or unlabelled)")
    for s, dropped in info.get("dropped", {}).items():
        lines.append(f"  {s}: dropped " + ", ".join(f"{n} ({why})" for why, n in dropped.items()))
    if info.get("train_test_overlap"):
        lines.append(f"  warning: {info['train_test_overlap']} test texts also occur in train (kept; "
                     f"test scores may be optimistic)")
    return "\n".join(lines)
