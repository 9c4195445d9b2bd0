"""Baselines without learning: the floor every learned restorer has to beat."""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from .base import PerImage, Restorer, Variant, check_batch


def estimate_noise_std(image: np.ndarray) -> float:
    """Gaussian noise std by Donoho's rule: median(|HH|) / 0.6745 on the finest diagonal Haar
    wavelet band (orthonormal, so white noise keeps its std there); averaged over channels."""
    h, w = (image.shape[0] // 2) * 2, (image.shape[1] // 2) * 2
    if h == 0 or w == 0:
        return 0.0
    x = image[:h, :w].astype(np.float64)
    diagonal = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2.0
    return float(np.mean(np.median(np.abs(diagonal), axis=(0, 1)) / 0.6745))


def brightness_gain(image: np.ndarray, target: float = 0.9, percentile: float = 99.0,
                    max_gain: float = 12.0) -> float:
    """Gain that brings the bright end of the HSV value (max over RGB) to ``target``; it undoes
    V <- b V when measured on a noise-free version of the image."""
    level = float(np.percentile(image.max(axis=2), percentile))
    return float(np.clip(target / max(level, 1e-3), 1.0, max_gain))


class Identity(Restorer):
    family = "baseline"

    def restore(self, x: torch.Tensor, seeds: Sequence[int] | None = None) -> torch.Tensor:
        check_batch(x)
        return x.clamp(0, 1)


class CLAHE(PerImage):
    family = "classical"

    def __init__(self, device="cpu", preset=None, clip_limit: float = 2.0):
        super().__init__(device, preset)
        self.clip_limit = clip_limit

    def _one(self, image: np.ndarray) -> np.ndarray:
        gain = brightness_gain(cv2.GaussianBlur(image, (0, 0), 1.0))  # blur: noise must not set the gain
        bright = np.clip(image * gain, 0, 1)
        lab = cv2.cvtColor((bright * 255).round().astype(np.uint8), cv2.COLOR_RGB2LAB)
        h, w = lab.shape[:2]
        tiles = (max(1, h // 32), max(1, w // 32))
        lab[..., 0] = cv2.createCLAHE(clipLimit=self.clip_limit, tileGridSize=tiles[::-1]).apply(lab[..., 0])
        return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32) / 255.0


class GainNLM(PerImage):
    family = "classical"

    def __init__(self, device="cpu", preset=None, strength: float = 1.0):
        super().__init__(device, preset)
        self.strength = strength

    def _one(self, image: np.ndarray) -> np.ndarray:
        sigma = estimate_noise_std(image)
        h = max(1.0, self.strength * sigma * 255.0)
        as_uint8 = (image * 255).round().astype(np.uint8)
        denoised = cv2.fastNlMeansDenoisingColored(as_uint8, None, h, h, 5, 15).astype(np.float32) / 255.0
        return np.clip(denoised * brightness_gain(denoised), 0, 1)


VARIANTS = [
    Variant("identity", Identity, "returns the degraded input unchanged", default=True),
    Variant("clahe", CLAHE, "global gain to the 99th brightness percentile, then CLAHE on L*; no denoising",
            default=True),
    Variant("gain-nlm", GainNLM, "non-local means (strength from the estimated noise std), then global gain",
            default=True),
]
