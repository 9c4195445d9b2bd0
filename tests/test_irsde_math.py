"""IR-SDE's mathematics, tested apart from training."""
import math

import pytest
import torch
from scipy.optimize import minimize_scalar

from restorers.diffusion.schedules import cosine_thetas
from restorers.irsde import MeanRevertingSDE


@pytest.fixture(scope="module")
def sde():
    return MeanRevertingSDE(100, 50 / 255)


def test_schedule_reverts_the_mean(sde):
    assert sde.theta[0] == 0 and torch.all(sde.theta[1:] > 0)
    assert math.exp(-float(sde.theta_bar[-1])) == pytest.approx(0.01, rel=1e-9)
    assert torch.allclose(sde.sigma ** 2, 2 * sde.lam ** 2 * sde.theta)
    # cosine schedule by hand for i = 1: 1 - f(1) / f(0), f(u) = cos((u / 102 + s) / (1 + s) pi / 2)^2
    f = lambda u: math.cos((u / 102 + 0.008) / 1.008 * math.pi / 2) ** 2
    assert float(cosine_thetas(100)[1]) == pytest.approx(1 - f(1) / f(0), rel=1e-12)


def test_closed_form_marginal_matches_euler_maruyama(sde):
    # simulate dx = theta_i (mu - x) dt + sigma_i dw with 20 sub-steps per step, many paths
    g = torch.Generator().manual_seed(0)
    x0, mu, n, sub = 0.8, 0.1, 20_000, 20
    x = torch.full((n,), x0, dtype=torch.float64)
    checks = {10: None, 40: None, 100: None}
    h = sde.dt / sub
    for i in range(1, sde.T + 1):
        theta, sigma = float(sde.theta[i]), float(sde.sigma[i])
        for _ in range(sub):
            x = x + theta * (mu - x) * h + sigma * math.sqrt(h) * torch.randn(n, generator=g, dtype=torch.float64)
        if i in checks:
            checks[i] = (float(x.mean()), float(x.var()))
    for i, (mean, var) in checks.items():
        m = float(sde.mean(torch.tensor(x0, dtype=torch.float64), torch.tensor(mu, dtype=torch.float64), i))
        v = float(sde.variance(i))
        assert mean == pytest.approx(m, abs=4 * math.sqrt(v / n) + 1e-4)
        assert var == pytest.approx(v, rel=0.05)
    assert checks[100][1] == pytest.approx(sde.lam ** 2, rel=0.05)  # stationary variance lambda^2


@pytest.mark.parametrize("i", [1, 2, 17, 60, 100])
def test_optimal_previous_state_is_the_posterior_mode(sde, i):
    x0, mu, xi = 0.7, 0.15, 0.42
    ts = float(sde.theta_step[i])
    prev_mean = lambda x: mu + (x - mu) * math.exp(-ts)  # p(x_i | x_{i-1})
    transition_var = sde.lam ** 2 * (1 - math.exp(-2 * ts))
    m_prev = float(sde.mean(torch.tensor(x0, dtype=torch.float64), torch.tensor(mu, dtype=torch.float64), i - 1))
    v_prev = float(sde.variance(i - 1))

    def neg_log_posterior(x):
        value = (xi - prev_mean(x)) ** 2 / (2 * transition_var)
        if v_prev > 0:
            value += (x - m_prev) ** 2 / (2 * v_prev)
        return value

    if v_prev == 0:  # i = 1: x_0 is known, the posterior is a point mass at x_0
        mode = x0
    else:
        mode = minimize_scalar(neg_log_posterior, bracket=(-2, 2), tol=1e-12).x
    formula = float(sde.optimal_previous(torch.tensor(xi, dtype=torch.float64), torch.tensor(x0, dtype=torch.float64),
                                         torch.tensor(mu, dtype=torch.float64), i))
    assert formula == pytest.approx(mode, abs=1e-6)


@pytest.mark.parametrize("i,j", [(100, 50), (100, 97), (60, 1), (17, 3), (40, 0)])
def test_a_jump_of_several_steps_is_the_posterior_mode(sde, i, j):
    """p(x_j | x_i, x_0) for the posterior sampler with fewer steps: its mode by minimizing the negative log
    posterior (the forward transition from j to i times the marginal at j), against the closed form."""
    x0, mu, xi = 0.7, 0.15, 0.42
    d = float(sde.theta_bar[i] - sde.theta_bar[j])
    transition_var = sde.lam ** 2 * (1 - math.exp(-2 * d))
    m_j = float(sde.mean(torch.tensor(x0, dtype=torch.float64), torch.tensor(mu, dtype=torch.float64), j))
    v_j = float(sde.variance(j))
    formula = float(sde.optimal_previous(*(torch.tensor(v, dtype=torch.float64) for v in (xi, x0, mu)), i, j))
    if j == 0:  # x_0 is known: a point mass there, and no noise is added
        assert formula == pytest.approx(x0, abs=1e-12) and float(sde.posterior_std(i, j)) == 0.0
        return
    neg_log_posterior = lambda x: (xi - mu - (x - mu) * math.exp(-d)) ** 2 / (2 * transition_var) + (x - m_j) ** 2 / (2 * v_j)
    assert formula == pytest.approx(minimize_scalar(neg_log_posterior, bracket=(-2, 2), tol=1e-12).x, abs=1e-6)
    # a Gaussian's variance is the inverse curvature of its negative log density
    curvature = math.exp(-2 * d) / transition_var + 1 / v_j
    assert float(sde.posterior_std(i, j)) == pytest.approx(curvature ** -0.5, rel=1e-9)


def test_a_one_step_jump_is_the_single_step_posterior(sde):
    x_i, x0, mu = (torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(k)) for k in range(3))
    for i in (1, 2, 50, 100):
        assert torch.equal(sde.optimal_previous(x_i, x0, mu, i, i - 1), sde.optimal_previous(x_i, x0, mu, i))
        assert torch.equal(sde.posterior_std(i, i - 1), sde.posterior_std(i))
    batched = sde.optimal_previous(x_i, x0, mu, torch.tensor([3, 80]))  # per-sample i, as in training
    for k, i in enumerate((3, 80)):
        assert torch.allclose(batched[k], sde.optimal_previous(x_i[k], x0[k], mu[k], i))


def test_per_sample_indexing_matches_scalar(sde):
    x0, mu = torch.rand(3, 3, 4, 4, dtype=torch.float64), torch.rand(3, 3, 4, 4, dtype=torch.float64)
    i = torch.tensor([1, 50, 100])
    batched = sde.mean(x0, mu, i)
    for k in range(3):
        assert torch.allclose(batched[k], sde.mean(x0[k], mu[k], int(i[k])))


def test_preconditioned_noise_predictor_with_an_oracle_denoiser():
    from restorers.irsde import equivalent_sigma, predict_noise

    sde = MeanRevertingSDE(100, 50 / 255)
    g = torch.Generator().manual_seed(4)
    x0 = torch.rand(2, 3, 8, 16, generator=g, dtype=torch.float64)
    mu = 0.3 * x0 + 0.05 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    seen = {}

    def oracle(rescaled, sigma, cond):  # the denoiser returns the clean image minus mu
        seen.update(rescaled=rescaled, sigma=sigma, cond=cond)
        return x0 - mu

    for i in (1, 30, 100):
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        x_i = sde.mean(x0, mu, i) + sde.variance(i).sqrt() * eps
        assert torch.allclose(predict_noise(oracle, x_i, mu, sde, i), eps, atol=1e-9)
        # the denoiser sees x_0 - mu plus noise of std s_i, and mu as its condition
        assert torch.allclose(seen["rescaled"], x0 - mu + equivalent_sigma(sde)[i] * eps, atol=1e-9)
        assert float(seen["sigma"]) == pytest.approx(float(equivalent_sigma(sde)[i]))
        assert seen["cond"] is mu
    x = mu + sde.lam * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    for i in range(sde.T, 0, -1):
        z = torch.randn(x0.shape, generator=g, dtype=torch.float64) if i > 1 else torch.zeros_like(x)
        x = sde.reverse_step(x, mu, predict_noise(oracle, x, mu, sde, i), i, z)
    assert torch.allclose(x, x0, atol=1e-7)


def test_posterior_std_matches_the_forward_chain():
    """x_{i-1} | x_i, x_0 is Gaussian; its std (residual of the linear regression of x_{i-1} on x_i in
    simulated forward pairs) is what the posterior sampler injects."""
    sde = MeanRevertingSDE(100, 50 / 255)
    g = torch.Generator().manual_seed(0)
    x0, mu, n = 0.8, 0.2, 400_000
    for i in (2, 30, 90):
        prev = sde.mean(torch.full((n,), x0), torch.full((n,), mu), i - 1) + \
            sde.variance(i - 1).sqrt() * torch.randn(n, generator=g, dtype=torch.float64)
        decay = math.exp(-float(sde.theta_step[i]))
        x_i = mu + (prev - mu) * decay + sde.lam * math.sqrt(1 - decay ** 2) * torch.randn(n, generator=g, dtype=torch.float64)
        slope = float(((x_i - x_i.mean()) * (prev - prev.mean())).mean() / x_i.var())
        residual = prev - prev.mean() - slope * (x_i - x_i.mean())
        assert float(residual.std()) == pytest.approx(float(sde.posterior_std(i)), rel=0.01)
    assert float(sde.posterior_std(1)) == 0.0


def test_marginal_noise_misses_the_optimal_step_and_step_matched_lands_on_it():
    """With the exact clean image, the Euler-Maruyama step fed the noise the marginal implies misses the
    loss's target x*_{i-1} (first-order steps up to theta' = 0.41), so the loss's minimizer is not F = x_0;
    the step-matched noise lands on x*_{i-1} exactly."""
    from restorers.irsde import predict_noise

    sde = MeanRevertingSDE(100, 50 / 255)
    g = torch.Generator().manual_seed(2)
    x0 = torch.rand(1, 3, 32, 64, generator=g, dtype=torch.float64)
    mu = 0.3 * x0
    oracle = lambda rescaled, sigma, cond: x0 - mu
    misses = {}
    for i in (1, 50, 90, 95, 100):
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        x_i = sde.mean(x0, mu, i) + sde.variance(i).sqrt() * eps
        target = sde.optimal_previous(x_i, x0, mu, i)
        matched = sde.reverse_mean(x_i, mu, predict_noise(oracle, x_i, mu, sde, i, "step-matched"), i)
        assert torch.allclose(matched, target, atol=1e-10)
        marginal = sde.reverse_mean(x_i, mu, predict_noise(oracle, x_i, mu, sde, i, "marginal"), i)
        # the F the "marginal" loss is minimized by, minus x_0 (the step is linear in F with slope c_i)
        shift = (target - marginal) / sde.clean_coefficient("marginal")[i]
        misses[i] = float(shift.pow(2).mean().sqrt())
    assert misses[1] < 1e-6 and misses[50] < 0.01
    assert misses[90] > 0.04 and misses[95] > 0.15 and misses[100] > 1.5


@pytest.mark.parametrize("kind", ["marginal", "step-matched"])
def test_clean_coefficient_of_each_noise_estimate_is_its_derivative(kind):
    """The loss weight's c_i: d(reverse mean)/dF, checked against autograd."""
    from restorers.irsde import predict_noise

    sde = MeanRevertingSDE(100, 50 / 255)
    g = torch.Generator().manual_seed(6)
    x = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64)
    mu = 0.3 * x
    for i in (1, 7, 50, 100):
        clean = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
        eps_hat = predict_noise(lambda r, s, c: clean - mu, x, mu, sde, i, kind)
        sde.reverse_mean(x, mu, eps_hat, i).sum().backward()
        assert torch.allclose(clean.grad, torch.full_like(clean, float(sde.clean_coefficient(kind)[i])), rtol=1e-9)


def test_step_matched_sampler_with_an_oracle_returns_the_clean_image():
    from restorers.irsde import predict_noise

    sde = MeanRevertingSDE(100, 50 / 255)
    g = torch.Generator().manual_seed(7)
    x0 = torch.rand(2, 3, 8, 16, generator=g, dtype=torch.float64)
    mu = 0.2 * x0 + 0.05 * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    oracle = lambda rescaled, sigma, cond: x0 - mu
    x = mu + sde.lam * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    for i in range(sde.T, 0, -1):
        z = torch.randn(x0.shape, generator=g, dtype=torch.float64) if i > 1 else torch.zeros_like(x)
        x = sde.reverse_step(x, mu, predict_noise(oracle, x, mu, sde, i, "step-matched"), i, z)
    assert torch.allclose(x, x0, atol=1e-9)


def test_checkpoints_before_the_key_keep_the_marginal_noise():
    from restorers.irsde import noise_estimate_of
    from restorers.errors import RestorerError
    from restorers.training import make_trainer

    assert noise_estimate_of({}) == "marginal"
    assert make_trainer("irsde", "compact").recipe.config["noise_estimate"] == "step-matched"
    with pytest.raises(RestorerError, match="noise_estimate"):
        noise_estimate_of({"noise_estimate": "exact"})


def test_step_T_trains_on_the_state_the_sampler_starts_from(monkeypatch):
    """terminal_state "start": at i = T the network sees mu + lambda eps (no residual of x_0), as at sampling;
    the other steps, and checkpoints before the key, see the marginal m_i + sqrt(v_i) eps."""
    from restorers import irsde
    from restorers.errors import RestorerError
    from restorers.training import make_trainer

    trainer = make_trainer("irsde", "compact")
    assert trainer.recipe.config["terminal_state"] == "start"
    seen = {}
    monkeypatch.setattr(irsde, "predict_noise", lambda net, x, mu, sde, i, kind: (seen.update(x=x, i=i), torch.zeros_like(x))[1])
    x0, mu = torch.rand(400, 3, 2, 2), 0.2 * torch.rand(400, 3, 2, 2)
    trainer.loss(x0, mu, torch.Generator().manual_seed(3), "main")
    start, i = seen["x"], seen["i"]
    del trainer.recipe.config["terminal_state"]
    trainer.loss(x0, mu, torch.Generator().manual_seed(3), "main")  # the same draws of i and eps
    marginal, sde = seen["x"], trainer.sde
    assert torch.equal(seen["i"], i)
    eps = (marginal - sde.mean(x0, mu, i)) / sde.variance(i, x0).sqrt()
    last = i == sde.T
    assert 0 < int(last.sum()) < len(i)
    assert torch.allclose(start[last], mu[last] + sde.lam * eps[last], atol=1e-6)
    assert torch.equal(start[~last], marginal[~last])
    with pytest.raises(RestorerError, match="terminal_state"):
        irsde.terminal_state_of({"terminal_state": "end"})


def test_input_perturbation_builds_x_i_with_extra_noise_and_keeps_the_target(monkeypatch):
    """irsde-ip: x_i = m_i + sqrt(v_i) (eps + gamma xi) with a second draw xi, the target still x*_{i-1}(x_i, x_0);
    irsde (gamma 0) draws exactly what it drew before the option existed."""
    from restorers import irsde
    from restorers.training import make_trainer

    plain, perturbed = make_trainer("irsde", "compact"), make_trainer("irsde-ip", "compact")
    assert plain.recipe.config["input_perturbation"] == 0.0 and perturbed.recipe.config["input_perturbation"] == 0.1
    assert perturbed.recipe.method == "irsde-ip"
    seen = {}
    monkeypatch.setattr(irsde, "predict_noise", lambda net, x, mu, sde, i, kind: (seen.update(x=x, i=i), torch.zeros_like(x))[1])
    x0, mu = torch.rand(300, 3, 2, 2), 0.2 * torch.rand(300, 3, 2, 2)
    for trainer in (plain, perturbed):
        trainer.recipe.config["terminal_state"] = "marginal"  # every step on the (perturbed) marginal
    g = torch.Generator().manual_seed(5)
    i = torch.randint(1, plain.sde.T + 1, (300,), generator=g)
    eps, xi = torch.randn(x0.shape, generator=g), torch.randn(x0.shape, generator=g)
    sde = plain.sde
    plain.loss(x0, mu, torch.Generator().manual_seed(5), "main")
    assert torch.equal(seen["i"], i)
    assert torch.allclose(seen["x"], sde.mean(x0, mu, i) + sde.variance(i, x0).sqrt() * eps, atol=1e-6)
    loss, _ = perturbed.loss(x0, mu, torch.Generator().manual_seed(5), "main")
    assert torch.allclose(seen["x"], sde.mean(x0, mu, i) + sde.variance(i, x0).sqrt() * (eps + 0.1 * xi), atol=1e-6)
    # the target is the optimal step from the state the network saw: with eps_hat = 0 the step error is
    # reverse_mean(x_i, 0) - x*_{i-1}(x_i, x_0) for the perturbed x_i
    x_i = seen["x"]
    error = sde.reverse_mean(x_i, mu, torch.zeros_like(x_i), i) - sde.optimal_previous(x_i, x0, mu, i)
    sigma = sde._at(irsde.equivalent_sigma(sde), i, x0)
    weight = irsde.edm_loss_weight(sigma, perturbed.net.sigma_data).sqrt() / sde._at(sde.clean_coefficient("step-matched"), i, x0)
    assert torch.allclose(loss, (error.abs() * weight).mean())
