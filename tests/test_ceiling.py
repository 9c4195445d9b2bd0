"""The pass-through ceiling: clean crops through a restorer's own path, read and scored."""
import os

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark import datasets, recognizers
from benchmark.cli import main
from benchmark.runner import RunConfig, Runner, to_uint8
from restorers import Restorer, load
from restorers import registry
from restorers.canvas import resize


class Blank(Restorer):
    """Keeps nothing: its pass-through returns black crops."""

    def restore(self, x, seeds=None):
        return x

    def passthrough(self, images, max_batch=64):
        return [torch.zeros_like(image, dtype=torch.float32) for image in images]


class Coarse(Restorer):
    """Works on a canvas a quarter of the crop's height."""

    def restore(self, x, seeds=None):
        return x

    def passthrough(self, images, max_batch=64):
        return [resize(resize(i[None].float(), (max(1, i.shape[1] // 4), max(1, i.shape[2] // 4))),
                       tuple(i.shape[1:]))[0] for i in images]


@pytest.fixture
def test_restorers(monkeypatch):
    registry.available()  # import the built-ins first
    for name, cls in (("blank", Blank), ("coarse", Coarse)):
        monkeypatch.setitem(registry._BUILTIN, name, registry.Entry(name, cls, "test", "test", "built-in", False))


def test_ceiling_table_on_a_tiny_set(tmp_path, test_restorers):
    config = RunConfig(out=str(tmp_path), datasets=["synth"], cells=[], restorers=["identity", "blank", "coarse"],
                       recognizers=["easyocr"],
                       limit=4, device="cpu", kid=False, perceptual=False)
    table = Runner(config, progress=False).run(cells=False).set_index("restorer")
    assert os.path.exists(tmp_path / "ceiling.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "ceiling.csv").set_index("restorer"), table,
                                  check_dtype=False)
    samples = datasets.load("synth", limit=4).samples
    reader = recognizers.create("easyocr", "cpu")
    clean_accuracy = np.mean([datasets.normalize_label(t) == s.target
                              for (t, _), s in zip(reader.recognize([s.image for s in samples]), samples)])
    assert table.loc["identity", "accuracy"] == clean_accuracy == table.loc["identity", "clean_accuracy"]
    assert table.loc["identity", "kept"] == 1.0 and table.loc["identity", "psnr"] == np.inf
    assert table.loc["blank", "accuracy"] == 0.0 and table.loc["blank", "kept"] == 0.0
    coarse = [to_uint8(o.permute(1, 2, 0).numpy()) for o in
              Coarse().passthrough([torch.from_numpy(s.image).permute(2, 0, 1).float() / 255 for s in samples])]
    expected = np.mean([datasets.normalize_label(t) == s.target for (t, _), s in zip(reader.recognize(coarse), samples)])
    assert table.loc["coarse", "accuracy"] == expected
    assert table.loc["coarse", "n"] == 4 and table.loc["coarse", "psnr"] < 40


def test_canvas_restorers_pass_through_their_canvas(tmp_path):
    image = torch.rand(3, 23, 71)
    for name in ("dtdm", "irsde"):
        r = load(name)
        size = r.canvas_of(23, 71)
        assert size[0] == r.meta["config"]["canvas_height"]
        expected = resize(resize(image[None], size), (23, 71))[0].clamp(0, 1)
        assert torch.allclose(r.passthrough([image])[0], expected, atol=1e-6)
    assert torch.equal(load("clahe").passthrough([image])[0], image)  # works at the crop's own size


def test_ceiling_command(tmp_path, capsys):
    assert main(["ceiling", "--restorers", "identity,clahe", "--limit", "2", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "pass-through word accuracy / 1-NED" in out and "kept 100.0%" in out
    assert set(pd.read_csv(tmp_path / "ceiling.csv")["restorer"]) == {"identity", "clahe"}
