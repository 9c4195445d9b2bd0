"""Per-metric facts (label, direction, range, group, how a cell summarizes it), as in pyiqa: the one
table the runner's ``summarize``, the report tables, the figures, score tracking and ``benchmark list``
read. It sits in the tables layer and imports nothing heavy, so ``benchmark`` and every ``reports``
module can use it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    name: str  # the label in tables, figures and ``benchmark list``
    higher_is_better: bool
    value_range: tuple[float, float | None]  # None: unbounded above
    description: str
    group: str  # "text": the headline scores tracking follows; "image": the quality table; "cost"
    # How ``summarize`` makes the per-cell value from samples.parquet: (column, "mean" over the
    # cell's samples, or "first": one value per unit). None: not in summary.csv.
    summary: tuple[str, str] | None = None
    spread: str | None = None  # the column holding the estimate's standard deviation, if any


METRICS = {
    "accuracy": MetricInfo("word accuracy", True, (0, 1), "exact match of normalized prediction and label", "text",
                           ("correct", "mean")),
    "ned": MetricInfo("1-NED", True, (0, 1), "1 - Levenshtein / max(len) per sample (ICDAR 2019); 0/0 counts as 1",
                      "text", ("ned", "mean")),
    "psnr": MetricInfo("PSNR (dB)", True, (0, None), "10 log10(1 / MSE) on RGB in [0, 1] vs the clean crop", "image",
                       ("psnr", "mean")),
    "ssim": MetricInfo("SSIM", True, (-1, 1), "scikit-image, Gaussian window sigma 1.5, population covariance, RGB",
                       "image", ("ssim", "mean")),
    "perceptual": MetricInfo("ST-LPIPS", False, (0, 1), "shift-tolerant LPIPS (AlexNet), weights from stlpips-pytorch",
                             "image", ("perceptual", "mean")),
    "kid": MetricInfo("KID", False, (0, None), "polynomial-kernel MMD^2 on TF-FID Inception pool3 features vs the "
                      "clean crops (unbiased, so it can dip below 0)", "image", ("kid", "first"), spread="kid_std"),
    # wall time stays in samples.parquet: summary.csv must be the same bytes for the same command
    "seconds": MetricInfo("s / image", False, (0, None), "restorer wall time per image", "cost"),
    "nfe": MetricInfo("NFE / image", False, (0, None), "network evaluations per image", "cost", ("nfe", "first")),
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
