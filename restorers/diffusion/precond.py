"""EDM preconditioning (Karras et al. 2022, Table 1), shared by DiD, IR-SDE and the compact LDM.

A denoiser of x = y + sigma * n (y the signal, of typical scale sigma_data) is written
D(x; sigma) = c_skip x + c_out F([c_in x, cond], c_noise), so that the network F always sees
unit-scale inputs and has a unit-scale target: at small sigma D is nearly the identity (F only
corrects the noise), at large sigma D ~ sigma_data * F (a fresh estimate, not a scaled-up
residual). The loss weight 1 / c_out^2 puts every noise level on the same footing.
"""
from __future__ import annotations

import torch
from torch import nn


class EDMPrecond(nn.Module):
    """D(x; sigma) = c_skip x + c_out F([c_in x, cond], c_noise)."""

    def __init__(self, net: nn.Module, sigma_data: float):
        super().__init__()
        self.net = net
        self.sigma_data = sigma_data

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        sigma = sigma.reshape(-1, 1, 1, 1).to(x.dtype).expand(x.shape[0], 1, 1, 1)
        sd = self.sigma_data
        c_skip = sd ** 2 / (sigma ** 2 + sd ** 2)
        c_out = sigma * sd / (sigma ** 2 + sd ** 2).sqrt()
        c_in = 1 / (sigma ** 2 + sd ** 2).sqrt()
        c_noise = sigma.log() / 4
        return c_skip * x + c_out * self.net(torch.cat([c_in * x, cond], dim=1), c_noise.flatten())


def edm_loss_weight(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    """1 / c_out^2: the weight that makes the squared error of F unit-scale at every sigma."""
    return (sigma ** 2 + sigma_data ** 2) / (sigma * sigma_data) ** 2
