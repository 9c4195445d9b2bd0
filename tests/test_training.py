import json
import os

import pytest
import torch

from benchmark.errors import BenchmarkError
from benchmark.training import PairedData, train
from restorers import RestorerError
from restorers.checkpoints import load_checkpoint, save_checkpoint
from restorers.sci import SCI

FAST = dict(data_root=None, device="cpu", progress=False, synth_count=24, log=lambda *a: None, validate=False)


def weights(out):
    return torch.load(os.path.join(out, "sci-compact.pt"), weights_only=True)["state_dict"]


def interrupt_sci_at_step(step, monkeypatch) -> dict:
    """Make SCI's training raise KeyboardInterrupt at its ``step``-th loss (counting from 1);
    set the returned counter negative to let it run on."""
    from restorers import sci

    calls = {"n": 0}
    original = sci.SCITrainer.loss

    def interrupting(self, *args):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(sci.SCITrainer, "loss", interrupting)
    return calls


def test_same_seed_same_weights_and_metadata(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    a = train("sci", steps=4, out=str(tmp_path / "a"), **FAST)
    train("sci", steps=4, out=str(tmp_path / "b"), **FAST)
    train("sci", steps=4, out=str(tmp_path / "c"), seed=1, **FAST)
    wa, wb, wc = weights(tmp_path / "a"), weights(tmp_path / "b"), weights(tmp_path / "c")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)
    for key in ("method", "preset", "config", "training_data", "degradation", "steps", "seed", "final_loss",
                "train_seconds", "code_version", "sha256", "parameters"):
        assert key in a, key
    assert a["method"] == "sci" and a["steps"] == 4 and a["seed"] == 0 and a["training_data"] == {"synth(seed=1)": 24}
    sidecar = json.load(open(tmp_path / "a" / "sci-compact.json"))
    assert sidecar["sha256"] == a["sha256"]


def test_interrupted_training_resumes_to_the_same_weights(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    train("sci", steps=6, out=str(tmp_path / "full"), **FAST)

    calls = interrupt_sci_at_step(5, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train("sci", steps=6, out=str(tmp_path / "resumed"), checkpoint_every=2, **FAST)
    calls["n"] = -100
    train("sci", steps=6, out=str(tmp_path / "resumed"), resume=True, checkpoint_every=2, **FAST)
    assert calls["n"] == -100 + 2  # steps 5 and 6 recomputed (the checkpoint at step 4 was kept)
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "resumed")
    assert all(torch.equal(full[k], resumed[k]) for k in full)



def test_resume_with_a_longer_budget_records_both_budgets_and_restarts_the_schedule(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    from benchmark import training

    first = train("sci", steps=4, out=str(tmp_path / "run"), checkpoint_every=2, **FAST)
    assert first["budgets"] == [[0, 4]]
    seen = []
    original = training.lr_at
    monkeypatch.setattr(training, "lr_at", lambda step, total, recipe: seen.append((step, total)) or original(step, total, recipe))
    extended = train("sci", steps=8, out=str(tmp_path / "run"), resume=True, checkpoint_every=2, **FAST)
    assert extended["steps"] == 8 and extended["budgets"] == [[0, 4], [4, 8]]
    assert seen == [(step, 8) for step in range(4, 8)]  # only the new steps ran, on the new budget's schedule
    again = train("sci", steps=8, out=str(tmp_path / "run"), resume=True, checkpoint_every=2, **FAST)
    assert again["budgets"] == [[0, 4], [4, 8]]  # resuming a finished run with the same budget adds nothing

def test_increasing_budgets_train_like_a_run_resumed_with_each(tmp_path, monkeypatch):
    """--steps 4,8 is one command for what did's extended training was (4 steps, then resumed to 8):
    the same schedule, weights and recorded budgets, so an ablation can repeat it exactly."""
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    from benchmark import training

    train("sci", steps=4, out=str(tmp_path / "extended"), **FAST)
    extended = train("sci", steps=8, out=str(tmp_path / "extended"), resume=True, **FAST)
    seen = []
    original = training.lr_at
    monkeypatch.setattr(training, "lr_at", lambda step, total, recipe: seen.append((step, total)) or original(step, total, recipe))
    listed = train("sci", steps=[4, 8], out=str(tmp_path / "listed"), **FAST)
    assert seen == [(step, 4) for step in range(4)] + [(step, 8) for step in range(4, 8)]
    assert listed["budgets"] == extended["budgets"] == [[0, 4], [4, 8]] and listed["steps"] == 8
    a, b = weights(tmp_path / "extended"), weights(tmp_path / "listed")
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(BenchmarkError, match=r"budgets \[\[0, 4\], \[4, 8\]\], not the \[\[0, 3\], \[3, 8\]\]"):
        train("sci", steps=[3, 8, 9], out=str(tmp_path / "listed"), resume=True, **FAST)


def test_increasing_budgets_interrupted_in_the_first_budget_resume_with_the_same_command(tmp_path, monkeypatch):
    """An ablation trained with --steps 4,8 and stopped at step 2 resumes with --steps 4,8 to did's weights."""
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    train("sci", steps=[4, 8], out=str(tmp_path / "full"), **FAST)
    calls = interrupt_sci_at_step(3, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train("sci", steps=[4, 8], out=str(tmp_path / "resumed"), checkpoint_every=2, **FAST)
    with pytest.raises(BenchmarkError, match=r"trained to step 2 with budgets \[\[0, 4\]\], not the \[\[0, 3\]\]"):
        train("sci", steps=[3, 8], out=str(tmp_path / "resumed"), resume=True, **FAST)  # another schedule so far
    calls["n"] = -100
    resumed = train("sci", steps=[4, 8], out=str(tmp_path / "resumed"), resume=True, checkpoint_every=2, **FAST)
    assert resumed["budgets"] == [[0, 4], [4, 8]]
    a, b = weights(tmp_path / "full"), weights(tmp_path / "resumed")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_finished_run_extended_with_a_longer_budget_list_trains_like_it_from_scratch(tmp_path, monkeypatch):
    """When did's budget grows (--steps 4,8 -> 4,8,12), an ablation finished at 8 resumes from its final
    state (carried by scripts/carry_training_states.sh) to the weights it would have from step 0."""
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    train("sci", steps=[4, 8], out=str(tmp_path / "extended"), **FAST)
    extended = train("sci", steps=[4, 8, 12], out=str(tmp_path / "extended"), resume=True, **FAST)
    scratch = train("sci", steps=[4, 8, 12], out=str(tmp_path / "scratch"), **FAST)
    assert extended["budgets"] == scratch["budgets"] == [[0, 4], [4, 8], [8, 12]]
    a, b = weights(tmp_path / "extended"), weights(tmp_path / "scratch")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("steps,message", [("8000,4000", "--steps must be a positive count or increasing counts"),
                                           ("0", "--steps must be a positive count"),
                                           ("4000,x", "'4000,x' is not a step count")])
def test_bad_step_budgets_exit_2_before_training(steps, message, capsys, tmp_path):
    from benchmark.cli import main

    try:
        code = main(["train", "sci", "--steps", steps, "--out", str(tmp_path / "run")])
    except SystemExit as stop:  # argparse's own errors: the usage line, then the error
        code = stop.code
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_paired_data_is_reproducible_and_in_range(monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    data = PairedData(None, (32, 128), 10, seed=0, log=lambda *a: None)
    c1, d1 = data.batch(7, 4)
    c2, d2 = data.batch(7, 4)
    assert torch.equal(c1, c2) and torch.equal(d1, d2)
    assert c1.shape == d1.shape == (4, 3, 32, 128)
    assert 0 <= float(d1.min()) and float(d1.max()) <= 1
    assert not torch.equal(data.batch(8, 4)[0], c1)
    assert float(d1.mean()) < float(c1.mean())  # darkened on average


def test_untrainable_and_unknown_preset():
    with pytest.raises(BenchmarkError, match="not trainable"):
        train("clahe", steps=1, **FAST)
    with pytest.raises(BenchmarkError, match="presets"):
        train("sci", preset="huge", steps=1, **FAST)


def test_checkpoint_errors_say_how_to_fix(tmp_path):
    with pytest.raises(RestorerError, match="python -m benchmark train sci --checkpoint-preset compact"):
        load_checkpoint("sci", "compact", str(tmp_path / "missing.pt"))
    path = str(tmp_path / "sci-compact.pt")
    save_checkpoint(path, {"w": torch.ones(3)}, {"method": "sci", "preset": "compact", "config": {}})
    state, meta = load_checkpoint("sci", "compact", path)
    assert torch.equal(state["w"], torch.ones(3)) and meta["storage"] == "fp16"
    with pytest.raises(RestorerError, match="is for 'sci', not 'did'"):
        load_checkpoint("did", "compact", path)
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(RestorerError, match="corrupt"):
        load_checkpoint("sci", "compact", path)
    os.remove(str(tmp_path / "sci-compact.json"))
    with pytest.raises(RestorerError, match="no metadata file"):
        load_checkpoint("sci", "compact", path)


def test_trained_checkpoint_loads_as_a_restorer(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    train("sci", steps=2, out=str(tmp_path), **FAST)
    restorer = SCI(checkpoint=str(tmp_path / "sci-compact.pt"))
    x = torch.rand(2, 3, 20, 50) * 0.3
    y = restorer.restore(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert restorer.info()["sha256"] and restorer.info()["steps"] == 2


def test_a_later_stage_trained_alone_records_the_earlier_ones(tmp_path):
    """`--stage diffusion` after `--stage autoencoder`: the checkpoint's metadata covers both."""
    out = str(tmp_path)
    train("ldm", steps=2, out=out, stage="autoencoder", **FAST)
    meta = train("ldm", steps=2, out=out, stage="diffusion", **FAST)
    autoencoder = torch.load(os.path.join(out, "state-autoencoder.pt"), weights_only=False)
    assert set(meta["final_loss"]) == {"autoencoder", "diffusion"}
    assert meta["final_loss"]["autoencoder"] == pytest.approx(sum(autoencoder["losses"]) / 2)
    assert meta["train_seconds"] >= autoencoder["seconds"]


def test_each_stage_trains_on_its_own_crop_size(tmp_path, monkeypatch):
    """LDM's autoencoder trains on 64 px crops, its latent U-Net at the 80 px canvas it samples on."""
    seen = []
    batch = PairedData.batch

    def recording(self, step, size, crop=None):
        clean, dark = batch(self, step, size, crop)
        seen.append(tuple(clean.shape[-2:]))
        return clean, dark

    monkeypatch.setattr(PairedData, "batch", recording)
    out = str(tmp_path)
    train("ldm", steps=1, out=out, stage="autoencoder", **FAST)
    after_autoencoder = len(seen)
    meta = train("ldm", steps=1, out=out, stage="diffusion", **FAST)
    assert set(seen[:after_autoencoder]) == {(64, 128)} and set(seen[after_autoencoder:]) == {(80, 160)}
    assert meta["throughput"]["stage_crops"] == {"autoencoder": [64, 128], "diffusion": [80, 160]}
    assert meta["config"]["canvas_height"] == 80
