import os
import subprocess
import sys

import pandas as pd
import pytest

from .conftest import REPO

PLUGIN = os.path.join(os.path.dirname(__file__), "plugin_example")


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(target), PLUGIN], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return str(target)


def bench(args, plugin_path, tmp_path):
    env = dict(os.environ, PYTHONPATH=plugin_path)
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env)


def test_installed_plugin_is_listed_and_runs(plugin_path, tmp_path):
    listed = bench(["list"], plugin_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "gamma-example" in listed.stdout and "lowlight-gamma-example" in listed.stdout
    out = tmp_path / "run"
    run = bench(["run", "--restorers", "identity,gamma-example", "--limit", "3", "--grid", "brightness",
                 "--brightness", "0.3", "--no-kid", "--no-perceptual", "--no-report", "--quiet", "--out", str(out)],
                plugin_path, tmp_path)
    assert run.returncode == 0, run.stderr
    summary = pd.read_csv(out / "summary.csv")
    row = summary[summary.restorer == "gamma-example"].iloc[0]
    identity = summary[(summary.restorer == "identity") & (summary.brightness == 0.3)].iloc[0]
    assert row["n"] == 3 and row["psnr"] > identity["psnr"]  # brightening a dark image helps PSNR


def test_plugin_is_not_in_the_default_run(plugin_path, tmp_path):
    code = "from restorers import available; from restorers.registry import default_names; " \
           "print(sorted(available())); print(default_names())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=plugin_path), cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    everything, defaults = proc.stdout.splitlines()
    assert "gamma-example" in everything and "identity" in defaults and "gamma-example" not in defaults


def test_installed_recognizer_plugin_is_listed_and_reads(plugin_path, tmp_path):
    listed = bench(["list"], plugin_path, tmp_path)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if "shouting-example" in l)
    assert "plugin lowlight-gamma-example" in line
    out = tmp_path / "run"
    run = bench(["run", "--restorers", "identity", "--recognizers", "easyocr,shouting-example", "--limit", "3",
                 "--brightness", "0.4", "--noise", "0.05", "--no-kid", "--no-perceptual", "--no-report", "--quiet",
                 "--out", str(out)], plugin_path, tmp_path)
    assert run.returncode == 0, run.stderr
    samples = pd.read_parquet(out / "samples.parquet")
    shouted = samples[samples.recognizer == "shouting-example"]
    assert len(shouted) == len(samples) / 2 and (shouted["prediction"] == "HELLO").all()
    assert (shouted["prediction_norm"] == "hello").all()
