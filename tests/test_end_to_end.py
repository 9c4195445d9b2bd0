"""End to end through the CLI. The small run is in the default suite (CI); the default job is slow."""
import json
import os

import pandas as pd
import pytest

from benchmark.cli import main
from restorers.registry import default_names


def test_small_run_with_every_shipped_restorer(tmp_path, capsys):
    out = tmp_path / "run"
    names = default_names()
    code = main(["run", "--limit", "2", "--brightness", "0.3", "--noise", "0.1", "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "word accuracy / 1-NED" in printed and "report:" in printed
    summary = pd.read_csv(out / "summary.csv")
    assert set(names) <= set(summary["restorer"])
    readers = {"easyocr", "ppocrv6"}  # the default readers: every table reads with both
    assert set(summary["recognizer"]) == readers
    assert len(summary) == (1 + len(names)) * len(readers)  # clean cell + one cell per restorer, per reader
    assert summary["kid"].notna().all() and summary["perceptual"].notna().all()
    config = json.load(open(out / "config.json"))
    for name in names:
        info = config["restorers_loaded"][name]
        if info["family"] in ("diffusion", "retinex"):
            assert info["sha256"], name  # learned restorers record the checkpoint they used
    assert (out / "report.html").exists()


@pytest.mark.slow
def test_default_job(tmp_path):
    """`python -m benchmark run --grid brightness,noise` exactly as the README states it."""
    out = tmp_path / "default"
    assert main(["run", "--grid", "brightness,noise", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert set(default_names()) <= set(summary["restorer"])
    for name in ("summary.csv", "samples.parquet", "config.json", "report.html"):
        assert os.path.exists(out / name)
