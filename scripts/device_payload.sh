#!/usr/bin/env bash
# What a call of the device tool would send: the tracked files, the untracked files git does not
# ignore, and the paths named in its `carry` (given here as arguments). The tool refuses a tree over
# 64 MiB, and every refused or wasted call costs device time, so check before calling:
#   bash scripts/device_payload.sh data-cache .whl
# Prints the total, the largest top-level folders, and exits 1 when it is over the limit.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=$((64 * 1024 * 1024))
{
  git ls-files -z
  git ls-files -z --others --exclude-standard
  for path in "$@"; do
    [ -e "$path" ] || { echo "carry path $path does not exist" >&2; exit 2; }
    find "$path" -type f -print0
  done
} | du --apparent-size -b --files0-from=- 2>/dev/null | awk -v limit="$LIMIT" '
  { n = split($2, parts, "/"); top = (n > 1) ? parts[1] "/" : $2; size[top] += $1; total += $1 }
  END {
    for (t in size) printf "%10.1f MiB  %s\n", size[t] / 1048576, t | "sort -rn | head -8"
    close("sort -rn | head -8")
    printf "%10.1f MiB  in all (the device tool takes at most 64 MiB)\n", total / 1048576
    exit (total > limit) ? 1 : 0
  }'
