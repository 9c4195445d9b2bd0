"""Skewness and spread of pixel values of word crops, plain x*2-1 scaling vs DiD's tail normalization.

DiD motivates tail normalization by the right-skewed pixel distribution of dark photos; this
measures whether the benchmark's crops have it, and how widely each space spreads the values of
a dark crop (the network's condition) (README, "DiD ablations").
    usage: python scripts/pixel_skewness.py --data-root ../shared/data/str [--dataset iiit5k] [--limit 50]
"""
import argparse

import numpy as np
import torch
from scipy.stats import skew

from benchmark import datasets
from degradations import Cell, degradation_seed, degrade
from restorers import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--dataset", default="iiit5k")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    normalization = load("did").net.normalization  # the shipped checkpoint's training statistics
    samples = datasets.load(args.dataset, args.data_root, limit=args.limit).samples
    print(f"{args.dataset}, first {len(samples)} crops: skewness (standard deviation) of pixel values")
    for cell in (Cell(1.0, 0.0), Cell(0.5, 0.05), Cell(0.4, 0.05), Cell(0.4, 0.2), Cell(0.1, 0.0)):
        images = [degrade(s.image, cell, degradation_seed(0, args.dataset, s.sample_id, cell)) for s in samples]
        role = "light" if cell.brightness == 1 else "dark"
        with torch.no_grad():
            tail = [normalization(torch.from_numpy(i).permute(2, 0, 1)[None], role).numpy().ravel() for i in images]
        plain, tail = np.concatenate([i.ravel() for i in images]) * 2 - 1, np.concatenate(tail)
        print(f"  {cell}: plain {skew(plain):+.2f} ({plain.std():.2f})   "
              f"tail-normalized {skew(tail):+.2f} ({tail.std():.2f})")


if __name__ == "__main__":
    main()
