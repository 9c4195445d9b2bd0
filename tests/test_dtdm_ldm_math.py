"""DTDM's and LDM's mathematics, tested apart from training."""
import pytest
import torch

from restorers.diffusion.samplers import ddim, spaced_timesteps
from restorers.diffusion.schedules import alpha_bars, linear_betas, sqrt_linear_betas
from restorers.dtdm import DomainTransform


@pytest.fixture(scope="module")
def process():
    return DomainTransform(truncation=250)


def test_forward_chain_has_the_stated_marginals(process):
    # Run the Markov chain q(z_t | z_{t-1}) from z_0 = y and compare with the closed form.
    g = torch.Generator().manual_seed(0)
    n = 200_000
    y, x = torch.tensor(0.8, dtype=torch.float64), torch.tensor(0.1, dtype=torch.float64)
    z = torch.full((n,), 0.8, dtype=torch.float64)
    for t in range(1, process.S + 1):
        z = process.forward_step(z, y, x, t, torch.randn(n, generator=g, dtype=torch.float64))
        if t in (50, process.S):
            a, e = float(process.abar[t]), t / process.S
            assert float(z.mean()) == pytest.approx(a ** 0.5 * ((1 - e) * 0.8 + e * 0.1), abs=5e-3)
            assert float(z.var()) == pytest.approx(1 - a, rel=0.01)
    # at t = S the clean image is gone: z_S = sqrt(abar_S) x + sqrt(1 - abar_S) eps
    a = float(process.abar[process.S])
    assert float(z.mean()) == pytest.approx(a ** 0.5 * 0.1, abs=5e-3)
    eps = torch.randn(5, generator=g, dtype=torch.float64)
    xs = torch.rand(5, dtype=torch.float64)
    assert torch.allclose(process.start(xs, eps), a ** 0.5 * xs + (1 - a) ** 0.5 * eps)
    assert torch.allclose(process.marginal(torch.rand(5, dtype=torch.float64), xs, process.S, eps),
                          process.start(xs, eps))


@pytest.mark.parametrize("steps", [1, 4, 10, 250])
def test_reverse_with_oracle_y_predictor_returns_y(process, steps):
    g = torch.Generator().manual_seed(1)
    y, x = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64), torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    z_s = process.start(x, torch.randn(y.shape, generator=g, dtype=torch.float64))
    seen = []
    out = process.reverse(lambda z, t: seen.append(t) or y, x, z_s, steps)
    assert len(seen) == steps and seen[0] == process.S
    assert torch.allclose(out, y, atol=1e-12)


def test_ldm_schedule_matches_its_formula():
    betas = sqrt_linear_betas(1000, 0.0015, 0.0195)
    assert float(betas[0]) == pytest.approx(0.0015) and float(betas[-1]) == pytest.approx(0.0195)
    k = 417
    expected = (0.0015 ** 0.5 + k / 999 * (0.0195 ** 0.5 - 0.0015 ** 0.5)) ** 2
    assert float(betas[k]) == pytest.approx(expected, rel=1e-12)
    roots = betas.sqrt()
    assert torch.allclose(roots[1:] - roots[:-1], torch.full((999,), float(roots[1] - roots[0]), dtype=torch.float64))
    abar = alpha_bars(betas)
    assert abar[0] == 1 and float(abar[10]) == pytest.approx(float(torch.prod(1 - betas[:10])), rel=1e-12)


@pytest.mark.parametrize("steps,eta", [(20, 0.0), (50, 0.0), (1000, 0.0), (20, 1.0)])
def test_ddim_with_oracle_eps_returns_the_starting_latent(steps, eta):
    abar = alpha_bars(sqrt_linear_betas(1000, 0.0015, 0.0195))
    g = torch.Generator().manual_seed(2)
    z0 = torch.randn(3, 4, 8, 16, generator=g, dtype=torch.float64)
    # the oracle knows z0: eps(z_t, t) = (z_t - sqrt(abar_t) z0) / sqrt(1 - abar_t)
    oracle = lambda z, t: (z - float(abar[t]) ** 0.5 * z0) / (1 - float(abar[t])) ** 0.5
    z_t = float(abar[1000]) ** 0.5 * z0 + (1 - float(abar[1000])) ** 0.5 * torch.randn(z0.shape, generator=g,
                                                                                       dtype=torch.float64)
    out = ddim(oracle, z_t, abar, spaced_timesteps(1000, steps), eta,
               noise=lambda k: torch.randn(z0.shape, generator=g, dtype=torch.float64))
    assert torch.allclose(out, z0, atol=1e-9)


def test_spaced_timesteps():
    assert spaced_timesteps(1000, 4) == [1000, 750, 500, 250, 0]
    assert spaced_timesteps(250, 10)[0] == 250 and spaced_timesteps(250, 10)[-1] == 0
    assert linear_betas(1000)[0] == pytest.approx(1e-4)


@pytest.mark.parametrize("parametrization", ["eps", "edm"])
def test_ldm_noise_estimate_with_an_oracle_network(parametrization):
    """Both parametrizations turn an exact network into the exact noise: "eps" outputs it, "edm"
    derives it from the preconditioned clean-latent estimate D(z_t / sqrt(abar); sigma_t)."""
    from restorers.ldm import LatentDiffusion, make_trainer

    config = dict(make_trainer("ldm", "compact").recipe.config, parametrization=parametrization)
    model = LatentDiffusion(config).double()
    abar = alpha_bars(sqrt_linear_betas(1000, 0.0015, 0.0195))
    g = torch.Generator().manual_seed(6)
    z0 = torch.randn(3, 4, 8, 16, generator=g, dtype=torch.float64)
    eps = torch.randn(z0.shape, generator=g, dtype=torch.float64)
    cond = torch.randn(z0.shape, generator=g, dtype=torch.float64)
    t = torch.tensor([1, 500, 1000])
    a = abar[t].view(-1, 1, 1, 1)
    z_t = a.sqrt() * z0 + (1 - a).sqrt() * eps
    if parametrization == "eps":
        model.unet.forward = lambda inputs, times: eps
    else:
        c_skip = lambda sigma: 1.0 / (sigma ** 2 + 1.0)  # LATENT_SIGMA_DATA = 1
        c_out = lambda sigma: sigma / (sigma ** 2 + 1.0).sqrt()
        sigma = ((1 - a) / a).sqrt()
        x = z_t / a.sqrt()
        # the network output that makes D exactly z_0
        model.unet.net.forward = lambda inputs, noise: (z0 - c_skip(sigma) * x) / c_out(sigma)
    assert torch.allclose(model.predict_eps(z_t, t, cond, abar), eps, atol=1e-8)
