"""SCI: Self-Calibrated Illumination learning (Ma et al., CVPR 2022).

Retinex view: dark input y = z * x (reflectance z, illumination x). An illumination network H
learns a residual: x^t = clamp(v^t + H(v^t), 1e-4, 1). Training unrolls T = 3 weight-shared stages
whose inputs are re-calibrated by a second network K:

    v^0 = y;   z^t = clamp(y / x^t, 0, 1);   s^t = z^t - K(z^t);   v^{t+1} = y + s^t

Loss (unsupervised, sees only y): sum over stages of
    alpha * ||x^t - v^t||^2                                  (fidelity, alpha = 1.5)
  + beta  * sum_i sum_{j in 5x5(i)} w_ij |x^t_i - x^t_j|_1    (smoothness, beta = 1)
with w_ij = exp(-sum_c (Y_i^c - Y_j^c)^2 / (2 sigma^2)) on the YUV of the stage input, sigma = 0.1
(the paper's value; the authors' released code uses 10 on a reshaped tensor, which makes the
weights nearly uniform). At test time only one illumination stage runs:
    output = clamp(y / clamp(y + H(y), 1e-4, 1), 0, 1).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .base import LearnedRestorer, Variant, check_batch
from .training import DEGRADATION_RANGES, Recipe, preset_settings



class IlluminationNet(nn.Module):
    """H: conv-ReLU, ``layers`` applications of one shared residual conv-BN-ReLU block, conv-sigmoid."""

    def __init__(self, layers: int = 1, channels: int = 3):
        super().__init__()
        self.layers = layers
        self.in_conv = nn.Conv2d(3, channels, 3, padding=1)
        self.block_conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.block_norm = nn.BatchNorm2d(channels)
        self.out_conv = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        f = F.relu(self.in_conv(v))
        for _ in range(self.layers):  # weight sharing: the same block each time
            f = f + F.relu(self.block_norm(self.block_conv(f)))
        residual = torch.sigmoid(self.out_conv(f))
        return torch.clamp(residual + v, 1e-4, 1.0)


class CalibrationNet(nn.Module):
    """K: conv-BN-ReLU, ``layers`` applications of a shared two-conv residual block, conv-sigmoid;
    returns the calibration map s = z - K(z)."""

    def __init__(self, layers: int = 3, channels: int = 16):
        super().__init__()
        self.layers = layers
        self.in_conv = nn.Conv2d(3, channels, 3, padding=1)
        self.in_norm = nn.BatchNorm2d(channels)
        self.conv1, self.norm1 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)
        self.conv2, self.norm2 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)
        self.out_conv = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        f = F.relu(self.in_norm(self.in_conv(z)))
        for _ in range(self.layers):
            f = f + F.relu(self.norm2(self.conv2(F.relu(self.norm1(self.conv1(f))))))
        return z - torch.sigmoid(self.out_conv(f))


def enhance(illumination: IlluminationNet, y: torch.Tensor) -> torch.Tensor:
    return torch.clamp(y / illumination(y), 0.0, 1.0)


# The authors' released weights name the same modules differently (and store each shared block
# twice); this maps their names onto ours.
_OFFICIAL_NAMES = {
    "enhance.in_conv.0": "illumination.in_conv", "enhance.conv.0": "illumination.block_conv",
    "enhance.conv.1": "illumination.block_norm", "enhance.out_conv.0": "illumination.out_conv",
    "calibrate.in_conv.0": "calibration.in_conv", "calibrate.in_conv.1": "calibration.in_norm",
    "calibrate.convs.0": "calibration.conv1", "calibrate.convs.1": "calibration.norm1",
    "calibrate.convs.3": "calibration.conv2", "calibrate.convs.4": "calibration.norm2",
    "calibrate.out_conv.0": "calibration.out_conv",
}


def from_official_state(state: dict) -> dict:
    """The authors' ``Network`` state dict -> ours (blocks.* duplicates of the shared block dropped)."""
    out = {}
    for key, value in state.items():
        prefix, _, leaf = key.rpartition(".")
        if prefix in _OFFICIAL_NAMES:
            out[f"{_OFFICIAL_NAMES[prefix]}.{leaf}"] = value
    return out


def load_official(path: str) -> IlluminationNet:
    """An illumination network with the authors' weights (``easy.pt``, ``medium.pt``, ...)."""
    state = from_official_state(torch.load(path, map_location="cpu", weights_only=True))
    net = IlluminationNet()
    net.load_state_dict({k[len("illumination."):]: v for k, v in state.items() if k.startswith("illumination.")})
    return net.eval()


class SCI(LearnedRestorer):
    name = "sci"
    family = "retinex"
    description = "Self-Calibrated Illumination (CVPR 2022)"
    nfe = 1
    training_data = "train splits + synth, unsupervised (degraded images only)"

    def build(self, config: dict) -> nn.Module:
        return IlluminationNet(config["layers"], config["channels"])

    @torch.no_grad()
    def restore(self, x: torch.Tensor, seeds: Sequence[int] | None = None) -> torch.Tensor:
        check_batch(x)
        return enhance(self.net, x.to(self.device))


# ------------------------------------------------------------------------------------- training

class _SCITraining(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.illumination = IlluminationNet(config["layers"], config["channels"])
        self.calibration = CalibrationNet(config["calibrate_layers"], config["calibrate_channels"])
        for m in self.modules():  # the authors' initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)


def rgb_to_yuv(x: torch.Tensor) -> torch.Tensor:
    """BT.601 YUV of an (N, 3, H, W) RGB tensor in [0, 1]."""
    m = x.new_tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])
    return torch.einsum("ij,njhw->nihw", m, x)


def smoothness_loss(guide_rgb: torch.Tensor, illumination: torch.Tensor, sigma: float = 0.1) -> torch.Tensor:
    """Spatially weighted L1 smoothness over each pixel's 24 neighbours in a 5x5 window."""
    yuv = rgb_to_yuv(guide_rgb)
    total = illumination.new_zeros(())
    _, _, h, w = illumination.shape
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            if (dy == 0 and dx == 0) or abs(dy) >= h or abs(dx) >= w:
                continue
            ys, yd = slice(max(dy, 0), h + min(dy, 0)), slice(max(-dy, 0), h + min(-dy, 0))
            xs, xd = slice(max(dx, 0), w + min(dx, 0)), slice(max(-dx, 0), w + min(-dx, 0))
            weight = torch.exp(-((yuv[..., ys, xs] - yuv[..., yd, xd]) ** 2).sum(1, keepdim=True) / (2 * sigma ** 2))
            grad = (illumination[..., ys, xs] - illumination[..., yd, xd]).abs().sum(1, keepdim=True)
            total = total + (weight * grad).mean()
    return total


class SCITrainer:
    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.net = _SCITraining(recipe.config)

    def modules(self) -> nn.Module:
        return self.net

    def parameters(self, stage: str):
        return self.net.parameters()

    def loss(self, clean, degraded, generator, stage):
        c = self.recipe.config
        y = degraded
        v = y
        total = y.new_zeros(())
        fidelity = smooth = 0.0
        for _ in range(c["stages"]):
            x = self.net.illumination(v)
            f = F.mse_loss(x, v)
            s = smoothness_loss(v, x, c["smooth_sigma"])
            total = total + c["alpha"] * f + c["beta"] * s
            fidelity, smooth = fidelity + float(f.detach()), smooth + float(s.detach())
            z = torch.clamp(y / x, 0, 1)
            v = y + self.net.calibration(z)
        return total, {"fidelity": fidelity, "smooth": smooth}

    def shipped_state(self) -> dict:
        return self.net.illumination.state_dict()


PRESETS = {
    # The authors' architecture (3-channel illumination block, 16-channel calibration); compact
    # trains in minutes on a CPU.
    "compact": dict(steps=1500, batch_size=16, crop=(32, 128), lr=3e-4),
    "paper": dict(steps=20000, batch_size=16, crop=(128, 128), lr=3e-4),
}


def make_trainer(method: str, preset: str, steps: int | None = None, seed: int | None = None) -> SCITrainer:
    p = preset_settings("sci", PRESETS, preset)
    config = dict(layers=1, channels=3, calibrate_layers=3, calibrate_channels=16, stages=3, alpha=1.5, beta=1.0,
                  smooth_sigma=0.1, degradation=DEGRADATION_RANGES)
    recipe = Recipe(method="sci", preset=preset, config=config, steps=steps or p["steps"], batch_size=p["batch_size"],
                    crop=p["crop"], lr=p["lr"], seed=0 if seed is None else seed, warmup=0,
                    grad_clip=None)
    return SCITrainer(recipe)


VARIANTS = [
    Variant("sci", SCI, "Self-Calibrated Illumination (CVPR 2022), one stage at test", default=True, trains={}),
]
