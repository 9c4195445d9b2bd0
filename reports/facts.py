"""Per-metric facts (label, direction, range, group), as in pyiqa: the one table the report
tables, the figures, score tracking and ``benchmark list`` read. It sits in the tables layer and
imports nothing heavy, so ``benchmark`` and every ``reports`` module can use it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str  # the label in tables, figures and ``benchmark list``
    higher_is_better: bool
    value_range: tuple[float, float | None]  # None: unbounded above
    description: str
    group: str  # "text": the headline scores tracking follows; "image": the quality table; "cost"


METRICS = {
    "accuracy": MetricInfo("word accuracy", True, (0, 1), "exact match of normalized prediction and label", "text"),
    "ned": MetricInfo("1-NED", True, (0, 1), "1 - Levenshtein / max(len) per sample (ICDAR 2019); 0/0 counts as 1",
                      "text"),
    "psnr": MetricInfo("PSNR (dB)", True, (0, None), "10 log10(1 / MSE) on RGB in [0, 1] vs the clean crop", "image"),
    "ssim": MetricInfo("SSIM", True, (-1, 1), "scikit-image, Gaussian window sigma 1.5, population covariance, RGB",
                       "image"),
    "kid": MetricInfo("KID", False, (0, None), "polynomial-kernel MMD^2 on TF-FID Inception pool3 features vs the "
                      "clean crops (unbiased, so it can dip below 0)", "image"),
    "perceptual": MetricInfo("ST-LPIPS", False, (0, 1), "shift-tolerant LPIPS (AlexNet), weights from stlpips-pytorch",
                             "image"),
    "seconds": MetricInfo("s / image", False, (0, None), "restorer wall time per image", "cost"),
    "nfe": MetricInfo("NFE / image", False, (0, None), "network evaluations per image", "cost"),
}


def label(metric: str) -> str:
    """The metric's label; a column the table does not know keeps its own name."""
    return METRICS[metric].name if metric in METRICS else metric


def group(name: str) -> list[str]:
    """The metrics of one group, in the table's order."""
    return [m for m, info in METRICS.items() if info.group == name]


def range_text(metric: str) -> str:
    low, high = METRICS[metric].value_range
    return f"[{low:g}, {high:g}]" if high is not None else f"[{low:g}, inf)"
