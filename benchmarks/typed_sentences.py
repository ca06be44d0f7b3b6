"""Short sentences as a person types them, from outside the data sets, through one or more
checkpoints with pruning off and on: what the live page meets.

    python benchmarks/typed_sentences.py CHECKPOINT [CHECKPOINT ...] [--set ag_news|imdb]

Prints, per checkpoint, accuracy with pruning off and on, the mean tokens in and alive after
each layer, and the honest FLOPs reduction; --verbose lists every sentence.
"""

from __future__ import annotations

import argparse

import numpy as np

SENTENCES = {
    "ag_news": [
        ("The prime minister resigned after protests spread to the capital.", "World"),
        ("Rebels and government troops agreed to a ceasefire in the north.", "World"),
        ("Voters in Brazil go to the polls on Sunday to choose a president.", "World"),
        ("The UN warned of famine as the drought worsened across the region.", "World"),
        ("The Lakers beat the Celtics in overtime last night.", "Sports"),
        ("She won her third Wimbledon title without dropping a set.", "Sports"),
        ("The striker was sold to Madrid for a record fee.", "Sports"),
        ("Ferrari took pole position for the Italian Grand Prix.", "Sports"),
        ("Shares in the bank fell after it reported a quarterly loss.", "Business"),
        ("The central bank left interest rates unchanged on Thursday.", "Business"),
        ("Oil prices climbed to a two-year high.", "Business"),
        ("The airline will cut 2,000 jobs to reduce costs.", "Business"),
        ("The new phone has a faster chip and a better camera.", "Sci/Tech"),
        ("Researchers found a security flaw in the popular browser.", "Sci/Tech"),
        ("NASA will launch a probe to study the sun next year.", "Sci/Tech"),
        ("The software update lets users encrypt their messages.", "Sci/Tech"),
    ],
    "imdb": [
        ("This is the best restaurant, and I will be returning for another meal.", "positive"),
        ("I loved this film from start to finish.", "positive"),
        ("A beautiful, moving story with wonderful acting.", "positive"),
        ("One of the funniest movies I have seen in years.", "positive"),
        ("The cast is great and the ending made me cry.", "positive"),
        ("An instant classic; I would watch it again tomorrow.", "positive"),
        ("What a waste of two hours.", "negative"),
        ("The plot made no sense and the acting was wooden.", "negative"),
        ("Boring, predictable and far too long.", "negative"),
        ("I wanted to like it, but it was a mess.", "negative"),
        ("The worst sequel ever made.", "negative"),
        ("Even the special effects could not save this dull film.", "negative"),
    ],
}


def run(path: str, items: list[tuple[str, str]], verbose: bool) -> dict:
    from ltp.checkpoint import load_checkpoint
    from ltp.results import pruning_mode
    from ltp.trace import trace

    ck = load_checkpoint(path)
    pruning = pruning_mode(ck.model.mode)
    out = {"path": path, "off": 0, "on": 0, "alive": [], "flops": [], "flops_un": []}
    for text, label in items:
        off = trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, "none")
        on = trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, pruning)
        out["off"] += off.prediction == label
        out["on"] += on.prediction == label
        out["alive"].append([off.input_tokens] + [lt.count for lt in on.layers])
        out["flops"].append(on.flops)
        out["flops_un"].append(on.flops_unpruned)
        if verbose:
            print(f"  {label:<9} off {off.prediction:<9} on {on.prediction:<9} "
                  f"{' -> '.join(str(c) for c in out['alive'][-1])}  {text}")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--set", choices=sorted(SENTENCES), default="ag_news")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    items = SENTENCES[args.set]
    print(f"| checkpoint | {len(items)} typed sentences: accuracy off / on | tokens in → alive after each layer | FLOPs reduction |")
    print("|---|---|---|---|")
    for path in args.checkpoints:
        r = run(path, items, args.verbose)
        alive = " → ".join(f"{x:.1f}" for x in np.mean(r["alive"], 0))
        print(f"| `{path}` | {r['off'] / len(items):.3f} / {r['on'] / len(items):.3f} | {alive} | "
              f"{sum(r['flops_un']) / sum(r['flops']):.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
