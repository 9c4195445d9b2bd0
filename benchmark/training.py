"""``python -m benchmark train``: one loop and one paired-data pipeline for every learned method.

Data (DESIGN section 7): clean crops from the train splits only (iiit5k_train, svt_train,
ic15_train, less the validation crops) plus synth renders with a different seed than the embedded
test set. Each training sample is made the way the benchmark makes a test input: the crop is
degraded at its own resolution by the `did` model with (b, sigma) drawn from ranges covering the
evaluation grid, then clean and degraded crops are resized together to the recipe's height (the
restorers' own resize), and a window of the recipe's width is cut. A crop narrower than the window
is followed by further crops (degraded at the same cell), never mirrored.

Validation (benchmark/validation_split.json): every ``validate_every`` steps the current (EMA)
weights restore the validation crops at three cells through the restorer's own code path, read out
in one step, and every ``sampler_every``-th time also with the full sampler on fewer crops; PSNR and
EasyOCR word accuracy / 1-NED go into the checkpoint's metadata. With ``stop_when_flat`` the run
ends once the one-step 1-NED and PSNR have stopped rising over the last third of the validations.

Determinism: batch k and the loss noise of step k come from generators seeded by (seed, step), so
a run with the same recipe gives the same weights, and a resumed run continues exactly where the
periodic checkpoint left it. Batches are made one step ahead on a second thread.
"""
from __future__ import annotations

import copy
import json
import math
import os
import shutil
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

import numpy as np
import torch
from tqdm import tqdm

import degradations
from degradations import Cell, stable_seed
from restorers import load as load_restorer
from restorers.base import RestorerError
from restorers.checkpoints import WEIGHTS_DIR, checkpoint_name, save_checkpoint
from restorers.canvas import resize
from restorers.training import DEGRADATION_RANGES, Recipe, Trainer, make_trainer, stretches

from . import datasets, metrics, recognizers
from .datasets import synth
from .errors import BenchmarkError
from .runfolder import atomic_write, git_commit, resolve_device

# The data every learned method trains on (DESIGN section 7); the degradation ranges are
# restorers.training.DEGRADATION_RANGES, which the methods record in their configs.
TRAIN_SETS = ("iiit5k_train", "svt_train", "ic15_train")
TRAIN_SYNTH_SEED = 1  # the embedded test set renders with seed 0
VALIDATION_SYNTH_SEED = 2  # validation renders, used only when no real train split is available

# Validation crops carved once from the train splits (never from a test set) and never trained on:
# validation_split.json lists their ids. Training scores them every few hundred steps at these
# cells (brightness, noise): an easy one, one inside the DiD grid and a hard one.
VALIDATION_CELLS = ((0.6, 0.02), (0.5, 0.1), (0.4, 0.25))
VALIDATION_SPLIT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validation_split.json")


def validation_ids() -> dict[str, list[str]]:
    """Sample ids of the validation crops per train set."""
    with open(VALIDATION_SPLIT_FILE) as f:
        return json.load(f)["sets"]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 or float in [0, 1] -> (1, 3, H, W) float32."""
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    return x.float() / 255.0 if image.dtype == np.uint8 else x.float()


class PairedData:
    """Clean training crops in memory; ``batch(step)`` degrades a reproducible random batch."""

    def __init__(self, data_root: str | None, crop: tuple[int, int], synth_count: int, seed: int,
                 ranges: dict = DEGRADATION_RANGES, log=print, exclude: dict[str, list[str]] | None = None):
        self.crop, self.seed, self.ranges = crop, seed, ranges
        self.images: list[np.ndarray] = []
        self.sources: dict[str, int] = {}
        exclude = validation_ids() if exclude is None else exclude
        root = data_root or os.environ.get(datasets.DATA_ROOT_ENV)
        for name in TRAIN_SETS:
            if not root:
                break
            try:
                ds = datasets.load(name, root, protocol="printable94")
            except BenchmarkError as e:
                log(f"note: training without {name}: {e}")
                continue
            held_out = set(exclude.get(name, ()))
            kept = [s.image for s in ds.samples if s.sample_id not in held_out]
            self.images.extend(kept)
            self.sources[name] = len(kept)
        if not self.sources:
            log("warning: no real train splits found (give --data-root); training on synth renders only")
        for index in range(synth_count):
            self.images.append(synth.render(index, seed=TRAIN_SYNTH_SEED)[1])
        self.sources["synth(seed=1)"] = synth_count
        if not self.images:
            raise BenchmarkError("no training images")

    def sample_cell(self, rng: np.random.Generator) -> tuple[float, float]:
        r = self.ranges
        b = 1.0 if rng.random() < r["noise_only_fraction"] else float(rng.uniform(*r["brightness"]))
        return b, float(rng.uniform(*r["noise"]))

    def pair(self, rng: np.random.Generator, crop: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One (clean, degraded) window of size ``crop`` (default: the recipe's), each (3, h, w), made
        like a test input."""
        h, w = crop or self.crop
        b, sigma = self.sample_cell(rng)
        clean_parts, dark_parts, filled = [], [], 0
        while filled < w:
            image = self.images[int(rng.integers(0, len(self.images)))]
            dark = degradations.did(image, b, sigma, int(rng.integers(0, 2 ** 62)))
            stretch = rng.uniform(0.85, 1.15)  # mild horizontal scale jitter
            size = (h, max(1, int(round(image.shape[1] * h / image.shape[0] * stretch))))
            clean_view, dark_view = resize(to_tensor(image), size), resize(to_tensor(dark), size)
            take = min(size[1], w - filled)
            x0 = int(rng.integers(0, size[1] - take + 1))
            clean_parts.append(clean_view[..., x0:x0 + take])
            dark_parts.append(dark_view[..., x0:x0 + take])
            filled += take
        return torch.cat(clean_parts, -1)[0].clamp(0, 1), torch.cat(dark_parts, -1)[0].clamp(0, 1)

    def batch(self, step: int, size: int, crop: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng(stable_seed("train-batch", self.seed, step))
        pairs = [self.pair(rng, crop) for _ in range(size)]
        return torch.stack([c for c, _ in pairs]), torch.stack([d for _, d in pairs])


def prefetched(data: PairedData, steps: range, size: int, crop: tuple[int, int] | None = None, depth: int = 2):
    """``(clean, degraded)`` for each step, made ``depth`` steps ahead on one helper thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = deque(pool.submit(data.batch, step, size, crop) for step in steps[:depth])
        for k in range(len(steps)):
            if k + depth < len(steps):
                pending.append(pool.submit(data.batch, steps[k + depth], size, crop))
            yield pending.popleft().result()


class Validation:
    """The fixed validation crops, degraded once per validation cell, and how a restorer scores on them."""

    def __init__(self, data_root: str | None, device: str, log=print, sampler_crops: int = 24):
        self.samples: list[tuple[str, np.ndarray, str]] = []  # (set:id, clean uint8, alnum36 label)
        root = data_root or os.environ.get(datasets.DATA_ROOT_ENV)
        for name, ids in validation_ids().items():
            if not root:
                break
            try:
                ds = datasets.load(name, root, protocol="alnum36")
            except BenchmarkError:
                continue
            wanted = set(ids)
            self.samples.extend((f"{name}:{s.sample_id}", s.image, s.target) for s in ds.samples if s.sample_id in wanted)
        if not self.samples:
            log("note: validating on synth renders (seed 2): no real train split found")
            for index in range(60):
                sample_id, image, label = synth.render(index, seed=VALIDATION_SYNTH_SEED)
                self.samples.append((sample_id, image, datasets.normalize_label(label)))
        self.sampler_crops = min(sampler_crops, len(self.samples))
        self.cells = [Cell(b, s) for b, s in VALIDATION_CELLS]
        self.degraded = self._degrade()
        self.recognizer = recognizers.create("easyocr", device)

    def _degrade(self) -> dict:
        return {cell: [degradations.degrade(image, cell, stable_seed("validation", sample_id, cell.key))
                       for sample_id, image, _ in self.samples] for cell in self.cells}

    def on(self, samples: list[tuple[str, np.ndarray, str]], cells: list[Cell] | None = None) -> "Validation":
        """The same scoring (seeds, batch, reader) on other (key, clean uint8, label) crops and cells,
        to see whether validation levels are test levels; shares this one's reader."""
        other = copy.copy(self)
        other.samples, other.cells = list(samples), list(cells or self.cells)
        other.sampler_crops = min(self.sampler_crops, len(other.samples))
        other.degraded = other._degrade()
        return other

    def scores(self, images: list[np.ndarray], count: int) -> dict:
        """PSNR and EasyOCR word accuracy / 1-NED of restored float images against the first ``count`` crops."""
        restored = [(np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8) for x in images]
        texts = [datasets.normalize_label(t) for t, _ in self.recognizer.recognize(restored)]
        truth = self.samples[:count]
        return {"psnr": float(np.mean([metrics.psnr(r.astype(np.float32) / 255, c.astype(np.float32) / 255)
                                       for r, (_, c, _) in zip(restored, truth)])),
                "ned": float(np.mean([metrics.ned_similarity(t, g) for t, (_, _, g) in zip(texts, truth)])),
                "accuracy": float(np.mean([t == g for t, (_, _, g) in zip(texts, truth)]))}

    def reference(self) -> dict:
        """The dark input read as it is (the identity restorer) on the crops each readout uses, and the
        clean crops: the lines a learned restorer's curves have to clear."""
        from restorers import load

        identity = load("identity")
        return {"one_step": self.run(identity), "sampler": self.run(identity, count=self.sampler_crops),
                "clean": self.run(identity, passthrough=True)["mean"]}

    def run(self, restorer, count: int | None = None, passthrough: bool = False) -> dict:
        """Scores per cell and their mean; ``passthrough`` scores the clean crops through the
        method's own representation instead (an autoencoder being trained)."""
        count = count or len(self.samples)
        seeds = [stable_seed("validation-restore", sample_id) for sample_id, _, _ in self.samples[:count]]
        with torch.no_grad():
            if passthrough:
                clean = [to_tensor(image)[0] for _, image, _ in self.samples[:count]]
                out = restorer.passthrough(clean)
                result = {"clean": self.scores([o.permute(1, 2, 0).cpu().numpy() for o in out], count)}
            else:
                result = {}
                for cell in self.cells:
                    out = restorer.restore_many([to_tensor(d)[0] for d in self.degraded[cell][:count]], seeds)
                    result[cell.key] = self.scores([o.permute(1, 2, 0).cpu().numpy() for o in out], count)
        result["mean"] = {k: float(np.mean([v[k] for v in result.values()])) for k in ("psnr", "ned", "accuracy")}
        return result


def _rises(points: list[dict], readout: str, ned_tolerance: float, psnr_tolerance: float) -> bool:
    """Whether the least-squares lines of the mean 1-NED and PSNR over ``points`` rise by at least
    their tolerance across the points' span of steps."""
    steps = np.array([p["step"] for p in points], dtype=float)
    for key, tolerance in (("ned", ned_tolerance), ("psnr", psnr_tolerance)):
        values = np.array([p[readout]["mean"][key] for p in points])
        if np.polyfit(steps, values, 1)[0] * (steps[-1] - steps[0]) >= tolerance:
            return True
    return False


def flattened(points: list[dict], ned_tolerance: float = 0.01, psnr_tolerance: float = 0.25,
              min_points: int = 9) -> bool:
    """Whether a validation curve has stopped rising. The one-step readout (every validation): over
    the last third of its points (at least three), the fitted mean 1-NED rises by less than
    ``ned_tolerance`` and the mean PSNR by less than ``psnr_tolerance`` dB. The full sampler (every
    few validations, on fewer crops, so twice the tolerances): its last two points differ by less;
    a run whose sampler still improves goes on."""
    one_step = [p for p in points if p.get("one_step")]
    if len(one_step) < min_points:
        return False
    if _rises(one_step[-max(3, len(one_step) // 3):], "one_step", ned_tolerance, psnr_tolerance):
        return False
    sampled = [p for p in points if p.get("sampler")]
    if sampled and (len(sampled) < 2 or _rises(sampled[-2:], "sampler", 2 * ned_tolerance, 2 * psnr_tolerance)):
        return False
    return True


def lr_at(step: int, total: int, recipe: Recipe) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if recipe.warmup and step < recipe.warmup:
        return recipe.lr * (step + 1) / recipe.warmup
    progress = (step - recipe.warmup) / max(1, total - recipe.warmup)
    return recipe.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def budget_at(step: int, budgets: list[list[int]]) -> int:
    """The budget the learning-rate schedule runs to at ``step``: that of the last stretch begun by then."""
    return [total for first, total in budgets if first <= step][-1]


def _state_path(out: str, stage: str) -> str:
    return os.path.join(out, f"state-{stage}.pt")


def train(method: str, preset: str = "compact", data_root: str | None = None, steps: int | list[int] | None = None,
          device: str = "auto", out: str | None = None, resume: bool = False, seed: int | None = None,
          stage: str | None = None, install: bool = False, progress: bool = True, log=print,
          synth_count: int | None = None, checkpoint_every: int | None = None, validate: bool = True,
          validate_every: int | None = None, stop_when_flat: bool = True) -> dict:
    """Train, write ``<out>/<method>-<preset>.pt/.json`` and return the checkpoint metadata.

    ``steps`` is the step budget, or increasing budgets [4000, 8000] trained as if resumed with each
    longer one in turn (the stretches are kept in the metadata as ``budgets``)."""
    torch.manual_seed(stable_seed("init", method, 0 if seed is None else seed))  # weight initialisation
    requested = [steps] if isinstance(steps, int) else list(steps or [])
    try:
        trainer: Trainer = make_trainer(method, preset, steps=requested[-1] if requested else None, seed=seed)
    except RestorerError as e:
        raise BenchmarkError(str(e)) from None
    recipe = trainer.recipe
    if synth_count is not None:
        recipe.synth_count = synth_count
    if checkpoint_every is not None:
        recipe.checkpoint_every = checkpoint_every
    if validate_every is not None:
        recipe.validate_every = validate_every
    device = resolve_device(device)
    torch.set_flush_denormal(True)  # tiny exp() weights would otherwise slow CPU arithmetic ~10x
    out = os.path.abspath(out or os.path.join("training", f"{method}-{preset}"))
    os.makedirs(out, exist_ok=True)
    stages = recipe.stages if stage is None else (stage,)
    unknown = [s for s in stages if s not in recipe.stages]
    if unknown:
        raise BenchmarkError(f"{method} has stages {', '.join(recipe.stages)}, not {unknown[0]!r}")

    data = PairedData(data_root, recipe.crop, recipe.synth_count, recipe.seed, log=log)
    validation = Validation(data_root, device, log) if validate else None
    modules = trainer.modules().to(device)
    history: dict[str, list] = {}
    curves: dict[str, dict] = {}
    trained: dict[str, int] = {}
    stage_budgets: dict[str, list] = {}
    elapsed_before = 0.0
    earlier_stages = recipe.stages[:recipe.stages.index(stage)] if stage is not None else ()
    for earlier in earlier_stages:
        # a later stage alone starts from the finished state of the stage before it; the
        # checkpoint's metadata covers the earlier stages too (their losses, curves and training time)
        path = _state_path(out, earlier)
        if not os.path.exists(path):
            raise BenchmarkError(f"--stage {stage} needs the finished earlier stage in {out} ({path}); "
                                 f"train it first with --stage {earlier}")
        state = torch.load(path, map_location=device, weights_only=False)
        history[earlier], trained[earlier] = state["losses"], state["step"]
        stage_budgets[earlier] = state.get("budgets") or [[0, recipe.steps_for(earlier)]]
        curves[earlier] = state.get("validation") or {}
        elapsed_before += state.get("seconds", 0.0)
        if earlier == earlier_stages[-1]:
            modules.load_state_dict(state["modules"])
    started = time.perf_counter()
    loop_seconds = wait_seconds = validation_seconds = 0.0
    loop_steps = 0
    for stage_name in stages:
        total, crop = recipe.steps_for(stage_name), recipe.crop_for(stage_name)
        params = [p for p in trainer.parameters(stage_name) if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=recipe.lr, betas=(0.9, 0.999))
        ema = _Ema(modules, recipe.ema) if recipe.ema else None
        start, losses, curve = 0, [], {"points": [], "stopped_early": False}
        # [first step, step budget the lr schedule runs to]; one more per extension
        budgets = stretches(requested or [total])
        path = _state_path(out, stage_name)
        if resume and os.path.exists(path):
            state = torch.load(path, map_location=device, weights_only=False)
            modules.load_state_dict(state["modules"])
            optimizer.load_state_dict(state["optimizer"])
            if ema is not None and state.get("ema") is not None:
                ema.shadow, ema.updates = state["ema"], state["step"]
            start, losses = state["step"], state["losses"]
            curve = state.get("validation") or curve
            # states written before budgets were kept were always resumed with their own budget
            trained_budgets = state.get("budgets") or [[0, total]]
            if len(requested) > 1:
                # only the budgets begun by this step shaped the schedule so far (a state saved mid-run lists them all)
                begun = [b for b in budgets if b[0] < start]
                trained_begun = [b for b in trained_budgets if b[0] < start]
                if begun != trained_begun:
                    raise BenchmarkError(f"{path} was trained to step {start} with budgets {trained_begun}, "
                                         f"not the {begun} that --steps {','.join(map(str, requested))} gives")
            elif trained_budgets[-1][1] != total:
                # a longer (or shorter) --steps on resume continues the cosine schedule from this step's place
                # in the new budget; the metadata keeps every budget so the run can be repeated
                budgets = trained_budgets + [[start, total]]
            else:
                budgets = trained_budgets
            if budgets[-1][1] != trained_budgets[-1][1]:
                curve["stopped_early"] = False
            elapsed_before += state.get("seconds", 0.0)
            log(f"resuming {method} stage {stage_name} at step {start}/{total}")
        elif resume:
            log(f"no periodic checkpoint in {out} for stage {stage_name}; starting at step 0")
        if start == 0 and hasattr(trainer, "prepare"):
            trainer.prepare(lambda k: tuple(t.to(device) for t in data.batch(-1 - k, recipe.batch_size, crop)),
                            stage_name)
        modules.train()
        stage_started = time.perf_counter()
        done = start
        bar = tqdm(total=total, initial=start, desc=f"train {method} [{stage_name}]", disable=not progress,
                   dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0, file=sys.stderr)
        batches = prefetched(data, range(start, total), recipe.batch_size, crop)
        stop = curve["stopped_early"]
        while done < total and not stop:
            step = done
            tick = time.perf_counter()
            clean, degraded = next(batches)
            got = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, budget_at(step, budgets), recipe)
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
            done = step + 1
            loop_seconds += time.perf_counter() - tick
            wait_seconds += got - tick
            loop_steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
            if validation is not None and (done % recipe.validate_every == 0 or done == total):
                t0 = time.perf_counter()
                point = _validate(validation, trainer, modules, ema, recipe, stage_name, done,
                                  sampler=(done // recipe.validate_every) % recipe.sampler_every == 0 or done == total)
                validation_seconds += time.perf_counter() - t0
                curve["points"].append(point)
                modules.train()
                log(f"validation {method} [{stage_name}] step {done}: " + _describe(point))
                if stop_when_flat and flattened(curve["points"]):
                    stop = curve["stopped_early"] = done < total
                    log(f"validation curve of {method} [{stage_name}] has flattened at step {done}; stopping")
            if done % recipe.checkpoint_every == 0 or done == total or stop:
                seconds = elapsed_before + time.perf_counter() - stage_started
                _save_state(path, modules, optimizer, ema, done, losses, seconds, curve, budgets)
        bar.close()
        batches.close()
        if ema is not None:
            ema.copy_to(modules)
        curve["converged"] = flattened(curve["points"])
        history[stage_name], curves[stage_name], trained[stage_name] = losses, curve, done
        stage_budgets[stage_name] = budgets
    modules.eval()

    train_seconds = elapsed_before + time.perf_counter() - started
    single = len(recipe.stages) == 1
    meta = {
        "method": method, "preset": preset, "config": recipe.config,
        "recipe": {k: v for k, v in asdict(recipe).items() if k != "config"},
        "training_data": data.sources, "degradation": data.ranges,
        "steps": trained[recipe.stages[0]] if single else trained,
        "max_steps": recipe.steps if single else {s: recipe.steps_for(s) for s in recipe.stages},
        # [first step, budget] per stretch of training; more than one where --resume extended the budget
        "budgets": stage_budgets[recipe.stages[0]] if single else stage_budgets,
        "seed": recipe.seed,
        "final_loss": {s: float(np.mean(v[-50:])) for s, v in history.items()} if len(history) > 1
        else float(np.mean(next(iter(history.values()))[-50:])),
        "loss_curve": {s: [round(float(np.mean(v[i:i + 50])), 5) for i in range(0, len(v), 50)]
                       for s, v in history.items()},
        "validation": {"cells": [list(c) for c in VALIDATION_CELLS],
                       "crops": len(validation.samples), "sampler_crops": validation.sampler_crops,
                       "identity": validation.reference(), "stages": curves} if validation else None,
        "train_seconds": round(train_seconds, 1), "validation_seconds": round(validation_seconds, 1),
        "throughput": {"steps_per_second": round(loop_steps / loop_seconds, 4) if loop_seconds else None,
                       "data_wait_fraction": round(wait_seconds / loop_seconds, 4) if loop_seconds else None,
                       "batch_size": recipe.batch_size, "crop": list(recipe.crop),
                       **({"stage_crops": {s: list(recipe.crop_for(s)) for s in recipe.stages}}
                          if recipe.stage_crops else {})},
        "device": device, "torch": torch.__version__,
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


def _validate(validation: Validation, trainer, modules, ema, recipe: Recipe, stage: str, step: int,
              sampler: bool) -> dict:
    """Score the current weights (the EMA ones where kept) on the validation crops."""
    backup = {k: v.detach().clone() for k, v in modules.state_dict().items()}
    if ema is not None:
        ema.copy_to(modules)
    state = {k: v.detach().clone() for k, v in trainer.shipped_state().items()}
    modules.load_state_dict(backup)
    meta = {"method": recipe.method, "preset": recipe.preset, "config": recipe.config}
    device = next(modules.parameters()).device
    make = lambda one_step: load_restorer(recipe.method, device=str(device), preset=recipe.preset,
                                          weights=(state, meta), one_step=one_step)
    point: dict = {"step": step}
    if stage == "autoencoder":  # the representation the diffusion stage will work in
        point["one_step"] = validation.run(make(True), passthrough=True)
        return point
    restorer = make(True)
    point["one_step"] = validation.run(restorer)
    if sampler and make(False).nfe > restorer.nfe:
        point["sampler"] = validation.run(make(False), count=validation.sampler_crops)
    return point


def _describe(point: dict) -> str:
    parts = []
    for readout in ("one_step", "sampler"):
        if point.get(readout):
            m = point[readout]["mean"]
            parts.append(f"{readout} psnr {m['psnr']:.2f} 1-NED {m['ned']:.3f} acc {m['accuracy']:.3f}")
    return "; ".join(parts)


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


def _save_state(path, modules, optimizer, ema, step, losses, seconds, validation, budgets) -> None:
    state = {"modules": modules.state_dict(), "optimizer": optimizer.state_dict(),
             "ema": ema.shadow if ema is not None else None, "step": step, "losses": losses,
             "seconds": seconds, "validation": validation, "budgets": budgets}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def train_command(args) -> int:
    for flag in ("validate_every", "checkpoint_every"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise BenchmarkError(f"--{flag.replace('_', '-')} must be positive, got {getattr(args, flag)}")
    if args.steps is not None and (not args.steps or args.steps[0] <= 0
                                   or any(a >= b for a, b in zip(args.steps, args.steps[1:]))):
        raise BenchmarkError(f"--steps must be a positive count or increasing counts such as 4000,8000, "
                             f"got {','.join(map(str, args.steps))}")
    meta = train(args.restorer, args.preset, args.data_root, args.steps, args.device, args.out, args.resume,
                 args.seed, args.stage, args.install, validate=not args.no_validation,
                 validate_every=args.validate_every, checkpoint_every=args.checkpoint_every,
                 stop_when_flat=not args.no_early_stop)
    print(json.dumps({k: meta[k] for k in ("method", "preset", "steps", "final_loss", "train_seconds", "sha256")}))
    return 0
