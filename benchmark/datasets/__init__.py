"""Datasets of scene-text word crops: (sample_id, RGB uint8 image, label).

Formats: a folder with ``labels.tsv`` (``filename<TAB>label``, UTF-8) or an LMDB in the layout of
the common STR code bases (``num-samples``, ``image-%09d``, ``label-%09d``). Named sets are folders
under a data root (``--data-root`` or ``$BENCHMARK_DATA_ROOT``); ``synth`` is rendered by the
project itself; any other folder can be given by path.
"""
from __future__ import annotations

import hashlib
import os
import re
import string
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from ..errors import BenchmarkError
from . import synth

DATA_ROOT_ENV = "BENCHMARK_DATA_ROOT"

# Named sets and their usual sizes (DESIGN section 4); *_train splits are for training restorers.
NAMED_SETS: dict[str, str] = {
    "iiit5k": "IIIT5K test, 3000 crops",
    "svt": "Street View Text test, 647 crops",
    "ic13_857": "ICDAR 2013 test (857 alphanumeric crops)",
    "ic15": "ICDAR 2015 test, 2077 crops",
    "svtp": "SVT-Perspective, 645 crops",
    "cute80": "CUTE80, 288 crops",
    "iiit5k_train": "IIIT5K train, 2000 crops (training only)",
    "svt_train": "SVT train, 257 crops (training only)",
    "ic15_train": "ICDAR 2015 train, 4468 crops (training only)",
}
TEST_SETS = ("iiit5k", "svt", "ic13_857", "ic15", "svtp", "cute80")
EMBEDDED = {"synth": f"embedded: {synth.SYNTH_SIZE} word crops rendered by the project (no download); "
                     f"the first {synth.DEFAULT_SAMPLES} unless --limit says otherwise"}

_PRINTABLE94 = set(string.printable) - set(string.whitespace)
PROTOCOLS = {
    "alnum36": "lower-case, keep [0-9a-z] (DiD / PARSeq 36-character protocol)",
    "case-sensitive": "keep [0-9a-zA-Z], case matters",
    "printable94": "keep the 94 printable ASCII characters (no whitespace), case matters",
}


def normalize_label(text: str, protocol: str = "alnum36") -> str:
    """Apply a label protocol to a label or a prediction (both are scored the same way)."""
    if protocol == "alnum36":
        return re.sub(r"[^0-9a-z]", "", text.lower())
    if protocol == "case-sensitive":
        return re.sub(r"[^0-9a-zA-Z]", "", text)
    if protocol == "printable94":
        return "".join(c for c in text if c in _PRINTABLE94)
    raise BenchmarkError(f"unknown label protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")


@dataclass
class Sample:
    sample_id: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    label: str  # raw label as stored
    target: str  # label under the protocol


@dataclass
class Dataset:
    name: str
    source: str
    protocol: str
    samples: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (sample_id, why): unreadable, degenerate, duplicate
    empty_labels: int = 0

    def __len__(self) -> int:
        return len(self.samples)

    def fingerprint(self) -> str:
        """A hash of ids, labels and pixels, so a resumed run can tell the data changed."""
        h = hashlib.sha256()
        for s in self.samples:
            h.update(s.sample_id.encode())
            h.update(s.label.encode())
            h.update(str(s.image.shape).encode())
            h.update(s.image.tobytes())
        return h.hexdigest()[:16]


# Crops the suite skips (with a warning naming the sample) rather than feed to a restorer or a
# recognizer: a side below MIN_SIDE pixels carries no glyph, and an aspect ratio beyond MAX_ASPECT
# (a 3 x 4000 sliver) makes the recognizer's height-64 resize tens of thousands of pixels wide.
MIN_SIDE = 4
MAX_ASPECT = 25.0


def decode_image(data: bytes) -> np.ndarray:
    """Bytes of any format OpenCV reads -> RGB uint8 (grey expanded, alpha dropped, 16 bits
    scaled to 8). Raises ValueError saying why when the bytes are not a usable crop."""
    if not data:
        raise ValueError("empty file")
    try:
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        array = None
    if array is None or array.size == 0:
        raise ValueError("not a decodable image")
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ValueError(f"unsupported pixel type {array.dtype}")
    height, width = array.shape[:2]
    if min(height, width) < MIN_SIDE or max(height, width) / min(height, width) > MAX_ASPECT:
        raise ValueError(f"degenerate {height}x{width} crop (a side below {MIN_SIDE} px or an aspect ratio "
                         f"beyond {MAX_ASPECT:g})")
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    if array.shape[2] == 4:
        return cv2.cvtColor(array, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(array, cv2.COLOR_BGR2RGB)


def _iter_tsv(folder: str) -> Iterator[tuple[str, bytes | Exception, str]]:
    path = os.path.join(folder, "labels.tsv")
    with open(path, "rb") as f:
        raw = f.read()
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
        raw = raw[3:]
    for number, raw_line in enumerate(raw.split(b"\n"), 1):
        try:
            line = raw_line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise BenchmarkError(f"{path}:{number}: not UTF-8 text ({raw_line[:40]!r}); save labels.tsv as UTF-8") from None
        if not line.strip():
            continue
        if "\t" not in line:
            raise BenchmarkError(f"{path}:{number}: expected 'filename<TAB>label', got {line[:60]!r}")
        filename, label = line.split("\t", 1)
        try:
            with open(os.path.join(folder, filename), "rb") as img:
                yield filename, img.read(), label
        except OSError as e:
            yield filename, e, label


def _iter_lmdb(folder: str) -> Iterator[tuple[str, bytes | Exception, str]]:
    import lmdb

    try:
        env = lmdb.open(folder, readonly=True, lock=False, readahead=False, meminit=False, max_readers=8)
    except lmdb.Error as e:
        raise BenchmarkError(f"{folder}: not a readable LMDB ({e})") from None
    try:
        with env.begin(write=False) as txn:
            raw = txn.get(b"num-samples")
            if raw is None:
                raise BenchmarkError(f"{folder}: LMDB has no 'num-samples' key (not the STR layout)")
            try:
                count = int(raw)
            except ValueError:
                raise BenchmarkError(f"{folder}: LMDB 'num-samples' is {raw[:20]!r}, not a number") from None
            for index in range(1, count + 1):
                label = txn.get(b"label-%09d" % index)
                data = txn.get(b"image-%09d" % index)
                sample_id = f"{index:09d}"
                if label is None:
                    continue
                try:
                    text = label.decode("utf-8")
                except UnicodeDecodeError:
                    yield sample_id, ValueError("label is not UTF-8"), ""
                    continue
                yield sample_id, data if data is not None else KeyError("image missing"), text
    except lmdb.Error as e:
        raise BenchmarkError(f"{folder}: not a readable LMDB ({e})") from None
    finally:
        env.close()


def _folder_format(folder: str) -> str | None:
    if os.path.isfile(os.path.join(folder, "labels.tsv")):
        return "tsv"
    if os.path.isfile(os.path.join(folder, "data.mdb")):
        return "lmdb"
    return None


def resolve(name: str, data_root: str | None = None) -> tuple[str, str]:
    """Map a dataset name or path to (display name, folder or 'embedded'); clear errors."""
    if name in EMBEDDED:
        return name, "embedded"
    if os.sep in name or name.startswith(".") or (os.path.isdir(name) and name not in NAMED_SETS):
        folder = os.path.abspath(name)
        if not os.path.isdir(folder):
            raise BenchmarkError(f"dataset folder {name!r} does not exist")
        if _folder_format(folder) is None:
            raise BenchmarkError(f"dataset folder {name!r} has neither labels.tsv nor data.mdb")
        return os.path.basename(folder.rstrip(os.sep)), folder
    if name not in NAMED_SETS:
        known = ", ".join(list(EMBEDDED) + list(NAMED_SETS))
        raise BenchmarkError(f"unknown dataset {name!r}; known: {known} (or a folder path)")
    root = data_root or os.environ.get(DATA_ROOT_ENV)
    if not root:
        raise BenchmarkError(f"dataset {name!r} needs --data-root (or ${DATA_ROOT_ENV}) pointing at a folder "
                             f"that holds {name}/labels.tsv or {name}/data.mdb")
    if not os.path.isdir(root):
        raise BenchmarkError(f"data root {root!r} does not exist")
    folder = os.path.join(root, name)
    if not os.path.isdir(folder) or _folder_format(folder) is None:
        raise BenchmarkError(f"dataset {name!r} not found: expected {folder}/labels.tsv or {folder}/data.mdb")
    return name, os.path.abspath(folder)


def load(name: str, data_root: str | None = None, protocol: str = "alnum36",
         limit: int | None = None) -> Dataset:
    """Load the first ``limit`` usable samples (all when None) of one dataset into memory.

    Samples whose label is empty under the protocol are dropped and counted; undecodable or
    degenerate images and repeated ids are listed in ``skipped`` by id with the reason, never scored.
    """
    if protocol not in PROTOCOLS:
        raise BenchmarkError(f"unknown label protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    if limit is not None and limit <= 0:
        raise BenchmarkError(f"--limit must be positive, got {limit}")
    display, source = resolve(name, data_root)
    dataset = Dataset(display, source, protocol, [])

    if source == "embedded":
        count = synth.DEFAULT_SAMPLES if limit is None else min(limit, synth.SYNTH_SIZE)
        for index in range(count):
            sample_id, image, label = synth.render(index, seed=0)
            dataset.samples.append(Sample(sample_id, image, label, normalize_label(label, protocol)))
        return dataset

    records = _iter_tsv(source) if _folder_format(source) == "tsv" else _iter_lmdb(source)
    seen: set[str] = set()
    for sample_id, data, label in records:
        if limit is not None and len(dataset.samples) >= limit:
            break
        if sample_id in seen:
            dataset.skipped.append((sample_id, "duplicate id (the first one is kept)"))
            continue
        seen.add(sample_id)
        if isinstance(data, Exception):
            dataset.skipped.append((sample_id, str(data)))
            continue
        target = normalize_label(label, protocol)
        if not target:
            dataset.empty_labels += 1
            continue
        try:
            image = decode_image(data)
        except ValueError as e:
            dataset.skipped.append((sample_id, str(e)))
            continue
        dataset.samples.append(Sample(sample_id, image, label, target))
    if not dataset.samples:
        raise BenchmarkError(f"dataset {display!r} ({source}) has no usable samples"
                             f" ({dataset.empty_labels} empty labels, {len(dataset.skipped)} skipped)")
    return dataset
