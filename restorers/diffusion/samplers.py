"""Samplers, each written to read like its paper's algorithm."""
from __future__ import annotations

from typing import Callable

import torch

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]


def edm_heun(denoise: Denoiser, x_start: torch.Tensor, sigmas: torch.Tensor,
             after_step: Callable[[torch.Tensor, int], torch.Tensor] | None = None) -> torch.Tensor:
    """EDM deterministic sampler (Karras et al. 2022, Algorithm 1): Heun's 2nd order method on the
    probability-flow ODE dx/dt = (x - D(x; t)) / t, with an Euler step into t_N = 0.

    ``x_start`` is x_0 ~ N(0, t_0^2 I); ``sigmas`` = t_0 > ... > t_{N-1} > t_N = 0.
    ``after_step(x_{i+1}, i)`` may modify the state after step i (DiD uses it for ILVR).
    Network evaluations: 2N - 1.
    """
    x = x_start
    for i in range(len(sigmas) - 1):
        t_cur, t_next = float(sigmas[i]), float(sigmas[i + 1])
        d_cur = (x - denoise(x, t_cur)) / t_cur
        x_next = x + (t_next - t_cur) * d_cur
        if t_next > 0:
            d_next = (x_next - denoise(x_next, t_next)) / t_next
            x_next = x + (t_next - t_cur) * (0.5 * d_cur + 0.5 * d_next)
        x = after_step(x_next, i) if after_step is not None else x_next
    return x


def ddim(eps_model: Callable[[torch.Tensor, int], torch.Tensor], z_start: torch.Tensor, abar: torch.Tensor,
         timesteps: list[int], eta: float = 0.0, noise: Callable[[int], torch.Tensor] | None = None) -> torch.Tensor:
    """DDIM (Song et al. 2021, eq. 12) along ``timesteps`` (descending, ending at 0).

    z_{t'} = sqrt(abar_{t'}) z0_hat + sqrt(1 - abar_{t'} - s^2) eps_hat + s * n,
    s = eta * sqrt((1 - abar_{t'}) / (1 - abar_t)) * sqrt(1 - abar_t / abar_{t'}),
    z0_hat = (z_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t). ``abar`` is indexed by t with
    abar[0] = 1; ``noise(k)`` gives the fresh noise of step k when eta > 0.
    """
    z = z_start
    for k, (t, t_next) in enumerate(zip(timesteps[:-1], timesteps[1:])):
        a_t, a_next = float(abar[t]), float(abar[t_next])
        eps = eps_model(z, t)
        z0 = (z - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        s = eta * ((1 - a_next) / (1 - a_t)) ** 0.5 * (1 - a_t / a_next) ** 0.5 if t_next > 0 else 0.0
        z = a_next ** 0.5 * z0 + max(0.0, 1 - a_next - s ** 2) ** 0.5 * eps
        if s > 0:
            z = z + s * noise(k)
    return z


def spaced_timesteps(start: int, steps: int) -> list[int]:
    """``steps`` + 1 evenly spaced integer times from ``start`` down to 0 (both included)."""
    return [int(round(start - k * start / steps)) for k in range(steps + 1)]
