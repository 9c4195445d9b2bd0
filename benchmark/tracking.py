"""Score history: ``python -m benchmark track RUN_DIR --history FILE``.

Appends a run's headline scores (per dataset x recognizer x restorer: mean word accuracy and
1-NED over the degraded cells, and the clean upper bound) with the code version, date and a
hash of the settings that make two runs comparable (data, grid, protocol, recognizers, limit,
seed, degradation model). Each score is compared with the latest earlier entry of the same
hash and key; a drop larger than ``--threshold`` is a regression: the command names every
regressed score and exits with status 1. Restorer checkpoints are deliberately not part of the
hash: a retrained checkpoint that scores worse is exactly what the history must catch.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time

import pandas as pd

from reports.facts import METRICS, group
from reports.tables import headline_table

from .errors import BenchmarkError
from .runfolder import atomic_write

KEY = ["dataset", "recognizer", "restorer"]
SCORES = group("text")  # the headline table's scores
COMPARABLE = ["datasets_loaded", "cells", "protocol", "recognizers", "limit", "seed", "model"]


def comparable_hash(config: dict) -> str:
    picked = {k: config.get(k) for k in COMPARABLE}
    picked["datasets_loaded"] = {name: info.get("fingerprint") for name, info in (config.get("datasets_loaded") or {}).items()}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_entries(run_dir: str) -> pd.DataFrame:
    summary_path = os.path.join(run_dir, "summary.csv")
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.exists(summary_path) or not os.path.exists(config_path):
        raise BenchmarkError(f"{run_dir} is not a finished run folder (no summary.csv/config.json)")
    with open(config_path) as f:
        config = json.load(f)
    table = headline_table(pd.read_csv(summary_path))
    if table.empty:
        raise BenchmarkError(f"{run_dir} has no degraded cells to track")
    table.insert(0, "date", config.get("finished") or config.get("started") or time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    table.insert(1, "run", os.path.basename(os.path.abspath(run_dir)))
    table.insert(2, "code_version", config.get("git_commit") or config.get("versions", {}).get("benchmark"))
    table.insert(3, "config_hash", comparable_hash(config))
    return table


def compare(history: pd.DataFrame, entries: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, list[str]]:
    """Each new score beside the latest earlier comparable one; the list of regressions."""
    rows, regressions = [], []
    for _, new in entries.iterrows():
        earlier = history[(history["config_hash"] == new["config_hash"])
                          & (history[KEY] == new[KEY].values).all(axis=1)] if not history.empty else history
        row = {k: new[k] for k in KEY}
        if earlier.empty:
            rows.append({**row, "note": "first comparable entry"})
            continue
        previous = earlier.iloc[-1]
        row["previous_run"] = previous["run"]
        for score in SCORES:
            row[f"{score}_before"], row[f"{score}_now"] = previous[score], new[score]
            higher = METRICS[score].higher_is_better
            worse = (float(previous[score]) - float(new[score])) * (1 if higher else -1)  # in the metric's direction
            if worse > threshold:
                regressions.append(f"{new['dataset']}/{new['recognizer']}/{new['restorer']} {score}: "
                                   f"{previous[score]:.3f} -> {new[score]:.3f} "
                                   f"({'-' if higher else '+'}{worse:.3f} > {threshold})")
        rows.append(row)
    return pd.DataFrame(rows), regressions


def read_history(path: str) -> pd.DataFrame:
    """The history file (empty when missing); a file that is not a history is one clear error."""
    if not os.path.exists(path) or not os.path.getsize(path):
        return pd.DataFrame()
    try:
        history = pd.read_csv(path)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise BenchmarkError(f"history {path} is not a CSV score history ({str(e).splitlines()[0][:80]}); "
                             f"left untouched") from None
    missing = [c for c in ["run", "config_hash", *KEY, *SCORES] if c not in history.columns]
    if missing:
        raise BenchmarkError(f"history {path} lacks the columns {', '.join(missing)}; left untouched")
    for score in SCORES:
        if not pd.api.types.is_numeric_dtype(history[score]):
            bad = history[score][pd.to_numeric(history[score], errors="coerce").isna()].iloc[0]
            raise BenchmarkError(f"history {path}: column {score!r} holds {str(bad)[:20]!r}, not a score; left untouched")
    return history


def track(run_dir: str, history_path: str, threshold: float = 0.02) -> list[str]:
    if not math.isfinite(threshold) or threshold < 0:
        raise BenchmarkError(f"--threshold must be a finite number >= 0, got {threshold}")
    entries = run_entries(run_dir)
    history = read_history(history_path)
    table, regressions = compare(history, entries, threshold)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    combined = pd.concat([history, entries], ignore_index=True) if not history.empty else entries
    atomic_write(os.path.abspath(history_path), lambda tmp: combined.to_csv(tmp, index=False))
    return regressions


def track_command(args) -> int:
    regressions = track(args.run_dir, args.history, args.threshold)
    if regressions:
        print("\nREGRESSION: scores dropped by more than the threshold:")
        for line in regressions:
            print("  " + line)
        return 1
    print(f"\nno regression beyond {args.threshold}; history: {args.history}")
    return 0
