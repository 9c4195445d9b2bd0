"""`run --checkpoints DIR` (or $BENCHMARK_CHECKPOINTS): evaluate checkpoints a user trained, with clear errors."""
import json
import os
import shutil

import pytest

from benchmark.cli import main
from benchmark.training import train

RUN = ["run", "--restorers", "sci", "--limit", "2", "--brightness", "0.3", "--noise", "0.05", "--no-kid",
       "--no-perceptual", "--no-report", "--quiet"]


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mine")
    train("sci", steps=2, out=str(folder), data_root=None, device="cpu", progress=False, synth_count=8,
          log=lambda *a: None, validate=False)
    return folder


def loaded_checkpoint(out) -> str:
    return json.load(open(os.path.join(out, "config.json")))["restorers_loaded"]["sci"]["checkpoint"]


def test_a_user_checkpoint_replaces_the_shipped_one(user_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BENCHMARK_CHECKPOINTS", raising=False)
    assert main([*RUN, "--checkpoints", str(user_folder), "--out", str(tmp_path / "a")]) == 0
    assert loaded_checkpoint(tmp_path / "a") == str(user_folder / "sci-compact.pt")
    monkeypatch.setenv("BENCHMARK_CHECKPOINTS", str(user_folder))
    assert main([*RUN, "--out", str(tmp_path / "b")]) == 0
    assert loaded_checkpoint(tmp_path / "b") == str(user_folder / "sci-compact.pt")
    monkeypatch.delenv("BENCHMARK_CHECKPOINTS")
    assert main([*RUN, "--out", str(tmp_path / "c")]) == 0  # without the option: the shipped checkpoint
    assert "restorers/weights/sci-compact.pt" in loaded_checkpoint(tmp_path / "c")


def copy(user_folder, tmp_path, name):
    folder = tmp_path / "bad"
    folder.mkdir()
    for ext in (".pt", ".json"):
        shutil.copy(user_folder / f"sci-compact{ext}", folder / f"{name}{ext}")
    return folder


def run_error(folder, tmp_path, capsys, restorer="sci"):
    argv = [*RUN, "--checkpoints", str(folder), "--out", str(tmp_path / "out")]
    argv[argv.index("sci")] = restorer
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    assert not os.path.exists(tmp_path / "out" / "summary.csv")
    return err


def test_wrong_method(user_folder, tmp_path, capsys):
    folder = copy(user_folder, tmp_path, "dtdm-compact")
    assert "is for 'sci', not 'dtdm'" in run_error(folder, tmp_path, capsys, restorer="dtdm")


def test_wrong_preset(user_folder, tmp_path, capsys):
    folder = copy(user_folder, tmp_path, "sci-compact")
    meta = json.load(open(folder / "sci-compact.json"))
    meta["preset"] = "paper"
    json.dump(meta, open(folder / "sci-compact.json", "w"))
    assert "is preset 'paper', not 'compact'" in run_error(folder, tmp_path, capsys)


def test_corrupt_file(user_folder, tmp_path, capsys):
    folder = copy(user_folder, tmp_path, "sci-compact")
    data = bytearray((folder / "sci-compact.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "sci-compact.pt").write_bytes(bytes(data))
    assert "is corrupt" in run_error(folder, tmp_path, capsys)


def test_another_architecture(user_folder, tmp_path, capsys):
    folder = copy(user_folder, tmp_path, "sci-compact")
    meta = json.load(open(folder / "sci-compact.json"))
    meta["config"]["channels"] = 7  # the weights no longer fit the network the config describes
    json.dump(meta, open(folder / "sci-compact.json", "w"))
    assert "does not fit sci" in run_error(folder, tmp_path, capsys)


def test_missing_folder(tmp_path, capsys):
    assert "is not a folder" in run_error(tmp_path / "nowhere", tmp_path, capsys)
