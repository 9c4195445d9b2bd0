"""One checkpoint format for every learned restorer.

``<method>-<preset>.pt``   torch.save({"state_dict": fp16 tensors, "meta": {...}})
``<method>-<preset>.json`` the same metadata plus the SHA-256 of the .pt file

Metadata: method, preset, config (architecture and hyperparameters), training data and
degradation ranges, steps, seed, final loss, training time, code version, parameter count.
Shipped checkpoints live in ``restorers/weights/`` (package data) and load without network; the
hash is verified on every load.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

import torch

from .errors import RestorerError

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
CHECKPOINT_DIR_ENV = "BENCHMARK_CHECKPOINTS"  # a folder of the user's own checkpoints, searched first


def file_digest(path: str, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str) -> str:
    return file_digest(path, "sha256")


def checkpoint_name(method: str, preset: str) -> str:
    return f"{method}-{preset}"


def shipped_path(method: str, preset: str) -> str:
    return os.path.join(WEIGHTS_DIR, checkpoint_name(method, preset) + ".pt")


def sidecar_path(path: str) -> str:
    """The JSON metadata file beside a checkpoint ``.pt``."""
    return os.path.splitext(path)[0] + ".json"


def find_checkpoint(method: str, preset: str, checkpoint_dir: str | None = None) -> str:
    """The file ``<method>-<preset>.pt`` to load: from ``checkpoint_dir`` (or ``$BENCHMARK_CHECKPOINTS``)
    when that folder holds it, otherwise the shipped one."""
    folder = checkpoint_dir or os.environ.get(CHECKPOINT_DIR_ENV)
    if folder:
        if not os.path.isdir(folder):
            raise RestorerError(f"checkpoint folder {folder!r} does not exist")
        path = os.path.join(folder, checkpoint_name(method, preset) + ".pt")
        if os.path.exists(path):
            return path
    return shipped_path(method, preset)


def atomic_write(path: str, write) -> None:
    """``write(tmp)`` fills a unique temporary file in ``path``'s folder, which then replaces ``path``:
    a reader never sees a half-written file. The project's one atomic write (``benchmark.runfolder``
    re-exports it; it lives here because restorers cannot import benchmark)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the file gets what a plain open() would give
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str, state_dict: dict, meta: dict, half: bool = True) -> dict:
    """Write the .pt (floating tensors in fp16 when ``half``) and its .json sidecar; returns meta."""
    tensors = {k: (v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu())
               for k, v in state_dict.items()}
    meta = dict(meta)
    meta["parameters"] = int(sum(v.numel() for v in tensors.values() if v.is_floating_point()))
    meta["storage"] = "fp16" if half else "fp32"
    # metadata travels as JSON text so that the file loads with torch.load(weights_only=True)
    meta = json.loads(json.dumps(meta, default=str))
    atomic_write(path, lambda tmp: torch.save({"state_dict": tensors, "meta_json": json.dumps(meta)}, tmp))
    meta["sha256"] = sha256_file(path)
    meta["file"] = os.path.basename(path)
    atomic_write(sidecar_path(path),
            lambda tmp: open(tmp, "w").write(json.dumps(meta, indent=2, default=str) + "\n"))
    return meta


def train_hint(method: str, preset: str) -> str:
    return f"train it with: python -m benchmark train {method} --checkpoint-preset {preset} --install"


def load_checkpoint(method: str, preset: str, path: str | None = None) -> tuple[dict, dict]:
    """Return (float32 state_dict, meta) after checking the file exists, matches its recorded
    SHA-256 and belongs to ``method``. Every failure is a RestorerError that says how to fix it."""
    path = path or shipped_path(method, preset)
    sidecar = sidecar_path(path)
    if not os.path.exists(path):
        raise RestorerError(f"no checkpoint for {method!r} (preset {preset!r}) at {path}; {train_hint(method, preset)}")
    if not os.path.exists(sidecar):
        raise RestorerError(f"checkpoint {path} has no metadata file {sidecar}; {train_hint(method, preset)}")
    try:
        with open(sidecar) as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise RestorerError(f"checkpoint metadata {sidecar} is unreadable ({e}); {train_hint(method, preset)}") from None
    if sha256_file(path) != meta.get("sha256"):
        raise RestorerError(f"checkpoint {path} is corrupt (SHA-256 differs from {sidecar}); "
                            f"{train_hint(method, preset)}")
    if meta.get("method") != method:
        raise RestorerError(f"checkpoint {path} is for {meta.get('method')!r}, not {method!r}")
    if meta.get("preset") != preset:
        raise RestorerError(f"checkpoint {path} is preset {meta.get('preset')!r}, not {preset!r}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for damaged files
        raise RestorerError(f"checkpoint {path} cannot be read ({e}); {train_hint(method, preset)}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("state_dict"), dict):
        raise RestorerError(f"checkpoint {path} is not in the project's format (no state_dict)")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in payload["state_dict"].items()}
    meta["path"] = os.path.abspath(path)
    return state, meta
