import dataclasses
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.tracking import compare
from reports import facts

from .conftest import REPO

TINY = "--restorers identity,clahe --recognizers easyocr --limit 4 --brightness 0.4 --noise 0.1 --no-kid --no-perceptual"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "a"
    assert main(["run", *TINY.split(), "--out", str(out), "--quiet", "--no-report"]) == 0
    return out


def worse_copy(run_dir, tmp_path, restorer="clahe", drop=0.25):
    copy = tmp_path / "worse"
    shutil.copytree(run_dir, copy)
    summary = pd.read_csv(copy / "summary.csv")
    degraded = (summary.restorer == restorer) & (summary.noise > 0)
    summary.loc[degraded, "accuracy"] -= drop
    summary.to_csv(copy / "summary.csv", index=False)
    return copy


def test_identical_rerun_passes_and_worse_run_fails(run_dir, tmp_path, capsys):
    history = tmp_path / "history.csv"
    assert main(["track", str(run_dir), "--history", str(history)]) == 0
    assert "first comparable entry" in capsys.readouterr().out
    assert main(["track", str(run_dir), "--history", str(history)]) == 0  # identical scores
    worse = worse_copy(run_dir, tmp_path)
    assert main(["track", str(worse), "--history", str(history), "--threshold", "0.1"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "synth/easyocr/clahe accuracy" in out and "identity" not in out.split("REGRESSION")[1]
    table = pd.read_csv(history)
    assert len(table) == 3 * 2 and {"date", "code_version", "config_hash", "accuracy", "ned"} <= set(table.columns)


def test_threshold_and_incomparable_runs(run_dir, tmp_path):
    history = tmp_path / "h.csv"
    main(["track", str(run_dir), "--history", str(history)])
    worse = worse_copy(run_dir, tmp_path, drop=0.05)
    assert main(["track", str(worse), "--history", str(history), "--threshold", "0.1"]) == 0  # within threshold
    other = tmp_path / "other"
    assert main(["run", *TINY.split(), "--seed", "3", "--out", str(other), "--quiet", "--no-report"]) == 0
    summary = pd.read_csv(other / "summary.csv")
    summary["accuracy"] = 0.0
    summary.to_csv(other / "summary.csv", index=False)
    assert main(["track", str(other), "--history", str(history)]) == 0  # another seed: not comparable


def test_not_a_run_folder(tmp_path, capsys):
    assert main(["track", str(tmp_path), "--history", str(tmp_path / "h.csv")]) == 2
    assert "not a finished run folder" in capsys.readouterr().err


def test_nightly_script_runs_tracks_and_reports(tmp_path):
    env = dict(os.environ, OUT=str(tmp_path / "night"), HISTORY=str(tmp_path / "history.csv"), RUN_ARGS=TINY,
               PYTHON=sys.executable)
    first = subprocess.run(["bash", "scripts/nightly.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "night" / "report.html").exists()
    second = subprocess.run(["bash", "scripts/nightly.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert second.returncode == 0 and "no regression" in second.stdout
    # pretend the previous night scored higher: tonight's unchanged run is now a regression
    history = pd.read_csv(tmp_path / "history.csv")
    history["accuracy"] += 0.5
    history.to_csv(tmp_path / "history.csv", index=False)
    third = subprocess.run(["bash", "scripts/nightly.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert third.returncode == 1 and "REGRESSION" in third.stdout
    report = (tmp_path / "night" / "report.html").read_text()
    assert "Score history" in report  # the history plot is in the report


def test_regression_direction_follows_the_metric_facts(monkeypatch):
    entry = dict(config_hash="h", dataset="d", recognizer="r", restorer="x", run="r1", accuracy=0.5, ned=0.5)
    history = pd.DataFrame([entry])
    lower, higher = pd.DataFrame([{**entry, "ned": 0.3}]), pd.DataFrame([{**entry, "ned": 0.7}])
    assert len(compare(history, lower, 0.1)[1]) == 1 and not compare(history, higher, 0.1)[1]
    monkeypatch.setitem(facts.METRICS, "ned", dataclasses.replace(facts.METRICS["ned"], higher_is_better=False))
    assert not compare(history, lower, 0.1)[1]
    assert compare(history, higher, 0.1)[1] == ["d/r/x ned: 0.500 -> 0.700 (+0.200 > 0.1)"]
