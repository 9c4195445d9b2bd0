"""One self-contained report.html (figures embedded as data URIs) plus the PNGs in figures/."""
from __future__ import annotations

import base64
import html
import json
import os

import pandas as pd

from restorers.checkpoints import atomic_write

from . import figures
from .tables import (ablation_table, cost_table, gain_over_input_grid, gain_over_input_table, headline_table, is_clean,
                     quality_table, reader_agreement)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;color:#1f2328}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:right} th{background:#f6f8fa}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;display:block;margin:6px 0}
pre{background:#f6f8fa;padding:10px;font-size:11px;overflow:auto;max-height:400px}
.note{color:#57606a;font-size:12px}
"""


def _embed(path: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    name = os.path.basename(path)
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(name)}" data-file="{html.escape(name)}">'


def _table(df: pd.DataFrame, table_id: str | None = None, floatfmt: str = "{:.3f}") -> str:
    formatters = {c: (lambda v, f=floatfmt: "" if pd.isna(v) else f.format(v))
                  for c in df.columns if pd.api.types.is_float_dtype(df[c])}
    out = df.to_html(index=False, border=0, formatters=formatters, escape=True)
    if table_id:
        out = out.replace("<table", f'<table id="{table_id}"', 1)
    return out


def example_cells(summary: pd.DataFrame) -> list[tuple[float, float]]:
    """The hardest cell (darkest, noisiest) and one in the middle of the grid."""
    degraded = summary[~is_clean(summary)][["brightness", "noise"]].drop_duplicates()
    if degraded.empty:
        return []
    ordered = degraded.sort_values(["brightness", "noise"], ascending=[False, True]).values.tolist()
    hardest = min(ordered, key=lambda c: (c[0], -c[1]))
    middle = ordered[len(ordered) // 2]
    return [tuple(c) for c in dict.fromkeys([tuple(middle), tuple(hardest)])]


def write_report(run_dir: str, history: str | None = None) -> str:
    """Write ``figures/*.png`` and ``report.html`` for a run folder; returns the HTML path."""
    summary_path = os.path.join(run_dir, "summary.csv")
    samples_path = os.path.join(run_dir, "samples.parquet")
    if not (os.path.exists(summary_path) and os.path.exists(samples_path)):
        raise FileNotFoundError(f"{run_dir} has no summary.csv/samples.parquet; is it a finished run folder?")
    summary = pd.read_csv(summary_path)
    samples = pd.read_parquet(samples_path)
    config_path = os.path.join(run_dir, "config.json")
    config = json.load(open(config_path)) if os.path.exists(config_path) else {}
    fig_dir = os.path.join(run_dir, "figures")
    os.makedirs(fig_dir, exist_ok=True)
    tables = {"headline": headline_table(summary), "quality": quality_table(summary), "cost": cost_table(samples),
              "ablation": ablation_table(summary), "agreement": reader_agreement(summary),
              "gain_over_input": gain_over_input_table(summary)}
    table_dir = os.path.join(run_dir, "tables")
    os.makedirs(table_dir, exist_ok=True)
    for name, table in tables.items():
        if not table.empty:
            table.to_csv(os.path.join(table_dir, f"{name}.csv"), index=False)

    parts = ["<h1>Low-light text recognition benchmark</h1>",
             f"<p class='note'>run folder: {html.escape(run_dir)}<br>command: <code>"
             f"{html.escape(str(config.get('command', '')))}</code><br>started {config.get('started', '?')}, "
             f"code {config.get('git_commit') or config.get('versions', {}).get('benchmark', '?')}, "
             f"device {config.get('device_resolved', '?')}, degradation model {config.get('model', '?')}</p>"]

    recognizers = list(dict.fromkeys(summary["recognizer"]))
    parts.append("<h2>Headline: mean over degraded cells</h2>")
    parts.append(_table(tables["headline"], "headline-table"))

    if not tables["agreement"].empty:
        agreement = tables["agreement"]
        parts.append("<h2>Do the readers agree on the restorers' ranking?</h2><p class='note'>per dataset × "
                     "degraded cell: Kendall's τ between the two readers' orderings of the restorers by 1-NED "
                     "(1 = same order, −1 = reversed) and whether they name the same best restorer. "
                     f"Same best restorer in {agreement['same_best'].mean():.0%} of {len(agreement)} cells; "
                     f"mean τ {agreement['kendall_tau'].mean():.2f}.</p>")
        parts.append(_table(agreement, "agreement-table", floatfmt="{:.2f}"))

    for rec in recognizers:
        parts.append(f"<h2>Accuracy and 1-NED vs noise ({html.escape(rec)})</h2>")
        for metric in ("accuracy", "ned"):
            path = figures.did_figure(summary, metric, rec, os.path.join(fig_dir, f"did_{metric}_{rec}.png"))
            if path:
                parts.append(_embed(path))
        path = figures.heatmaps(summary, "accuracy", rec, os.path.join(fig_dir, f"heatmap_accuracy_{rec}.png"))
        if path:
            parts.append(f"<h2>Brightness × noise heatmaps ({html.escape(rec)})</h2>")
            parts.append(_embed(path))

    if not tables["gain_over_input"].empty:
        parts.append("<h2>Where each restorer helps: gain in 1-NED over the dark input, by noise level</h2>"
                     "<p class='note'>per reader and noise level: the restorer's 1-NED minus the dark input's "
                     "(<code>identity</code>), averaged over the degraded cells at that level (datasets × "
                     "brightness; each cell pairs the two on the same crops) ± its standard error over them. "
                     "Positive: the restorer reads more than the input.</p>")
        parts.append(_table(gain_over_input_grid(tables["gain_over_input"]), "gain-table", floatfmt="{:g}"))

    parts.append("<h2>All cells</h2><p class='note'>one row per dataset × cell × restorer × recognizer "
                 "(summary.csv); KID ± std over subsets; clean row = upper bound.</p>")
    main = summary.copy()
    main = main[["dataset", "recognizer", "brightness", "noise", "restorer", "n", "accuracy", "ned", "psnr",
                 "ssim", "kid", "kid_std", "perceptual"]]
    parts.append(_table(main, "main-table"))

    ceiling_path = os.path.join(run_dir, "ceiling.csv")
    if os.path.exists(ceiling_path):
        parts.append("<h2>Pass-through ceiling</h2><p class='note'>clean crops pushed through each restorer's own "
                     "resampling / tiling / encoding and back, with no degradation and no restoration: the most "
                     "a restorer can keep. kept = pass-through accuracy / clean accuracy.</p>")
        parts.append(_table(pd.read_csv(ceiling_path), "ceiling-table"))

    parts.append("<h2>Image quality (mean over degraded cells and datasets)</h2>")
    parts.append(_table(tables["quality"], "quality-table"))
    parts.append("<h2>Cost</h2><p class='note'>seconds per image: restorer wall time only, on the device "
                 "above; NFE: network evaluations per image.</p>")
    parts.append(_table(tables["cost"], "cost-table", floatfmt="{:.4g}"))
    if not tables["ablation"].empty:
        parts.append("<h2>DiD ablations (mean over degraded cells and datasets)</h2>")
        parts.append(_table(tables["ablation"], "ablation-table"))

    strips = []
    for dataset in dict.fromkeys(samples["dataset"]):
        ids = samples.loc[(samples["dataset"] == dataset) & (samples["example_restored"] != ""), "sample_id"]
        for sample_id in list(dict.fromkeys(ids))[:3]:
            for b, s in example_cells(summary[summary["dataset"] == dataset]):
                name = f"example_{dataset}_{len(strips)}.png"
                path = figures.example_strip(samples, run_dir, dataset, sample_id, b, s, recognizers[0],
                                             os.path.join(fig_dir, name))
                if path:
                    strips.append(path)
    if strips:
        parts.append(f"<h2>Examples ({html.escape(recognizers[0])}; green = read correctly, red = wrong)</h2>")
        parts.extend(_embed(p) for p in strips)

    if history and os.path.exists(history):
        hist = pd.read_csv(history)
        path = figures.history_figure(hist, os.path.join(fig_dir, "history.png"))
        if path:
            parts.append("<h2>Score history</h2>")
            parts.append(_embed(path))

    parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(config, indent=2)) + "</pre>")
    document = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Low-light STR benchmark"
                f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    out = os.path.join(run_dir, "report.html")

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(document)

    atomic_write(out, write)
    return out
