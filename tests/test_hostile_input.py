"""Hostile input: every bad input is one clear line (exit 2) or, for one bad sample, a warning that
names it and skips it; degenerate crops never reach a restorer; bad tracking input leaves the
history untouched."""
import json
import os

import cv2
import lmdb
import numpy as np
import pandas as pd
import pytest

from benchmark import datasets
from benchmark.cli import main
from benchmark.errors import BenchmarkError

GOOD = np.random.default_rng(0).integers(0, 256, (24, 60, 3), dtype=np.uint8)


def png(image) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def write_set(folder, rows, labels: bytes | None = None):
    os.makedirs(folder, exist_ok=True)
    lines = []
    for name, data, label in rows:
        if data is not None:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        lines.append(f"{name}\t{label}")
    with open(os.path.join(folder, "labels.tsv"), "wb") as f:
        f.write(labels if labels is not None else ("\n".join(lines) + "\n").encode())
    return str(folder)


def test_bad_samples_are_skipped_by_id_with_their_reason(tmp_path):
    rgba = np.dstack([GOOD, np.full(GOOD.shape[:2], 255, np.uint8)])
    deep = (GOOD.astype(np.uint16) * 257)
    folder = write_set(tmp_path / "set", [
        ("good.png", png(GOOD), "good"), ("zero.png", b"", "zero"), ("truncated.png", png(GOOD)[:60], "cut"),
        ("text.png", b"just some text\n", "text"), ("deep.png", png(deep), "deep"), ("grey.png", png(GOOD[..., 0]), "grey"),
        ("rgba.png", png(rgba), "rgba"), ("missing.png", None, "gone"), ("good.png", png(GOOD), "again"),
        ("sliver.png", png(np.zeros((3, 400, 3), np.uint8)), "sliver"),
        ("tall.png", png(np.zeros((400, 3, 3), np.uint8)), "tall")])
    ds = datasets.load(folder)
    assert [s.sample_id for s in ds.samples] == ["good.png", "deep.png", "grey.png", "rgba.png"]
    assert np.array_equal(ds.samples[1].image, GOOD[..., ::-1])  # 16 bits scaled back to the same 8 bits
    assert np.array_equal(ds.samples[3].image, GOOD[..., ::-1])  # alpha dropped
    reasons = dict(ds.skipped)
    assert reasons["zero.png"] == "empty file"
    assert reasons["truncated.png"] == reasons["text.png"] == "not a decodable image"
    assert "No such file" in reasons["missing.png"]
    assert "duplicate id" in reasons["good.png"]
    assert "degenerate 3x400" in reasons["sliver.png"] and "degenerate 400x3" in reasons["tall.png"]


def test_bom_and_crlf_are_read(tmp_path):
    folder = write_set(tmp_path / "s", [], labels=b"\xef\xbb\xbfa.png\tHello\r\nb.png\tWorld\r\n")
    for name in ("a.png", "b.png"):
        (tmp_path / "s" / name).write_bytes(png(GOOD))
    ds = datasets.load(folder)
    assert [(s.sample_id, s.label) for s in ds.samples] == [("a.png", "Hello"), ("b.png", "World")]


@pytest.mark.parametrize("labels,message", [
    ("a.png\tcaf\xe9\n".encode("latin-1"), "labels.tsv:1: not UTF-8 text"),
    (b"a.png Hello\n", "labels.tsv:1: expected 'filename<TAB>label'"),
])
def test_bad_label_files_are_one_clear_error(tmp_path, labels, message):
    folder = write_set(tmp_path / "s", [("a.png", png(GOOD), "x")], labels=labels)
    with pytest.raises(BenchmarkError, match=message):
        datasets.load(folder)


def test_damaged_lmdb_is_one_clear_error(tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "data.mdb").write_bytes(os.urandom(8192))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.mdb").write_bytes(b"")
    for folder in (corrupt, empty):
        with pytest.raises(BenchmarkError, match="not a readable LMDB"):
            datasets.load(str(folder))
    good = tmp_path / "nolabel"
    env = lmdb.open(str(good), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"num-samples", b"many")
    env.close()
    with pytest.raises(BenchmarkError, match="'num-samples' is b'many', not a number"):
        datasets.load(str(good))


def test_a_run_skips_degenerate_crops_and_records_them(tmp_path, capsys):
    folder = write_set(tmp_path / "s", [("a.png", png(GOOD), "good"), ("b.png", png(np.zeros((3, 4000, 3), np.uint8)), "x"),
                                        ("c.png", png(np.zeros((4000, 3, 3), np.uint8)), "y")])
    out = tmp_path / "out"
    assert main(["run", "--datasets", folder, "--restorers", "identity,did,dtdm", "--brightness", "0.4",
                 "--noise", "0.1", "--no-kid", "--no-perceptual", "--no-report", "--quiet", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: s: skipped sample 'b.png': degenerate 3x4000 crop" in err
    assert "warning: s: skipped sample 'c.png': degenerate 4000x3 crop" in err
    skipped = json.load(open(out / "config.json"))["datasets_loaded"]["s"]["skipped"]
    assert [sample for sample, _ in skipped] == ["b.png", "c.png"]


@pytest.mark.parametrize("argv,message", [
    (["--brightness", ""], "--brightness needs at least one value"),
    (["--noise", ""], "--noise needs at least one value"),
    (["--restorers", ""], "--restorers is empty"),
    (["--datasets", ""], "--datasets is empty"),
    (["--recognizers", ""], "--recognizers is empty"),
])
def test_empty_lists_are_errors_not_defaults(argv, message, tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "o"), "--quiet", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {message}" or (err.startswith("error: ") and message in err and "\n" not in err)


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["run", "--restorers", "identity", "--limit", "2", "--brightness", "0.4", "--noise", "0.1",
                 "--no-kid", "--no-perceptual", "--no-report", "--no-ceiling", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("threshold", ["nan", "inf", "-0.1"])
def test_track_threshold_must_be_finite_and_non_negative(tracked_run, tmp_path, capsys, threshold):
    assert main(["track", str(tracked_run), "--history", str(tmp_path / "h.csv"), "--threshold", threshold]) == 2
    assert "--threshold must be a finite number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "h.csv").exists()


@pytest.mark.parametrize("content,message", [
    (os.urandom(300) + b"\x00\xff", "is not a CSV score history"),
    (b"a,b\n1,2\n", "lacks the columns"),
    (None, "holds 'high', not a score"),
])
def test_track_refuses_a_malformed_history_and_leaves_it(tracked_run, tmp_path, capsys, content, message):
    history = tmp_path / "h.csv"
    if content is None:  # a real history with one score replaced by text
        assert main(["track", str(tracked_run), "--history", str(history)]) == 0
        frame = pd.read_csv(history)
        frame["accuracy"] = frame["accuracy"].astype(object)
        frame.loc[0, "accuracy"] = "high"
        frame.to_csv(history, index=False)
        content = history.read_bytes()
    else:
        history.write_bytes(content)
    capsys.readouterr()
    assert main(["track", str(tracked_run), "--history", str(history)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: history ") and message in err and "left untouched" in err and "\n" not in err
    assert history.read_bytes() == content
