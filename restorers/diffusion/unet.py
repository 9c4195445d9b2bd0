"""A conditional U-Net in the DDPM++ style, shared by every diffusion restorer.

Input: the noisy state concatenated with condition images along channels; a scalar noise level
(or time) per sample enters through a sinusoidal embedding and an MLP, and modulates every
residual block (scale and shift after the second GroupNorm). Residual sums are scaled by
1/sqrt(2) as in DDPM++. Self-attention runs at the levels listed in ``attention_levels``
(level 0 is the first level's resolution). With ``space_to_depth`` = r > 1 the input is rearranged
losslessly into r x r blocks of pixels as channels (pixel unshuffle) before the first convolution and
the output back (pixel shuffle): every pixel is seen and produced, at about 1/r^2 of the cost.
Works for any H, W divisible by ``multiple`` = r * 2^(levels - 1).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of a float per sample, (N,) -> (N, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _groups(channels: int) -> int:
    for g in (32, 16, 8, 4, 2, 1):
        if channels % g == 0 and channels // g >= 2:
            return g
    return 1


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return (self.skip(x) + h) / math.sqrt(2)


class Attention(nn.Module):
    def __init__(self, channels: int, heads: int = 1):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        out = out.transpose(-1, -2).reshape(n, c, h, w)
        return (x + self.proj(out)) / math.sqrt(2)


class UNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int = 3, channels: int = 32,
                 channel_mult: tuple[int, ...] = (1, 2), blocks_per_level: int = 1,
                 attention_levels: tuple[int, ...] = (1,), dropout: float = 0.0, emb_dim: int | None = None,
                 embedding_scale: float = 1.0, space_to_depth: int = 1):
        super().__init__()
        self.space_to_depth = space_to_depth
        in_channels, out_channels = in_channels * space_to_depth ** 2, out_channels * space_to_depth ** 2
        emb_dim = emb_dim or 4 * channels
        self.channels = channels
        self.embedding_scale = embedding_scale  # noise levels ~1 (EDM's ln(sigma)/4) need a larger scale
        self.levels = len(channel_mult)
        self.embed = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)

        self.down = nn.ModuleList()
        skips = [channels]
        c = channels
        for level, mult in enumerate(channel_mult):
            for _ in range(blocks_per_level):
                block = nn.ModuleList([ResBlock(c, channels * mult, emb_dim, dropout)])
                c = channels * mult
                if level in attention_levels:
                    block.append(Attention(c))
                self.down.append(block)
                skips.append(c)
            if level < self.levels - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1)]))
                skips.append(c)

        self.mid = nn.ModuleList([ResBlock(c, c, emb_dim, dropout), Attention(c), ResBlock(c, c, emb_dim, dropout)])

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(channel_mult))):
            for _ in range(blocks_per_level + 1):
                block = nn.ModuleList([ResBlock(c + skips.pop(), channels * mult, emb_dim, dropout)])
                c = channels * mult
                if level in attention_levels:
                    block.append(Attention(c))
                self.up.append(block)
            if level > 0:
                self.up.append(nn.ModuleList([nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)]))
        self.out = nn.Sequential(nn.GroupNorm(_groups(c), c), nn.SiLU(), nn.Conv2d(c, out_channels, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    @property
    def multiple(self) -> int:
        return self.space_to_depth * 2 ** (self.levels - 1)

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.multiple or x.shape[-2] % self.multiple:
            raise ValueError(f"U-Net input {tuple(x.shape[-2:])} must be divisible by {self.multiple}")
        level = noise_level.reshape(-1).expand(x.shape[0]) * self.embedding_scale
        emb = self.embed(timestep_embedding(level, self.channels))
        if self.space_to_depth > 1:
            x = F.pixel_unshuffle(x, self.space_to_depth)
        h = self.stem(x)
        hs = [h]
        for block in self.down:
            if isinstance(block[0], ResBlock):
                h = block[0](h, emb)
                for extra in block[1:]:
                    h = extra(h)
            else:
                h = block[0](h)
            hs.append(h)
        h = self.mid[0](h, emb)
        h = self.mid[1](h)
        h = self.mid[2](h, emb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = block[0](torch.cat([h, hs.pop()], dim=1), emb)
                for extra in block[1:]:
                    h = extra(h)
            else:
                h = block[1](block[0](h))
        h = self.out(h)
        return F.pixel_shuffle(h, self.space_to_depth) if self.space_to_depth > 1 else h
