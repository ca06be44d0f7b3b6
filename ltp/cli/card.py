"""`ltp card`: rewrite a model's README.md from what is stored beside it."""

from __future__ import annotations

from ltp.cli import options

NAME = "card"


def add_parser(sub) -> None:
    c = options.add_command(sub, NAME, "rewrite a model's README.md from its stored metrics, benchmark, sweep, bundle")
    c.add_argument("checkpoint", help="model (checkpoint) directory")


def run(args) -> int:
    from ltp.export import write_card

    print(f"model card written to {write_card(args.checkpoint)}")
    return 0
