"""Training throughput per learned method: steps/s and training crops/s of the real training step.

    python benchmarks/train_throughput.py --data-root ../shared/data/str [--steps 12] [--threads 1]

Each method's compact recipe runs ``--steps`` timed optimizer steps (after two warm-up steps) on one
process with ``--threads`` torch threads, batches coming the way ``python -m benchmark train`` makes
them (on a helper thread where the code has one). Reported per method and stage: batch, crop,
seconds waiting for data per step, seconds of forward+backward+update per step, steps/s and
crops/s (batch x steps/s). Run it alone on the machine. The script only uses interfaces that also
existed before the training pipeline was reworked, so the same file measures both versions.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from benchmark import training
from degradations import stable_seed
from restorers.training import make_trainer

METHODS = [("sci", "main"), ("did", "main"), ("irsde", "main"), ("dtdm", "main"), ("ldm", "autoencoder"),
           ("ldm", "diffusion")]


def batches(data, start: int, count: int, size: int, crop):
    if hasattr(training, "prefetched"):  # batches made ahead on a helper thread
        yield from training.prefetched(data, range(start, start + count), size, crop)
    else:
        for step in range(start, start + count):
            yield data.batch(step, size)


def measure(method: str, stage: str, data_root: str | None, steps: int) -> dict:
    torch.manual_seed(0)
    trainer = make_trainer(method, "compact")
    recipe = trainer.recipe
    crop = recipe.crop_for(stage) if hasattr(recipe, "crop_for") else recipe.crop
    data = training.PairedData(data_root, crop, 200, 0, log=lambda *a: None)
    if hasattr(trainer, "prepare"):
        trainer.prepare(lambda k: data.batch(-1 - k, recipe.batch_size), stage)
    params = [p for p in trainer.parameters(stage) if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-4)
    wait = compute = 0.0
    warmup = 2
    tick = time.perf_counter()
    for k, (clean, degraded) in enumerate(batches(data, 0, steps + warmup, recipe.batch_size, crop)):
        got = time.perf_counter()
        generator = torch.Generator().manual_seed(stable_seed("throughput", k))
        loss, _ = trainer.loss(clean, degraded, generator, stage)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = time.perf_counter()
        if k >= warmup:
            wait += got - tick
            compute += done - got
        tick = done
    per_step = (wait + compute) / steps
    return {"method": method, "stage": stage, "batch": recipe.batch_size, "crop": list(crop),
            "data_wait_s": round(wait / steps, 4), "compute_s": round(compute / steps, 4),
            "steps_per_s": round(1 / per_step, 3), "crops_per_s": round(recipe.batch_size / per_step, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", default=",".join(sorted({m for m, _ in METHODS})))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    wanted = set(args.methods.split(","))
    rows = [measure(m, s, args.data_root, args.steps) for m, s in METHODS if m in wanted]
    print("| method [stage] | batch × crop | data wait s/step | compute s/step | steps/s | crops/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['method']} [{r['stage']}] | {r['batch']} × {r['crop'][0]}×{r['crop'][1]} | {r['data_wait_s']:.3f} | "
              f"{r['compute_s']:.3f} | {r['steps_per_s']:.2f} | {r['crops_per_s']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
