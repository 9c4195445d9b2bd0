"""The restorer interface every method (built-in or plugin) implements, and the shared behaviour of
the three kinds of built-in restorers: per-image (classical), checkpoint-loading (learned) and
canvas restorers (learned methods that work at a fixed height)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from .canvas import restore_on_canvases, working_size
from .checkpoints import find_checkpoint, load_checkpoint, shipped_path
from .errors import RestorerError


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


def training_changes(variants: list[Variant], method: str, family: str) -> dict:
    """The config changes ``method`` trains with (``{}`` for the method itself), from its module's
    ``VARIANTS``; a name without weights of its own is an error that lists the trainable ones."""
    trains = {v.name: v.trains for v in variants if v.trains is not None}
    if method not in trains:
        raise RestorerError(f"{method!r} is not a trainable {family} variant; choose from {', '.join(trains)}")
    return trains[method]


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


def to_images(x: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) tensor in [0, 1] -> list of (H, W, 3) float32 arrays."""
    return [img for img in x.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()]


def from_images(images: list[np.ndarray], like: torch.Tensor) -> torch.Tensor:
    out = torch.from_numpy(np.stack(images).astype(np.float32)).permute(0, 3, 1, 2)
    return out.to(device=like.device, dtype=like.dtype).clamp(0, 1)


class PerImage(Restorer):
    """A restorer defined on one (H, W, 3) float image at a time (``_one``)."""

    def _one(self, image: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def restore(self, x: torch.Tensor, seeds: Sequence[int] | None = None) -> torch.Tensor:
        check_batch(x)
        return from_images([self._one(img) for img in to_images(x)], x)


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
