#!/usr/bin/env bash
# The method ablation of the issue "LTP that holds on short input and prunes to a target"
# (AG News, 4,000 training rows, one soft + one hard epoch, the same fine-tuned start): each
# arm changes one thing of the new method. Usage: bash benchmarks/method_ablation.sh [RUNS] [JOBS]
# then: python benchmarks/ablation_table.py RUNS
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/ablation}
JOBS=${2:-2}
# the fine-tuned model every arm starts from: the first release's AG News model, which is no longer in
# models/ since the second release; get it from git with
#   mkdir -p runs/ag_news-v1 && git archive 727f64d models/ag_news-minilm-ltp | tar -x --strip-components=2 -C runs/ag_news-v1
INIT=${INIT:-runs/ag_news-v1}
LTP=${LTP:-.venv/bin/ltp}
COMMON="--dataset ag_news --init $INIT --stages soft,hard --max-train-examples 4000 --seed 42 --quiet"
mkdir -p "$RUNS"
arms=(
  "new|--target-flops-reduction 2.5"
  "paper-score|--target-flops-reduction 2.5 --score paper"
  "old-optimiser|--target-flops-reduction 2.5 --threshold-lr 1e-3 --no-threshold-clamp"
  "old-regulariser|--target-flops-reduction 2.5 --regularizer kept"
  "no-mixed-lengths|--target-flops-reduction 2.5 --short-spans 0"
  "no-length-factor|--target-flops-reduction 2.5 --length-half 0"
  "no-key-fade|--target-flops-reduction 2.5 --no-key-fade"
  "first-release|--score paper --threshold-lr 1e-3 --no-threshold-clamp --regularizer kept --short-spans 0 --length-half 0 --no-key-fade --temperature 1e-3 --temperature-end 1e-3 --lambda 0.01"
)
run_arm() {
  local name=${1%%|*} opts=${1#*|}
  local out="$RUNS/$name"
  OMP_NUM_THREADS=$((2 / JOBS > 0 ? 2 / JOBS : 1)) $LTP train $COMMON --out "$out" $opts > "$out.log" 2>&1
  OMP_NUM_THREADS=$((2 / JOBS > 0 ? 2 / JOBS : 1)) $LTP evaluate --checkpoint "$out/hard" --limit 2000 --mode both \
    --json > "$out.eval.json" 2>> "$out.log"
}
export -f run_arm; export RUNS JOBS LTP COMMON
printf '%s\n' "${arms[@]}" | xargs -P "$JOBS" -I{} bash -c 'run_arm "$@"' _ {}
