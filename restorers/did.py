"""Diffusion in the Dark (Nguyen et al., WACV 2024, arXiv 2303.04291), for word crops.

Model. EDM preconditioning (sigma_data = 0.5) around a DDPM++-style U-Net F whose input is
[c_in * x_noisy, c_x, c_y1, c_y2]; it is trained only on 32x32 patches and used at every scale.
The noise level enters as a sinusoidal embedding of 250 * c_noise (c_noise = ln(sigma) / 4 spans
about [-1.6, 1.1], where DDPM's embedding, made for integer times up to 1000, hardly varies).

Data normalization ("tail normalization", for right-tailed dark data): linearize sRGB, take
the 4th root, z-score with statistics of the training set, divide by 2. Light images (targets and
c_y) and dark images (c_x) each have their own per-channel statistics, stored in the checkpoint.

Scale ladder for wide crops. A crop of H x W gets k = clamp(round(W / H), 1, max_columns) columns:
    scale 0:      the whole crop resized to one 32x32 patch (global exposure and colour);
    scale s >= 1: a canvas of (32 * 2^(s-1)) x (32 * 2^(s-1) * k), tiled into 32x32 patches.
So the canvases keep the crop's aspect ratio to the nearest whole number of squares, and every
patch the network sees, in training and at test, is 32x32. The last canvas (64 x 64k for the
3-scale compact preset, 128 x 128k for the 4-scale paper preset) is resized back to H x W.

Conditioning: s = 0: [dark, dark, dark]; s >= 1: c_x = dark at scale s, c_y1 = the previous scale's
light image upsampled (+ eta in training), c_y2 = the scale-0 light image upsampled. The paper adds
Gaussian eta to both without its size; the authors' code adds randn * U(0, 1) (normalized units) to
c_y1 per patch and nothing to c_y2, and so do we (config eta_cy1 = 1, eta_cy2 = 0).

Sampling: EDM Heun, 18 steps, sigma 80 -> 0.002, rho = 7 (35 network evaluations per scale),
scale 0 on the thumbnails, then each finer scale with all patches of all images in one batch.
ILVR (Choi et al. 2021) on the first 6 steps: x <- x - phi(x) + phi(ref + t * eps), where ref is
the previous scale's output at this scale and phi (average-pool by 2, nearest upsample) is a
projection, so the low frequencies of the result are exactly those of the noisy reference.

Ablations (registered variants): did-no-ilvr (same weights, no ILVR), did-no-tailnorm (x*2-1),
did-no-lpips, did-no-cy2, did-no-eta, did-per-scale (one network per scale; the same total steps).
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from degradations import linear_to_srgb, srgb_to_linear

from .base import LearnedRestorer, RestorerError, Variant, training_changes
from .checkpoints import find_checkpoint, sidecar_path
from .errors import RestorerWarning
from .canvas import columns, resize, tile, untile
from .diffusion.precond import EDMPrecond, edm_loss_weight
from .diffusion.samplers import edm_heun
from .diffusion.schedules import karras_sigmas
from .diffusion.unet import UNet
from .perceptual import load_stlpips, perceptual_loss
from .training import DEGRADATION_RANGES, Recipe, diffusion_recipe, preset_settings, stretches

SIGMA_DATA = 0.5


# -------------------------------------------------------------------------------- normalization

class Normalization(nn.Module):
    """Maps images in [0, 1] to the network's space and back. ``kind``: "tail" or "plain"."""

    def __init__(self, kind: str = "tail"):
        super().__init__()
        self.kind = kind
        # per-channel statistics of the 4th root of linear light: light images, dark images
        self.register_buffer("mean", torch.zeros(2, 3))
        self.register_buffer("std", torch.ones(2, 3))

    @staticmethod
    def fourth_root(x: torch.Tensor) -> torch.Tensor:
        return srgb_to_linear(x.clamp(0, 1)) ** 0.25

    def fit(self, light: torch.Tensor, dark: torch.Tensor) -> None:
        """Statistics from training images (N, 3, H, W) in [0, 1]."""
        for row, images in enumerate((light, dark)):
            v = self.fourth_root(images.double())
            self.mean[row] = v.mean(dim=(0, 2, 3)).float()
            self.std[row] = v.std(dim=(0, 2, 3)).float()

    def _stats(self, role: str) -> tuple[torch.Tensor, torch.Tensor]:
        row = 0 if role == "light" else 1
        return self.mean[row].view(1, 3, 1, 1), self.std[row].view(1, 3, 1, 1)

    def forward(self, x: torch.Tensor, role: str = "light") -> torch.Tensor:
        if self.kind == "plain":
            return x * 2 - 1
        mean, std = self._stats(role)
        return (self.fourth_root(x) - mean) / std / 2

    def inverse(self, z: torch.Tensor, role: str = "light") -> torch.Tensor:
        if self.kind == "plain":
            return ((z + 1) / 2).clamp(0, 1)
        mean, std = self._stats(role)
        return linear_to_srgb((z * 2 * std + mean).clamp(min=0) ** 4).clamp(0, 1)


# ---------------------------------------------------------------------------- network

class DiDNetwork(nn.Module):
    """The normalization plus one preconditioned U-Net (or one per scale for did-per-scale)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        conditions = 3 if config["use_cy2"] else 2
        make = lambda: EDMPrecond(UNet(3 + 3 * conditions, 3, config["channels"], tuple(config["channel_mult"]),
                                       config["blocks"], tuple(config["attention_levels"]),
                                       embedding_scale=config.get("noise_embedding_scale", 1.0),
                                       space_to_depth=config.get("space_to_depth", 1)), SIGMA_DATA)
        self.models = nn.ModuleList([make() for _ in range(config["scales"] if config["per_scale"] else 1)])
        self.normalization = Normalization(config["normalization"])

    def denoiser(self, scale: int) -> EDMPrecond:
        return self.models[scale if len(self.models) > 1 else 0]


# ------------------------------------------------------------------------------- scale ladder

def canvas(scale: int, height: int, width: int, patch: int, max_columns: int) -> tuple[int, int]:
    """Canvas of a scale for an H x W crop (see the module docstring)."""
    if scale == 0:
        return patch, patch
    h = patch * 2 ** (scale - 1)
    return h, h * columns(height, width, max_columns)


def conditions(c_x: torch.Tensor, c_y1: torch.Tensor | None, c_y2: torch.Tensor | None, use_cy2: bool) -> torch.Tensor:
    """[c_x, c_y1, c_y2] along channels; at scale 0 (no light images yet) [c_x, c_x, c_x]."""
    if c_y1 is None:
        c_y1 = c_y2 = c_x
    parts = [c_x, c_y1, c_y2] if use_cy2 else [c_x, c_y1]
    return torch.cat(parts, dim=1)


def low_pass(x: torch.Tensor, factor: int) -> torch.Tensor:
    """phi: average-pool by ``factor`` then nearest upsample; a projection (phi(phi(x)) = phi(x))."""
    return F.interpolate(F.avg_pool2d(x, factor), scale_factor=factor, mode="nearest")


def ilvr(x: torch.Tensor, reference_noisy: torch.Tensor, factor: int) -> torch.Tensor:
    """Replace the low frequencies of x with those of the (noised) reference."""
    return x - low_pass(x, factor) + low_pass(reference_noisy, factor)


def sample_scale(denoiser: EDMPrecond, cond: torch.Tensor, start_noise: torch.Tensor, sigmas: torch.Tensor,
                 reference: torch.Tensor | None = None, ilvr_steps: int = 0, ilvr_factor: int = 2,
                 ilvr_noise: Sequence[torch.Tensor] = (), chunk: int = 1024) -> torch.Tensor:
    """EDM Heun on a batch of patches of one scale, with ILVR on the first ``ilvr_steps`` steps."""

    def denoise(x: torch.Tensor, t: float) -> torch.Tensor:
        sigma = torch.full((1,), t, device=x.device, dtype=x.dtype)
        return torch.cat([denoiser(x[i:i + chunk], sigma, cond[i:i + chunk]) for i in range(0, len(x), chunk)])

    def after_step(x: torch.Tensor, i: int) -> torch.Tensor:
        if reference is None or i >= ilvr_steps:
            return x
        return ilvr(x, reference + float(sigmas[i + 1]) * ilvr_noise[i], ilvr_factor)

    return edm_heun(denoise, start_noise * float(sigmas[0]), sigmas, after_step)


def condition_noise(most: float, shape, generator: torch.Generator):
    """eta on a light condition in training, its size ~ U(0, most) per patch: at test the conditions
    are the earlier scales' imperfect outputs, so a scale must not copy them blindly."""
    if not most:
        return 0.0
    size = most * float(torch.rand(1, generator=generator, device=generator.device))
    return size * torch.randn(shape, generator=generator, device=generator.device)


def budgets(meta: dict) -> list[list[int]]:
    """A checkpoint's [[first step, step budget], ...]; one stretch where it did not record them."""
    return meta.get("budgets") or [[0, meta.get("steps")]]


def steps_option(meta: dict) -> str:
    """The ``--steps`` that trains a run like the checkpoint's (4000,8000 for one extended at 4000)."""
    trained = budgets(meta)
    totals = [total for _, total in trained]
    return ",".join(map(str, totals)) if stretches(totals) == trained else "<did's steps>"


def training_differences(ablation: dict, did: dict, ablated: set[str]) -> list[str]:
    """How an ablation's checkpoint was trained unlike did's, beyond its own switches ``ablated``:
    another step count, seed, training data or configuration. Empty when only the switch differs,
    the condition for reading the difference of their scores as the effect of the ablation."""
    differences = [f"{key} {ablation.get(key)} vs {did.get(key)}" for key in ("steps", "seed")
                   if ablation.get(key) != did.get(key)]
    if ablation.get("steps") == did.get("steps") and budgets(ablation) != budgets(did):
        differences.append(f"budgets {budgets(ablation)} vs {budgets(did)}")  # another learning-rate schedule
    if ablation.get("training_data") != did.get("training_data"):
        differences.append("other training data")
    a, d = ablation.get("config", {}), did.get("config", {})
    differences += [f"{key} {a.get(key)} vs {d.get(key)}" for key in sorted((set(a) | set(d)) - ablated)
                    if a.get(key) != d.get(key)]
    return differences


# ----------------------------------------------------------------------------------- restorer

class DiD(LearnedRestorer):
    name = "did"
    family = "diffusion"
    description = "Diffusion in the Dark"
    training_data = "train splits + synth, paired (clean, degraded)"

    def __init__(self, device="cpu", preset=None, steps: int | None = None, ilvr_steps: int | None = None,
                 tiling: str | None = None, **source):
        super().__init__(device, preset, **source)
        c = self.meta["config"]
        sampling = c["sampling"]
        self.steps = steps or sampling["steps"]
        self.ilvr_steps = sampling["ilvr_steps"] if ilvr_steps is None else ilvr_steps
        self.ilvr_factor = sampling["ilvr_factor"]
        # "patches" (the paper): every canvas is cut into non-overlapping 32x32 patches;
        # "canvas": the convolutional network runs on the whole canvas (no seams between patches).
        self.tiling = tiling or sampling.get("tiling", "patches")
        if self.tiling not in ("patches", "canvas"):
            raise RestorerError(f"DiD tiling is 'patches' or 'canvas', not {self.tiling!r}")
        self.sigmas = karras_sigmas(self.steps, sampling["sigma_min"], sampling["sigma_max"], sampling["rho"]).float()
        self.nfe = (1 if self.one_step else 2 * self.steps - 1) * c["scales"]
        self.unlike_did: list[str] = []
        ablated = {v.name: v.trains for v in VARIANTS}.get(self.variant)
        if ablated and source.get("weights") is None:
            did_meta = sidecar_path(find_checkpoint("did", self.preset, source.get("checkpoint_dir")))
            if os.path.exists(did_meta):
                with open(did_meta) as f:
                    did = json.load(f)
                self.unlike_did = training_differences(self.meta, did, set(ablated))
            if self.unlike_did:
                warnings.warn(f"{self.variant} was not trained like did ({'; '.join(self.unlike_did)}): its "
                              "difference from did is not the ablation alone; retrain it with "
                              f"`python -m benchmark train {self.variant} --steps {steps_option(did)} --no-early-stop`",
                              RestorerWarning, stacklevel=2)

    def build(self, config: dict) -> nn.Module:
        return DiDNetwork(config)

    def info(self) -> dict:
        info = super().info()
        info.update(steps_per_scale=self.steps, ilvr_steps=self.ilvr_steps, scales=self.meta["config"]["scales"],
                    tiling=self.tiling)
        if self.unlike_did:
            info["trained_unlike_did"] = self.unlike_did
        return info

    def canvases(self, height: int, width: int) -> list[tuple[int, int]]:
        c = self.meta["config"]
        return [canvas(s, height, width, c["patch"], c["max_columns"]) for s in range(c["scales"])]

    @torch.no_grad()
    def passthrough(self, images, max_batch: int = 64) -> list[torch.Tensor]:
        """The output path: the last scale's canvas and back (tiling itself is exact)."""
        return [resize(resize(img[None].float().to(self.device), self.canvases(*img.shape[-2:])[-1]),
                       tuple(img.shape[-2:]))[0].clamp(0, 1) for img in images]

    def restore_many(self, images, seeds=None, max_batch: int = 64) -> list[torch.Tensor]:
        return self.cascade(images, seeds)[-1]

    @torch.no_grad()
    def cascade(self, images, seeds=None, oracle=None) -> list[list[torch.Tensor]]:
        """Every scale's output, resized back to its crop's size: ``[scale][image]``. With ``oracle``
        (the clean crops), scales >= 1 are conditioned, and ILVR-guided, on the clean crop's previous
        scale and thumbnail instead of the cascade's own outputs, as in training (teacher forcing):
        how well each scale restores given perfect conditions (scripts/sampler_study.py)."""
        c = self.meta["config"]
        net: DiDNetwork = self.net
        norm = net.normalization
        patch, scales = c["patch"], c["scales"]
        tiled = self.tiling == "patches"
        seeds = list(seeds) if seeds is not None else list(range(len(images)))
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        darks = [img.to(self.device, torch.float32)[None] for img in images]
        ladders = [self.canvases(*img.shape[-2:]) for img in images]
        sigmas = self.sigmas.to(self.device) if not self.one_step else \
            torch.tensor([float(self.sigmas[0]), 0.0], device=self.device)
        ilvr_steps = 0 if self.one_step else self.ilvr_steps
        split = (lambda x: tile(x, patch)) if tiled else (lambda x: x)

        outputs: list[torch.Tensor] = []  # per image, normalized light image of the current scale
        first: list[torch.Tensor] = []
        if oracle is not None:
            cleans = [img.to(self.device, torch.float32)[None] for img in oracle]
            clean_at = lambda i, s: norm(resize(cleans[i], ladders[i][s]), "light")
        per_scale = []
        for s in range(scales):
            ilvr_on = s > 0 and ilvr_steps > 0
            items = []  # per image: conditions, ILVR reference, start noise and ILVR noise, as patches or a canvas
            for i, dark in enumerate(darks):
                cv = ladders[i][s]
                c_x = norm(resize(dark, cv), "dark")
                if s == 0:
                    cond, ref = conditions(c_x, None, None, c["use_cy2"]), None
                else:
                    previous, thumbnail = (outputs[i], first[i]) if oracle is None else (clean_at(i, s - 1), clean_at(i, 0))
                    c_y1 = resize(previous, cv)
                    cond, ref = conditions(c_x, c_y1, resize(thumbnail, cv), c["use_cy2"]), split(c_y1)
                cond = split(cond)
                shape = (len(cond), 3, *cond.shape[-2:])
                noise = [torch.randn(shape, generator=generators[i]) for _ in range(1 + (ilvr_steps if ilvr_on else 0))]
                items.append((cond, ref, noise))
            results: list[torch.Tensor | None] = [None] * len(images)
            groups: dict[tuple, list[int]] = {}
            for i, (cond, _, _) in enumerate(items):
                groups.setdefault(tuple(cond.shape[-2:]), []).append(i)
            for members in groups.values():
                cat = lambda k: torch.cat([items[i][k] for i in members])
                noise = [torch.cat([items[i][2][j] for i in members]).to(self.device) for j in range(len(items[members[0]][2]))]
                result = sample_scale(net.denoiser(s), cat(0), noise[0], sigmas, cat(1) if ilvr_on else None,
                                      ilvr_steps if ilvr_on else 0, self.ilvr_factor, noise[1:])
                offsets = np.cumsum([0] + [len(items[i][0]) for i in members])
                for k, i in enumerate(members):
                    part = result[offsets[k]:offsets[k + 1]]
                    results[i] = untile(part, 1, *ladders[i][s]) if tiled else part
            outputs = results  # type: ignore[assignment]
            if s == 0:
                first = outputs
            per_scale.append([resize(norm.inverse(out, "light"), tuple(img.shape[-2:]))[0].clamp(0, 1)
                              for out, img in zip(outputs, images)])
        return per_scale


# ----------------------------------------------------------------------------------- training


PRESETS = {
    # CPU-trainable within a session: 3 scales (32x32 thumbnail, 32x32k, 64x64k, k <= 8), a U-Net on
    # 2x2 pixel blocks (space_to_depth: 32 channels at the cost of 16 on pixels, about 4 ms per 32x32
    # patch evaluation on 2 CPU cores).
    "compact": dict(scales=3, channels=32, channel_mult=(1, 2), blocks=1, attention_levels=(1,), space_to_depth=2,
                    steps=4000, batch_size=32, lr=4e-4, max_columns=8),
    # For a lent GPU (trained in resumable chunks of minutes): 4 scales (up to 128 x 128k) like the
    # paper, the U-Net capped so its fp16 file stays below 16 MB (6.95 M parameters).
    "gpu": dict(scales=4, channels=64, channel_mult=(1, 2, 2), blocks=2, attention_levels=(1,), space_to_depth=1,
                steps=20000, batch_size=128, lr=8e-4, max_columns=8),
    # The paper's sizes for GPU users: 4 scales (up to 128 x 128k), a DDPM++-sized U-Net,
    # batch 160, Adam lr 8e-4.
    "paper": dict(scales=4, channels=128, channel_mult=(1, 2, 2), blocks=2, attention_levels=(1,), space_to_depth=1,
                  steps=3000, batch_size=160, lr=8e-4, max_columns=6),
}


def variant_config(method: str, preset: str) -> dict:
    changes = training_changes(VARIANTS, method, "DiD")
    p = preset_settings("did", PRESETS, preset)
    config = dict(patch=32, scales=p["scales"], max_columns=p["max_columns"], channels=p["channels"],
                  channel_mult=list(p["channel_mult"]), blocks=p["blocks"], attention_levels=list(p["attention_levels"]),
                  space_to_depth=p["space_to_depth"], normalization="tail", lpips_weight=0.1, use_cy2=True, per_scale=False,
                  # eta as in the authors' code: c_y1 + randn * U(0, eta_cy1) per patch, c_y2 none
                  eta_cy1=1.0, eta_cy2=0.0,
                  p_mean=-1.2, p_std=1.2, noise_embedding_scale=250.0,
                  sampling=dict(steps=18, sigma_min=0.002, sigma_max=80.0, rho=7.0, ilvr_steps=6, ilvr_factor=2),
                  degradation=DEGRADATION_RANGES)
    config.update(changes)
    return config


class DiDTrainer:
    def __init__(self, recipe: Recipe):
        self.recipe = recipe
        self.config = recipe.config
        self.net = DiDNetwork(self.config)
        self.lpips = None
        if self.config["lpips_weight"] > 0:
            self.lpips = load_stlpips()

    def modules(self) -> nn.Module:
        return self.net

    def parameters(self, stage: str):
        return self.net.models.parameters()

    def prepare(self, batches, stage: str) -> None:
        """Tail-normalization statistics from a fixed sample of training crops (before step 0)."""
        pairs = [batches(k) for k in range(8)]
        self.net.normalization.fit(torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs]))

    def training_patches(self, clean: torch.Tensor, degraded: torch.Tensor, generator: torch.Generator):
        """One 32x32 training patch per crop at a random scale, with its conditions (module doc)."""
        c = self.config
        patch, scales, norm = c["patch"], c["scales"], self.net.normalization
        n, _, top_h, full_w = clean.shape
        device = clean.device
        targets, conds, scale_ids, self.last_windows = [], [], [], []
        for i in range(n):
            k = int(torch.randint(1, c["max_columns"] + 1, (1,), generator=generator, device=device))
            width = min(full_w, top_h * k)
            x0 = int(torch.randint(0, full_w - width + 1, (1,), generator=generator, device=device))
            y_full, x_full = clean[i:i + 1, :, :, x0:x0 + width], degraded[i:i + 1, :, :, x0:x0 + width]
            s = int(torch.randint(0, scales, (1,), generator=generator, device=device))
            cv = canvas(s, top_h, width, patch, c["max_columns"])
            y_s = norm(resize(y_full, cv), "light")
            c_x = norm(resize(x_full, cv), "dark")
            py = px = 0
            if s == 0:
                cond = conditions(c_x, None, None, c["use_cy2"])
                target = y_s
            else:
                prev = canvas(s - 1, top_h, width, patch, c["max_columns"])
                c_y1 = resize(norm(resize(y_full, prev), "light"), cv) + condition_noise(c["eta_cy1"], y_s.shape, generator)
                c_y2 = resize(norm(resize(y_full, (patch, patch)), "light"), cv) + condition_noise(c["eta_cy2"], y_s.shape, generator)
                cond = conditions(c_x, c_y1, c_y2, c["use_cy2"])
                py = int(torch.randint(0, cv[0] - patch + 1, (1,), generator=generator, device=device))
                px = int(torch.randint(0, cv[1] - patch + 1, (1,), generator=generator, device=device))
                cond = cond[..., py:py + patch, px:px + patch]
                target = y_s[..., py:py + patch, px:px + patch]
            targets.append(target)
            conds.append(cond)
            scale_ids.append(s)
            self.last_windows.append((x0, width, s, py, px))  # where each patch came from (for tests)
        return torch.cat(targets), torch.cat(conds), torch.tensor(scale_ids, device=device)

    def loss(self, clean, degraded, generator, stage):
        c = self.config
        y, cond, scale_ids = self.training_patches(clean, degraded, generator)
        sigma = torch.exp(c["p_mean"] + c["p_std"] * torch.randn(len(y), generator=generator, device=y.device))
        noisy = y + sigma.view(-1, 1, 1, 1) * torch.randn(y.shape, generator=generator, device=y.device)
        denoised = torch.empty_like(y)
        for s in scale_ids.unique().tolist() if c["per_scale"] else [None]:
            rows = (scale_ids == s) if s is not None else torch.ones_like(scale_ids, dtype=torch.bool)
            denoised[rows] = self.net.denoiser(s or 0)(noisy[rows], sigma[rows], cond[rows])
        edm = (edm_loss_weight(sigma, SIGMA_DATA).view(-1, 1, 1, 1) * (denoised - y) ** 2).mean()
        logs = {"edm": float(edm.detach())}
        total = edm
        if self.lpips is not None:
            self.lpips.to(y.device)
            norm = self.net.normalization
            perceptual = perceptual_loss(self.lpips, norm.inverse(denoised, "light"), norm.inverse(y, "light"))
            total = total + c["lpips_weight"] * perceptual
            logs["lpips"] = float(perceptual.detach())
        return total, logs

    def shipped_state(self) -> dict:
        return self.net.state_dict()


def make_trainer(method: str, preset: str, steps: int | None = None, seed: int | None = None) -> DiDTrainer:
    config = variant_config(method, preset)
    p = PRESETS[preset]
    top = config["patch"] * 2 ** (config["scales"] - 2)
    recipe = diffusion_recipe(method, preset, p, config, steps or p["steps"], seed,
                              crop=(top, top * config["max_columns"]))
    return DiDTrainer(recipe)


# Every name DiD runs under. An ablation with weights of its own is one entry with `trains` (the change
# to the training config); one that reuses did's weights sets restorer `options` instead.
VARIANTS = [
    # Opt-in: 105 network evaluations per crop; the default run on a 2-core CPU stays within 10 minutes.
    Variant("did", DiD, "Diffusion in the Dark: multi-scale patch EDM + ILVR (full method)", trains={}),
    Variant("did-no-ilvr", DiD, "DiD ablation: no ILVR (same weights as did)", options={"ilvr_steps": 0}),
    Variant("did-no-tailnorm", DiD, "DiD ablation: plain x*2-1 normalization", trains={"normalization": "plain"}),
    Variant("did-no-lpips", DiD, "DiD ablation: no LPIPS loss term", trains={"lpips_weight": 0.0}),
    Variant("did-no-cy2", DiD, "DiD ablation: no c_y2 (scale-0) condition", trains={"use_cy2": False}),
    Variant("did-no-eta", DiD, "DiD ablation: no noise eta on the conditions", trains={"eta_cy1": 0.0, "eta_cy2": 0.0}),
    Variant("did-per-scale", DiD, "DiD ablation: one model per scale", trains={"per_scale": True}),
    Variant("did-canvas", DiD, "DiD sampled on whole canvases instead of 32x32 tiles (same weights as did)",
            options={"tiling": "canvas"}),
    Variant("did-1step", DiD, "DiD read out in one step per scale (same weights as did)", options={"one_step": True}),
]
