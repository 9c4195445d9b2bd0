#!/usr/bin/env bash
# Train every shipped `compact` checkpoint on CPU and install it into restorers/weights.
# Two queues run side by side with one thread each (on a 2-core machine that trains ~40% faster
# than one queue with two threads). Each training validates every 250 steps and stops once its
# validation curve has flattened (or at the recipe's step budget; did and its ablations run their
# whole budget). Logs and periodic checkpoints go to training/; an interrupted run continues where
# it stopped when the script is started again (its log grows; nothing earlier is overwritten).
#   usage: bash scripts/train_compact.sh /path/to/shared/data/str
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT=${1:-${BENCHMARK_DATA_ROOT:?give the folder holding iiit5k_train, svt_train, ic15_train}}
mkdir -p training
# Budgets without early stop, trained in stretches (4000, then resumed to each longer budget).
# did as shipped: 20000 steps in stretches of 4000 (it converged there); its ablations are still
# shipped at 8000 (README, Status) and move to did's budget once they have been retrained to it
DID_BUDGET=(--steps 4000,8000,12000,16000,20000 --no-early-stop)
ABLATION_BUDGET=(--steps 4000,8000 --no-early-stop)
train_one() {
  local method=$1; shift
  OMP_NUM_THREADS=1 python -m benchmark train "$method" --checkpoint-preset compact --data-root "$DATA_ROOT" \
    --out "training/$method-compact" --install --resume "$@" >> "training/$method-compact.log" 2>&1
}
{ train_one dtdm; train_one irsde; train_one sci
  for m in did-no-lpips did-no-cy2 did-no-eta; do train_one "$m" "${ABLATION_BUDGET[@]}"; done; } &
{ train_one ldm
  train_one did "${DID_BUDGET[@]}"
  for m in did-no-tailnorm did-per-scale; do train_one "$m" "${ABLATION_BUDGET[@]}"; done; } &
wait
