"""Shared behaviour of restorers that load a trained checkpoint."""
from __future__ import annotations

import os
from typing import ClassVar

import torch
from torch import nn

from .base import Restorer, RestorerError
from .checkpoints import find_checkpoint, load_checkpoint, shipped_path
from .diffusion.canvas import restore_on_canvases, working_size


class LearnedRestorer(Restorer):
    """Loads ``<method>-<preset>`` (from ``checkpoint_dir`` when it holds that file, else the shipped
    one; or an explicit ``checkpoint`` path), builds the network from the architecture recorded in
    the checkpoint, and reports the checkpoint in ``info()``.

    ``weights=(state_dict, meta)`` builds the restorer from weights in memory instead (training
    validates its current weights this way). ``one_step=True`` replaces the sampler by the
    network's clean estimate from the sampler's starting point (one network evaluation per scale).
    """

    default_preset: ClassVar[str] = "compact"
    presets = ("compact", "paper")

    def __init__(self, device="cpu", preset: str | None = None, checkpoint: str | None = None,
                 variant: str | None = None, checkpoint_dir: str | None = None,
                 weights: tuple[dict, dict] | None = None, one_step: bool = False):
        super().__init__(device, preset or self.default_preset)
        self.variant = variant
        self.one_step = one_step
        if weights is not None:
            state, self.meta = weights
        else:
            path = checkpoint or find_checkpoint(self.checkpoint_method, self.preset, checkpoint_dir)
            state, self.meta = load_checkpoint(self.checkpoint_method, self.preset, path)
        try:
            self.net = self.build(self.meta["config"])
            self.net.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError) as e:  # a config or state of another architecture
            where = self.meta.get("path", "the given weights")
            raise RestorerError(f"checkpoint {where} does not fit {self.name}: {str(e).splitlines()[0]}") from None
        self.net.eval().to(self.device)

    @property
    def checkpoint_method(self) -> str:
        return self.checkpoint_for(self.variant)

    @classmethod
    def checkpoint_for(cls, variant: str | None) -> str:
        """The checkpoint a restorer loads: its variant's own (e.g. ``did-no-lpips``) or the method's."""
        return variant or cls.name

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
        info["checkpoint"] = self.meta.get("path") or self.meta.get("file")
        info["variant"] = self.variant
        info["one_step"] = self.one_step
        return info


class CanvasRestorer(LearnedRestorer):
    """A learned method that restores each crop on a canvas of fixed height (the config's
    ``canvas_height``, width a multiple of ``multiple``, at most ``max_width``) and maps the
    result back to the crop's size. Subclasses implement ``sample(batch, generators)``."""

    def sample(self, batch: torch.Tensor, generators: list[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError

    def canvas_of(self, height: int, width: int) -> tuple[int, int]:
        c = self.meta["config"]
        return working_size(height, width, c["canvas_height"], c["multiple"], c["max_width"])

    def encode_decode(self, batch: torch.Tensor) -> torch.Tensor:
        """What the method's own representation keeps of a canvas batch (identity for pixel-space methods)."""
        return batch

    @torch.no_grad()
    def restore_many(self, images, seeds=None, max_batch: int = 64) -> list[torch.Tensor]:
        return restore_on_canvases(images, seeds, self.canvas_of, self.sample, self.device, max_batch)

    @torch.no_grad()
    def passthrough(self, images, max_batch: int = 64) -> list[torch.Tensor]:
        return restore_on_canvases(images, None, self.canvas_of, lambda batch, _: self.encode_decode(batch), self.device,
                                   max_batch)
