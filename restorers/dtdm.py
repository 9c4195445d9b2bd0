"""DTDM: the Domain Transform Diffusion Method of DiffRAW (Yi et al., AAAI 2024), for low light.

Forward process. A clean image y drifts toward a degraded-domain image x while noise grows, and
stops at a truncation step S < T:

    z_t = sqrt(abar_t) * ((1 - eta_t) y + eta_t x) + sqrt(1 - abar_t) * eps,   t = 0..S,

with eta_t = t / S (0 at t = 0, 1 at S) and abar from DDPM's linear beta schedule (1e-4..0.02,
T = 1000). As a Markov chain it is
    z_t = sqrt(alpha_t) z_{t-1} + sqrt(abar_t) (eta_t - eta_{t-1}) (x - y) + sqrt(1 - alpha_t) eps_t,
whose marginals are the expression above (the drift terms telescope; the noise variances add up
to 1 - abar_t). At t = S the clean image has disappeared: z_S = sqrt(abar_S) x + sqrt(1 - abar_S) eps,
so the reverse process can start from the degraded input alone.

x, the degraded-domain image. DiffRAW's x is the output of a simple ISP; here it is a fixed global
gain of the dark input: x = clip(g * dark, 0, 1), g bringing the 99th percentile of the blurred
brightness (max over RGB) to 0.9, the same rule as the `clahe` baseline's gain. Why: it puts x at
the clean domain's exposure, so the domain gap y -> x left to the diffusion is noise and lost
detail, not brightness, and a short path suffices. Training pairs use the same x = G(degraded).

Reverse process (deterministic, DDIM-like). The network predicts y from (z_t, x, t); it is
conditioned on x (concatenated), which carries the input's colours and positions (the role of
DiffRAW's colour-position preserving condition). Given y_hat, the noise implied by the forward
marginal is eps_hat = (z_t - sqrt(abar_t) ((1 - eta_t) y_hat + eta_t x)) / sqrt(1 - abar_t), and the
step to t' < t re-applies the marginal at t' with the same eps_hat:
    z_{t'} = sqrt(abar_{t'}) ((1 - eta_{t'}) y_hat + eta_{t'} x) + sqrt(1 - abar_{t'}) eps_hat.
At t' = 0 (abar_0 = 1, eta_0 = 0) this returns y_hat, so with an exact y-predictor the process
returns y. The reverse visits K + 1 evenly spaced times S -> 0: K network evaluations.

Choices where the summary is vague: y-prediction with an L1 loss (instead of DiffRAW's modified
noise loss), eta linear in t, S = 250 (abar_S ~ 0.52) and K = 10 steps for the compact preset.
"""
from __future__ import annotations


import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import CanvasRestorer, Variant
from .classical import brightness_gain
from .canvas import draw_noise
from .diffusion.samplers import spaced_timesteps
from .diffusion.schedules import alpha_bars, linear_betas
from .diffusion.unet import UNet
from .training import DEGRADATION_RANGES, Recipe, diffusion_recipe, canvas_unet_config, preset_settings



def pre_enhance(dark: torch.Tensor) -> torch.Tensor:
    """x = G(dark): a global gain per image (see the module docstring). (N, 3, H, W) in [0, 1]."""
    out = torch.empty_like(dark)
    for k, image in enumerate(dark.detach().float().permute(0, 2, 3, 1).cpu().numpy()):
        gain = brightness_gain(cv2.GaussianBlur(image, (0, 0), 1.0))
        out[k] = torch.from_numpy(np.clip(image * gain, 0, 1)).permute(2, 0, 1).to(out)
    return out


class DomainTransform:
    """The truncated forward process and its deterministic reverse."""

    def __init__(self, truncation: int = 250, steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
        if not 0 < truncation <= steps:
            raise ValueError("truncation must be in 1..T")
        self.S = truncation
        self.abar = alpha_bars(linear_betas(steps, beta_start, beta_end))  # index t, abar[0] = 1

    def eta(self, t):
        return t / self.S

    def _coef(self, t, like: torch.Tensor):
        if isinstance(t, torch.Tensor) and t.ndim > 0:
            a = self.abar.to(like.device)[t.long()].to(like.dtype).view(-1, 1, 1, 1)
            return a, self.eta(t.to(like.dtype)).view(-1, 1, 1, 1)
        return float(self.abar[int(t)]), self.eta(float(t))

    def marginal(self, y: torch.Tensor, x: torch.Tensor, t, eps: torch.Tensor) -> torch.Tensor:
        """z_t = sqrt(abar_t) ((1 - eta_t) y + eta_t x) + sqrt(1 - abar_t) eps."""
        a, e = self._coef(t, y)
        return a ** 0.5 * ((1 - e) * y + e * x) + (1 - a) ** 0.5 * eps

    def start(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """z_S from the degraded-domain image alone."""
        return self.marginal(torch.zeros_like(x), x, self.S, eps)

    def forward_step(self, z_prev: torch.Tensor, y: torch.Tensor, x: torch.Tensor, t: int, eps: torch.Tensor):
        """One step of the Markov chain q(z_t | z_{t-1}) (module docstring)."""
        alpha = float(self.abar[t] / self.abar[t - 1])
        shift = float(self.abar[t]) ** 0.5 * (self.eta(t) - self.eta(t - 1)) * (x - y)
        return alpha ** 0.5 * z_prev + shift + (1 - alpha) ** 0.5 * eps

    def reverse(self, predict_y, x: torch.Tensor, z_start: torch.Tensor, steps: int) -> torch.Tensor:
        """Deterministic reverse from z_S to z_0 along ``steps`` evenly spaced times."""
        z = z_start
        times = spaced_timesteps(self.S, steps)
        for t, t_next in zip(times[:-1], times[1:]):
            y_hat = predict_y(z, t)
            a, e = self._coef(t, z)
            eps_hat = (z - a ** 0.5 * ((1 - e) * y_hat + e * x)) / (1 - a) ** 0.5
            z = self.marginal(y_hat, x, t_next, eps_hat)
        return z


def make_network(config: dict) -> UNet:
    return UNet(6, 3, config["channels"], tuple(config["channel_mult"]), config["blocks"],
                tuple(config["attention_levels"]), space_to_depth=config.get("space_to_depth", 1))


class DTDM(CanvasRestorer):
    name = "dtdm"
    family = "diffusion"
    description = "DiffRAW's domain transform diffusion"
    training_data = "train splits + synth, paired (clean, degraded)"

    def __init__(self, device="cpu", preset=None, steps: int | None = None, **source):
        super().__init__(device, preset, **source)
        c = self.meta["config"]
        self.process = DomainTransform(c["truncation"])
        self.steps = 1 if self.one_step else steps or c["sampling_steps"]  # one step: y_hat(z_S, S)
        self.nfe = self.steps

    def build(self, config: dict) -> nn.Module:
        return make_network(config)

    def sample(self, dark: torch.Tensor, generators) -> torch.Tensor:
        x = pre_enhance(dark)
        z = self.process.start(x, draw_noise(generators, x.shape[1:], self.device))
        predict = lambda z_t, t: self.net(torch.cat([z_t, x], 1), torch.full((len(x),), float(t), device=x.device))
        return self.process.reverse(predict, x, z, self.steps)


class DTDMTrainer:
    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.net = make_network(recipe.config)
        self.process = DomainTransform(recipe.config["truncation"])

    def modules(self) -> nn.Module:
        return self.net

    def parameters(self, stage: str):
        return self.net.parameters()

    def loss(self, clean, degraded, generator, stage):
        y, x = clean, pre_enhance(degraded)
        t = torch.randint(1, self.process.S + 1, (len(y),), generator=generator, device=y.device)
        z = self.process.marginal(y, x, t, torch.randn(y.shape, generator=generator, device=y.device))
        y_hat = self.net(torch.cat([z, x], 1), t.float())
        return F.l1_loss(y_hat, y), {}

    def shipped_state(self) -> dict:
        return self.net.state_dict()


PRESETS = {
    # 64 px canvases: at 32 px the resampling alone cost words (README, ceiling).
    # The U-Net works on 2x2 pixel blocks (space_to_depth) to keep its CPU cost.
    "compact": dict(channels=24, channel_mult=(1, 2, 2), blocks=1, attention_levels=(2,), canvas_height=64,
                    space_to_depth=2, steps_train=6000, batch_size=16, crop=(64, 128), lr=3e-4, sampling_steps=10),
    # For a lent GPU: 64 px canvases, a U-Net capped below 16 MB in fp16.
    "gpu": dict(channels=64, channel_mult=(1, 2, 2), blocks=2, attention_levels=(2,), canvas_height=64,
                space_to_depth=1, steps_train=40000, batch_size=64, crop=(64, 256), lr=2e-4, sampling_steps=10),
    "paper": dict(channels=64, channel_mult=(1, 2, 4, 4), blocks=2, attention_levels=(3,), canvas_height=128,
                  space_to_depth=1,
                  steps_train=200000, batch_size=16, crop=(128, 256), lr=1e-4, sampling_steps=20),
}


def make_trainer(method: str, preset: str, steps: int | None = None, seed: int | None = None) -> DTDMTrainer:
    p = preset_settings("dtdm", PRESETS, preset)
    config = dict(canvas_unet_config(p), truncation=250, sampling_steps=p["sampling_steps"],
                  pre_enhancement="global gain: 99th percentile of blurred max-RGB -> 0.9",
                  degradation=DEGRADATION_RANGES)
    recipe = diffusion_recipe("dtdm", preset, p, config, steps or p["steps_train"], seed)
    return DTDMTrainer(recipe)


VARIANTS = [
    Variant("dtdm", DTDM, "DTDM (DiffRAW): truncated domain-transform diffusion, few steps", default=True, trains={}),
    Variant("dtdm-1step", DTDM, "DTDM read out in one step: y_hat(z_S, S) (same weights as dtdm)",
            options={"one_step": True}),
]
