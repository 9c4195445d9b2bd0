"""DiD's mathematics, tested apart from training."""
import pytest
import torch

from restorers import did
from restorers.canvas import resize, tile, untile
from restorers.diffusion.samplers import edm_heun
from restorers.diffusion.schedules import karras_sigmas


def test_karras_sigmas():
    t = karras_sigmas(18, 0.002, 80.0, 7.0)
    assert len(t) == 19 and t[0] == pytest.approx(80.0) and t[17] == pytest.approx(0.002) and t[18] == 0
    assert torch.all(t[:-1] > t[1:])
    # eq. 5 at i = 9 by hand
    expected = (80 ** (1 / 7) + 9 / 17 * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7
    assert float(t[9]) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("mu,s", [(0.3, 0.5), (-1.0, 0.2)])
def test_heun_with_oracle_denoiser_reaches_the_data_distribution(mu, s):
    # data ~ N(mu, s^2) per pixel; the exact denoiser is the posterior mean E[y | y + sigma n].
    oracle = lambda x, sigma: mu + s ** 2 / (s ** 2 + sigma ** 2) * (x - mu)
    sigmas = karras_sigmas(18, 0.002, 80.0, 7.0)
    x0 = torch.randn(20_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * float(sigmas[0])
    calls = []
    out = edm_heun(lambda x, t: calls.append(t) or oracle(x, t), x0, sigmas)
    assert len(calls) == 2 * 18 - 1  # 35 network evaluations
    # the sample follows the data distribution N(mu, s^2) ...
    assert float(out.mean()) == pytest.approx(mu, abs=0.02)
    assert float(out.std()) == pytest.approx(s, rel=0.1)  # 18 steps: <10% discretization error
    # ... because the sampler integrates the probability-flow ODE, whose exact solution for Gaussian
    # data keeps (x - mu) / sqrt(s^2 + t^2) constant: compare sample by sample.
    # The numerical solution is then the exact one times a gain that tends to 1 with more steps.
    exact = mu + (x0 - mu) * s / (s ** 2 + float(sigmas[0]) ** 2) ** 0.5
    gain = (out - mu) / (exact - mu)
    assert float(gain.max() - gain.min()) < 1e-9 and abs(float(gain[0]) - 1) < 0.1
    fine = edm_heun(oracle, x0, karras_sigmas(200, 0.002, 80.0, 7.0))
    fine_gain = (fine - mu) / (exact - mu)
    assert abs(float(fine_gain[0]) - 1) < 1e-3 and abs(float(fine_gain[0]) - 1) < abs(float(gain[0]) - 1) / 20


def test_heun_is_exact_for_a_point_mass():
    # data = a single point: the probability-flow ODE carries every start to it.
    point = torch.tensor([0.25, -0.5])
    out = edm_heun(lambda x, t: point.expand_as(x), torch.randn(4, 2, dtype=torch.float64) * 80,
                   karras_sigmas(18))
    assert torch.allclose(out, point.expand(4, 2).double(), atol=1e-12)


def test_tail_normalization_round_trips():
    norm = did.Normalization("tail")
    g = torch.Generator().manual_seed(1)
    light, dark = torch.rand(8, 3, 16, 16, generator=g), torch.rand(8, 3, 16, 16, generator=g) * 0.3
    norm.fit(light, dark)
    x = torch.rand(4, 3, 20, 30, generator=g, dtype=torch.float64)
    norm64 = norm.double()
    for role in ("light", "dark"):
        assert torch.allclose(norm64.inverse(norm64(x, role), role), x, atol=1e-12)
    x32 = x.float()
    assert torch.allclose(norm.float().inverse(norm.float()(x32, "dark"), "dark"), x32, atol=2e-6)


def test_tail_normalization_statistics():
    norm = did.Normalization("tail")
    g = torch.Generator().manual_seed(2)
    light = torch.rand(16, 3, 32, 32, generator=g)
    norm.fit(light, light * 0.2)
    z = norm(light, "light")
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(z.std(dim=(0, 2, 3)), torch.full((3,), 0.5), atol=1e-4)  # z-score / 2
    # by hand for one value: linearize, 4th root, z-score, / 2
    v = torch.tensor(0.5)
    lin = ((0.5 + 0.055) / 1.055) ** 2.4
    expected = (lin ** 0.25 - norm.mean[0, 0]) / norm.std[0, 0] / 2
    assert float(norm(v.view(1, 1, 1, 1).expand(1, 3, 1, 1), "light")[0, 0]) == pytest.approx(float(expected), rel=1e-5)


def test_plain_normalization():
    norm = did.Normalization("plain")
    x = torch.rand(2, 3, 4, 4)
    assert torch.allclose(norm(x), x * 2 - 1) and torch.allclose(norm.inverse(norm(x)), x)


def test_ilvr_keeps_exactly_the_reference_low_frequencies():
    g = torch.Generator().manual_seed(3)
    x, ref = torch.randn(5, 3, 32, 32, generator=g), torch.randn(5, 3, 32, 32, generator=g)
    for factor in (2, 4):
        out = did.ilvr(x, ref, factor)
        assert torch.allclose(did.low_pass(out, factor), did.low_pass(ref, factor), atol=1e-6)
        assert torch.allclose(out - did.low_pass(out, factor), x - did.low_pass(x, factor), atol=1e-6)
        assert torch.allclose(did.low_pass(did.low_pass(x, factor), factor), did.low_pass(x, factor), atol=1e-6)


def test_tiling_is_exact_and_row_major():
    x = torch.randn(2, 3, 64, 96)
    patches = tile(x, 32)
    assert patches.shape == (2 * 2 * 3, 3, 32, 32)
    assert torch.equal(patches[4], x[0, :, 32:64, 32:64])  # image 0, row 1, column 1
    assert torch.equal(patches[6], x[1, :, 0:32, 0:32])
    assert torch.equal(untile(patches, 2, 64, 96), x)
    with pytest.raises(ValueError):
        tile(torch.zeros(1, 3, 40, 64), 32)


@pytest.mark.parametrize("h,w,expected", [(40, 40, [(32, 32), (32, 32), (64, 64)]),
                                          (50, 150, [(32, 32), (32, 96), (64, 192)]),
                                          (20, 400, [(32, 32), (32, 192), (64, 384)])])
def test_scale_ladder_keeps_aspect_in_whole_squares(h, w, expected):
    assert [did.canvas(s, h, w, 32, 6) for s in range(3)] == expected


def tiny_config(**change):
    config = did.variant_config("did", "compact")
    config.update(channels=8, channel_mult=[1, 2], attention_levels=[1], lpips_weight=0.0, eta_cy1=0.0, eta_cy2=0.0)
    config.update(change)
    return config


def noise_free_conditions(trainer, clean, dark, i):
    """Patch i's target and [c_x, c_y1, c_y2] as the module doc specifies them, without eta."""
    norm = trainer.net.normalization
    x0, width, s, py, px = trainer.last_windows[i]
    y_full, x_full = clean[i:i + 1, :, :, x0:x0 + width], dark[i:i + 1, :, :, x0:x0 + width]
    cv = did.canvas(s, 64, width, 32, 6)
    window = (..., slice(py, py + 32), slice(px, px + 32))
    c_x = norm(resize(x_full, cv), "dark")[window]
    target = norm(resize(y_full, cv), "light")[window]
    if s == 0:  # the whole crop as one 32x32 patch, conditioned on [dark, dark, dark]
        assert cv == (32, 32) and (py, px) == (0, 0)
        return target, torch.cat([c_x, c_x, c_x], 1)
    # [dark at s, light at s-1 upsampled, light at 0 upsampled]
    prev = did.canvas(s - 1, 64, width, 32, 6)
    c_y1 = resize(norm(resize(y_full, prev), "light"), cv)[window]
    c_y2 = resize(norm(resize(y_full, (32, 32)), "light"), cv)[window]
    return target, torch.cat([c_x, c_y1, c_y2], 1)


def patches(change=None, n=12, seed=7):
    from restorers.training import Recipe

    trainer = did.DiDTrainer(Recipe("did", "compact", tiny_config(**(change or {})), 1, 8, (64, 384), 1e-3))
    g = torch.Generator().manual_seed(5)
    clean, dark = torch.rand(n, 3, 64, 384, generator=g), torch.rand(n, 3, 64, 384, generator=g) * 0.3
    trainer.net.normalization.fit(clean, dark)
    return trainer, clean, dark, trainer.training_patches(clean, dark, torch.Generator().manual_seed(seed))


def test_training_conditions_have_the_specified_content():
    trainer, clean, dark, (targets, conds, scales) = patches()
    assert targets.shape == (12, 3, 32, 32) and conds.shape == (12, 9, 32, 32)
    assert [w[2] for w in trainer.last_windows] == scales.tolist() and set(scales.tolist()) == {0, 1, 2}
    for i in range(len(targets)):
        target, expected = noise_free_conditions(trainer, clean, dark, i)
        assert torch.equal(targets[i:i + 1], target)
        assert torch.allclose(conds[i:i + 1], expected, atol=1e-6)


def test_eta_is_on_c_y1_only_with_a_size_drawn_per_patch():
    """The authors' code: c_y1 + randn * U(0, 1) per patch, c_y2 and c_x untouched."""
    trainer, clean, dark, (targets, conds, scales) = patches({"eta_cy1": 1.0}, n=48)
    sizes = []
    for i in torch.nonzero(scales > 0).flatten().tolist():
        _, expected = noise_free_conditions(trainer, clean, dark, i)
        residual = conds[i] - expected[0]
        assert torch.allclose(residual[:3], torch.zeros(3, 32, 32), atol=1e-6)  # c_x
        assert torch.allclose(residual[6:], torch.zeros(3, 32, 32), atol=1e-6)  # c_y2
        sizes.append(float(residual[3:6].std()))
    assert len(sizes) > 20 and 0 <= min(sizes) < 0.3 and 0.7 < max(sizes) < 1.05
    assert 0.35 < sum(sizes) / len(sizes) < 0.65  # U(0, 1) has mean 0.5


def test_no_cy2_drops_its_channels():
    trainer, clean, dark, (targets, conds, scales) = patches({"use_cy2": False})
    assert conds.shape[1] == 6
    for i in range(len(targets)):
        assert torch.allclose(conds[i:i + 1], noise_free_conditions(trainer, clean, dark, i)[1][:, :6], atol=1e-6)


def test_an_ablation_trained_unlike_did_is_named():
    """An ablation's score difference from did means the ablation only when nothing else differs."""
    from restorers.did import steps_option, training_differences

    did = {"steps": 4000, "seed": 0, "training_data": {"iiit5k_train": 1960},
           "config": {"channels": 32, "lpips_weight": 0.1, "scales": 3}}
    same_budget = dict(did, config=dict(did["config"], lpips_weight=0.0))
    assert training_differences(same_budget, did, {"lpips_weight"}) == []
    older = dict(same_budget, steps=2000, config=dict(same_budget["config"], channels=16))
    assert training_differences(older, did, {"lpips_weight"}) == ["steps 2000 vs 4000", "channels 16 vs 32"]
    assert training_differences(dict(same_budget, training_data={}), did, {"lpips_weight"}) == ["other training data"]
    extended = dict(did, steps=8000, budgets=[[0, 4000], [4000, 8000]])  # did resumed with a longer budget
    one_schedule = dict(same_budget, steps=8000, budgets=[[0, 8000]])
    assert training_differences(one_schedule, extended, {"lpips_weight"}) == [
        "budgets [[0, 8000]] vs [[0, 4000], [4000, 8000]]"]
    assert training_differences(dict(one_schedule, budgets=extended["budgets"]), extended, {"lpips_weight"}) == []
    assert steps_option(extended) == "4000,8000" and steps_option(did) == "4000"
    assert steps_option(dict(extended, budgets=[[0, 4000], [3250, 8000]])) == "<did's steps>"  # not one --steps
