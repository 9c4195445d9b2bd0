#!/usr/bin/env bash
# Carry unfinished trainings' periodic states through git, for machines that keep nothing but the
# repository between sessions (training/ is git-ignored and would be lost with them).
#   bash scripts/carry_training_states.sh save     # training/<run>/state-*.pt -> training-states/<run>/
#   bash scripts/carry_training_states.sh restore  # training-states/<run>/ -> training/<run>/, then resume
# `save` copies the states of every run in training/ whose final checkpoint (<run>/<run>.pt) is not
# written yet, and drops the carried states of runs that have finished; commit training-states/
# afterwards. `restore` never overwrites a state already in training/. A state is about 12.5 MB for a
# compact DiD (weights, EMA and Adam moments in float32): resuming from it is exact.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  save)
    for dir in training/*/; do
      run=$(basename "$dir")
      if [ -f "training/$run/$run.pt" ]; then
        if [ -d "training-states/$run" ]; then
          git rm -rq --cached --ignore-unmatch "training-states/$run" && rm -rf "training-states/$run"
        fi
        echo "$run: finished, nothing carried"
      elif compgen -G "training/$run/state-*.pt" >/dev/null; then
        mkdir -p "training-states/$run"
        cp training/"$run"/state-*.pt "training-states/$run/"
        echo "$run: carried $(ls training-states/"$run")"
      fi
    done ;;
  restore)
    for dir in training-states/*/; do
      [ -d "$dir" ] || continue
      run=$(basename "$dir")
      mkdir -p "training/$run"
      cp -n training-states/"$run"/state-*.pt "training/$run/"
      echo "$run: restored into training/$run"
    done ;;
  *) echo "usage: bash scripts/carry_training_states.sh save|restore" >&2; exit 2 ;;
esac
