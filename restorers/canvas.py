"""Resizing word crops to working canvases and tiling canvases into patches.

Word crops are wide and of every size; networks want sizes divisible by their down-sampling
factor. A restorer resizes each crop to a canvas that depends only on that crop (so results never
depend on the batch), restores, and resizes back to the crop's own size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N, C, H, W); antialiased when shrinking."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def columns(height: int, width: int, max_columns: int) -> int:
    """How many square cells of the crop's height fit across it: round(W / H) in [1, max_columns]."""
    return int(min(max_columns, max(1, round(width / max(1, height)))))


def working_size(height: int, width: int, canvas_height: int, multiple: int, max_width: int) -> tuple[int, int]:
    """Canvas of fixed height keeping the aspect ratio, width a multiple of ``multiple``."""
    w = round(width * canvas_height / max(1, height) / multiple) * multiple
    return canvas_height, int(min(max_width, max(multiple, w)))


def group_by_canvas(images, canvas_of) -> dict[tuple[int, int], list[int]]:
    """Indices of ``images`` (each (3, H, W)) grouped by their canvas size."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(canvas_of(image.shape[-2], image.shape[-1]), []).append(i)
    return groups


def tile(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(N, C, H, W) with H, W multiples of ``patch`` -> (N * H/p * W/p, C, p, p), row-major."""
    n, c, h, w = x.shape
    if h % patch or w % patch:
        raise ValueError(f"canvas {h}x{w} is not a multiple of the patch size {patch}")
    x = x.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(-1, c, patch, patch)


def untile(patches: torch.Tensor, n: int, height: int, width: int) -> torch.Tensor:
    """Exact inverse of :func:`tile`."""
    _, c, p, _ = patches.shape
    x = patches.reshape(n, height // p, width // p, c, p, p)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(n, c, height, width)


def restore_on_canvases(images, seeds, size_of, run, device, max_batch: int = 64) -> list[torch.Tensor]:
    """Resize each (3, H, W) image to ``size_of(H, W)``, call ``run(batch, generators)`` on groups of
    equal canvas (one seeded generator per image, so results never depend on the grouping), and
    resize each result back to its image's size."""
    seeds = list(seeds) if seeds is not None else list(range(len(images)))
    out: list[torch.Tensor | None] = [None] * len(images)
    for size, indices in group_by_canvas(images, size_of).items():
        for start in range(0, len(indices), max_batch):
            chunk = indices[start:start + max_batch]
            batch = torch.cat([resize(images[i][None].float().to(device), size) for i in chunk])
            generators = [torch.Generator().manual_seed(int(seeds[i])) for i in chunk]
            result = run(batch, generators)
            for k, i in enumerate(chunk):
                out[i] = resize(result[k:k + 1].clamp(0, 1), tuple(images[i].shape[-2:]))[0].clamp(0, 1)
    return out  # type: ignore[return-value]


def draw_noise(generators, shape, device) -> torch.Tensor:
    """One standard-normal sample of ``shape`` per generator, stacked: (len(generators), *shape)."""
    return torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)
