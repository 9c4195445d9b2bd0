"""Derived tables, all computed from summary.csv."""
from __future__ import annotations

import pandas as pd

from .figures import is_clean


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x recognizer x restorer: mean accuracy / 1-NED over the degraded cells, with the
    clean upper bound beside it. The scores that tracking follows."""
    degraded = summary[~is_clean(summary)]
    table = (degraded.groupby(["dataset", "recognizer", "restorer"], sort=False)
             .agg(cells=("accuracy", "size"), accuracy=("accuracy", "mean"), ned=("ned", "mean"))
             .reset_index())
    clean = summary[is_clean(summary)].set_index(["dataset", "recognizer"])["accuracy"]
    table["clean_accuracy"] = [clean.get((d, r), float("nan")) for d, r in zip(table["dataset"], table["recognizer"])]
    return table


def quality_table(summary: pd.DataFrame) -> pd.DataFrame:
    degraded = summary[~is_clean(summary)]
    return (degraded.groupby("restorer", sort=False)
            .agg(psnr=("psnr", "mean"), ssim=("ssim", "mean"), kid=("kid", "mean"), perceptual=("perceptual", "mean"))
            .reset_index())


def cost_table(summary: pd.DataFrame) -> pd.DataFrame:
    degraded = summary[~is_clean(summary)]
    return (degraded.groupby("restorer", sort=False)
            .agg(nfe=("nfe", "first"), seconds_per_image=("seconds", "mean"), images=("n", "sum"))
            .reset_index())


def ablation_table(summary: pd.DataFrame, full: str = "did") -> pd.DataFrame:
    """Each DiD variant vs the full method: word accuracy and 1-NED averaged over the degraded
    cells and datasets, and the difference to the full method (empty without variants)."""
    degraded = summary[~is_clean(summary)]
    variants = degraded[degraded["restorer"].str.fullmatch(rf"{full}(-.+)?")]
    if variants.empty or full not in set(variants["restorer"]) or variants["restorer"].nunique() < 2:
        return pd.DataFrame()
    table = (variants.groupby(["recognizer", "restorer"], sort=False)
             .agg(cells=("accuracy", "size"), accuracy=("accuracy", "mean"), ned=("ned", "mean")).reset_index())
    reference = table[table["restorer"] == full].set_index("recognizer")
    table["accuracy_vs_full"] = table["accuracy"] - table["recognizer"].map(reference["accuracy"])
    table["ned_vs_full"] = table["ned"] - table["recognizer"].map(reference["ned"])
    return table
