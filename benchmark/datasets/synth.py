"""The embedded `synth` set: scene-like word crops rendered deterministically, no download.

Each sample is a pure function of (index, seed): the word, font, colours, background, geometry,
blur and compression all come from a generator seeded by a stable hash. Fonts are the DejaVu and
STIX faces that ship inside matplotlib, so every machine renders the same pixels given the same
FreeType/OpenCV versions.
"""
from __future__ import annotations

import os
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from degradations import stable_seed

SYNTH_SIZE = 1000
DEFAULT_SAMPLES = 16  # without --limit: sized so the default job (every restorer) runs on a CPU
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf",
)


@lru_cache(maxsize=1)
def words() -> tuple[str, ...]:
    path = os.path.join(os.path.dirname(__file__), "words.txt")
    seen: dict[str, None] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            word = line.strip()
            if word and not word.startswith("#"):
                seen.setdefault(word, None)
    return tuple(seen)


@lru_cache(maxsize=1)
def font_paths() -> tuple[str, ...]:
    import matplotlib

    folder = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
    paths = tuple(os.path.join(folder, f) for f in FONT_FILES if os.path.exists(os.path.join(folder, f)))
    if not paths:
        raise RuntimeError(f"no fonts found in {folder}; is matplotlib installed?")
    return paths


@lru_cache(maxsize=64)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _word_order(seed: int) -> np.ndarray:
    return np.random.default_rng(stable_seed("synth-order", seed)).permutation(len(words()))


def _colour_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Background and text colours with a luminance gap large enough to stay legible."""
    luma = np.array([0.299, 0.587, 0.114])
    while True:
        bg, fg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if abs(float(luma @ bg) - float(luma @ fg)) >= 90:
            return bg, fg


def _background(rng: np.random.Generator, h: int, w: int, colour: np.ndarray) -> np.ndarray:
    kind = rng.choice(["solid", "gradient", "texture", "stripes"], p=[0.3, 0.3, 0.25, 0.15])
    base = np.broadcast_to(colour.astype(np.float32), (h, w, 3)).copy()
    if kind == "gradient":
        other = np.clip(colour + rng.integers(-60, 61, 3), 0, 255).astype(np.float32)
        t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
        t = t[None, :, None] if t.size == w else t[:, None, None]
        base = base * (1 - t) + other * t
    elif kind == "texture":
        grain = rng.normal(0, rng.uniform(6, 18), (h // 4 + 1, w // 4 + 1, 1)).astype(np.float32)
        base = base + cv2.resize(grain, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    elif kind == "stripes":
        period = int(rng.integers(6, 20))
        band = ((np.arange(h) // period) % 2).astype(np.float32)[:, None, None]
        base = base + band * rng.uniform(-25, 25)
    return np.clip(base, 0, 255)


def render(index: int, seed: int = 0) -> tuple[str, np.ndarray, str]:
    """Return (sample_id, RGB uint8 crop, label) for one synth sample."""
    vocabulary = words()
    word = vocabulary[int(_word_order(seed)[index % len(vocabulary)])]
    rng = np.random.default_rng(stable_seed("synth", seed, index))
    case = rng.choice(["title", "lower", "upper"], p=[0.4, 0.3, 0.3])
    label = word.title() if case == "title" else word.upper() if case == "upper" else word.lower()

    font = _font(str(rng.choice(font_paths())), int(rng.integers(40, 65)))
    left, top, right, bottom = font.getbbox(label)
    pad_x, pad_y = rng.integers(6, 28, 2), rng.integers(6, 22, 2)
    w = int(right - left + pad_x.sum())
    h = int(bottom - top + pad_y.sum())
    bg, fg = _colour_pair(rng)
    canvas = Image.fromarray(_background(rng, h, w, bg).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    stroke = int(rng.integers(1, 3)) if rng.random() < 0.2 else 0
    stroke_fill = tuple(int(c) for c in np.clip(255 - fg, 0, 255))
    if rng.random() < 0.2:  # drop shadow
        off = int(rng.integers(1, 4))
        shadow = tuple(int(c) for c in (bg * 0.4).astype(int))
        draw.text((pad_x[0] - left + off, pad_y[0] - top + off), label, font=font, fill=shadow)
    draw.text((pad_x[0] - left, pad_y[0] - top), label, font=font, fill=tuple(int(c) for c in fg),
              stroke_width=stroke, stroke_fill=stroke_fill)
    image = np.asarray(canvas)

    # Slight rotation and perspective, as in a hand-held photo of a sign.
    jitter = rng.uniform(-0.05, 0.05, (4, 2)) * np.array([w, h]) * np.array([0.6, 0.25])
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    angle = np.deg2rad(rng.uniform(-4, 4))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = np.array([w / 2, h / 2])
    dst = ((src - centre) @ rot.T + centre + jitter).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    image = cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    sigma = rng.uniform(0.0, 1.5)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    out_h = int(rng.integers(28, 65))
    out_w = max(out_h, int(round(w * out_h / h)))
    image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_AREA)
    quality = int(rng.integers(55, 96))
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return f"synth_{index:05d}", image, label
