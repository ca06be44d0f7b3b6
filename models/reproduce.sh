#!/usr/bin/env bash
# Rebuild the shipped models and every stored figure (metrics, benchmark, sweep, analysis).
# The commands are the ones that made models/*; wall times on 2 CPU cores are in each model card
# (about 3.5 hours in all). Run from the repository root inside the venv (`. .venv/bin/activate`).
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

# ---- AG News: the train rows that are there (47,392 + 500 validation), 128 tokens
# (the baseline stage ran as the first stage of a 3-stage run; --stages baseline trains the same)
ltp train --dataset ag_news --out "$RUNS/ag_news" --stages baseline --baseline-lr 1e-4 --save-dtype float16
ltp train --dataset ag_news --out "$RUNS/ag_news-l0.01" --init "$RUNS/ag_news/baseline" --stages soft,hard \
  --lambda 0.01 --save-dtype float16
ltp evaluate --checkpoint "$RUNS/ag_news/baseline"               # full test set (7,600)
ltp evaluate --checkpoint "$RUNS/ag_news-l0.01/hard" --mode both
ltp export "$RUNS/ag_news-l0.01" --out models/ag_news-minilm-ltp --baseline "$RUNS/ag_news/baseline" --force \
  --data-note "$AG_NOTE"
ltp sweep --dataset ag_news --baseline "$RUNS/ag_news/baseline" --out "$RUNS/ag_news-sweep" \
  --lambdas 0.05,0.2,0.5 --max-train-examples 2000 --soft-epochs 1 --hard-epochs 1 --eval-limit 2000 \
  --store-in models/ag_news-minilm-ltp
ltp analyze --checkpoint models/ag_news-minilm-ltp               # full test set
ltp bench --checkpoint models/ag_news-minilm-ltp
ltp card models/ag_news-minilm-ltp
# the stronger points in the README: the same soft,hard command with --lambda 0.07 / 0.1 / 0.3

# ---- IMDb: baseline on 6,000 of the 25,000 train rows (+300 validation), LTP stages on 3,000;
#      256 tokens, head+tail truncation
ltp train --dataset imdb --out "$RUNS/imdb" --stages baseline --max-length 256 --truncation head+tail \
  --max-train-examples 6000 --val-examples 300 --save-dtype float16
ltp train --dataset imdb --out "$RUNS/imdb-l0.04" --init "$RUNS/imdb/baseline" --stages soft,hard \
  --max-length 256 --truncation head+tail --max-train-examples 3000 --val-examples 300 --lambda 0.04 \
  --save-dtype float16
ltp evaluate --checkpoint "$RUNS/imdb/baseline" --limit 5000    # seeded stratified sample (seed 0)
ltp evaluate --checkpoint "$RUNS/imdb-l0.04/hard" --limit 5000
ltp export "$RUNS/imdb-l0.04" --out models/imdb-minilm-ltp --baseline "$RUNS/imdb/baseline" --force \
  --data-note "$IMDB_NOTE"
ltp analyze --checkpoint models/imdb-minilm-ltp --limit 5000
ltp bench --checkpoint models/imdb-minilm-ltp --limit 1000
ltp card models/imdb-minilm-ltp
# the stronger point in the README: ltp train --dataset imdb --out "$RUNS/imdb" (all 3 stages on the
# 6,000 rows) --lambda 0.1 with the options above

# ---- the README's results table
ltp report models/ag_news-minilm-ltp models/imdb-minilm-ltp
