import os

import cv2
import lmdb
import numpy as np
import pytest

from benchmark import datasets
from benchmark.datasets import synth
from benchmark.errors import BenchmarkError

from .conftest import STR_ROOT, needs_str


def png_bytes(image):
    return cv2.imencode(".png", image[..., ::-1])[1].tobytes()


def make_tsv(folder, rows):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "labels.tsv"), "w", encoding="utf-8") as f:
        for name, data, label in rows:
            if data is not None:
                with open(os.path.join(folder, name), "wb") as img:
                    img.write(data)
            f.write(f"{name}\t{label}\n")


def make_lmdb(folder, rows):
    env = lmdb.open(folder, map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i, (data, label) in enumerate(rows, 1):
            txn.put(b"image-%09d" % i, data)
            txn.put(b"label-%09d" % i, label.encode())
        txn.put(b"num-samples", str(len(rows)).encode())
    env.close()


def test_tsv_folder_reports_unreadable_and_empty(tmp_path, rng):
    img = rng.integers(0, 256, (20, 50, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (20, 50), dtype=np.uint8)
    make_tsv(tmp_path / "set", [("a.png", png_bytes(img), "Hello"), ("b.png", b"not an image", "World"),
                                ("c.png", png_bytes(img), "!!!"), ("missing.png", None, "gone"),
                                ("d.png", cv2.imencode(".png", grey)[1].tobytes(), "Grey")])
    ds = datasets.load(str(tmp_path / "set"))
    assert [s.sample_id for s in ds.samples] == ["a.png", "d.png"]
    assert np.array_equal(ds.samples[0].image, img)
    assert ds.samples[1].image.shape == (20, 50, 3)
    assert ds.samples[0].target == "hello" and ds.samples[0].label == "Hello"
    assert [i for i, _ in ds.skipped] == ["b.png", "missing.png"]
    assert ds.empty_labels == 1


def test_lmdb_layout(tmp_path, rng):
    imgs = [rng.integers(0, 256, (16, 40, 3), dtype=np.uint8) for _ in range(3)]
    make_lmdb(str(tmp_path / "db"), [(png_bytes(imgs[0]), "One"), (b"garbage", "Two"), (png_bytes(imgs[2]), "Three")])
    ds = datasets.load(str(tmp_path / "db"), limit=5)
    assert [s.sample_id for s in ds.samples] == ["000000001", "000000003"]
    assert [s.target for s in ds.samples] == ["one", "three"]
    assert np.array_equal(ds.samples[1].image, imgs[2])
    assert ds.skipped[0][0] == "000000002"


def test_limit_and_protocol(tmp_path, rng):
    img = png_bytes(rng.integers(0, 256, (16, 40, 3), dtype=np.uint8))
    make_tsv(tmp_path / "s", [(f"{i}.png", img, f"Ab-{i}") for i in range(5)])
    ds = datasets.load(str(tmp_path / "s"), limit=2, protocol="case-sensitive")
    assert [s.target for s in ds.samples] == ["Ab0", "Ab1"]


def test_resolution_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.DATA_ROOT_ENV, raising=False)
    with pytest.raises(BenchmarkError, match="unknown dataset 'nope'"):
        datasets.resolve("nope")
    with pytest.raises(BenchmarkError, match="needs --data-root"):
        datasets.resolve("iiit5k")
    with pytest.raises(BenchmarkError, match="data root .* does not exist"):
        datasets.resolve("iiit5k", str(tmp_path / "absent"))
    with pytest.raises(BenchmarkError, match="not found: expected"):
        datasets.resolve("svtp", str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkError, match="neither labels.tsv nor data.mdb"):
        datasets.resolve(str(tmp_path / "empty"))


def test_empty_dataset_is_an_error(tmp_path):
    make_tsv(tmp_path / "e", [])
    with pytest.raises(BenchmarkError, match="no usable samples"):
        datasets.load(str(tmp_path / "e"))


def test_env_var_data_root(tmp_path, monkeypatch, rng):
    make_tsv(tmp_path / "cute80", [("x.png", png_bytes(rng.integers(0, 256, (16, 40, 3), dtype=np.uint8)), "cute")])
    monkeypatch.setenv(datasets.DATA_ROOT_ENV, str(tmp_path))
    assert datasets.load("cute80").samples[0].target == "cute"


def test_synth_is_deterministic_and_varied():
    a = [synth.render(i) for i in range(40)]
    b = [synth.render(i) for i in range(40)]
    assert all(x[0] == y[0] and x[2] == y[2] and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    heights = {img.shape[0] for _, img, _ in a}
    assert len(heights) > 10 and all(img.dtype == np.uint8 and img.shape[2] == 3 for _, img, _ in a)
    assert len({tuple(img[0, 0]) for _, img, _ in a}) > 30  # backgrounds differ


def test_synth_has_500_distinct_words():
    assert len(datasets.load("synth")) == synth.DEFAULT_SAMPLES
    ds = datasets.load("synth", limit=5000)
    assert len(ds) == synth.SYNTH_SIZE
    assert len({s.target for s in ds.samples}) >= 500
    assert len(synth.words()) >= 500


@needs_str
def test_shared_iiit5k_loads():
    ds = datasets.load("iiit5k", STR_ROOT, limit=50)
    assert len(ds) == 50 and not ds.skipped
    assert ds.samples[0].label == "PRIVATE" and ds.samples[0].target == "private"
