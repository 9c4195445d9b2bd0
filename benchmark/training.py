"""``python -m benchmark train``: one loop and one paired-data pipeline for every learned method.

Data (DESIGN section 7): clean crops from the train splits only (iiit5k_train, svt_train,
ic15_train) plus synth renders with a different seed than the embedded test set, resized to the
recipe's crop (height fixed, aspect kept, random horizontal crop or reflection pad), degraded on
the fly by the `did` model with (b, sigma) drawn from ranges covering the evaluation grid.

Determinism: batch k and the loss noise of step k come from generators seeded by (seed, step), so
a run with the same recipe gives the same weights, and a resumed run continues exactly where the
periodic checkpoint left it.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict

import cv2
import numpy as np
import torch
from tqdm import tqdm

import degradations
from degradations import stable_seed
from restorers.base import RestorerError
from restorers.checkpoints import WEIGHTS_DIR, checkpoint_name, save_checkpoint
from restorers.training import DEGRADATION_RANGES, TRAIN_SETS, Recipe, Trainer, make_trainer

from . import datasets
from .datasets import synth
from .errors import BenchmarkError
from .runner import git_commit, resolve_device

TRAIN_SYNTH_SEED = 1  # the embedded test set renders with seed 0


class PairedData:
    """Clean training crops in memory; ``batch(step)`` degrades a reproducible random batch."""

    def __init__(self, data_root: str | None, crop: tuple[int, int], synth_count: int, seed: int,
                 ranges: dict = DEGRADATION_RANGES, log=print):
        self.crop, self.seed, self.ranges = crop, seed, ranges
        self.images: list[np.ndarray] = []
        self.sources: dict[str, int] = {}
        root = data_root or os.environ.get(datasets.DATA_ROOT_ENV)
        for name in TRAIN_SETS:
            if not root:
                break
            try:
                ds = datasets.load(name, root, protocol="printable94")
            except BenchmarkError as e:
                log(f"note: training without {name}: {e}")
                continue
            self.images.extend(s.image for s in ds.samples)
            self.sources[name] = len(ds)
        if not self.sources:
            log("warning: no real train splits found (give --data-root); training on synth renders only")
        for index in range(synth_count):
            self.images.append(synth.render(index, seed=TRAIN_SYNTH_SEED)[1])
        self.sources["synth(seed=1)"] = synth_count
        if not self.images:
            raise BenchmarkError("no training images")

    def _crop(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        h, w = self.crop
        stretch = rng.uniform(0.85, 1.15)  # mild horizontal scale jitter
        new_w = max(1, int(round(image.shape[1] * h / image.shape[0] * stretch)))
        resized = cv2.resize(image, (new_w, h), interpolation=cv2.INTER_AREA if image.shape[0] > h else cv2.INTER_LINEAR)
        if new_w >= w:
            x0 = int(rng.integers(0, new_w - w + 1))
            return np.ascontiguousarray(resized[:, x0:x0 + w])
        return cv2.copyMakeBorder(resized, 0, 0, 0, w - new_w, cv2.BORDER_REFLECT_101 if new_w > 1 else cv2.BORDER_REPLICATE)

    def sample_cell(self, rng: np.random.Generator) -> tuple[float, float]:
        r = self.ranges
        b = 1.0 if rng.random() < r["noise_only_fraction"] else float(rng.uniform(*r["brightness"]))
        return b, float(rng.uniform(*r["noise"]))

    def batch(self, step: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(stable_seed("train-batch", self.seed, step))
        clean, degraded = [], []
        for index in rng.integers(0, len(self.images), size):
            crop = self._crop(self.images[int(index)], rng)
            b, sigma = self.sample_cell(rng)
            degraded.append(degradations.did(crop, b, sigma, int(rng.integers(0, 2 ** 62))))
            clean.append(crop.astype(np.float32) / 255.0)
        to_tensor = lambda xs: torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
        return to_tensor(clean), to_tensor(degraded)


def lr_at(step: int, total: int, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if recipe.warmup and step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    progress = (step - recipe.warmup) / max(1, total - recipe.warmup)
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _state_path(out: str, stage: str) -> str:
    return os.path.join(out, f"state-{stage}.pt")


def train(method: str, preset: str = "compact", data_root: str | None = None, steps: int | None = None,
          device: str = "auto", out: str | None = None, resume: bool = False, seed: int | None = None,
          stage: str | None = None, install: bool = False, progress: bool = True, log=print,
          synth_count: int | None = None, checkpoint_every: int | None = None) -> dict:
    """Train, write ``<out>/<method>-<preset>.pt/.json`` and return the checkpoint metadata."""
    torch.manual_seed(stable_seed("init", method, 0 if seed is None else seed))  # weight initialisation
    try:
        trainer: Trainer = make_trainer(method, preset, steps=steps, seed=seed)
    except RestorerError as e:
        raise BenchmarkError(str(e)) from None
    recipe = trainer.recipe
    if synth_count is not None:
        recipe.synth_count = synth_count
    if checkpoint_every is not None:
        recipe.checkpoint_every = checkpoint_every
    device = resolve_device(device)
    torch.set_flush_denormal(True)  # tiny exp() weights would otherwise slow CPU arithmetic ~10x
    out = os.path.abspath(out or os.path.join("training", f"{method}-{preset}"))
    os.makedirs(out, exist_ok=True)
    stages = recipe.stages if stage is None else (stage,)
    unknown = [s for s in stages if s not in recipe.stages]
    if unknown:
        raise BenchmarkError(f"{method} has stages {', '.join(recipe.stages)}, not {unknown[0]!r}")

    data = PairedData(data_root, recipe.crop, recipe.synth_count, recipe.seed, log=log)
    modules = trainer.modules().to(device)
    history: dict[str, list] = {}
    elapsed_before = 0.0
    earlier_stages = recipe.stages[:recipe.stages.index(stage)] if stage is not None else ()
    for earlier in earlier_stages:
        # a later stage alone starts from the finished state of the stage before it; the
        # checkpoint's metadata covers the earlier stages too (their losses and training time)
        path = _state_path(out, earlier)
        if not os.path.exists(path):
            raise BenchmarkError(f"--stage {stage} needs the finished earlier stage in {out} ({path}); "
                                 f"train it first with --stage {earlier}")
        state = torch.load(path, map_location=device, weights_only=False)
        history[earlier] = state["losses"]
        elapsed_before += state.get("seconds", 0.0)
        if earlier == earlier_stages[-1]:
            modules.load_state_dict(state["modules"])
    started = time.perf_counter()
    for stage_name in stages:
        total = recipe.steps_for(stage_name)
        params = [p for p in trainer.parameters(stage_name) if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=recipe.lr, betas=(0.9, 0.999))
        ema = _Ema(modules, recipe.ema) if recipe.ema else None
        start, losses = 0, []
        path = _state_path(out, stage_name)
        if resume and os.path.exists(path):
            state = torch.load(path, map_location=device, weights_only=False)
            modules.load_state_dict(state["modules"])
            optimizer.load_state_dict(state["optimizer"])
            if ema is not None and state.get("ema") is not None:
                ema.shadow, ema.updates = state["ema"], state["step"]
            start, losses = state["step"], state["losses"]
            elapsed_before += state.get("seconds", 0.0)
            log(f"resuming {method} stage {stage_name} at step {start}/{total}")
        elif resume:
            log(f"no periodic checkpoint in {out} for stage {stage_name}; starting at step 0")
        if start == 0 and hasattr(trainer, "prepare"):
            trainer.prepare(lambda k: tuple(t.to(device) for t in data.batch(-1 - k, recipe.batch_size)), stage_name)
        modules.train()
        stage_started = time.perf_counter()
        bar = tqdm(range(start, total), desc=f"train {method} [{stage_name}]", disable=not progress,
                   dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0, file=sys.stderr)
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, recipe)
            clean, degraded = data.batch(step, recipe.batch_size)
            generator = torch.Generator(device=device).manual_seed(stable_seed("train-noise", recipe.seed, stage_name, step))
            loss, logs = trainer.loss(clean.to(device), degraded.to(device), generator, stage_name)
            if not torch.isfinite(loss):
                raise BenchmarkError(f"{method}: loss became {float(loss)} at step {step}; lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, recipe.grad_clip)
            optimizer.step()
            if ema is not None:
                ema.update(modules)
            losses.append(float(loss))
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
            done = step + 1
            if done % recipe.checkpoint_every == 0 or done == total:
                seconds = elapsed_before + time.perf_counter() - stage_started
                _save_state(path, modules, optimizer, ema, done, losses, seconds)
        bar.close()
        if ema is not None:
            ema.copy_to(modules)
        history[stage_name] = losses
    modules.eval()

    train_seconds = elapsed_before + time.perf_counter() - started
    meta = {
        "method": method, "preset": preset, "config": recipe.config,
        "recipe": {k: v for k, v in asdict(recipe).items() if k != "config"},
        "training_data": data.sources, "degradation": data.ranges,
        "steps": {s: recipe.steps_for(s) for s in recipe.stages} if len(recipe.stages) > 1 else recipe.steps,
        "seed": recipe.seed,
        "final_loss": {s: float(np.mean(v[-50:])) for s, v in history.items()} if len(history) > 1
        else float(np.mean(next(iter(history.values()))[-50:])),
        "loss_curve": {s: [round(float(np.mean(v[i:i + 50])), 5) for i in range(0, len(v), 50)]
                       for s, v in history.items()},
        "train_seconds": round(train_seconds, 1), "device": device, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "code_version": git_commit(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = os.path.join(out, checkpoint_name(method, preset) + ".pt")
    meta = save_checkpoint(path, trainer.shipped_state(), meta)
    log(f"wrote {path} ({meta['parameters']} parameters, final loss {meta['final_loss']}, {train_seconds:.0f} s)")
    if install:
        for ext in (".pt", ".json"):
            shutil.copyfile(os.path.splitext(path)[0] + ext, os.path.join(WEIGHTS_DIR, checkpoint_name(method, preset) + ext))
        log(f"installed into {WEIGHTS_DIR}")
    return meta


class _Ema:
    """Exponential moving average of the weights, with the usual warm-up: the decay at update n
    is min(decay, (1 + n) / (10 + n)), so short trainings do not keep the initial weights."""

    def __init__(self, module: torch.nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in module.state_dict().items():
            if v.is_floating_point():
                self.shadow[k].mul_(decay).add_(v.detach(), alpha=1 - decay)
            else:
                self.shadow[k].copy_(v)

    def copy_to(self, module: torch.nn.Module) -> None:
        module.load_state_dict(self.shadow)


def _save_state(path, modules, optimizer, ema, step, losses, seconds) -> None:
    tmp = path + ".tmp"
    torch.save({"modules": modules.state_dict(), "optimizer": optimizer.state_dict(),
                "ema": ema.shadow if ema is not None else None, "step": step, "losses": losses,
                "seconds": seconds}, tmp)
    os.replace(tmp, path)


def train_command(args) -> int:
    meta = train(args.restorer, args.preset, args.data_root, args.steps, args.device, args.out, args.resume,
                 args.seed, args.stage, args.install)
    print(json.dumps({k: meta[k] for k in ("method", "preset", "steps", "final_loss", "train_seconds", "sha256")}))
    return 0
