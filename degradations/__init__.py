"""Low-light degradation synthesizer: pure functions plus the grid they are swept over.

>>> from degradations import degrade, Cell
>>> dark = degrade(image_uint8, Cell(0.4, 0.1), seed=degradation_seed(0, "iiit5k", "12_3", Cell(0.4, 0.1)))
"""
from __future__ import annotations

import numpy as np

from .errors import DegradationError
from .grid import AXES, CLEAN, PRESETS, Cell, Preset, build_grid, parse_axes, parse_values
from .models import DEFAULT_SHOT_GAIN, MODELS, did, linear_to_srgb, physical, srgb_to_linear
from .seeds import stable_seed

__all__ = [
    "AXES", "CLEAN", "PRESETS", "Cell", "Preset", "DegradationError", "MODELS", "build_grid",
    "parse_axes", "parse_values", "did", "physical", "srgb_to_linear", "linear_to_srgb",
    "stable_seed", "degradation_seed", "degrade", "DEFAULT_SHOT_GAIN",
]


def degradation_seed(base_seed: int, dataset: str, sample_id: str, cell: Cell, model: str = "did") -> int:
    """The noise seed of one sample in one cell: depends on nothing else (DESIGN section 3)."""
    return stable_seed("degradation", base_seed, dataset, sample_id, cell.brightness, cell.noise, model)


def degrade(image: np.ndarray, cell: Cell, seed: int, model: str = "did", **options) -> np.ndarray:
    """Apply one model at one cell. The clean cell returns the image as float without noise."""
    if model not in MODELS:
        raise DegradationError(f"unknown degradation model {model!r}; choose from {', '.join(MODELS)}")
    if cell.is_clean:  # the upper-bound cell is the clean crop itself under every model
        return image.astype(np.float32) / np.float32(255.0)
    return MODELS[model](image, cell.brightness, cell.noise, seed, **options)
