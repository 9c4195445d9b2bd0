"""The training pipeline: pairs made like test inputs, no mirrored glyphs, a validation split that
never touches a test set or the training pool, and the flat-curve rule that stops a run."""
import hashlib
import os

import numpy as np
import torch

import degradations
from benchmark import datasets
from benchmark.training import TRAIN_SETS, PairedData, Validation, flattened, to_tensor, train, validation_ids
from restorers.canvas import resize

from .conftest import STR_ROOT, needs_str


def ramp(width: int, height: int = 20) -> np.ndarray:
    """A crop whose columns rise from dark to bright: mirrored copies would fall again."""
    row = np.linspace(0, 255, width).astype(np.uint8)
    return np.repeat(np.repeat(row[None, :, None], height, 0), 3, 2)


def test_a_pair_is_degraded_at_native_resolution_then_resized(monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    data = PairedData(None, (40, 64), 1, seed=0, log=lambda *a: None, exclude={})
    data.images = [datasets.synth.render(3)[1]]  # one crop, wider than the window once resized
    data.ranges = dict(data.ranges, noise_only_fraction=0.0)
    rng = np.random.default_rng(5)
    clean, dark = data.pair(rng)
    # replay the same random draws: cell, crop, degradation seed, stretch, window
    rng = np.random.default_rng(5)
    b, sigma = data.sample_cell(rng)
    image = data.images[int(rng.integers(0, 1))]
    expected_dark = degradations.did(image, b, sigma, int(rng.integers(0, 2 ** 62)))
    stretch = rng.uniform(0.85, 1.15)
    size = (40, int(round(image.shape[1] * 40 / image.shape[0] * stretch)))
    x0 = int(rng.integers(0, size[1] - 64 + 1))
    assert torch.allclose(dark, resize(to_tensor(expected_dark), size)[0, :, :, x0:x0 + 64].clamp(0, 1))
    assert torch.allclose(clean, resize(to_tensor(image), size)[0, :, :, x0:x0 + 64].clamp(0, 1))


def test_narrow_crops_are_followed_by_further_crops_not_mirrored(monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    data = PairedData(None, (20, 200), 1, seed=0, log=lambda *a: None, exclude={})
    data.images = [ramp(40)]  # ~40 px wide at height 20: five copies fill the window
    clean, _ = data.batch(0, 2)
    profile = clean[0, 0, 10].numpy()
    falls = np.where(np.diff(profile) < -0.5)[0]  # the jumps back to dark where a new copy starts
    assert len(falls) >= 3
    segments = np.split(profile, falls + 1)
    for segment in segments:  # within each copy the ramp only rises: nothing is reflected
        assert (np.diff(segment) > -1e-3).all()


@needs_str
def test_validation_split_is_disjoint_from_every_test_set_and_the_training_pool():
    digest = lambda image: hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()
    validation = Validation(STR_ROOT, "cpu", log=lambda *a: None)
    assert len(validation.samples) == sum(len(v) for v in validation_ids().values()) == 100
    held_out = {digest(image) for _, image, _ in validation.samples}
    present = [name for name in datasets.TEST_SETS if os.path.isdir(os.path.join(STR_ROOT, name))]
    assert {"iiit5k", "svt", "ic13_857"} <= set(present)
    for name in present:  # every test set the data root holds
        test_set = {digest(s.image) for s in datasets.load(name, STR_ROOT, protocol="printable94").samples}
        assert not held_out & test_set, f"validation crops found in the {name} test set"
    pool = PairedData(STR_ROOT, (32, 128), 0, seed=0, log=lambda *a: None)
    assert not held_out & {digest(image) for image in pool.images}
    assert set(validation_ids()) <= set(TRAIN_SETS)


def point(step, ned, psnr, sampler=None):
    p = {"step": step, "one_step": {"mean": {"ned": ned, "psnr": psnr, "accuracy": 0.0}}}
    if sampler is not None:
        p["sampler"] = {"mean": {"ned": sampler, "psnr": psnr, "accuracy": 0.0}}
    return p


def test_flattened_needs_a_flat_last_third_of_both_readouts():
    rising = [point(s, 0.3 + 0.01 * k, 12 + 0.2 * k) for k, s in enumerate(range(250, 3001, 250))]
    assert not flattened(rising)
    plateau = [point(s, min(0.5, 0.3 + 0.05 * k) + 0.003 * (-1) ** k, min(15.0, 12 + k)) for k, s in
               enumerate(range(250, 3001, 250))]
    assert flattened(plateau)
    assert not flattened(plateau[:6])  # too few points to tell
    with_sampler = lambda values: [point(p["step"], p["one_step"]["mean"]["ned"], p["one_step"]["mean"]["psnr"],
                                         values.get(p["step"])) for p in plateau]
    assert not flattened(with_sampler({1000: 0.5, 2000: 0.6, 3000: 0.7}))  # the sampler still improves
    assert not flattened(with_sampler({3000: 0.7}))  # too few sampler points to tell
    assert flattened(with_sampler({1000: 0.5, 2000: 0.71, 3000: 0.7}))  # its last two points agree


def test_training_records_validation_curves_and_stops_when_flat(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    import benchmark.training as training

    monkeypatch.setattr(training, "flattened", lambda points, **_: len(points) >= 2)
    meta = train("sci", steps=10, out=str(tmp_path), device="cpu", progress=False, synth_count=8,
                 log=lambda *a: None, validate_every=2)
    curve = meta["validation"]["stages"]["main"]
    assert [p["step"] for p in curve["points"]] == [2, 4]  # stopped at the second validation
    assert curve["stopped_early"] and meta["steps"] == 4 and meta["max_steps"] == 10
    for cell in ("b0.6_n0.02", "b0.5_n0.1", "b0.4_n0.25", "mean"):
        scores = curve["points"][-1]["one_step"][cell]
        assert 0 <= scores["ned"] <= 1 and 0 <= scores["accuracy"] <= 1 and scores["psnr"] > 0
