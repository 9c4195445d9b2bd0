import glob
import os

import numpy as np
import pytest
import torch
from PIL import Image

from restorers import sci

from .conftest import SCI_OFFICIAL, needs_sci_official


@needs_sci_official
@pytest.mark.parametrize("level", ["easy", "medium", "difficult"])
def test_official_weights_reproduce_the_golden_outputs(level):
    net = sci.load_official(os.path.join(SCI_OFFICIAL, f"{level}.pt"))
    inputs = sorted(glob.glob(os.path.join(SCI_OFFICIAL, "golden", level, "input", "*")))
    assert inputs
    for path in inputs:
        name = os.path.splitext(os.path.basename(path))[0]
        golden = np.asarray(Image.open(os.path.join(SCI_OFFICIAL, "golden", level, "output", name + ".png")).convert("RGB"))
        x = torch.from_numpy(np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)[None]
        with torch.no_grad():
            r = sci.enhance(net, x)[0].permute(1, 2, 0).numpy()
        ours = np.clip(r * 255.0, 0, 255).astype(np.uint8)  # as the authors saved their outputs
        assert ours.shape == golden.shape
        assert np.abs(ours.astype(int) - golden.astype(int)).max() <= 1, f"{level}/{name}"


def test_architecture_matches_the_authors():
    assert sum(p.numel() for p in sci.IlluminationNet(1, 3).parameters()) == 258  # + 6 BN running stats
    # one stage at test time: output = clamp(y / clamp(y + H(y), 1e-4, 1), 0, 1)
    net = sci.IlluminationNet().eval()
    y = torch.rand(1, 3, 8, 8) * 0.2
    with torch.no_grad():
        illumination = net(y)
        assert torch.allclose(sci.enhance(net, y), torch.clamp(y / illumination, 0, 1))
        assert float(illumination.min()) >= 1e-4 and float(illumination.max()) <= 1


def test_smoothness_loss_by_hand():
    guide = torch.zeros(1, 3, 1, 4)  # a flat guide: every neighbour weight is exp(0) = 1
    flat = torch.full((1, 3, 1, 4), 0.5)
    assert float(sci.smoothness_loss(guide, flat)) == 0.0
    step = torch.tensor([0.0, 0.0, 1.0, 1.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    # one row: offsets (0, +-1) and (0, +-2); per offset the mean over valid pixels of |dx|_1 (3 channels)
    expected = 2 * (3 * 1 / 3) + 2 * (3 * 2 / 2)  # dx = +-1: 1 of 3 pairs differ; dx = +-2: 2 of 2
    assert float(sci.smoothness_loss(guide, step)) == pytest.approx(expected)
    # an edge in the guide switches the weight off across it
    edge_guide = step.clone()
    assert float(sci.smoothness_loss(edge_guide, step, sigma=0.1)) == pytest.approx(0.0, abs=1e-12)


def test_training_loss_uses_three_weight_shared_stages():
    from restorers.sci import make_trainer

    trainer = make_trainer("sci", "compact")
    calls = {"n": 0}
    forward = trainer.net.illumination.forward

    def counting(v):
        calls["n"] += 1
        return forward(v)

    trainer.net.illumination.forward = counting
    loss, logs = trainer.loss(None, torch.rand(2, 3, 16, 16) * 0.3, torch.Generator(), "main")
    assert calls["n"] == 3 and loss.requires_grad and logs["fidelity"] > 0
    assert set(trainer.shipped_state()) == set(sci.IlluminationNet().state_dict())
