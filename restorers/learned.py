"""Shared behaviour of restorers that load a trained checkpoint."""
from __future__ import annotations

import os
from typing import ClassVar

import torch
from torch import nn

from .base import Restorer
from .checkpoints import load_checkpoint, shipped_path
from .diffusion.canvas import restore_on_canvases, working_size


class LearnedRestorer(Restorer):
    """Loads ``<method>-<preset>`` (or an explicit ``checkpoint`` path), builds the network from
    the architecture recorded in the checkpoint, and reports the checkpoint in ``info()``."""

    default_preset: ClassVar[str] = "compact"
    presets = ("compact", "paper")

    def __init__(self, device="cpu", preset: str | None = None, checkpoint: str | None = None,
                 variant: str | None = None):
        super().__init__(device, preset or self.default_preset)
        self.variant = variant
        state, self.meta = load_checkpoint(self.checkpoint_method, self.preset, checkpoint)
        self.net = self.build(self.meta["config"])
        self.net.load_state_dict(state)
        self.net.eval().to(self.device)

    @property
    def checkpoint_method(self) -> str:
        return self.checkpoint_for(self.variant)

    @classmethod
    def checkpoint_for(cls, variant: str | None) -> str:
        """The checkpoint a variant loads (``<name>-<variant>`` unless a method says otherwise)."""
        return f"{cls.name}-{variant}" if variant else cls.name

    @classmethod
    def is_ready(cls, variant: str | None = None, **_) -> bool:
        """Whether the default-preset checkpoint ships with the package."""
        return os.path.exists(shipped_path(cls.checkpoint_for(variant), cls.default_preset))

    def build(self, config: dict) -> nn.Module:
        raise NotImplementedError

    def info(self) -> dict:
        info = super().info()
        info.update({k: self.meta.get(k) for k in ("sha256", "steps", "final_loss", "train_seconds", "code_version",
                                                    "parameters")})
        info["checkpoint"] = self.meta.get("file")
        info["variant"] = self.variant
        return info

    def seeded_noise(self, shape: tuple[int, ...], seeds, index: int | None = None) -> torch.Tensor:
        """Standard normal noise, one generator per image, so an image's noise never depends on
        the batch it is in. ``shape`` excludes the batch dimension."""
        n = len(seeds)
        out = torch.empty((n, *shape))
        for i, seed in enumerate(seeds):
            g = torch.Generator().manual_seed(int(seed) + (0 if index is None else 1_000_003 * index))
            out[i] = torch.randn(shape, generator=g)
        return out.to(self.device)


class CanvasRestorer(LearnedRestorer):
    """A learned method that restores each crop on a canvas of fixed height (the config's
    ``canvas_height``, width a multiple of ``multiple``, at most ``max_width``) and maps the
    result back to the crop's size. Subclasses implement ``sample(batch, generators)``."""

    def sample(self, batch: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def restore_many(self, images, seeds=None, max_batch: int = 64) -> list[torch.Tensor]:
        c = self.meta["config"]
        size_of = lambda h, w: working_size(h, w, c["canvas_height"], c["multiple"], c["max_width"])
        return restore_on_canvases(images, seeds, size_of, self.sample, self.device, max_batch)
