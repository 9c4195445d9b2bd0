#!/usr/bin/env bash
# Carry trainings' periodic states through git, for machines that keep nothing but the repository
# between sessions (training/ is git-ignored and would be lost with them).
#   bash scripts/carry_training_states.sh save     # training/<run>/state-*.pt (and a finished run's
#                                                  # <method>-<preset>.pt/.json) -> training-states/<run>/
#   bash scripts/carry_training_states.sh restore  # training-states/<run>/ -> training/<run>/, then resume
# `save` copies the latest states of every run in training/, finished or not: an unfinished run resumes
# from its state, and a finished one can be extended exactly with a longer --steps (as when `did`'s budget
# grows and its ablations must follow). Commit training-states/ afterwards; `git rm -r` a run's folder
# there once it will not be resumed. `restore` never overwrites a state already in training/. A state is
# about 12.5 MB for a compact DiD (weights, EMA and Adam moments in float32): resuming from it is exact.
# A state over 25 MB (did-per-scale's three networks, 37.6 MB) is carried in 25 MB parts
# (state-main.pt.part-00, -01, ...) with its SHA-256, because git is no place for files over 30 MB;
# `restore` joins the parts and checks the hash.
set -euo pipefail
cd "$(dirname "$0")/.."
PART=25M
case "${1:-}" in
  save)
    for dir in training/*/; do
      run=$(basename "$dir")
      compgen -G "training/$run/state-*.pt" >/dev/null || continue
      mkdir -p "training-states/$run"
      for state in training/"$run"/state-*.pt; do
        name=$(basename "$state")
        rm -f "training-states/$run/$name" "training-states/$run/$name".part-* "training-states/$run/$name.sha256"
        if [ -n "$(find "$state" -size +"$PART")" ]; then
          split -b "$PART" -d "$state" "training-states/$run/$name.part-"
          # the hash of the parts themselves: the training may replace the state meanwhile
          cat "training-states/$run/$name".part-* | sha256sum | sed "s/-\$/$name/" > "training-states/$run/$name.sha256"
        else
          cp "$state" "training-states/$run/"
        fi
      done
      # a finished run has written its checkpoint, <method>-<preset>.pt/.json (not always named as its
      # folder; 1.6 MB for a compact DiD): carried too, so an unshipped one (an extension) can be evaluated
      if compgen -G "training/$run/*.json" >/dev/null; then
        status=finished
        for sidecar in training/"$run"/*.json; do cp "$sidecar" "${sidecar%.json}.pt" "training-states/$run/"; done
      else status=unfinished; fi
      echo "$run ($status): carried $(ls training-states/"$run" | tr '\n' ' ')"
    done ;;
  restore)
    for dir in training-states/*/; do
      [ -d "$dir" ] || continue
      run=$(basename "$dir")
      mkdir -p "training/$run"
      if compgen -G "training-states/$run/state-*.pt" >/dev/null; then
        cp -n training-states/"$run"/state-*.pt "training/$run/"
      fi
      if compgen -G "training-states/$run/*.json" >/dev/null; then  # a finished run's checkpoint
        for sidecar in training-states/"$run"/*.json; do cp -n "$sidecar" "${sidecar%.json}.pt" "training/$run/"; done
      fi
      for sum in training-states/"$run"/state-*.pt.sha256; do
        [ -f "$sum" ] || continue
        name=$(basename "$sum" .sha256)
        [ -f "training/$run/$name" ] && continue  # never overwrite
        # joined under another name and checked first: a damaged part never becomes a state
        if [ "$(cat training-states/"$run/$name".part-* | tee "training/$run/$name.joining" | sha256sum | cut -d' ' -f1)" \
             != "$(cut -d' ' -f1 "$sum")" ]; then
          rm "training/$run/$name.joining"; echo "$run: the parts of $name do not join to its SHA-256" >&2; exit 1
        fi
        mv "training/$run/$name.joining" "training/$run/$name"
      done
      echo "$run: restored into training/$run"
    done ;;
  *) echo "usage: bash scripts/carry_training_states.sh save|restore" >&2; exit 2 ;;
esac
