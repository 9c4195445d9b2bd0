"""Do a restorer's validation scores say what it scores on test crops? One cell, three crop sets, the
validation's own code path (degradation seeds, restore seeds, one batch, EasyOCR 1-NED):

    python scripts/validation_vs_test.py --restorer did --data-root ../shared/data/str --cell 0.5,0.1 --crops 24

Rows: the validation sampler's crops (the first ``--crops`` of the validation split), the first
``--crops`` crops of a test set (``--dataset``), and ``--crops`` random crops the restorer trained on;
for each, the dark input (identity) and the restorer. A restorer whose share of the dark input's score
differs much between the rows has validation levels that are not test levels.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmark import datasets
from benchmark.training import Validation, validation_ids
from degradations import Cell
from restorers import load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restorer", default="did")
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--dataset", default="iiit5k", help="test set for the second row")
    parser.add_argument("--train-set", default="iiit5k_train", help="train split for the third row")
    parser.add_argument("--cell", default="0.5,0.1", help="brightness,noise")
    parser.add_argument("--crops", type=int, default=24)
    parser.add_argument("--checkpoints", help="folder of checkpoints to use instead of the shipped ones")
    args = parser.parse_args()
    torch.set_num_threads(1)
    b, s = (float(v) for v in args.cell.split(","))
    cell = Cell(b, s)
    validation = Validation(args.data_root, "cpu", log=lambda *a: None)
    test = datasets.load(args.dataset, args.data_root, protocol="alnum36", limit=args.crops)
    train = datasets.load(args.train_set, args.data_root, protocol="alnum36")
    held_out = set(validation_ids().get(args.train_set, []))
    trained_on = [x for x in train.samples if x.sample_id not in held_out]
    picked = np.random.default_rng(0).choice(len(trained_on), args.crops, replace=False)
    rows = {
        "validation sampler crops": validation.samples[:args.crops],
        f"{args.dataset} test, first {args.crops}": [(f"{args.dataset}:{x.sample_id}", x.image, x.target)
                                                    for x in test.samples],
        f"{args.train_set}, {args.crops} trained on": [(f"{args.train_set}:{trained_on[i].sample_id}",
                                                       trained_on[i].image, trained_on[i].target) for i in picked],
    }
    identity = load("identity")
    restorer = load(args.restorer, checkpoint_dir=args.checkpoints)
    print(f"{args.restorer} at b = {b}, sigma = {s}: EasyOCR 1-NED (share of the dark input's)")
    for name, crops in rows.items():
        scored = validation.on(crops, [cell])
        dark, restored = (scored.run(r)[cell.key]["ned"] for r in (identity, restorer))
        print(f"  {name:32s} dark input {dark:.3f}  {args.restorer} {restored:.3f}  ({restored / max(dark, 1e-9):.0%})")


if __name__ == "__main__":
    main()
