"""Degradation grid: cells of (brightness b, Gaussian noise std sigma), presets and parsing."""
from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Iterable, Sequence

from .errors import DegradationError
from .models import check_parameters

AXES = ("brightness", "noise")


@dataclass(frozen=True, order=True)
class Cell:
    """One degradation setting. Values are rounded to 6 decimals so 0.1 and 0.10 are one cell."""

    brightness: float
    noise: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "brightness", round(float(self.brightness), 6))
        object.__setattr__(self, "noise", round(float(self.noise), 6))
        check_parameters(self.brightness, self.noise)

    @property
    def is_clean(self) -> bool:
        return self.brightness == 1.0 and self.noise == 0.0

    @property
    def key(self) -> str:
        return f"b{self.brightness:g}_n{self.noise:g}"

    def __str__(self) -> str:
        return f"b={self.brightness:g} σ={self.noise:g}"


CLEAN = Cell(1.0, 0.0)


@dataclass(frozen=True)
class Preset:
    brightness: tuple[float, ...]
    noise: tuple[float, ...]
    description: str


PRESETS: dict[str, Preset] = {
    # Exactly the DiD paper's text-recognition protocol.
    "did": Preset(
        brightness=(0.5, 0.4),
        noise=(0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40),
        description="DiD protocol: b in {0.5, 0.4} x sigma in {0.05, ..., 0.40}",
    ),
    # Spans the DiD range (its b = 0.5 and its lowest, middle and highest noise) and goes darker
    # (b down to 0.1), with few enough cells that every restorer runs on a 2-core CPU.
    "default": Preset(
        brightness=(0.5, 0.3, 0.1),
        noise=(0.05, 0.2, 0.4),
        description="b in {0.5, 0.3, 0.1} x sigma in {0.05, 0.2, 0.4} (9 cells, CPU-sized)",
    ),
}


def parse_axes(text: str) -> tuple[str, ...]:
    axes = tuple(a.strip() for a in text.split(",") if a.strip())
    if not axes:
        raise DegradationError("--grid needs at least one axis: brightness, noise or brightness,noise")
    unknown = [a for a in axes if a not in AXES]
    if unknown:
        raise DegradationError(f"unknown grid axis {unknown[0]!r}; choose from brightness, noise")
    if len(set(axes)) != len(axes):
        raise DegradationError(f"grid axis repeated in {text!r}")
    return axes


def parse_values(text: str, name: str) -> tuple[float, ...]:
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise DegradationError(f"--{name}: {part!r} is not a number") from None
        if not math.isfinite(value):
            raise DegradationError(f"--{name}: {part!r} is not a finite number")
        values.append(value)
    if not values:
        raise DegradationError(f"--{name} needs at least one value")
    return tuple(values)


def build_grid(axes: str | Sequence[str] = "brightness,noise",
               brightness: Iterable[float] | None = None,
               noise: Iterable[float] | None = None,
               preset: str = "default",
               include_clean: bool = True) -> list[Cell]:
    """Cells of the requested sweep; an axis not swept stays neutral (b = 1 or sigma = 0).

    The clean cell (b = 1, sigma = 0) comes first (the upper bound), then brightness descending
    and noise ascending. Every value is validated before any work starts.
    """
    if isinstance(axes, str):
        axes = parse_axes(axes)
    if preset not in PRESETS:
        raise DegradationError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    chosen = PRESETS[preset]
    b_values = tuple(brightness) if brightness is not None else chosen.brightness
    n_values = tuple(noise) if noise is not None else chosen.noise
    for b in b_values:
        if not 0.0 < b <= 1.0:
            raise DegradationError(f"brightness must be in (0, 1], got {b:g}")
    for s in n_values:
        if s < 0.0:
            raise DegradationError(f"noise std must be >= 0, got {s:g}")
    b_axis = b_values if "brightness" in axes else (1.0,)
    n_axis = n_values if "noise" in axes else (0.0,)
    cells = {Cell(b, s) for b, s in product(b_axis, n_axis)}
    if include_clean:
        cells.add(CLEAN)
    return sorted(cells, key=lambda c: (not c.is_clean, -c.brightness, c.noise))
