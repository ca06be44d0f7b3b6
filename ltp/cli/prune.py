"""`ltp prune`: which tokens survive each layer (1..L) for one text, as text or JSON."""

from __future__ import annotations

import json
import sys

from ltp.cli import options

NAME = "prune"


def add_parser(sub) -> None:
    r = options.add_command(sub, NAME, "show which tokens survive each layer for one text")
    options.add_checkpoint(r)
    r.add_argument("text", help='the text ("-" reads standard input)')
    r.add_argument("--mode", choices=("none", "soft", "hard", "topk"), default=None,
                   help="pruning mode (default: the checkpoint's)")
    r.add_argument("--json", action="store_true", help="print JSON: text, prediction, probabilities, layers")


def run(args) -> int:
    from ltp.checkpoint import load_checkpoint
    from ltp.text import validate_text
    from ltp.trace import format_trace, trace, trace_json

    text = sys.stdin.read() if args.text == "-" else args.text
    validate_text(text)  # fail fast, before loading the model
    ckpt = load_checkpoint(args.checkpoint, backbone=args.backbone)
    tr = trace(ckpt.model, ckpt.tokenizer, text, ckpt.max_length, ckpt.label_names, ckpt.truncation, args.mode)
    if tr.truncated:
        print(f"ltp: note: the text is longer than the model's max length ({ckpt.max_length} tokens); "
              "it was truncated.", file=sys.stderr)
    if args.json:
        print(json.dumps(trace_json(tr), ensure_ascii=False))
    else:
        print(format_trace(tr))
    return 0
