"""Figures from the results tables (matplotlib, Agg backend, PNG)."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .facts import METRICS, label  # noqa: E402
from .tables import is_clean  # noqa: E402


def fixed_scale(metric: str) -> tuple[float, float] | None:
    """A bounded metric's range, so its figures share one scale; None for an unbounded one."""
    info = METRICS.get(metric)
    return None if info is None or info.value_range[1] is None else info.value_range


def dataset_mean(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Average a metric over datasets (each dataset weighs the same, as in the DiD figure)."""
    keys = ["recognizer", "brightness", "noise", "restorer"]
    return summary.groupby(keys, sort=False)[metric].mean().reset_index()


def restorer_order(summary: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(summary.loc[~is_clean(summary), "restorer"]))


def did_figure(summary: pd.DataFrame, metric: str, recognizer: str, path: str) -> str | None:
    """The DiD figure: metric vs noise, one panel per brightness, one line per restorer,
    the clean upper bound dashed. Brightness 1 (noise-only sweeps) gets its own panel."""
    data = dataset_mean(summary[summary["recognizer"] == recognizer], metric)
    degraded = data[~is_clean(data)]
    if degraded.empty:
        return None
    clean_value = data.loc[is_clean(data), metric]
    panels = sorted(degraded["brightness"].unique(), reverse=True)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels) + 1.2, 3.4), squeeze=False, sharey=True)
    restorers = restorer_order(summary)
    colours = plt.get_cmap("tab10" if len(restorers) <= 10 else "tab20")
    for ax, b in zip(axes[0], panels):
        panel = degraded[degraded["brightness"] == b]
        for k, name in enumerate(restorers):
            line = panel[panel["restorer"] == name].sort_values("noise")
            if not line.empty:
                ax.plot(line["noise"], line[metric], marker="o", ms=3, lw=1.4, label=name, color=colours(k % 20))
        if not clean_value.empty:
            ax.axhline(float(clean_value.iloc[0]), color="black", ls="--", lw=1, label="clean")
        ax.set_title(f"brightness {b:g}")
        ax.set_xlabel("noise σ")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(label(metric))
    scale = fixed_scale(metric)
    if scale:
        axes[0][0].set_ylim(scale[0], scale[1] + 0.02)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8, frameon=False)
    fig.suptitle(f"{label(metric)} vs noise ({recognizer}, mean over datasets)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.84, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def heatmaps(summary: pd.DataFrame, metric: str, recognizer: str, path: str) -> str | None:
    """Brightness x noise heatmap of a metric, one panel per restorer."""
    data = dataset_mean(summary[summary["recognizer"] == recognizer], metric)
    data = data[~is_clean(data)]
    restorers = restorer_order(summary)
    if data.empty or data["brightness"].nunique() * data["noise"].nunique() < 2:
        return None
    cols = min(4, len(restorers))
    rows = int(np.ceil(len(restorers) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols + 0.8, 2.8 * rows + 0.4), squeeze=False,
                             layout="constrained")
    b_values = sorted(data["brightness"].unique(), reverse=True)
    n_values = sorted(data["noise"].unique())
    low, high = fixed_scale(metric) or (data[metric].min(), data[metric].max())  # one colour scale for all panels
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, restorers):
        grid = (data[data["restorer"] == name].pivot(index="brightness", columns="noise", values=metric)
                .reindex(index=b_values, columns=n_values))
        ax.axis("on")
        im = ax.imshow(grid.values, vmin=low, vmax=high, cmap="viridis", aspect="auto")
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                v = grid.values[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if v < 0.6 else "black")
        ax.set_xticks(range(len(n_values)), [f"{v:g}" for v in n_values], fontsize=7)
        ax.set_yticks(range(len(b_values)), [f"{v:g}" for v in b_values], fontsize=7)
        ax.set_xlabel("noise σ", fontsize=8)
        ax.set_ylabel("brightness", fontsize=8)
        ax.set_title(name, fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label=label(metric))
    fig.suptitle(f"{label(metric)} ({recognizer}, mean over datasets)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def example_strip(samples: pd.DataFrame, run_dir: str, dataset: str, sample_id: str, brightness: float,
                  noise: float, recognizer: str, path: str) -> str | None:
    """clean | degraded | each restorer, the recognized text under each (green right, red wrong)."""
    rows = samples[(samples["dataset"] == dataset) & (samples["sample_id"] == sample_id)
                   & (samples["recognizer"] == recognizer)]
    cell = rows[(rows["brightness"] == brightness) & (rows["noise"] == noise) & (rows["example_restored"] != "")]
    clean = rows[is_clean(rows) & (rows["example_restored"] != "")]
    if cell.empty:
        return None
    first = cell.iloc[0]
    panels = [("clean", first["example_clean"], clean.iloc[0]["prediction"] if not clean.empty else None,
               bool(clean.iloc[0]["correct"]) if not clean.empty else None),
              (f"degraded b={brightness:g} σ={noise:g}", first["example_degraded"], None, None)]
    for _, row in cell.iterrows():
        panels.append((row["restorer"], row["example_restored"], row["prediction"], bool(row["correct"])))
    images = []
    for _, rel, _, _ in panels:
        full = os.path.join(run_dir, rel)
        images.append(plt.imread(full) if rel and os.path.exists(full) else None)
    if images[0] is None:
        return None
    h, w = images[0].shape[:2]
    aspect = w / h
    fig, axes = plt.subplots(1, len(panels), figsize=(min(1.6 * aspect, 4.0) * len(panels) * 0.55 + 0.5, 1.7),
                             squeeze=False)
    for ax, (title, _, text, correct), image in zip(axes[0], panels, images):
        ax.set_xticks([])
        ax.set_yticks([])
        if image is not None:
            ax.imshow(image)
        ax.set_title(title, fontsize=7)
        if text is not None:
            ax.set_xlabel(repr(text)[1:-1] or "∅", fontsize=8, color="#1a7f37" if correct else "#cf222e",
                          fontweight="bold")
    fig.suptitle(f"{dataset} / {sample_id} — label {first['label']!r}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def history_figure(history: pd.DataFrame, path: str, metric: str = "accuracy") -> str | None:
    if history.empty or metric not in history:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for (ds, rec, restorer), part in history.groupby(["dataset", "recognizer", "restorer"]):
        part = part.sort_values("date")
        ax.plot(pd.to_datetime(part["date"]), part[metric], marker="o", ms=3, label=f"{ds}/{rec}/{restorer}")
    ax.set_ylabel(label(metric) + " (mean over degraded cells)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2, frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def training_curves(meta: dict, path: str, identity: dict | None = None) -> str | None:
    """A checkpoint's training record: the loss (running mean per 50 steps) and, per stage, the
    validation word accuracy, 1-NED and PSNR of the one-step readout (lines, per cell dotted) and of
    the full sampler (markers) against the step; dashed, the dark input read as it is on the same
    crops (``identity``, or the one recorded in the checkpoint) and the clean crops."""
    stages = (meta.get("validation") or {}).get("stages") or {}
    identity = identity or (meta.get("validation") or {}).get("identity")
    losses = meta.get("loss_curve") or {}
    if not stages and not losses:
        return None
    names = list(dict.fromkeys(list(losses) + list(stages)))
    fig, axes = plt.subplots(len(names), 4, figsize=(15, 3.0 * len(names)), squeeze=False)
    for row, stage in zip(axes, names):
        curve = losses.get(stage) or []
        row[0].plot(np.arange(len(curve)) * 50 + 25, curve, color="black", lw=1)
        row[0].set_title(f"{stage}: training loss (mean of 50 steps)", fontsize=9)
        row[0].set_xlabel("step")
        points = (stages.get(stage) or {}).get("points") or []
        for ax, key in zip(row[1:], ("accuracy", "ned", "psnr")):
            ax.set_title(f"{stage}: validation {label(key)}", fontsize=9)
            ax.set_xlabel("step")
            if not points:
                continue
            steps = [p["step"] for p in points]
            cells = [k for k in points[-1]["one_step"] if k != "mean"]
            for cell in cells:
                ax.plot(steps, [p["one_step"][cell][key] for p in points], ls=":", lw=1, label=f"one-step {cell}")
            ax.plot(steps, [p["one_step"]["mean"][key] for p in points], color="black", lw=1.6, label="one-step mean")
            sampled = [p for p in points if p.get("sampler")]
            if sampled:
                ax.plot([p["step"] for p in sampled], [p["sampler"]["mean"][key] for p in sampled], "o-",
                        color="tab:red", ms=4, lw=1, label="sampler mean")
            if identity and stage != "autoencoder":
                ax.axhline(identity["one_step"]["mean"][key], color="black", ls="--", lw=0.8,
                           label="dark input (identity)")
                if sampled:
                    ax.axhline(identity["sampler"]["mean"][key], color="tab:red", ls="--", lw=0.8,
                               label="dark input, sampler's crops")
            if identity and stage == "autoencoder" and key != "psnr":
                ax.axhline(identity["clean"][key], color="tab:green", ls="--", lw=0.8, label="clean crops")
            ax.grid(alpha=0.3)
        if points:
            row[1].legend(fontsize=6, loc="lower right")
    converged = {s: (stages.get(s) or {}).get("converged") for s in names}
    fig.suptitle(f"{meta.get('method')}-{meta.get('preset')}: steps {meta.get('steps')}, "
                 f"converged (flat validation over the last third): {converged}", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
