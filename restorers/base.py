"""The restorer interface every method (built-in or plugin) implements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import torch


class RestorerError(RuntimeError):
    """A restorer cannot be created or run; the message says what to do."""


@dataclass(frozen=True)
class Variant:
    """One registered restorer name: ``restorer`` built with ``options``. Each method module lists its
    names in one table ``VARIANTS`` (the registry reads it). ``trains`` marks a learned name with a
    checkpoint of its own, trained with these changes to the method's config (``{}`` for the method
    itself); ``None`` means it runs the weights of ``restorer.name`` (a read-out or sampling variant)."""

    name: str
    restorer: type
    description: str
    default: bool = False  # part of the default `python -m benchmark run`
    options: dict = field(default_factory=dict)
    trains: dict | None = None


class Restorer:
    """``restore(x: Tensor[N, 3, H, W] in [0, 1]) -> Tensor[N, 3, H, W] in [0, 1]``.

    Same size out as in, any H and W, batched. ``seeds`` (one int per image) makes stochastic
    restorers reproducible per image, independent of batch composition.

    Class attributes describe the method for ``python -m benchmark list`` and the results:
    ``family`` (baseline, classical, retinex, diffusion, plugin...), ``nfe`` (network evaluations
    per image), ``presets`` (checkpoint presets it ships or can train), ``training_data``.
    """

    name: ClassVar[str] = "unnamed"
    family: ClassVar[str] = "other"
    description: ClassVar[str] = ""
    nfe: ClassVar[int] = 0
    presets: ClassVar[Sequence[str]] = ()
    training_data: ClassVar[str] = "none"

    def __init__(self, device: str | torch.device = "cpu", preset: str | None = None):
        self.device = torch.device(device)
        self.preset = preset

    def restore(self, x: torch.Tensor, seeds: Sequence[int] | None = None) -> torch.Tensor:
        if type(self).restore_many is Restorer.restore_many:
            raise NotImplementedError(f"{type(self).__name__} implements neither restore nor restore_many")
        check_batch(x)
        return torch.stack(self.restore_many(list(x), seeds))

    def restore_many(self, images: Sequence[torch.Tensor], seeds: Sequence[int] | None = None,
                     max_batch: int = 64) -> list[torch.Tensor]:
        """Restore crops of different sizes, each (3, H, W). Crops of equal size share a batch;
        nothing is padded, so an image's result never depends on the other images. Methods that
        resize internally override this to batch more."""
        out: list[torch.Tensor | None] = [None] * len(images)
        by_shape: dict[tuple, list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault(tuple(image.shape), []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), max_batch):
                chunk = indices[start:start + max_batch]
                batch = torch.stack([images[i] for i in chunk]).to(self.device)
                chunk_seeds = [seeds[i] for i in chunk] if seeds is not None else None
                for i, restored in zip(chunk, self.restore(batch, chunk_seeds)):
                    out[i] = restored
        return out  # type: ignore[return-value]

    def passthrough(self, images: Sequence[torch.Tensor], max_batch: int = 64) -> list[torch.Tensor]:
        """Clean crops pushed through the method's own resampling / tiling / encoding and back, with
        no restoration: what the method can keep at best (the pass-through ceiling). Methods that
        work at the crop's own size keep everything."""
        return [image.float().clamp(0, 1) for image in images]

    def info(self) -> dict:
        """Facts recorded in config.json: enough to tell which weights produced the numbers."""
        return {"name": self.name, "family": self.family, "nfe": self.nfe, "preset": self.preset,
                "training_data": self.training_data}

    def __call__(self, x: torch.Tensor, seeds: Sequence[int] | None = None) -> torch.Tensor:
        return self.restore(x, seeds)


def check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
        raise RestorerError(f"expected a tensor of shape (N, 3, H, W), got {getattr(x, 'shape', type(x))}")
