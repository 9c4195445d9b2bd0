"""Degradation models: pure functions of (clean uint8 image, brightness, noise std, seed).

Both take an RGB image of shape (H, W, 3), dtype uint8, and return float32 RGB in [0, 1].
The noise comes only from ``seed``, so a sample's degraded pixels never depend on batch size,
order or worker count.
"""
from __future__ import annotations

import cv2
import numpy as np

from .errors import DegradationError


def gaussian_noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Standard-normal float32 noise drawn from NumPy's PCG64 (stable across platforms)."""
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise DegradationError(f"expected an RGB uint8 image of shape (H, W, 3), got {dtype} {shape}")


def check_parameters(brightness: float, noise_std: float) -> None:
    if not np.isfinite(brightness) or not 0.0 < brightness <= 1.0:
        raise DegradationError(f"brightness must be in (0, 1], got {brightness}")
    if not np.isfinite(noise_std) or noise_std < 0.0:
        raise DegradationError(f"noise std must be >= 0, got {noise_std}")


def scale_value_channel(image: np.ndarray, brightness: float) -> np.ndarray:
    """Steps 1-3 of the DiD model: OpenCV 8-bit HSV, V <- floor(V * b) as uint8, back to RGB.

    b == 1 is the identity (the 8-bit HSV round trip alone is lossy, and "no darkening" must
    leave the image untouched so that the clean cell is exactly the clean crop).
    """
    if brightness == 1.0:
        return image.copy()
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    # float64 product then truncation, as in numpy code that assigns V * b into a uint8 array
    hsv[..., 2] = np.floor(hsv[..., 2] * float(brightness)).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def did(image: np.ndarray, brightness: float, noise_std: float, seed: int, quantize: bool = False) -> np.ndarray:
    """The DiD authors' low-light model (DESIGN section 3).

    1. uint8 sRGB -> HSV (OpenCV 8-bit convention); 2. V <- floor(V * b); 3. HSV -> RGB, / 255;
    4. + N(0, noise_std^2) per pixel and channel, clip to [0, 1].
    ``quantize`` re-quantizes with floor(x * 255) / 255 as the authors' LLFlow path did.
    """
    _check_image(image)
    check_parameters(brightness, noise_std)
    dark = scale_value_channel(image, brightness).astype(np.float32) / np.float32(255.0)
    if noise_std > 0:
        dark = dark + np.float32(noise_std) * gaussian_noise(image.shape, seed)
    out = np.clip(dark, 0.0, 1.0)
    if quantize:
        out = np.floor(out * np.float32(255.0)) / np.float32(255.0)
    return out.astype(np.float32, copy=False)


def _where(condition, a, b):
    """np.where for arrays, torch.where for tensors (so DiD's normalization keeps its gradients)."""
    return np.where(condition, a, b) if isinstance(a, np.ndarray) else a.where(condition, b)


def _float32_if_array(x):
    return x.astype(np.float32) if isinstance(x, np.ndarray) else x


def srgb_to_linear(x):
    """IEC 61966-2-1 decoding of x in [0, 1]: a numpy array (float32 out) or a torch tensor (dtype kept)."""
    return _float32_if_array(_where(x <= 0.04045, x / 12.92, ((x.clip(0) + 0.055) / 1.055) ** 2.4))


def linear_to_srgb(x):
    """IEC 61966-2-1 encoding of x >= 0 (negatives read as 0; values above 1 are not clipped): a numpy
    array (float32 out) or a torch tensor (dtype kept)."""
    x = x.clip(0)
    return _float32_if_array(_where(x <= 0.0031308, 12.92 * x, 1.055 * x.clip(0.0031308) ** (1 / 2.4) - 0.055))


DEFAULT_SHOT_GAIN = 0.01  # linear signal units per photo-electron: full scale = 100 e-


def physical(image: np.ndarray, brightness: float, noise_std: float, seed: int,
             shot_gain: float = DEFAULT_SHOT_GAIN) -> np.ndarray:
    """A physically motivated model: exposure in linear light plus Poisson-Gaussian sensor noise.

    linear = sRGB^-1(image / 255) * b; electrons ~ Poisson(linear / shot_gain);
    raw = electrons * shot_gain + N(0, noise_std^2) (read noise, linear units);
    clip to [0, 1], quantize to 8 bits (round), then encode back to sRGB.
    """
    _check_image(image)
    check_parameters(brightness, noise_std)
    if not np.isfinite(shot_gain) or shot_gain < 0:
        raise DegradationError(f"shot gain must be >= 0, got {shot_gain}")
    rng = np.random.default_rng(seed)
    linear = srgb_to_linear(image.astype(np.float32) / np.float32(255.0)) * np.float32(brightness)
    if shot_gain > 0:
        linear = rng.poisson(linear / shot_gain).astype(np.float32) * np.float32(shot_gain)
    if noise_std > 0:
        linear = linear + np.float32(noise_std) * rng.standard_normal(image.shape, dtype=np.float32)
    linear = np.round(np.clip(linear, 0.0, 1.0) * 255.0) / 255.0
    return linear_to_srgb(linear.astype(np.float32))


MODELS = {"did": did, "physical": physical}
