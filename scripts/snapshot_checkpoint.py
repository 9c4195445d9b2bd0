"""Write a training's periodic state (its EMA weights) as a checkpoint, to evaluate a training midway.

    python scripts/snapshot_checkpoint.py ldm training/ldm-compact/state-autoencoder.pt /tmp/snap
    python -m benchmark ceiling --restorers ldm --checkpoints /tmp/snap ...

The checkpoint gets the method's current compact recipe config (``--canvas-height`` overrides the
working canvas of a canvas restorer, e.g. to measure what another canvas would keep) and a note
naming the state and step; it is not a finished training and is never installed.
"""
from __future__ import annotations

import argparse
import os

import torch

from restorers.checkpoints import checkpoint_name, save_checkpoint
from restorers.training import make_trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method")
    parser.add_argument("state", help="a state-<stage>.pt written by `benchmark train`")
    parser.add_argument("out", help="folder for <method>-<preset>.pt/.json")
    parser.add_argument("--preset", default="compact")
    parser.add_argument("--canvas-height", type=int, default=None)
    args = parser.parse_args()
    trainer = make_trainer(args.method, args.preset)
    state = torch.load(args.state, map_location="cpu", weights_only=False)
    trainer.modules().load_state_dict(state["ema"] if state.get("ema") is not None else state["modules"])
    config = dict(trainer.recipe.config)
    if args.canvas_height:
        config.update(canvas_height=args.canvas_height, max_width=8 * args.canvas_height)
    meta = {"method": args.method, "preset": args.preset, "config": config, "steps": state["step"],
            "note": f"snapshot of {os.path.abspath(args.state)} at step {state['step']} (EMA weights), not a finished training"}
    path = os.path.join(args.out, checkpoint_name(args.method, args.preset) + ".pt")
    save_checkpoint(path, trainer.shipped_state(), meta)
    print(f"wrote {path} (step {state['step']})")


if __name__ == "__main__":
    main()
