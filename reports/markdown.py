"""The run's tables as Markdown (``python -m benchmark report RUN_DIR --markdown``)."""
from __future__ import annotations

import os

import pandas as pd

from .tables import (ablation_table, cell_score_tables, cell_scores_label, cost_table, gain_over_input_grid,
                     gain_over_input_table, headline_table, reader_agreement)


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    cells = [[str(c) for c in df.columns]]
    for _, row in df.iterrows():
        cells.append([floatfmt.format(v) if isinstance(v, float) else str(v) for v in row])
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "| " + " | ".join("---" for _ in df.columns) + " |")
    return "\n".join(lines)


def cell_tables(summary: pd.DataFrame) -> str:
    """Per dataset x recognizer: one row per cell, one column per restorer, 'accuracy / 1-NED'."""
    return "\n\n".join(f"**{dataset}** ({n} samples, {recognizer}; {cell_scores_label()})\n\n"
                        + to_markdown(table.reset_index())
                        for dataset, recognizer, n, table in cell_score_tables(summary))


def markdown_report(run_dir: str) -> str:
    summary = pd.read_csv(os.path.join(run_dir, "summary.csv"))
    samples = pd.read_parquet(os.path.join(run_dir, "samples.parquet"), columns=["brightness", "noise", "restorer",
                                                                                "recognizer", "nfe", "seconds"])
    parts = ["### Mean over degraded cells\n", to_markdown(headline_table(summary)),
             "\n### Per cell\n", cell_tables(summary),
             "\n### Cost\n", to_markdown(cost_table(samples), "{:.4g}")]
    gains = gain_over_input_table(summary)
    if not gains.empty:
        parts += ["\n### Gain in 1-NED over the dark input, by noise level (± SE over the cells at that level)\n",
                  to_markdown(gain_over_input_grid(gains), "{:g}")]
    agreement = reader_agreement(summary)
    if not agreement.empty:
        parts += ["\n### Reader agreement (Kendall's τ of the restorers' 1-NED ranking per cell)\n",
                  to_markdown(agreement, "{:.2f}")]
    ceiling_path = os.path.join(run_dir, "ceiling.csv")
    if os.path.exists(ceiling_path):
        parts += ["\n### Pass-through ceiling\n", to_markdown(pd.read_csv(ceiling_path))]
    ablation = ablation_table(summary)
    if not ablation.empty:
        parts += ["\n### DiD ablations\n", to_markdown(ablation)]
    return "\n".join(parts) + "\n"
