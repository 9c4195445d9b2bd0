"""How much does a restorer's output depend on its sampling noise? Each restorer restores the same
degraded crops with several sampling seeds; the script prints the per-pixel standard deviation of
the outputs over the seeds (averaged over pixels and crops) and EasyOCR's mean 1-NED per seed.

    python scripts/seed_spread.py --restorers irsde-1step,dtdm-1step,ldm-1step --data-root ../shared/data/str \
        --dataset iiit5k --cell 0.6,0.02 --crops 4 --seeds 3

A one-step readout from pure noise (IR-SDE's at i = T, where the noise has std 19.6 against the
signal's 0.37) carries no information about the clean image in its starting noise, so an ideal
network's estimate would not depend on the seed: a large spread there is noise the network passes
through. A sampler's spread is the diversity of its samples.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmark import datasets, metrics, recognizers
from degradations import Cell, degradation_seed, degrade
from restorers import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--restorers", default="irsde-1step,dtdm-1step,ldm-1step")
    ap.add_argument("--data-root", required=True)
    ap.add_argument("--dataset", default="iiit5k")
    ap.add_argument("--cell", default="0.6,0.02", help="brightness,noise")
    ap.add_argument("--crops", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--checkpoints", help="folder of checkpoints to use instead of the shipped ones")
    args = ap.parse_args()
    torch.set_num_threads(1)
    b, s = (float(v) for v in args.cell.split(","))
    cell = Cell(b, s)
    samples = datasets.load(args.dataset, args.data_root).samples[:args.crops]
    dark = [torch.from_numpy(degrade(x.image, cell, degradation_seed(0, args.dataset, x.sample_id, cell))).permute(2, 0, 1)
            for x in samples]
    reader = recognizers.create("easyocr", "cpu")
    print(f"{args.dataset}, b = {b}, sigma = {s}, {len(samples)} crops, {args.seeds} seeds")
    for name in args.restorers.split(","):
        restorer = load(name, checkpoint_dir=args.checkpoints)
        outputs = [restorer.restore_many(dark, [1000 * k + j for j in range(len(dark))]) for k in range(args.seeds)]
        spread = np.mean([torch.stack([o[j] for o in outputs]).std(0).mean().item() for j in range(len(dark))])
        neds = []
        for out in outputs:
            images = [(o.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for o in out]
            texts = [datasets.normalize_label(t) for t, _ in reader.recognize(images)]
            neds.append(np.mean([metrics.ned_similarity(t, x.target) for t, x in zip(texts, samples)]))
        print(f"{name:14s} per-pixel std over seeds {spread:.4f}   1-NED per seed " + " ".join(f"{v:.3f}" for v in neds))


if __name__ == "__main__":
    main()
