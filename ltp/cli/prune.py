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


def prune_json(tr) -> dict:
    """The JSON form of a trace: prediction, FLOPs and, per layer (1-based), the tokens kept."""
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
    """The text form of a trace: one line per layer (1-based) with its kept tokens, then the prediction."""
    lines = [f"input: {tr.input_tokens} tokens ({tr.mode} mode)"]
    for lt in tr.layers:
        th = f"theta={lt.threshold:.5f}" if lt.threshold is not None else "no pruning"
        lines.append(f"layer {lt.layer:>2}  {lt.count:>4} tokens  [{th}]  {' '.join(lt.tokens)}")
    probs = ", ".join(f"{k} {v:.3f}" for k, v in tr.probabilities.items())
    lines.append(f"prediction: {tr.prediction} ({probs})")
    lines.append(f"FLOPs: {tr.flops / 1e6:.1f} M of {tr.flops_unpruned / 1e6:.1f} M "
                 f"({tr.flops_unpruned / tr.flops:.2f}x fewer)")
    return "\n".join(lines)
