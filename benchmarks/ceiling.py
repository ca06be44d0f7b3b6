"""The honest FLOPs ceiling of MiniLM-L6 (6 layers, 384 wide) on a data set's test texts, with
and without layer-1 pruning and the one content token every pruning layer keeps.

    python benchmarks/ceiling.py --dataset ag_news --max-length 128
    python benchmarks/ceiling.py --dataset imdb --max-length 256 --truncation head+tail
"""

import argparse

from ltp.backbones import DEFAULT_BACKBONE, load_tokenizer
from ltp.data import load_split
from ltp.flops import honest_ceiling
from ltp.text import encode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--truncation", default="head")
    ap.add_argument("--limit", type=int, default=2000, help="test texts (seeded sample)")
    args = ap.parse_args()
    df = load_split(args.dataset, "test")
    df = df.sample(min(args.limit, len(df)), random_state=0)
    lengths = [len(x) for x in encode(load_tokenizer(DEFAULT_BACKBONE), df["text"].tolist(), args.max_length,
                                      args.truncation).input_ids]
    print(f"{args.dataset}: {len(lengths)} test texts, mean {sum(lengths) / len(lengths):.1f} tokens")
    for first in (False, True):
        for keep in (0, 1):
            print(f"  layer 1 prunes: {first!s:5}  min_keep {keep}: ceiling "
                  f"{honest_ceiling(lengths, 6, 384, 1536, first, keep):.2f}x")


if __name__ == "__main__":
    main()
