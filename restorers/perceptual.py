"""ST-LPIPS (shift-tolerant LPIPS, AlexNet trunk) with the weights shipped in ``stlpips-pytorch``.

One loader for the benchmark's perceptual metric and the restorers' perceptual training losses.
Loading checks that every parameter comes from the weight file: a randomly initialised backbone
is never used, neither as a score nor as a loss.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from .errors import RestorerError


def load_stlpips() -> nn.Module:
    """Frozen ST-LPIPS network in eval mode; call as ``net(a, b, normalize=True)`` on [0, 1] images."""
    try:
        import stlpips_pytorch
        from stlpips_pytorch import stlpips
    except ImportError as e:
        raise RestorerError(f"stlpips-pytorch is not usable ({e}); run: pip install -e .") from None
    path = os.path.join(os.path.dirname(stlpips_pytorch.__file__), "weights", "vST0.0", "alex_shift_tolerant.pth")
    if not os.path.isfile(path):
        raise RestorerError(f"ST-LPIPS weights missing at {path}; reinstall stlpips-pytorch")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = stlpips.LPIPS(net="alex", variant="shift_tolerant", verbose=False)
    # ``lins.K`` are aliases of ``linK`` in the same module; everything else must be in the file.
    missing = [k for k in net.state_dict() if k not in state and not k.startswith("lins.")]
    if missing:
        raise RestorerError(f"ST-LPIPS weights at {path} lack {missing[:3]}; refusing a random backbone")
    net.load_state_dict(state, strict=False)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    # its convolutions run at full resolution (shift-tolerant: stride 1, then blur-pooling); in
    # channels-last layout it runs about a quarter faster on CPU (it is most of a DiD training step)
    return net.to(memory_format=torch.channels_last)


def perceptual_loss(net: nn.Module, a: torch.Tensor, b: torch.Tensor, min_side: int = 64) -> torch.Tensor:
    """Mean ST-LPIPS between image batches in [0, 1], as a training loss.

    Inputs whose short side is below ``min_side`` are upsampled (bilinear) first: AlexNet's
    stride-4 stem and pools leave a 32-pixel patch with 1x1 feature maps in its deeper layers,
    where the distance only compares global statistics and its gradient favours texture.
    """
    short = min(a.shape[-2:])
    if short < min_side:
        scale = min_side / short
        a = F.interpolate(a, scale_factor=scale, mode="bilinear", align_corners=False)
        b = F.interpolate(b, scale_factor=scale, mode="bilinear", align_corners=False)
    return net(a, b, normalize=True).mean()
