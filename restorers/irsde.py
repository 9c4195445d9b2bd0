"""IR-SDE: image restoration with a mean-reverting SDE (Luo et al., ICML 2023).

Forward SDE toward the degraded image mu:   dx = theta_t (mu - x) dt + sigma_t dw,
with sigma_t^2 = 2 lambda^2 theta_t (stationary std lambda = max_sigma / 255; 50 for low light).
Discretized on i = 1..T (T = 100) with a cosine theta schedule; step i lasts dt, chosen so that
exp(-theta_bar_T) = 0.01 (the mean has essentially reverted to mu at T). With
theta_bar_i = dt * sum_{j<=i} theta_j, the marginal given the clean image x_0 is Gaussian:

    m_i = mu + (x_0 - mu) exp(-theta_bar_i),    v_i = lambda^2 (1 - exp(-2 theta_bar_i)).

The noise of x_i = m_i + sqrt(v_i) eps is predicted through a clean-image estimate with EDM's
preconditioning (restorers.diffusion.precond). Rescaled, x_i is the clean image plus Gaussian noise:

    (x_i - mu) exp(theta_bar_i) = (x_0 - mu) + s_i eps,    s_i = lambda sqrt(exp(2 theta_bar_i) - 1),

so a denoiser D(.; s_i) conditioned on mu gives a clean estimate F = mu + D. Which noise estimate
the reverse step is given (``noise_estimate``):

    "marginal"      eps_hat = ((x_i - mu) exp(theta_bar_i) - D) / s_i, the noise the marginal implies
                    given F (the true noise when F = x_0);
    "step-matched"  the eps_hat that takes the Euler-Maruyama mean step exactly to x*_{i-1}(x_i, F), the
                    mode of p(x_{i-1} | x_i, x_0 = F) (below).

Why it matters: the loss asks the Euler-Maruyama step to land on x*_{i-1}(x_i, x_0). With "marginal"
it does not even when F = x_0 (Euler-Maruyama is first order and theta'_i reaches 0.41 at i = T), so
the loss's minimizer is F = x_0 + a term proportional to the noise in x_i, 1.8 in RMS at i = T,
0.19 at i = 95, 0.06 at i = 90 (test_marginal_noise_misses_the_optimal_step): the network is taught to
put noise into F at large i, which the preconditioning (D a fresh clean estimate there) fights.
With "step-matched" the minimizer is F = x_0 at every step, and the sampler's mean step is the
paper's optimal step given the estimate. It is the noise the paper's own noise-predicting network
would learn at the loss's optimum; the loss, the Euler-Maruyama sampler and its noise are the
paper's. Checkpoints trained before the key are "marginal".

The terminal state (``terminal_state``). The marginal at i = T still holds 1% of x_0 - mu, and a
network trained on it reads the crop's exposure from that residual: over a whole canvas its mean
is well above the noise (the estimate at i = T: 19.6 dB given the marginal, 19.4 dB given only the
residual's global mean, 16.3 dB from the sampler's start x_T = mu + lambda eps; 16 iiit5k crops,
b = 0.6, sigma = 0.02). The sampler starts without it, so its first estimate is off the training
distribution. "start" trains step T on the state the sampler starts from, mu + lambda eps (its
target x*_{T-1} is unchanged); "marginal" (checkpoints before the key) on the marginal.
Input perturbation (``input_perturbation`` gamma, the ``irsde-ip`` recipe; 0 for ``irsde``): at training,
x_i is built with the noise eps + gamma xi (xi a second standard normal draw) while the target is still the
optimal step x*_{i-1}(x_i, x_0), so the network learns to reach x_0 from states a little off the forward
marginal, as the sampler's own states are. After Ning et al., "Input Perturbation Reduces Exposure Bias
in Diffusion Models" (ICML 2023, gamma = 0.1), who keep the unperturbed eps as the target of their
eps-loss; this loss regresses a step, so its target is the optimal step from the perturbed state towards
the true x_0. Sampling is unchanged.
The preconditioning matters for a small, briefly trained
network: at small i D is nearly the identity (the network only corrects the noise, so reverse
steps cannot drift far from the current sample), at large i D is a fresh estimate from mu. (Two
earlier versions measured worse: a plain noise-predicting U-Net drifted off in the first reverse
steps, and a network outputting F directly kept a colour cast it introduced in the last steps.)
It is trained with the paper's maximum-likelihood loss, L1 between the reverse-time
Euler-Maruyama mean step and the optimal step x*_{i-1}, the mode of p(x_{i-1} | x_i, x_0):

    x*_{i-1} = (1 - e^{-2 theta_bar_{i-1}}) / (1 - e^{-2 theta_bar_i}) e^{-theta'_i} (x_i - mu)
             + (1 - e^{-2 theta'_i}) / (1 - e^{-2 theta_bar_i}) e^{-theta_bar_{i-1}} (x_0 - mu) + mu,

theta'_i = theta_i dt, with a weight per step i: 1 / (c_i c_out(s_i)), where c_i = d(reverse step)/dF
("marginal": 2 theta'_i e^{-theta_bar_i} / (1 - e^{-2 theta_bar_i}); "step-matched": the coefficient of
x_0 - mu in x*_{i-1}) and c_out the preconditioning's output scale. Each step's minimizer is unchanged;
unweighted, the network's errors count ~100x less at i = T (c_T ~ 0.008) than at i = 1. Sampling starts from x_T = mu + lambda eps and takes T reverse steps
x_{i-1} = x_i - [theta_i (mu - x_i) - sigma_i^2 score] dt + sigma_i sqrt(dt) z  (NFE = T).
The ``irsde-posterior`` variant steps instead by the exact Gaussian posterior p(x_j | x_i, x_0 = F), which
can also jump several steps at once (``steps`` < T evenly spaced times; one step is the one-step readout).
Images stay in [0, 1] as in the authors' code; crops are processed on a canvas of fixed height.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .base import CanvasRestorer, RestorerError, Variant, training_changes
from .canvas import draw_noise
from .diffusion.precond import EDMPrecond, edm_loss_weight
from .diffusion.samplers import spaced_timesteps
from .diffusion.schedules import cosine_thetas
from .diffusion.unet import UNet
from .training import DEGRADATION_RANGES, Recipe, diffusion_recipe, canvas_unet_config, preset_settings

SIGMA_DATA = 0.37  # RMS of x_0 - mu (clean minus dark) over 320 training pairs, measured


class MeanRevertingSDE:
    """The discretized IR-SDE. All per-step arrays are indexed by i = 0..T (index 0: the start)."""

    def __init__(self, steps: int = 100, max_sigma: float = 50 / 255, eps: float = 0.01):
        self.T = steps
        self.lam = max_sigma
        theta = cosine_thetas(steps)  # theta[0] = 0
        self.dt = -math.log(eps) / float(theta.sum())
        self.theta = theta  # rates theta_i (per unit time)
        self.theta_step = theta * self.dt  # theta'_i = theta_i dt
        self.theta_bar = torch.cumsum(self.theta_step, 0)  # theta_bar_0 = 0, theta_bar_T = -ln eps
        self.sigma = torch.sqrt(2 * self.lam ** 2 * theta)

    def mean(self, x0: torch.Tensor, mu: torch.Tensor, i: torch.Tensor | int) -> torch.Tensor:
        return mu + (x0 - mu) * self._at(torch.exp(-self.theta_bar), i, x0)

    def variance(self, i: torch.Tensor | int, like: torch.Tensor | None = None) -> torch.Tensor:
        v = self.lam ** 2 * (1 - torch.exp(-2 * self.theta_bar))
        return self._at(v, i, like)

    def _posterior(self, i, j):
        """(a, b, var) of p(x_j | x_i, x_0), j < i, in float64: mean a (x_i - mu) + b (x_0 - mu) + mu. The
        forward process from j to i decays x - mu by e^{-d}, d = theta_bar_i - theta_bar_j, and adds variance
        lambda^2 (1 - e^{-2d}); combined with the marginal at j (Gaussian in x_0) by Bayes' rule:
        a = (1 - e^{-2 theta_bar_j}) / (1 - e^{-2 theta_bar_i}) e^{-d},  b = (1 - e^{-2d}) / (1 - e^{-2 theta_bar_i}) e^{-theta_bar_j},
        var = lambda^2 (1 - e^{-2 theta_bar_j}) (1 - e^{-2d}) / (1 - e^{-2 theta_bar_i})."""
        t_i, t_j = self._at(self.theta_bar, i, None), self._at(self.theta_bar, j, None)
        d, norm = t_i - t_j, 1 - torch.exp(-2 * t_i)
        kept_j, new_noise = 1 - torch.exp(-2 * t_j), 1 - torch.exp(-2 * d)
        return kept_j / norm * torch.exp(-d), new_noise / norm * torch.exp(-t_j), self.lam ** 2 * kept_j * new_noise / norm

    def optimal_previous(self, x_i: torch.Tensor, x0: torch.Tensor, mu: torch.Tensor, i, j=None) -> torch.Tensor:
        """x*_j: the mode (and mean) of the Gaussian posterior p(x_j | x_i, x_0); j = i - 1 unless given
        (a jump of several steps, for the posterior sampler with fewer steps)."""
        a, b, _ = self._posterior(i, i - 1 if j is None else j)
        return a.to(x_i) * (x_i - mu) + b.to(x_i) * (x0 - mu) + mu

    def posterior_std(self, i, j=None) -> torch.Tensor:
        """The std of p(x_j | x_i, x_0), j = i - 1 unless given; 0 at j = 0 (x_0 is given)."""
        return self._posterior(i, i - 1 if j is None else j)[2].sqrt()

    def clean_coefficient(self, noise_estimate: str = "marginal") -> torch.Tensor:
        """c_i = d reverse_mean / d F; c_0 := 1. "marginal": 2 theta'_i exp(-theta_bar_i) / (1 - exp(-2 theta_bar_i));
        "step-matched": (1 - e^{-2 theta'_i}) / (1 - e^{-2 theta_bar_i}) e^{-theta_bar_{i-1}}, x_0's in x*_{i-1}."""
        if noise_estimate == "marginal":
            c = 2 * self.theta_step * torch.exp(-self.theta_bar) / (1 - torch.exp(-2 * self.theta_bar))
        else:
            tb_prev = torch.roll(self.theta_bar, 1)
            tb_prev[0] = 0.0
            c = (1 - torch.exp(-2 * self.theta_step)) / (1 - torch.exp(-2 * self.theta_bar)) * torch.exp(-tb_prev)
        c[0] = 1.0
        return c

    def step_matched_noise(self, x_i: torch.Tensor, mu: torch.Tensor, clean: torch.Tensor, i) -> torch.Tensor:
        """The eps_hat for which reverse_mean(x_i, mu, eps_hat, i) = optimal_previous(x_i, clean, mu, i)."""
        target = self.optimal_previous(x_i, clean, mu, i)
        drift_dt = self._at(self.theta, i, x_i) * (mu - x_i) * self.dt
        return (x_i - drift_dt - target) * self.variance(i, x_i).sqrt() / (self._at(self.sigma ** 2, i, x_i) * self.dt)

    def score(self, eps_hat: torch.Tensor, i) -> torch.Tensor:
        return -eps_hat / self.variance(i, eps_hat).sqrt()

    def reverse_mean(self, x_i: torch.Tensor, mu: torch.Tensor, eps_hat: torch.Tensor, i) -> torch.Tensor:
        """Euler-Maruyama step of the reverse SDE from x_i, without its noise term."""
        drift = self._at(self.theta, i, x_i) * (mu - x_i) - self._at(self.sigma ** 2, i, x_i) * self.score(eps_hat, i)
        return x_i - drift * self.dt

    def reverse_step(self, x_i, mu, eps_hat, i, z: torch.Tensor) -> torch.Tensor:
        return self.reverse_mean(x_i, mu, eps_hat, i) + self._at(self.sigma, i, x_i) * math.sqrt(self.dt) * z

    @staticmethod
    def _at(values: torch.Tensor, i, like: torch.Tensor | None) -> torch.Tensor:
        """values[i] as a scalar tensor, or per sample shaped (N, 1, 1, 1) when i is a tensor."""
        device = like.device if like is not None else None
        dtype = like.dtype if like is not None else torch.float64
        if isinstance(i, torch.Tensor) and i.ndim > 0:
            return values.to(device=device, dtype=dtype)[i.to(values.device).long()].view(-1, 1, 1, 1)
        return values[int(i)].to(device=device, dtype=dtype)


class IRSDE(CanvasRestorer):
    name = "irsde"
    family = "diffusion"
    description = "IR-SDE mean-reverting SDE"
    training_data = "train splits + synth, paired (clean, degraded)"

    def __init__(self, device="cpu", preset=None, sampler: str = "euler-maruyama", steps: int | None = None,
                 **source):
        super().__init__(device, preset, **source)
        if sampler not in ("euler-maruyama", "posterior"):
            raise RestorerError(f"IR-SDE sampler must be euler-maruyama or posterior, not {sampler!r}")
        self.sampler = sampler
        c = self.meta["config"]
        self.noise_estimate = noise_estimate_of(c)
        self.sde = MeanRevertingSDE(c["steps"], c["max_sigma"] / 255)
        # fewer, larger steps exist only for the posterior step (it can jump i -> j exactly);
        # Euler-Maruyama is the paper's discretization of the T steps the network was trained on
        steps = self.sde.T if steps is None else steps
        if not 1 <= steps <= self.sde.T or (steps != self.sde.T and sampler != "posterior"):
            raise RestorerError(f"IR-SDE takes 1..{self.sde.T} sampler steps, fewer than {self.sde.T} only with "
                                f"the posterior sampler; got {steps} with {sampler}")
        self.times = spaced_timesteps(self.sde.T, steps)  # T, ..., 0
        self.nfe = 1 if self.one_step else steps

    def build(self, config: dict) -> nn.Module:
        return make_network(config)

    def sample(self, mu: torch.Tensor, generators) -> torch.Tensor:
        x = mu + self.sde.lam * draw_noise(generators, mu.shape[1:], self.device)  # x_T
        if self.one_step:  # the network's clean estimate F at i = T
            return clean_estimate(self.net, x, mu, self.sde, self.sde.T)
        for i, j in zip(self.times[:-1], self.times[1:]):
            z = draw_noise(generators, mu.shape[1:], self.device) if j > 0 else torch.zeros_like(x)
            x = self.reverse(x, mu, i, z, j)
        return x

    def reverse(self, x: torch.Tensor, mu: torch.Tensor, i: int, z: torch.Tensor, j: int | None = None) -> torch.Tensor:
        """One step x_i -> x_j (j = i - 1 unless given) of this restorer's sampler, with the noise z."""
        if self.sampler == "posterior":  # the Gaussian posterior given the network's clean estimate
            clean = clean_estimate(self.net, x, mu, self.sde, i)
            return self.sde.optimal_previous(x, clean, mu, i, j) + self.sde.posterior_std(i, j).to(x) * z
        if j is not None and j != i - 1:
            raise RestorerError("the Euler-Maruyama sampler steps from i to i - 1 only")
        # the paper's reverse-time SDE, Euler-Maruyama
        eps_hat = predict_noise(self.net, x, mu, self.sde, i, self.noise_estimate)
        return self.sde.reverse_step(x, mu, eps_hat, i, z)


def equivalent_sigma(sde: MeanRevertingSDE) -> torch.Tensor:
    """s_i = lambda sqrt(exp(2 theta_bar_i) - 1): the noise std of the rescaled (x_i - mu) exp(theta_bar_i)."""
    return sde.lam * torch.sqrt(torch.expm1(2 * sde.theta_bar))


def clean_estimate(net: EDMPrecond, x: torch.Tensor, mu: torch.Tensor, sde: MeanRevertingSDE, i) -> torch.Tensor:
    """F = mu + D((x_i - mu) exp(theta_bar_i); s_i), the denoiser conditioned on mu."""
    growth = sde._at(torch.exp(sde.theta_bar), i, x)
    return mu + net((x - mu) * growth, sde._at(equivalent_sigma(sde), i, x), mu)


def predict_noise(net: EDMPrecond, x: torch.Tensor, mu: torch.Tensor, sde: MeanRevertingSDE, i,
                  noise_estimate: str = "marginal") -> torch.Tensor:
    """The noise estimate from the clean estimate F (module docstring). "marginal":
    (x_i - mu - exp(-theta_bar_i) (F - mu)) / sqrt(v_i); "step-matched": sde.step_matched_noise."""
    clean = clean_estimate(net, x, mu, sde, i)
    if noise_estimate == "step-matched":
        return sde.step_matched_noise(x, mu, clean, i)
    decay = sde._at(torch.exp(-sde.theta_bar), i, x)
    return (x - mu - decay * (clean - mu)) / sde.variance(i, x).sqrt()


def terminal_state_of(config: dict) -> str:
    kind = config.get("terminal_state", "marginal")  # checkpoints before the key: "marginal"
    if kind not in ("marginal", "start"):
        raise RestorerError(f"IR-SDE terminal_state must be marginal or start, not {kind!r}")
    return kind


def noise_estimate_of(config: dict) -> str:
    kind = config.get("noise_estimate", "marginal")  # checkpoints before the key: "marginal"
    if kind not in ("marginal", "step-matched"):
        raise RestorerError(f"IR-SDE noise_estimate must be marginal or step-matched, not {kind!r}")
    return kind


def make_network(config: dict) -> EDMPrecond:
    return EDMPrecond(UNet(6, 3, config["channels"], tuple(config["channel_mult"]), config["blocks"],
                           tuple(config["attention_levels"]), embedding_scale=250.0,
                           space_to_depth=config.get("space_to_depth", 1)), config["sigma_data"])


class IRSDETrainer:
    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        c = recipe.config
        self.net = make_network(c)
        self.sde = MeanRevertingSDE(c["steps"], c["max_sigma"] / 255)
        self.noise_estimate = noise_estimate_of(c)

    def modules(self) -> nn.Module:
        return self.net

    def parameters(self, stage: str):
        return self.net.parameters()

    def loss(self, clean, degraded, generator, stage):
        x0, mu = clean, degraded
        i = torch.randint(1, self.sde.T + 1, (len(x0),), generator=generator, device=x0.device)
        eps = torch.randn(x0.shape, generator=generator, device=x0.device)
        gamma = self.recipe.config.get("input_perturbation", 0.0)
        if gamma:  # drawn only when used: without it the random stream is that of the shipped irsde
            eps = eps + gamma * torch.randn(x0.shape, generator=generator, device=x0.device)
        x_i = self.sde.mean(x0, mu, i) + self.sde.variance(i, x0).sqrt() * eps
        if terminal_state_of(self.recipe.config) == "start":  # at i = T, the state the sampler starts from
            at_end = (i == self.sde.T).view(-1, 1, 1, 1)
            x_i = torch.where(at_end, mu + self.sde.lam * eps, x_i)
        eps_hat = predict_noise(self.net, x_i, mu, self.sde, i, self.noise_estimate)
        step_error = self.sde.reverse_mean(x_i, mu, eps_hat, i) - self.sde.optimal_previous(x_i, x0, mu, i)
        # Per-step weight 1 / (c_i c_out): the network's own error, unit-scale at every step.
        sigma = self.sde._at(equivalent_sigma(self.sde), i, x0)
        coefficient = self.sde._at(self.sde.clean_coefficient(self.noise_estimate), i, x0)
        weight = edm_loss_weight(sigma, self.net.sigma_data).sqrt() / coefficient
        loss = (step_error.abs() * weight).mean()
        return loss, {}

    def shipped_state(self) -> dict:
        return self.net.state_dict()


PRESETS = {
    # CPU-trainable: canvases 64 px high (at 32 px the resampling alone cost words), a small U-Net,
    # T = 100 as in the paper.
    # The U-Net (DTDM's) works on 2x2 pixel blocks (space_to_depth) to keep its CPU cost.
    "compact": dict(channels=24, channel_mult=(1, 2, 2), blocks=1, attention_levels=(2,), canvas_height=64,
                    space_to_depth=2, steps_train=6000, batch_size=16, crop=(64, 128), lr=3e-4),
    # The authors' low-light setting: a larger U-Net on 128 px canvases, lr 1e-4.
    # For a lent GPU: 64 px canvases, a U-Net capped below 16 MB in fp16.
    "gpu": dict(channels=64, channel_mult=(1, 2, 2), blocks=2, attention_levels=(2,), canvas_height=64,
                space_to_depth=1, steps_train=40000, batch_size=64, crop=(64, 256), lr=2e-4),
    "paper": dict(channels=64, channel_mult=(1, 2, 4, 4), blocks=2, attention_levels=(), canvas_height=128,
                  space_to_depth=1,
                  steps_train=300000, batch_size=16, crop=(128, 256), lr=1e-4),
}


def make_trainer(method: str, preset: str, steps: int | None = None, seed: int | None = None) -> IRSDETrainer:
    changes = training_changes(VARIANTS, method, "IR-SDE")
    p = preset_settings("irsde", PRESETS, preset)
    config = dict(canvas_unet_config(p), steps=100, max_sigma=50.0, sigma_data=SIGMA_DATA, noise_estimate="step-matched",
                  terminal_state="start", input_perturbation=0.0,
                  degradation=DEGRADATION_RANGES)
    config.update(changes)
    recipe = diffusion_recipe(method, preset, p, config, steps or p["steps_train"], seed)
    return IRSDETrainer(recipe)


VARIANTS = [
    # Opt-in: 100 network evaluations per crop; the default run on a 2-core CPU stays within 10 minutes.
    Variant("irsde", IRSDE, "IR-SDE: mean-reverting SDE from the dark image (ICML 2023)", trains={}),
    Variant("irsde-ip", IRSDE, "IR-SDE trained with input perturbation against exposure bias (gamma = 0.1; "
            "Ning et al. 2023); same sampler", trains={"input_perturbation": 0.1}),
    Variant("irsde-1step", IRSDE, "IR-SDE read out in one step: the clean estimate at i = T (same weights as irsde)",
            options={"one_step": True}),
    Variant("irsde-posterior", IRSDE, "IR-SDE sampled by the exact Gaussian posterior step x*_{i-1}(x_i, F) + its "
            "std z instead of Euler-Maruyama (same weights as irsde)", options={"sampler": "posterior"}),
]
