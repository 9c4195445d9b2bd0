#!/usr/bin/env bash
# Train the `gpu` presets on a GPU in chunks of at most 9 minutes, resuming each time, and copy each
# finished checkpoint (fp16, < 16 MB) into $OUT (default runs/gpu-out):
#   bash scripts/gpu_train.sh did dtdm      # repeat until each method prints 'done'
# With no method named it trains did, dtdm, irsde and ldm in that order. It needs this project
# installed (`pip install -e .`) and the train splits in data-cache/ (git-ignored; never commit them):
#   mkdir -p data-cache && cp -r ../shared/data/str/{iiit5k_train,svt_train,ic15_train} data-cache/
#
# On this workplace's lent device machine it does NOT fit as things stand (measured 2026-12-06; see
# README "Status"): a call sends at most 64 MiB and the tree alone is 176 MiB (`bash
# scripts/device_payload.sh` prints what would travel), the train splits are 65 MiB as PNG, the
# validation's EasyOCR weights and the ST-LPIPS weights are not installed there (25 MiB more), a
# `gpu` preset's resumable state (weights, EMA and Adam moments in float32) is 106-114 MiB and can
# neither come back (64 MiB per call, 16 MiB per file) nor travel, and the machine is given back 30 s
# after a call, so periodic states do not survive between chunks. It runs as it is on a GPU machine
# of your own.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu-out}
mkdir -p "$OUT" training
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(did dtdm irsde ldm)
for method in "${methods[@]}"; do
  if [ -f "training/$method-gpu/$method-gpu.pt" ]; then echo "$method: done"; continue; fi
  timeout 540 python -m benchmark train "$method" --checkpoint-preset gpu --device cuda --data-root data-cache \
    --out "training/$method-gpu" --resume --checkpoint-every 100 || true
  if [ -f "training/$method-gpu/$method-gpu.pt" ]; then
    cp "training/$method-gpu/$method-gpu".{pt,json} "$OUT"/ && echo "$method: done"
  else
    echo "$method: not finished; run again to resume"; exit 0
  fi
done
