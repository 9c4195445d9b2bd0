"""What a learned method provides for training; the loop itself is ``benchmark.training``.

Every method module exposes ``make_trainer(preset, **overrides) -> Trainer``. The loop feeds it
paired batches (clean, degraded) built the same way for every method, so the comparison is fair:
same data, same degradation ranges, a recorded budget.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable, Protocol

import torch
from torch import nn

from .errors import RestorerError

# Shared by every learned method (DESIGN section 7): the training crops (benchmark.training) are
# degraded on the fly by the `did` model with (b, sigma) covering the evaluation grid.
DEGRADATION_RANGES = {
    "model": "did",
    "brightness": (0.07, 0.6),  # uniform; the grid spans 0.1 .. 0.5
    "noise_only_fraction": 0.1,  # of batches' samples at b = 1 (the --grid noise sweep)
    "noise": (0.0, 0.45),  # uniform; the grid spans 0 .. 0.4
}


@dataclass
class Recipe:
    method: str
    preset: str
    config: dict  # architecture and method hyperparameters; stored in the checkpoint
    steps: int
    batch_size: int
    crop: tuple[int, int]  # (height, width) of the training crops
    lr: float
    seed: int = 0
    stages: tuple[str, ...] = ("main",)
    stage_steps: dict = field(default_factory=dict)  # per-stage step counts when they differ
    stage_crops: dict = field(default_factory=dict)  # per-stage (height, width) when they differ
    warmup: int = 100
    grad_clip: float | None = 1.0
    ema: float | None = None
    checkpoint_every: int = 250
    validate_every: int = 250  # steps between validations of the one-step estimate
    sampler_every: int = 4  # every this many validations, also the full sampler (on fewer crops)
    synth_count: int = 2000  # synth renders added to the real train splits

    def steps_for(self, stage: str) -> int:
        return int(self.stage_steps.get(stage, self.steps))

    def crop_for(self, stage: str) -> tuple[int, int]:
        return tuple(self.stage_crops.get(stage, self.crop))


def stretches(budgets: list[int]) -> list[list[int]]:
    """[[first step, budget], ...] of increasing step budgets trained one after another (``--steps 4000,8000``)."""
    return [[first, total] for first, total in zip([0] + budgets[:-1], budgets)]


def preset_settings(method: str, presets: dict, preset: str) -> dict:
    """The settings of one checkpoint preset of ``method``, or a RestorerError naming the presets."""
    if preset not in presets:
        raise RestorerError(f"{method} has presets {', '.join(presets)}, not {preset!r}")
    return presets[preset]


def canvas_unet_config(p: dict) -> dict:
    """The U-Net and working canvas of a canvas restorer's preset ``p``: the canvas width is a multiple
    of the U-Net's total down-sampling (at least 16) and at most 8 canvas heights."""
    multiple = p["space_to_depth"] * 2 ** (len(p["channel_mult"]) - 1)
    return dict(channels=p["channels"], channel_mult=list(p["channel_mult"]), blocks=p["blocks"],
                attention_levels=list(p["attention_levels"]), space_to_depth=p["space_to_depth"],
                canvas_height=p["canvas_height"], multiple=max(16, multiple), max_width=8 * p["canvas_height"])


def diffusion_recipe(method: str, preset: str, p: dict, config: dict, steps: int, seed: int | None,
                     **fields) -> Recipe:
    """The recipe every diffusion method trains with, so their budgets compare: the preset's batch size,
    learning rate and crop, 100 warm-up steps, gradients clipped at 1, EMA 0.999 for the short compact
    trainings and 0.9999 for the longer presets."""
    fields.setdefault("crop", p.get("crop"))
    return Recipe(method=method, preset=preset, config=config, steps=steps, batch_size=p["batch_size"], lr=p["lr"],
                  seed=0 if seed is None else seed, warmup=100, grad_clip=1.0,
                  ema=0.999 if preset == "compact" else 0.9999, **fields)


class Trainer(Protocol):
    recipe: Recipe

    def modules(self) -> nn.Module:
        """Everything whose state the periodic checkpoints hold."""

    def parameters(self, stage: str) -> Iterable[torch.Tensor]:
        """Parameters optimized in ``stage``."""

    def loss(self, clean: torch.Tensor, degraded: torch.Tensor, generator: torch.Generator,
             stage: str) -> tuple[torch.Tensor, dict]:
        """Scalar loss and floats to log for one batch of images in [0, 1]."""

    def shipped_state(self) -> dict:
        """The state dict the restorer loads at test time (EMA weights where used)."""

    # Optional: ``prepare(batches, stage)`` runs before step 0 of a fresh stage, with
    # ``batches(k) -> (clean, degraded)`` giving fixed batches (e.g. for normalization statistics).


def make_trainer(method: str, preset: str, **overrides) -> Trainer:
    """The trainer of a learned restorer name with weights of its own (an ablation like
    ``did-no-lpips`` included): its method module's ``make_trainer``."""
    from .registry import builtin_variants

    variant = builtin_variants().get(method)
    if variant is None or variant.trains is None:
        raise RestorerError(f"{method!r} is not trainable; trainable: {', '.join(trainable_names())}")
    return sys.modules[variant.restorer.__module__].make_trainer(method, preset, **overrides)


def trainable_names() -> list[str]:
    """Restorer names that train a checkpoint of their own."""
    from .registry import builtin_variants

    return [name for name, variant in builtin_variants().items() if variant.trains is not None]
