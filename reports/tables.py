"""Derived tables, all computed from summary.csv: the lowest ``reports`` layer (figures, HTML,
Markdown and ``benchmark`` build on it), so no matplotlib here."""
from __future__ import annotations

import pandas as pd

from .facts import METRICS, group, label


def is_clean(frame: pd.DataFrame) -> pd.Series:
    return (frame["brightness"] == 1.0) & (frame["noise"] == 0.0)


def best(scores: pd.Series, metric: str):
    """The index of the best score, in the metric's direction."""
    return scores.idxmax() if METRICS[metric].higher_is_better else scores.idxmin()


def headline_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x recognizer x restorer: mean accuracy / 1-NED over the degraded cells, with the
    clean upper bound beside it. The scores that tracking follows."""
    degraded = summary[~is_clean(summary)]
    table = (degraded.groupby(["dataset", "recognizer", "restorer"], sort=False)
             .agg(cells=("accuracy", "size"), **{m: (m, "mean") for m in group("text")})
             .reset_index())
    clean = summary[is_clean(summary)].set_index(["dataset", "recognizer"])["accuracy"]
    table["clean_accuracy"] = [clean.get((d, r), float("nan")) for d, r in zip(table["dataset"], table["recognizer"])]
    return table


def quality_table(summary: pd.DataFrame) -> pd.DataFrame:
    degraded = summary[~is_clean(summary)]
    return (degraded.groupby("restorer", sort=False)
            .agg(**{m: (m, "mean") for m in group("image")})
            .reset_index())


def cost_table(samples: pd.DataFrame) -> pd.DataFrame:
    """Per restorer: NFE and restorer wall time per image over the degraded units (from
    samples.parquet, one recognizer's rows, so each image counts once)."""
    degraded = samples[~is_clean(samples) & (samples["recognizer"] == samples["recognizer"].iloc[0])]
    return (degraded.groupby("restorer", sort=False)
            .agg(nfe=("nfe", "first"), seconds_per_image=("seconds", "mean"), images=("seconds", "size"))
            .reset_index())


def cell_score_tables(summary: pd.DataFrame, degraded_mean: bool = False) -> list[tuple[str, str, int, pd.DataFrame]]:
    """Per dataset x recognizer: (dataset, recognizer, samples, table), the table one row per cell,
    one column per restorer, the text scores as 'word accuracy / 1-NED'. With ``degraded_mean``
    and more than two cells, a last row holds the mean over the degraded cells."""
    scores = group("text")
    blocks = []
    for (dataset, recognizer), part in summary.groupby(["dataset", "recognizer"], sort=False):
        part = part.copy()
        part["cell"] = ["clean" if c else f"b={b:g} σ={s:g}"
                        for c, b, s in zip(is_clean(part), part["brightness"], part["noise"])]
        part["value"] = [" / ".join(f"{v:.3f}" for v in row) for row in part[scores].itertuples(index=False)]
        table = (part.pivot(index="cell", columns="restorer", values="value")
                 .reindex(index=list(dict.fromkeys(part["cell"])), columns=list(dict.fromkeys(part["restorer"])))
                 .fillna(""))
        if degraded_mean and part["cell"].nunique() > 2:
            degraded = part[part["cell"] != "clean"].groupby("restorer")[scores].mean()
            table.loc["mean (degraded)"] = [" / ".join(f"{v:.3f}" for v in degraded.loc[r]) if r in degraded.index
                                            else "" for r in table.columns]
        blocks.append((dataset, recognizer, int(part["n"].max()), table))
    return blocks


def cell_scores_label() -> str:
    """What a cell table's entries are: 'word accuracy / 1-NED'."""
    return " / ".join(label(m) for m in group("text"))


CELL = ["dataset", "model", "brightness", "noise", "recognizer"]  # summary.csv's keys but the restorer


def paired_differences(scores: pd.DataFrame, reference: str, metrics, suffix: str) -> pd.DataFrame:
    """Each row of ``scores`` beside the ``reference`` restorer's row of the same cell (dataset, model,
    brightness, noise, recognizer: the same degraded crops), with ``<metric>_vs_<suffix>`` = its score
    minus the reference's. Differences paired like this cancel what the crops of a cell have in common."""
    reference_scores = scores[scores["restorer"] == reference][CELL + list(metrics)]
    paired = scores.merge(reference_scores, on=CELL, suffixes=("", f"_{suffix}"))
    for metric in metrics:
        paired[f"{metric}_vs_{suffix}"] = paired[metric] - paired[f"{metric}_{suffix}"]
    return paired


def gain_over_input_table(summary: pd.DataFrame, metric: str = "ned", reference: str = "identity") -> pd.DataFrame:
    """Where a restorer helps: per recognizer x noise level x restorer, its ``metric`` minus the dark
    input's (``identity``) averaged over the degraded cells at that noise level (datasets x
    brightness), with the standard error over those cells. Empty without ``identity`` and another
    restorer."""
    degraded = summary[~is_clean(summary)]
    if reference not in set(degraded["restorer"]) or degraded["restorer"].nunique() < 2:
        return pd.DataFrame()
    paired = paired_differences(degraded, reference, (metric,), "input")
    paired = paired[paired["restorer"] != reference]
    gain = f"{metric}_vs_input"
    return (paired.groupby(["recognizer", "noise", "restorer"], sort=False)
            .agg(cells=(gain, "size"), gain=(gain, "mean"), gain_se=(gain, "sem"))
            .reset_index().sort_values(["recognizer", "noise"], kind="stable", ignore_index=True))


def gain_over_input_grid(gains: pd.DataFrame) -> pd.DataFrame:
    """``gain_over_input_table`` for reading: one row per recognizer x noise level, one column per
    restorer, entries '+gain ± standard error'."""
    text = [f"{g:+.3f}" + ("" if pd.isna(se) else f" ± {se:.3f}") for g, se in zip(gains["gain"], gains["gain_se"])]
    return (gains.assign(value=text)
            .pivot(index=["recognizer", "noise"], columns="restorer", values="value")
            .reindex(columns=list(dict.fromkeys(gains["restorer"])))
            .fillna("").reset_index().rename_axis(columns=None))


def ablation_table(summary: pd.DataFrame, full: str = "did") -> pd.DataFrame:
    """Each DiD variant vs the full method: word accuracy and 1-NED averaged over the degraded
    cells and datasets, the difference to the full method, and that difference's standard error
    over the cells (each cell pairs a variant with the full method on the same degraded crops);
    the mean PSNR and SSIM beside them where the summary has them. Empty without variants."""
    degraded = summary[~is_clean(summary)]
    variants = degraded[degraded["restorer"].str.fullmatch(rf"{full}(-.+)?")]
    if variants.empty or full not in set(variants["restorer"]) or variants["restorer"].nunique() < 2:
        return pd.DataFrame()
    paired = paired_differences(variants, full, ("accuracy", "ned"), "full")
    image_metrics = {m: (m, "mean") for m in ("psnr", "ssim") if m in paired}
    return (paired.groupby(["recognizer", "restorer"], sort=False)
            .agg(cells=("accuracy", "size"), accuracy=("accuracy", "mean"), ned=("ned", "mean"),
                 accuracy_vs_full=("accuracy_vs_full", "mean"), accuracy_vs_full_se=("accuracy_vs_full", "sem"),
                 ned_vs_full=("ned_vs_full", "mean"), ned_vs_full_se=("ned_vs_full", "sem"), **image_metrics)
            .reset_index())


def reader_agreement(summary: pd.DataFrame, metric: str = "ned") -> pd.DataFrame:
    """Per dataset x degraded cell and each pair of recognizers: do they rank the restorers alike?
    Kendall's tau between the two readers' orderings of the restorers by ``metric`` (1 = the same
    order, -1 = reversed) and whether they name the same best restorer. Empty with one reader or
    one restorer."""
    from scipy.stats import kendalltau

    degraded = summary[~is_clean(summary)]
    readers = list(dict.fromkeys(degraded["recognizer"]))
    rows = []
    for (dataset, brightness, noise), cell in degraded.groupby(["dataset", "brightness", "noise"], sort=False):
        table = cell.pivot_table(index="restorer", columns="recognizer", values=metric, sort=False)
        if len(table) < 2:
            continue
        for i, a in enumerate(readers):
            for b in readers[i + 1:]:
                if a not in table or b not in table:
                    continue
                tau = kendalltau(table[a], table[b]).statistic
                best_a, best_b = best(table[a], metric), best(table[b], metric)
                rows.append({"dataset": dataset, "brightness": brightness, "noise": noise, "reader_a": a,
                             "reader_b": b, "kendall_tau": float(tau), "best_a": best_a, "best_b": best_b,
                             "same_best": best_a == best_b})
    return pd.DataFrame(rows)
