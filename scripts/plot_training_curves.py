"""One figure per shipped checkpoint (loss and validation curves) into docs/curves/<name>.png, and
a Markdown table of the checkpoints' training records on stdout.

    python scripts/plot_training_curves.py [--weights restorers/weights] [--out docs/curves] [--data-root DIR]
"""
from __future__ import annotations

import argparse
import glob
import json
import os

from reports.figures import training_curves
from restorers.checkpoints import WEIGHTS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=WEIGHTS_DIR, help="folder of <method>-<preset>.json files")
    parser.add_argument("--out", default="docs/curves")
    parser.add_argument("--data-root", help="train splits, to draw the dark input's validation scores where a "
                                            "checkpoint did not record them")
    args = parser.parse_args()
    identity = None
    rows = []
    for sidecar in sorted(glob.glob(os.path.join(args.weights, "*.json"))):
        with open(sidecar) as f:
            meta = json.load(f)
        name = os.path.splitext(os.path.basename(sidecar))[0]
        if meta.get("validation") and not meta["validation"].get("identity") and args.data_root and identity is None:
            from benchmark.training import Validation

            identity = Validation(args.data_root, "cpu", log=lambda *a: None).reference()
        path = training_curves(meta, os.path.join(args.out, f"{name}.png"), identity)
        rows.append(record_row(name, meta, path))
    print("| checkpoint | steps (budget) | converged | train time | steps/s | parameters | file | curves |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


def record_row(name: str, meta: dict, figure: str | None) -> str:
    from benchmark.training import flattened

    stages = ((meta.get("validation") or {}).get("stages")) or {}
    # converged by today's rule (benchmark.training.flattened), whatever rule stopped the run
    converged = ", ".join(f"{s}: {'yes' if flattened(c.get('points') or []) else 'no'}"
                          for s, c in stages.items()) or "not recorded"
    steps, budget, extended = meta.get("steps"), meta.get("max_steps"), meta.get("budgets")

    def budget_of(stage_budget, stage_extended):
        # "4000 → 8000" where --resume extended the budget (the cosine schedule restarted there)
        if stage_extended and len(stage_extended) > 1:
            return " → ".join(str(total) for _, total in stage_extended)
        return "?" if stage_budget is None else stage_budget

    if isinstance(steps, dict):
        steps = " + ".join(f"{v} ({budget_of((budget or {}).get(k), (extended or {}).get(k))})"
                           for k, v in steps.items())
    elif budget is not None:
        steps = f"{steps} ({budget_of(budget, extended)})"
    rate = (meta.get("throughput") or {}).get("steps_per_second")
    size = os.path.getsize(os.path.join(os.path.dirname(meta.get("path", "")) or WEIGHTS_DIR, meta["file"])) \
        if meta.get("file") else 0
    link = f"[figure]({figure})" if figure else ""
    return (f"| `{name}` | {steps} | {converged} | {meta.get('train_seconds', 0) / 60:.0f} min | "
            f"{rate if rate is not None else 'n/a'} | {meta.get('parameters', 0):,} | {size / 1e6:.2f} MB | {link} |")


if __name__ == "__main__":
    main()
