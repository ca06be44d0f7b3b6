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
    h = x.add_argument_group("sharing on the Hugging Face Hub (token: HF_TOKEN or `hf auth login`)")
    h.add_argument("--push-to-hub", metavar="OWNER/NAME", default=None,
                   help="after writing --out, upload it to this Hub model repo (created if missing)")
    h.add_argument("--private", action="store_true", help="create the Hub repo as private")
    h.add_argument("--revision", default=None, help="push to this branch of the repo (created if missing)")


def run(args) -> int:
    from ltp.export import export_model

    out = export_model(args.source, args.out, baseline=args.baseline, force=args.force, data_note=args.data_note)
    print(f"model written to {out}")
    if args.push_to_hub:
        from ltp.export import push_checkpoint

        url = push_checkpoint(out, args.push_to_hub, private=args.private, revision=args.revision)
        print(f"pushed to {url}; load it anywhere with: ltp prune --checkpoint {args.push_to_hub} \"TEXT\"")
    return 0
