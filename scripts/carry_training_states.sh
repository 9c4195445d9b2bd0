#!/usr/bin/env bash
# Carry trainings' periodic states through git, for machines that keep nothing but the repository
# between sessions (training/ is git-ignored and would be lost with them).
#   bash scripts/carry_training_states.sh save     # training/<run>/state-*.pt -> training-states/<run>/
#   bash scripts/carry_training_states.sh restore  # training-states/<run>/ -> training/<run>/, then resume
# `save` copies the latest states of every run in training/, finished or not: an unfinished run resumes
# from its state, and a finished one can be extended exactly with a longer --steps (as when `did`'s budget
# grows and its ablations must follow). Commit training-states/ afterwards; `git rm -r` a run's folder
# there once it will not be resumed. `restore` never overwrites a state already in training/. A state is
# about 12.5 MB for a compact DiD (weights, EMA and Adam moments in float32): resuming from it is exact.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  save)
    for dir in training/*/; do
      run=$(basename "$dir")
      if compgen -G "training/$run/state-*.pt" >/dev/null; then
        # git is no place for large files: a state over 30 MB (did-per-scale's three networks, 37.6 MB)
        # stays in training/ only, and its run starts again from step 0 if training/ is lost
        if [ -n "$(find training/"$run" -name 'state-*.pt' -size +30M)" ]; then
          echo "$run: not carried, a state is over 30 MB"; continue
        fi
        mkdir -p "training-states/$run"
        cp training/"$run"/state-*.pt "training-states/$run/"
        if [ -f "training/$run/$run.pt" ]; then status=finished; else status=unfinished; fi
        echo "$run ($status): carried $(ls training-states/"$run")"
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
