"""`ltp data prepare NAME`: write data/<name>/{train,test}.parquet from the Hub or a local folder."""

from __future__ import annotations

from ltp.cli import options

NAME = "data"


def add_parser(sub) -> None:
    d = options.add_command(sub, NAME, "prepare data sets")
    dsub = d.add_subparsers(dest="data_command", required=True, metavar="{prepare}")
    dp = options.add_command(dsub, "prepare", "write data/<name>/{train,test}.parquet from the Hub or a local folder")
    dp.add_argument("name", help="data set: ag_news or imdb")
    dp.add_argument("--from", dest="source", default=None,
                    help="local folder with <name>/{train,test}.{parquet,csv} (or {train,test}.*); "
                         "default: download from the Hugging Face Hub")
    options.add_data_dir(dp)


def run(args) -> int:
    from ltp.data import prepare_dataset

    info = prepare_dataset(args.name, args.source, options.data_dir(args))
    rows = ", ".join(f"{k} {v}" for k, v in info["rows"].items())
    print(f"prepared {args.name} ({rows}) from {info['source']}")
    return 0
