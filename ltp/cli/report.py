"""`ltp report`: a markdown results table generated from stored metrics and benchmarks."""

from __future__ import annotations

import json

from ltp.cli import options

NAME = "report"


def add_parser(sub) -> None:
    rp = options.add_command(sub, NAME, "markdown results table from stored metrics and benchmarks")
    rp.add_argument("checkpoints", nargs="+", help="checkpoint or run directories")
    options.add_split(rp)
    options.add_json(rp, "the rows")
    rp.add_argument("--details", action="store_true", help="also the stored benchmark and sweep tables of each model")


def run(args) -> int:
    from ltp.report import details_markdown, markdown_table, results_row

    rows = [results_row(p, args.split) for p in args.checkpoints]
    print(json.dumps(rows, indent=2) if args.json else markdown_table(rows))
    if args.details and not args.json:
        for p in args.checkpoints:
            print("\n" + details_markdown(p))
    return 0
