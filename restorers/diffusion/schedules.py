"""Noise schedules used by the diffusion restorers."""
from __future__ import annotations

import math

import torch


def karras_sigmas(steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """EDM time steps t_0 > ... > t_{N-1} (Karras et al. 2022, eq. 5) followed by t_N = 0."""
    i = torch.arange(steps, dtype=torch.float64)
    t = (sigma_max ** (1 / rho) + i / (steps - 1) * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)])


def sqrt_linear_betas(steps: int = 1000, start: float = 0.0015, end: float = 0.0195) -> torch.Tensor:
    """LDM's 'linear' schedule: beta linear in sqrt(beta) from start to end."""
    return torch.linspace(start ** 0.5, end ** 0.5, steps, dtype=torch.float64) ** 2


def linear_betas(steps: int = 1000, start: float = 1e-4, end: float = 0.02) -> torch.Tensor:
    """DDPM's linear beta schedule."""
    return torch.linspace(start, end, steps, dtype=torch.float64)


def alpha_bars(betas: torch.Tensor) -> torch.Tensor:
    """abar_t = prod_{s<=t} (1 - beta_s) for t = 1..T, with abar_0 = 1 prepended (index = t)."""
    return torch.cat([torch.ones(1, dtype=betas.dtype), torch.cumprod(1 - betas, dim=0)])


def cosine_thetas(steps: int = 100, s: float = 0.008) -> torch.Tensor:
    """IR-SDE's cosine theta schedule: theta_1..theta_T (index 0 unused, set to 0).

    theta_i = 1 - f(i) / f(i - 1) with f(u) = cos((u / (T + 2) + s) / (1 + s) * pi / 2)^2, i = 1..T, the
    cosine-schedule betas of Nichol & Dhariwal over T + 2 points with both ends trimmed.
    """
    n = steps + 2
    u = torch.arange(n + 1, dtype=torch.float64)
    f = torch.cos((u / n + s) / (1 + s) * math.pi / 2) ** 2
    betas = 1 - f[1:] / f[:-1]
    return torch.cat([torch.zeros(1, dtype=torch.float64), betas[:steps]])
