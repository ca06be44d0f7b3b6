"""`ltp export`: ship a pruned checkpoint, with its baseline's metrics and lineage, to a model dir."""

from __future__ import annotations

from ltp.cli import options

NAME = "export"


def add_parser(sub) -> None:
    x = options.add_command(sub, NAME, "ship a pruned checkpoint (with its baseline's metrics and lineage) to a model dir")
    x.add_argument("source", help="pruned checkpoint or training run directory")
    x.add_argument("--out", required=True, help="model directory to write (e.g. models/ag_news-minilm-ltp)")
    x.add_argument("--baseline", default=None,
                   help="the unpruned baseline checkpoint (default: the run's baseline stage or its --init)")
    x.add_argument("--force", action="store_true", help="replace an existing model directory")
    x.add_argument("--data-note", default=None, help="where the training data came from (shown in the model card)")


def run(args) -> int:
    from ltp.export import export_model

    out = export_model(args.source, args.out, baseline=args.baseline, force=args.force, data_note=args.data_note)
    print(f"model written to {out}")
    return 0
