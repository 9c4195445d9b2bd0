"""Where a run's time goes: crops/s per stage and the runner's own share of the wall time.

    python benchmarks/throughput.py [--restorers identity,clahe] [--limit 64] [--datasets synth] \
        [--data-root DIR] [--device cpu] [--out runs/throughput]

Runs the suite once into a fresh folder (KID and the perceptual distance on) and reads the wall
time per stage that the runner records in config.json (``stage_seconds_this_invocation``). Prints
crops/s per stage (crops = images through that stage) and the runner overhead: the share of the
wall time spent outside model calls (restorers, recognizers, Inception, the perceptual network)
and outside the start-up (loading data and models). Then times recognition of the same crops in
batches against a per-image loop, per reader. Run it alone on the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import time

MODEL_STAGES = ("restore", "pass-through", "perceptual", "kid: inception features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restorers", default="identity,clahe")
    parser.add_argument("--datasets", default="synth")
    parser.add_argument("--data-root")
    parser.add_argument("--limit", type=int, default=64)
    parser.add_argument("--brightness", default="0.5,0.3")
    parser.add_argument("--noise", default="0.05,0.2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/throughput")
    args = parser.parse_args()

    from benchmark.cli import main as cli

    shutil.rmtree(args.out, ignore_errors=True)
    argv = ["run", "--restorers", args.restorers, "--datasets", args.datasets, "--limit", str(args.limit),
            "--brightness", args.brightness, "--noise", args.noise, "--device", args.device, "--out", args.out,
            "--quiet", "--no-report"]
    if args.data_root:
        argv += ["--data-root", args.data_root]
    started = time.perf_counter()
    assert cli(argv) == 0
    total = time.perf_counter() - started
    config = json.load(open(os.path.join(args.out, "config.json")))
    stages = config["stage_seconds_this_invocation"]
    loop = config["wall_seconds_this_invocation"]
    import pandas as pd

    samples = pd.read_parquet(os.path.join(args.out, "samples.parquet"))
    readers = samples["recognizer"].nunique()
    crops = len(samples) // readers  # restored crops, each read once per reader
    print(f"run: {crops} restored crops x {readers} readers; {total:.1f} s in all, {total - loop:.1f} s start-up "
          f"(data, models), {loop:.1f} s of units")
    print("| stage | seconds | crops/s |")
    print("| --- | --- | --- |")
    for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"| {stage} | {seconds:.2f} | {crops / seconds:.0f} |" if seconds else f"| {stage} | 0 | - |")
    model = sum(v for k, v in stages.items() if k in MODEL_STAGES or k.startswith("recognize: "))
    print(f"\nmodel calls {model:.2f} s of {loop:.2f} s: runner overhead {100 * (loop - model) / loop:.1f}% of the "
          f"units' wall time")

    from benchmark import datasets, recognizers

    images = [s.image for s in datasets.load(args.datasets.split(",")[0], args.data_root, limit=args.limit).samples]
    print("\n| reader | batched crops/s | one at a time crops/s | speed-up |")
    print("| --- | --- | --- | --- |")
    for name in samples["recognizer"].unique():
        reader = recognizers.create(name, args.device)
        reader.recognize(images[:4])  # warm-up
        t0 = time.perf_counter()
        reader.recognize(images)
        batched = time.perf_counter() - t0
        t0 = time.perf_counter()
        for image in images:
            reader.recognize([image])
        single = time.perf_counter() - t0
        print(f"| {name} | {len(images) / batched:.1f} | {len(images) / single:.1f} | {single / batched:.2f}x |")


if __name__ == "__main__":
    main()
