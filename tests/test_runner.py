import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark import runner
from benchmark.runner import RunConfig, Runner
from degradations import CLEAN, Cell

CELLS = [CLEAN, Cell(0.4, 0.1), Cell(0.2, 0.2)]


def small_config(out, **overrides):
    config = dict(out=str(out), datasets=["synth"], cells=CELLS, restorers=["identity", "clahe"],
                  recognizers=["easyocr"], limit=6, device="cpu", batch_size=4)
    config.update(overrides)
    return RunConfig(**config)


def comparable(summary):
    return summary.sort_values(runner.SUMMARY_KEYS).reset_index(drop=True)


def test_outputs_and_interrupted_run_resumes_to_the_same_summary(tmp_path, monkeypatch):
    full = Runner(small_config(tmp_path / "full"), progress=False).run()
    for name in ("config.json", "samples.parquet", "summary.csv"):
        assert os.path.exists(tmp_path / "full" / name)
    # what a later comparison of two runs needs: the packages and the machine that picked the kernels
    recorded = json.loads((tmp_path / "full" / "config.json").read_text())
    assert torch.__version__.startswith(recorded["versions"]["torch"])  # the wheel metadata drops "+cu130"
    assert recorded["machine"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert recorded["machine"]["cores"] == os.cpu_count() and recorded["machine"]["torch_threads"] >= 1
    samples = pd.read_parquet(tmp_path / "full" / "samples.parquet")
    # clean cell once (identity) + 2 cells x 2 restorers, 6 samples, 1 recognizer
    assert len(samples) == 6 * (1 + 2 * 2)
    assert set(samples["restorer"]) == {"identity", "clahe"}
    clean = samples[(samples.brightness == 1) & (samples.noise == 0)]
    assert (clean["psnr"] == np.inf).all() and (clean["restorer"] == "identity").all()
    assert (clean["correct"] == clean["clean_correct"]).all()
    row = full[(full.brightness == 0.4) & (full.restorer == "clahe")].iloc[0]
    part = samples[(samples.brightness == 0.4) & (samples.restorer == "clahe")]
    assert row["accuracy"] == pytest.approx(part["correct"].mean())
    assert row["n"] == 6 and row["kid"] > 0

    # interrupt the second run after two finished units
    calls = {"n": 0}
    original = Runner.run_unit

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "run_unit", flaky)
    with pytest.raises(KeyboardInterrupt):
        Runner(small_config(tmp_path / "resumed"), progress=False).run()
    assert not os.path.exists(tmp_path / "resumed" / "summary.csv")

    calls["n"] = 100  # no more interrupts; count what the rerun computes
    resumed = Runner(small_config(tmp_path / "resumed"), progress=False).run()
    assert calls["n"] - 100 == 5 - 2  # 5 units, 2 finished before the interrupt
    pd.testing.assert_frame_equal(comparable(full), comparable(resumed))

    calls["n"] = 100  # a third run computes nothing at all
    Runner(small_config(tmp_path / "resumed"), progress=False).run()
    assert calls["n"] == 100


def test_same_pixels_for_any_batch_size_and_order(tmp_path):
    def degraded_by_id(batch_size, reverse):
        r = Runner(small_config(tmp_path / f"b{batch_size}", batch_size=batch_size, kid=False, perceptual=False),
                   progress=False)
        r.prepare()
        ds = r.datasets["synth"]
        if reverse:
            ds.samples = ds.samples[::-1]
        degraded, restored, _ = r.restore_all("synth", Cell(0.4, 0.2), "clahe", ds.samples, None)
        return {s.sample_id: (d, x) for s, d, x in zip(ds.samples, degraded, restored)}

    a, b = degraded_by_id(1, False), degraded_by_id(5, True)
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key][0], b[key][0]) and np.array_equal(a[key][1], b[key][1])


def test_changed_inputs_do_not_reuse_units(tmp_path):
    r1 = Runner(small_config(tmp_path, kid=False, perceptual=False), progress=False)
    r1.prepare()
    r2 = Runner(small_config(tmp_path, kid=False, perceptual=False, seed=1), progress=False)
    r2.prepare()
    assert r1.unit_path("synth", CELLS[1], "clahe") != r2.unit_path("synth", CELLS[1], "clahe")


def test_format_summary_lists_every_cell(tmp_path):
    summary = Runner(small_config(tmp_path, kid=False, perceptual=False, limit=2), progress=False).run()
    text = runner.format_summary(summary)
    assert "clean" in text and "b=0.4 σ=0.1" in text and "b=0.2 σ=0.2" in text and "clahe" in text


def test_physical_model_runs_end_to_end(tmp_path):
    cells = [CLEAN, Cell(0.3, 0.02)]
    did_run = Runner(small_config(tmp_path / "did", cells=cells, restorers=["identity"], kid=False, perceptual=False,
                                  limit=3), progress=False).run()
    phys = Runner(small_config(tmp_path / "phys", cells=cells, restorers=["identity"], kid=False, perceptual=False,
                               limit=3, model="physical"), progress=False).run()
    assert set(phys["model"]) == {"physical"}
    dark = lambda s: float(s[s.brightness == 0.3]["psnr"].iloc[0])
    assert dark(phys) != dark(did_run)
    clean = lambda s: s[s.brightness == 1.0]["accuracy"].iloc[0]
    assert clean(phys) == clean(did_run)  # the clean cell is the clean crop under every model


def test_ray_actors_that_outnumber_the_cpus_are_warned_about():
    from benchmark.distributed import oversubscription

    assert oversubscription(actors=2, threads=1, cpus=2) is None
    assert oversubscription(actors=8, threads=2, cpus=16) is None
    warning = oversubscription(actors=2, threads=2, cpus=2)
    assert warning.startswith("warning: 2 Ray actors x 2 threads") and "OMP_NUM_THREADS=1" in warning
