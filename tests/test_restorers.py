"""Every restorer's contract: same size out, in [0, 1], seeded, batch-independent."""
import pytest
import torch

import restorers
from restorers import RestorerError, load
from restorers.checkpoints import save_checkpoint
from restorers.training import make_trainer


def tiny(method):
    trainer = make_trainer(method, "compact")
    config = trainer.recipe.config
    config.update({"channels": 8})
    if method == "ldm":
        config.update({"ae_channels": 8, "sampling_steps": 3})
    if method.startswith("did"):
        config["sampling"] = dict(config["sampling"], steps=3)
    if method == "irsde":
        config.update({"steps": 5})
    return type(trainer)(trainer.recipe)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    torch.manual_seed(0)
    for method in ("sci", "did", "did-per-scale", "irsde", "dtdm", "ldm"):
        trainer = tiny(method)
        path = str(folder / f"{method}-compact.pt")
        save_checkpoint(path, trainer.shipped_state(), {"method": method, "preset": "compact",
                                                          "config": trainer.recipe.config})
        paths[method] = path
    return paths


IMAGES = [torch.rand(3, 40, 130) * 0.3, torch.rand(3, 13, 70) * 0.3, torch.rand(3, 64, 64) * 0.3]


@pytest.mark.parametrize("name,checkpoint", [
    ("identity", None), ("clahe", None), ("gain-nlm", None), ("sci", "sci"), ("did", "did"),
    ("did-no-ilvr", "did"), ("did-per-scale", "did-per-scale"), ("irsde", "irsde"), ("dtdm", "dtdm"), ("ldm", "ldm"),
])
def test_restorer_contract(name, checkpoint, checkpoints):
    r = load(name, checkpoint=checkpoints[checkpoint]) if checkpoint else load(name)
    assert r.name == name
    out = r.restore_many(IMAGES, seeds=[5, 6, 7])
    for image, restored in zip(IMAGES, out):
        assert restored.shape == image.shape
        assert float(restored.min()) >= 0 and float(restored.max()) <= 1 and torch.isfinite(restored).all()
    again = r.restore_many(IMAGES[1:2], seeds=[6])[0]  # alone, in another batch
    assert torch.allclose(again, out[1], atol=1e-6)
    batch = r.restore(torch.stack([IMAGES[0], IMAGES[0]]), seeds=[1, 1])
    assert batch.shape == (2, 3, 40, 130) and torch.allclose(batch[0], batch[1], atol=1e-6)
    info = r.info()
    assert info["name"] == name and "family" in info


def test_stochastic_restorers_depend_on_seed(checkpoints):
    r = load("irsde", checkpoint=checkpoints["irsde"])
    a, b = r.restore_many(IMAGES[:1], [1])[0], r.restore_many(IMAGES[:1], [2])[0]
    assert not torch.allclose(a, b)


def test_nfe_and_variants(checkpoints):
    assert load("did", checkpoint=checkpoints["did"]).nfe == (2 * 3 - 1) * 3  # Heun: 2N-1 per scale
    no_ilvr = load("did-no-ilvr", checkpoint=checkpoints["did"])
    assert no_ilvr.ilvr_steps == 0 and load("did", checkpoint=checkpoints["did"]).ilvr_steps == 6
    assert load("dtdm", checkpoint=checkpoints["dtdm"]).nfe == 10
    assert load("ldm", checkpoint=checkpoints["ldm"]).nfe == 3
    assert load("irsde", checkpoint=checkpoints["irsde"]).nfe == 5


def test_irsde_posterior_sampler_with_fewer_steps(checkpoints):
    """The posterior sampler jumps along evenly spaced times (one network call each); with all T steps it
    is the single-step sampler it was; Euler-Maruyama refuses fewer steps (it is the T steps' discretization)."""
    full = load("irsde-posterior", checkpoint=checkpoints["irsde"])
    assert full.nfe == 5 and full.times == [5, 4, 3, 2, 1, 0]
    assert torch.equal(load("irsde-posterior", checkpoint=checkpoints["irsde"], steps=5).restore_many(IMAGES[:1], [3])[0],
                       full.restore_many(IMAGES[:1], [3])[0])
    calls = []
    fewer = load("irsde-posterior", checkpoint=checkpoints["irsde"], steps=2)
    fewer.net.register_forward_hook(lambda *_: calls.append(1))
    out = fewer.restore_many(IMAGES[:1], [3])[0]
    assert fewer.nfe == 2 and fewer.times == [5, 2, 0] and len(calls) == 2
    assert out.shape == IMAGES[0].shape and not torch.allclose(out, full.restore_many(IMAGES[:1], [3])[0])
    for bad in (dict(steps=2), dict(steps=0), dict(steps=6, sampler="posterior")):
        with pytest.raises(RestorerError, match="sampler steps"):
            load("irsde", checkpoint=checkpoints["irsde"], **bad)


def test_registry_lists_every_method_and_its_ablations():
    names = set(restorers.available())
    assert {"identity", "clahe", "gain-nlm", "sci", "did", "irsde", "dtdm", "ldm"} <= names
    assert {"did-no-ilvr", "did-no-tailnorm", "did-no-lpips", "did-no-cy2", "did-no-eta", "did-per-scale"} <= names
    from restorers.registry import default_names

    assert not any(n.startswith("did-") for n in default_names())  # ablations are opt-in


def test_missing_checkpoint_says_how_to_train():
    with pytest.raises(RestorerError, match="python -m benchmark train did --checkpoint-preset paper"):
        load("did", preset="paper")
    with pytest.raises(RestorerError, match="unknown restorer"):
        load("nope")


def test_bad_batch_is_rejected():
    with pytest.raises(RestorerError, match=r"\(N, 3, H, W\)"):
        load("identity").restore(torch.rand(3, 10, 10))
