#!/usr/bin/env bash
# The nightly job, runnable locally: run the benchmark, track its scores, write the report.
# Exits 1 when a tracked score regressed beyond the threshold (the report is written anyway).
#   OUT       run folder            (default: runs/nightly-<date>)
#   HISTORY   score history (CSV)   (default: benchmarks/history.csv)
#   THRESHOLD allowed drop          (default: 0.02)
#   RUN_ARGS  extra arguments for `benchmark run` (default: none: the default job)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/nightly-$(date +%Y%m%d)}
HISTORY=${HISTORY:-benchmarks/history.csv}
THRESHOLD=${THRESHOLD:-0.02}
PYTHON=${PYTHON:-python}

# shellcheck disable=SC2086
$PYTHON -m benchmark run --grid brightness,noise --no-report --quiet --out "$OUT" ${RUN_ARGS:-} || exit $?
$PYTHON -m benchmark track "$OUT" --history "$HISTORY" --threshold "$THRESHOLD"
status=$?
$PYTHON -m benchmark report "$OUT" --history "$HISTORY" || exit $?
exit $status
