"""One figure per shipped checkpoint (loss and validation curves) into docs/curves/<name>.png.

    python scripts/plot_training_curves.py [--weights restorers/weights] [--out docs/curves]
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
    for sidecar in sorted(glob.glob(os.path.join(args.weights, "*.json"))):
        with open(sidecar) as f:
            meta = json.load(f)
        name = os.path.splitext(os.path.basename(sidecar))[0]
        if meta.get("validation") and not meta["validation"].get("identity") and args.data_root and identity is None:
            from benchmark.training import Validation

            identity = Validation(args.data_root, "cpu", log=lambda *a: None).reference()
        path = training_curves(meta, os.path.join(args.out, f"{name}.png"), identity)
        print(path or f"{name}: no curves recorded")


if __name__ == "__main__":
    main()
