"""The checkpoints shipped in restorers/weights: complete metadata, small, and sane."""
import glob
import os

import numpy as np
import pytest
import torch

from benchmark import datasets
from benchmark.metrics import psnr
from benchmark.training import TRAIN_SETS
from degradations import Cell, degradation_seed, degrade
from restorers import load
from restorers.checkpoints import WEIGHTS_DIR, load_checkpoint
from restorers.canvas import resize, working_size
from restorers.training import trainable_names

from .conftest import STR_ROOT, needs_str

# Every trainable method and DiD ablation ships a compact checkpoint (the ablations in the README
# are evaluated from these files), and each must beat the dark input.
REQUIRED = trainable_names()
SHIPPED = sorted(os.path.basename(p)[: -len("-compact.pt")] for p in glob.glob(os.path.join(WEIGHTS_DIR, "*-compact.pt")))


@pytest.mark.parametrize("method", sorted(set(REQUIRED) | set(SHIPPED)))
def test_checkpoint_is_shipped_with_its_recipe(method):
    path = os.path.join(WEIGHTS_DIR, f"{method}-compact.pt")
    assert os.path.exists(path), f"{method} is not shipped: python -m benchmark train {method} --install"
    assert os.path.getsize(path) < 10_000_000
    _, meta = load_checkpoint(method, "compact")
    assert meta["preset"] == "compact" and meta["seed"] == 0 and meta["train_seconds"] > 0
    assert set(TRAIN_SETS) <= set(meta["training_data"]), "trained on the real train splits"
    assert meta["final_loss"] is not None and meta["code_version"]


@pytest.fixture(scope="module")
def easy_cell():
    """Held-out synth crops (the embedded test renders) at an easy cell: dark, little noise."""
    ds = datasets.load("synth", limit=4)
    cell = Cell(0.3, 0.03)
    dark = [degrade(s.image, cell, degradation_seed(0, "synth", s.sample_id, cell)) for s in ds.samples]
    return [s.image.astype(np.float32) / 255 for s in ds.samples], dark


@pytest.mark.parametrize("name", REQUIRED)
def test_restorer_beats_the_dark_input_at_an_easy_cell(name, easy_cell):
    clean, dark = easy_cell
    restorer = load(name)
    with torch.no_grad():
        out = restorer.restore_many([torch.from_numpy(d).permute(2, 0, 1) for d in dark], seeds=[0, 1, 2, 3])
    restored = [o.permute(1, 2, 0).numpy() for o in out]
    before = np.mean([psnr(d, c) for d, c in zip(dark, clean)])
    after = np.mean([psnr(r, c) for r, c in zip(restored, clean)])
    assert after > before + 3, f"{name}: {before:.1f} dB dark -> {after:.1f} dB restored"


# Measured on the compact autoencoder (32 crops each): 18.0 dB synth, 21.3 dB iiit5k.
LDM_PSNR_FLOOR = 17.0


@pytest.fixture(scope="module")
def ldm():
    return load("ldm")


def autoencoder_psnr(ldm, name, root):
    c, ae = ldm.meta["config"], ldm.net.autoencoder
    values = []
    for s in datasets.load(name, root, limit=32).samples:
        x = torch.from_numpy(s.image).permute(2, 0, 1)[None].float() / 255
        x = resize(x, working_size(*x.shape[-2:], c["canvas_height"], c["multiple"], c["max_width"]))
        with torch.no_grad():
            recon = ae.decode(ae.encode(x)[0]).clamp(0, 1)
        values.append(psnr(recon[0].numpy(), x[0].numpy()))
    return float(np.mean(values))


def test_ldm_autoencoder_reconstructs_held_out_synth_crops(ldm):
    assert autoencoder_psnr(ldm, "synth", None) > LDM_PSNR_FLOOR


@needs_str
def test_ldm_autoencoder_reconstructs_held_out_iiit5k_crops(ldm):
    assert autoencoder_psnr(ldm, "iiit5k", STR_ROOT) > LDM_PSNR_FLOOR
