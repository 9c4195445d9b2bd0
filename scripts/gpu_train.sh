#!/usr/bin/env bash
# Train the `gpu` presets on a lent GPU in chunks of at most 9 minutes, resuming each time, and
# copy each finished checkpoint (fp16, < 16 MB) into $OUT. Written for the device tool: carry the
# train splits (never committed; `data-cache/` is git-ignored) and run, e.g.
#   mkdir -p data-cache && cp -r ../shared/data/str/{iiit5k_train,svt_train,ic15_train} data-cache/
#   run(command="bash scripts/gpu_train.sh did", carry=["data-cache", ".venv"])   # repeat until it prints 'done'
# Periodic states stay on the (warm) device machine between calls; only the final checkpoint comes back.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu-out}
mkdir -p "$OUT" training
for method in "${@:-did dtdm irsde ldm}"; do
  if [ -f "training/$method-gpu/$method-gpu.pt" ]; then echo "$method: done"; continue; fi
  timeout 540 python -m benchmark train "$method" --checkpoint-preset gpu --device cuda --data-root data-cache \
    --out "training/$method-gpu" --resume --checkpoint-every 100 || true
  if [ -f "training/$method-gpu/$method-gpu.pt" ]; then
    cp "training/$method-gpu/$method-gpu".{pt,json} "$OUT"/ && echo "$method: done"
  else
    echo "$method: not finished; run again to resume"; exit 0
  fi
done
