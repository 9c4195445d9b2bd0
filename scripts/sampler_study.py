"""Do the samplers lose what the networks know? The network's clean estimate at every step of its
own sampler's trajectory, next to its estimate at the same time on an input made by the forward
process from the true clean crop (where the network was trained), scored by PSNR and EasyOCR; the
trajectory's mean brightness error and its PSNR once that is removed tell exposure from structure.

    python scripts/sampler_study.py --method dtdm --data-root ../shared/data/str --dataset iiit5k \
        --cell 0.5,0.2 --crops 40 [--checkpoints DIR] [--steps N]

`--steps` for irsde-posterior jumps along N evenly spaced times with the exact posterior p(x_j | x_i, F):
where does IR-SDE's sampler lose what its network knows, in many small steps or in any step at all?

For DiD (`--method did` or `did-1step`) the rows are its scales: each scale's output along its own
cascade, and the same scale conditioned on the clean crop's previous scale and thumbnail (teacher
forcing, the conditions it was trained with): where a scale is good only when forced, the cascade
loses the words upstream; where it is bad even when forced, that scale's network is what fails.

If the estimates on the forward-simulated inputs improve as the noise falls but those along the
trajectory do not, the trajectory leaves the inputs the network was trained on (the network is not
to be trusted along it); if both improve and the final sample still reads worse than the first
estimate, the sampler itself loses information. Rows: step k (time t), trajectory PSNR / 1-NED /
accuracy, forward-simulated PSNR / 1-NED / accuracy; then the final sample and the dark input itself.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from benchmark import datasets, metrics, recognizers
from degradations import Cell, degradation_seed, degrade
from restorers import load
from restorers.canvas import resize
from restorers.diffusion.samplers import spaced_timesteps
from restorers.dtdm import pre_enhance
from restorers.irsde import clean_estimate


def dtdm_estimates(r, dark, clean, g):
    """(time, trajectory estimate, forward-simulated estimate) per reverse step, and the final sample."""
    p = r.process
    x = pre_enhance(dark)
    predict = lambda z, t: r.net(torch.cat([z, x], 1), torch.full((1,), float(t)))
    z = p.start(x, torch.randn(x.shape, generator=g))
    rows = []
    times = spaced_timesteps(p.S, r.steps)
    for t, t_next in zip(times[:-1], times[1:]):
        y_hat = predict(z, t)
        simulated = predict(p.marginal(clean, x, t, torch.randn(x.shape, generator=g)), t)
        rows.append((t, y_hat, simulated))
        a, e = p._coef(t, z)
        eps_hat = (z - a ** 0.5 * ((1 - e) * y_hat + e * x)) / (1 - a) ** 0.5
        z = p.marginal(y_hat, x, t_next, eps_hat)
    return rows, z


def ldm_estimates(r, dark, clean, g):
    ae, abar = r.net.autoencoder, r.abar
    cond, z0_true = ae.latent(dark), ae.latent(clean)
    eps_model = lambda z, t: r.net.predict_eps(z, torch.full((1,), t), cond, abar)
    z = torch.randn(cond.shape, generator=g)
    rows = []
    times = spaced_timesteps(r.meta["config"]["timesteps"], r.steps)
    for t, t_next in zip(times[:-1], times[1:]):
        a, a_next = float(abar[t]), float(abar[t_next])
        eps = eps_model(z, t)
        z0 = (z - (1 - a) ** 0.5 * eps) / a ** 0.5
        z_sim = a ** 0.5 * z0_true + (1 - a) ** 0.5 * torch.randn(z.shape, generator=g)
        z0_sim = (z_sim - (1 - a) ** 0.5 * eps_model(z_sim, t)) / a ** 0.5
        rows.append((t, ae.image(z0), ae.image(z0_sim)))
        z = a_next ** 0.5 * z0 + (1 - a_next) ** 0.5 * eps  # DDIM, eta = 0
    return rows, ae.image(z)


def irsde_estimates(r, mu, clean, g, every: int = 10, start: str = "sampler"):
    """The restorer's own sampler (Euler-Maruyama, or the posterior step for irsde-posterior); the
    first reverse steps are the largest (theta'_T = 0.41), so they are shown one by one."""
    sde = r.sde
    x = mu + sde.lam * torch.randn(mu.shape, generator=g)
    if start == "marginal":  # a diagnostic: the forward marginal at T, which holds 1% of x_0 - mu
        x = x + sde.mean(clean, mu, sde.T) - mu
    rows = []
    for i, j in zip(r.times[:-1], r.times[1:]):  # T, ..., 0; fewer, larger steps for irsde-posterior --steps
        if len(r.times) <= 21 or i % every == 0 or i == 1 or i > sde.T - 5:
            x_sim = sde.mean(clean, mu, i) + sde.variance(i, clean).sqrt() * torch.randn(mu.shape, generator=g)
            rows.append((i, clean_estimate(r.net, x, mu, sde, i), clean_estimate(r.net, x_sim, mu, sde, i)))
        z = torch.randn(mu.shape, generator=g) if j > 0 else torch.zeros_like(x)
        x = r.reverse(x, mu, i, z, j)
    return rows, x


def did_estimates(r, dark, clean, g):
    """DiD's cascade instead of steps: each scale's output with the cascade's own conditions, next
    to the same scale conditioned on the clean crop's previous scale (teacher forcing, as trained)."""
    seed = int(torch.randint(0, 2 ** 31, (1,), generator=g))
    own = r.cascade([dark[0]], [seed])
    forced = r.cascade([dark[0]], [seed], oracle=[clean[0]])
    rows = [(scale, o[0][None], f[0][None]) for scale, (o, f) in enumerate(zip(own, forced))]
    return rows, own[-1][0][None]


STUDIES = {"dtdm": dtdm_estimates, "ldm": ldm_estimates, "irsde": irsde_estimates, "irsde-posterior": irsde_estimates,
           "irsde-ip": irsde_estimates,
           "did": did_estimates, "did-1step": did_estimates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=sorted(STUDIES), required=True)
    parser.add_argument("--data-root")
    parser.add_argument("--dataset", default="iiit5k")
    parser.add_argument("--cell", default="0.5,0.2", help="brightness,noise")
    parser.add_argument("--crops", type=int, default=40)
    parser.add_argument("--checkpoints", help="folder of checkpoints to use instead of the shipped ones")
    parser.add_argument("--steps", type=int, help="sampler steps instead of the method's default (dtdm, ldm, "
                        "irsde-posterior): does a finer or coarser discretization keep what the first estimate reads?")
    parser.add_argument("--start", choices=("sampler", "marginal"), default="sampler",
                        help="irsde: start from the sampler's x_T = mu + lambda eps (default) or from the forward "
                        "marginal, which carries the true 1%% residual of x_0 (a diagnostic)")
    args = parser.parse_args()
    if args.start != "sampler" and not args.method.startswith("irsde"):
        parser.error("--start applies to irsde only")
    if args.steps is not None and args.method not in ("dtdm", "ldm", "irsde-posterior"):
        parser.error("--steps applies to dtdm, ldm and irsde-posterior only")
    torch.set_flush_denormal(True)
    cell = Cell(*map(float, args.cell.split(",")))
    ds = datasets.load(args.dataset, args.data_root, limit=args.crops)
    r = load(args.method, checkpoint_dir=args.checkpoints, **({"steps": args.steps} if args.steps else {}))
    reader = recognizers.create("easyocr", "cpu")
    per_step: dict[int, list] = {}
    finals, darks = [], []
    for s in ds.samples:
        dark_np = degrade(s.image, cell, degradation_seed(0, ds.name, s.sample_id, cell))
        darks.append(dark_np)
        # DiD resizes inside its cascade (one canvas per scale); the others work on one canvas
        size = s.image.shape[:2] if args.method.startswith("did") else r.canvas_of(*s.image.shape[:2])
        to_canvas = lambda img: resize(torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float(), size)
        dark, clean = to_canvas(dark_np), to_canvas(s.image.astype(np.float32) / 255)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            options = {"start": args.start} if args.method.startswith("irsde") else {}
            rows, final = STUDIES[args.method](r, dark, clean, g, **options)
        back = lambda x: resize(x.clamp(0, 1), s.image.shape[:2])[0].permute(1, 2, 0).numpy()
        for k, (t, traj, sim) in enumerate(rows):
            per_step.setdefault(k, []).append((t, back(traj), back(sim), s))
        finals.append((back(final), s))

    def score(images, samples):
        u8 = [(np.clip(i, 0, 1) * 255 + 0.5).astype(np.uint8) for i in images]
        texts = [datasets.normalize_label(t) for t, _ in reader.recognize(u8)]
        pairs = [(u.astype(np.float32) / 255, s.image.astype(np.float32) / 255) for u, s in zip(u8, samples)]
        return (np.mean([metrics.psnr(u, c) for u, c in pairs]),
                np.mean([metrics.ned_similarity(t, s.target) for t, s in zip(texts, samples)]),
                np.mean([t == s.target for t, s in zip(texts, samples)]),
                # exposure apart from structure: the mean brightness error, and PSNR once it is removed
                np.mean([u.mean() - c.mean() for u, c in pairs]),
                np.mean([metrics.psnr(np.clip(u - u.mean() + c.mean(), 0, 1), c) for u, c in pairs]))

    if args.method.startswith("did"):
        print(f"{args.method} on {ds.name} (first {len(ds)} crops), cell {cell}: each scale's output (t = scale)")
        print("| row | scale | own cascade PSNR | own 1-NED | own acc | teacher-forced PSNR | teacher-forced 1-NED | teacher-forced acc |")
    else:
        print(f"{args.method} on {ds.name} (first {len(ds)} crops), cell {cell}: the network's clean estimate per step")
        print("| step | t | trajectory PSNR | trajectory 1-NED | trajectory acc | forward-sim PSNR | forward-sim 1-NED | forward-sim acc |"
              " trajectory brightness error | trajectory PSNR at the clean brightness |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k, items in sorted(per_step.items()):
        samples = [i[3] for i in items]
        tp, tn, ta, tb, tm = score([i[1] for i in items], samples)
        fp, fn, fa, _, _ = score([i[2] for i in items], samples)
        print(f"| {k} | {items[0][0]} | {tp:.2f} | {tn:.3f} | {ta:.3f} | {fp:.2f} | {fn:.3f} | {fa:.3f} | {tb:+.3f} | {tm:.2f} |")
    p, n, a, b, m = score([f for f, _ in finals], [s for _, s in finals])
    print(f"| final sample | 0 | {p:.2f} | {n:.3f} | {a:.3f} | | | | {b:+.3f} | {m:.2f} |")
    p, n, a, b, m = score(darks, ds.samples)  # the reference every restorer has to beat
    print(f"| dark input | | {p:.2f} | {n:.3f} | {a:.3f} | | | | {b:+.3f} | {m:.2f} |")


if __name__ == "__main__":
    main()
