#!/usr/bin/env bash
# Rebuild the shipped models and every stored figure (metrics, benchmark, sweep, analysis).
# The commands are the ones that made models/*; wall times on 2 CPU cores are in each model card
# (about 3 hours in all). Run from the repository root inside the venv (`. .venv/bin/activate`).
#   FROM=../shared/data bash models/reproduce.sh     # data from a local folder instead of the Hub
set -euo pipefail
RUNS=${RUNS:-runs}
from=(); [ -n "${FROM:-}" ] && from=(--from "$FROM")
ltp data prepare ag_news "${from[@]}"
ltp data prepare imdb "${from[@]}"

AG_NOTE="the partial AG News train set of ../shared/data (47,892 of the official 120,000 rows, about 40%; \
the union of public partial copies, test rows removed) and the complete official test set (7,600)"
IMDB_NOTE="aclImdb v1 (Maas et al., 2011) via ../shared/data: the complete train and test splits (25,000 each)"
# (from the Hub, `ltp data prepare ag_news` gets all 120,000 AG News train rows: more data, other numbers)

# ---- AG News: the train rows that are there (47,892: 47,392 + 500 validation), 128 tokens
ltp train --dataset ag_news --out "$RUNS/ag_news" --stages baseline --baseline-lr 1e-4 --save-dtype float16
ltp train --dataset ag_news --out "$RUNS/ag_news" --stages soft,hard --lambda 0.07 --save-dtype float16
ltp evaluate --checkpoint "$RUNS/ag_news/baseline"             # full test set (7,600)
ltp evaluate --checkpoint "$RUNS/ag_news/hard" --mode both
ltp export "$RUNS/ag_news" --out models/ag_news-minilm-ltp --force --data-note "$AG_NOTE"
ltp sweep --dataset ag_news --baseline "$RUNS/ag_news/baseline" --out "$RUNS/ag_news-sweep" \
  --lambdas 0.05,0.2,0.5 --max-train-examples 2000 --soft-epochs 2 --hard-epochs 1 --eval-limit 2000 \
  --store-in models/ag_news-minilm-ltp
ltp analyze --checkpoint models/ag_news-minilm-ltp               # full test set
ltp bench --checkpoint models/ag_news-minilm-ltp
ltp card models/ag_news-minilm-ltp

# ---- IMDb: 6,000 of the 25,000 train rows (+300 validation), 256 tokens, head+tail truncation
ltp train --dataset imdb --out "$RUNS/imdb" --max-length 256 --truncation head+tail \
  --max-train-examples 6000 --val-examples 300 --lambda 0.1 --save-dtype float16
ltp evaluate --checkpoint "$RUNS/imdb/baseline" --limit 5000    # seeded stratified sample (seed 0)
ltp evaluate --checkpoint "$RUNS/imdb/hard" --mode both --limit 5000
ltp export "$RUNS/imdb" --out models/imdb-minilm-ltp --force --data-note "$IMDB_NOTE"
ltp analyze --checkpoint models/imdb-minilm-ltp --limit 5000
ltp bench --checkpoint models/imdb-minilm-ltp
ltp card models/imdb-minilm-ltp

# ---- the README's results table
ltp report models/ag_news-minilm-ltp models/imdb-minilm-ltp
