import subprocess
import sys

import cv2
import numpy as np
import pytest

import degradations
from degradations import CLEAN, Cell, DegradationError, build_grid, degradation_seed, degrade, did, physical


def reference_did(image, b, sigma, seed):
    """The DiD authors' four steps written out plainly, independently of degradations.models."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    v = hsv[:, :, 2].astype(np.float64)
    hsv[:, :, 2] = (v * b).astype(np.uint8)  # astype truncates toward zero: floor for v*b >= 0
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / np.float32(255)
    noise = np.random.default_rng(seed).standard_normal(image.shape, dtype=np.float32)
    return np.clip(rgb + np.float32(sigma) * noise, 0, 1)


@pytest.mark.parametrize("b,sigma", [(0.5, 0.05), (0.4, 0.4), (0.1, 0.2), (0.37, 0.0), (0.9, 0.15)])
def test_did_matches_reference_bit_for_bit(synth_images, b, sigma):
    for sample_id, image, _ in synth_images[:6]:
        seed = degradation_seed(0, "synth", sample_id, Cell(b, sigma))
        ours = did(image, b, sigma, seed)
        assert ours.dtype == np.float32 and ours.shape == image.shape
        assert np.array_equal(ours, reference_did(image, b, sigma, seed))


def test_did_random_images_match_reference(rng):
    for _ in range(5):
        image = rng.integers(0, 256, (rng.integers(5, 40), rng.integers(5, 90), 3), dtype=np.uint8)
        b, sigma = float(rng.uniform(0.05, 1.0)), float(rng.uniform(0, 0.5))
        assert np.array_equal(did(image, b, sigma, 7), reference_did(image, b, sigma, 7))


def test_did_value_channel_is_truncated_max_rgb(rng):
    # OpenCV 8-bit HSV: V = max(R, G, B); the darkened image's V must be floor(V * b).
    image = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    for b in (0.5, 0.4, 0.13):
        dark = np.round(did(image, b, 0.0, 0) * 255).astype(np.int64)
        assert np.array_equal(dark.max(axis=2), np.floor(image.max(axis=2).astype(np.float64) * b).astype(np.int64))


def test_did_b1_sigma0_is_identity(rng):
    image = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    assert np.array_equal(did(image, 1.0, 0.0, 0), image.astype(np.float32) / 255)


def test_did_quantize_option_floors(rng):
    image = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    x = did(image, 0.5, 0.1, 3, quantize=True)
    assert np.array_equal(x * 255, np.floor(did(image, 0.5, 0.1, 3) * np.float32(255)))


def test_noise_statistics_and_clipping():
    image = np.full((200, 200, 3), 128, np.uint8)
    x = did(image, 1.0, 0.1, 5)
    assert 0 <= x.min() and x.max() <= 1
    assert abs(float(x.std()) - 0.1) < 0.003 and abs(float(x.mean()) - 128 / 255) < 0.003


def test_noise_depends_only_on_sample_and_cell(synth_images):
    sample_id, image, _ = synth_images[0]
    cell = Cell(0.4, 0.2)
    a = degrade(image, cell, degradation_seed(0, "synth", sample_id, cell))
    b = degrade(image, cell, degradation_seed(0, "synth", sample_id, cell))
    assert np.array_equal(a, b)
    other_cell = degrade(image, Cell(0.4, 0.2000001), degradation_seed(0, "synth", sample_id, Cell(0.4, 0.2000001)))
    assert np.array_equal(a, other_cell)  # rounds to the same cell
    assert not np.array_equal(a, degrade(image, cell, degradation_seed(1, "synth", sample_id, cell)))
    assert not np.array_equal(a, degrade(image, cell, degradation_seed(0, "synth", "other", cell)))


def test_stable_seed_is_stable_across_processes():
    code = "from degradations import stable_seed; print(stable_seed('x', 1, 0.1))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(h)}).stdout.strip() for h in (1, 2)}
    assert len(outs) == 1 and outs.pop() == str(degradations.stable_seed("x", 1, 0.1))


def test_clean_cell_returns_clean_image_for_every_model(rng):
    image = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    for model in degradations.MODELS:
        assert np.array_equal(degrade(image, CLEAN, 0, model), image.astype(np.float32) / 255)


def test_physical_model_scales_linear_light(rng):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    x = physical(image, 0.25, 0.0, 0, shot_gain=0.0)
    linear = degradations.srgb_to_linear(x)
    expected = np.round(degradations.srgb_to_linear(image / 255.0) * 0.25 * 255) / 255
    assert np.allclose(linear, expected, atol=1e-5)


def test_physical_model_poisson_variance():
    image = np.full((300, 300, 3), 255, np.uint8)
    gain, b = 0.01, 0.5
    linear = degradations.srgb_to_linear(physical(image, b, 0.0, 1, shot_gain=gain))
    # Poisson: variance = gain * mean in linear units (plus 8-bit quantization, var 1/(12*255^2))
    assert abs(linear.mean() - b) < 0.002
    assert abs(linear.var() - (gain * b + 1 / (12 * 255 ** 2))) / (gain * b) < 0.05


def test_srgb_round_trip():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    assert np.allclose(degradations.linear_to_srgb(degradations.srgb_to_linear(x)), x, atol=1e-6)


def test_grid_axes_and_presets():
    did_grid = build_grid("brightness,noise", preset="did")
    assert did_grid[0] == CLEAN and len(did_grid) == 1 + 2 * 8
    assert {c.brightness for c in did_grid[1:]} == {0.5, 0.4}
    assert sorted({c.noise for c in did_grid[1:]}) == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    only_b = build_grid("brightness", brightness=[0.5, 0.2])
    assert only_b == [CLEAN, Cell(0.5, 0), Cell(0.2, 0)]
    only_n = build_grid("noise", noise=[0.1])
    assert only_n == [CLEAN, Cell(1, 0.1)]
    default = build_grid()
    assert min(c.brightness for c in default) <= 0.1  # goes darker than DiD
    assert 0.5 in {c.brightness for c in default}
    assert min(c.noise for c in default if c.noise) == 0.05 and max(c.noise for c in default) == 0.4


@pytest.mark.parametrize("kwargs,message", [
    (dict(axes="brightness", brightness=[0.0]), "brightness must be in (0, 1]"),
    (dict(axes="brightness", brightness=[1.5]), "brightness must be in (0, 1]"),
    (dict(axes="noise", noise=[-0.1]), "noise std must be >= 0"),
    (dict(axes="brightness,blur"), "unknown grid axis 'blur'"),
    (dict(axes="noise,noise"), "repeated"),
    (dict(axes="noise", preset="paper"), "unknown preset"),
])
def test_grid_rejects_bad_values(kwargs, message):
    with pytest.raises(DegradationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_grid(**kwargs)


def test_parse_values_rejects_text():
    with pytest.raises(DegradationError, match="not a number"):
        degradations.parse_values("0.1,abc", "noise")
    with pytest.raises(DegradationError, match="finite"):
        degradations.parse_values("nan", "noise")


def test_did_rejects_bad_input():
    with pytest.raises(DegradationError, match="uint8"):
        did(np.zeros((4, 4, 3), np.float32), 0.5, 0.1, 0)
    with pytest.raises(DegradationError, match="brightness"):
        did(np.zeros((4, 4, 3), np.uint8), 0.0, 0.1, 0)


def test_srgb_transfer_matches_the_standard_on_arrays_and_tensors():
    """One sRGB transfer serves the physical model (numpy) and DiD's normalization (torch, with
    gradients): both give the IEC 61966-2-1 values written out here."""
    import torch

    x = np.array([0.0, 0.02, 0.04045, 0.5, 1.0], np.float32)
    expected = np.array([0.0, 0.02 / 12.92, 0.04045 / 12.92, ((0.5 + 0.055) / 1.055) ** 2.4, 1.0])
    assert np.allclose(degradations.srgb_to_linear(x), expected, atol=1e-7)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    linear = degradations.srgb_to_linear(t)
    assert linear.dtype == torch.float64 and np.allclose(linear.detach().numpy(), expected, atol=1e-12)
    linear.sum().backward()
    assert torch.isclose(t.grad[1], torch.tensor(1 / 12.92, dtype=torch.float64))
    back = degradations.linear_to_srgb(torch.tensor(expected))
    assert np.allclose(back.numpy(), x, atol=1e-7)
