"""Nothing lost, nothing counted twice: kill -9 and resume, damaged unit files, two runs on one
folder, Ctrl-C, and the same numbers from the same command."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.runner import Runner

from .conftest import REPO

ARGS = ["--restorers", "identity,clahe,gain-nlm", "--limit", "6", "--brightness", "0.5,0.3", "--noise", "0.05,0.2",
        "--no-kid", "--no-report", "--quiet"]


def command(out, *extra):
    return [sys.executable, "-m", "benchmark", "run", *ARGS, "--out", str(out), *extra]


def units(out):
    found = {}
    for root, _, files in os.walk(os.path.join(out, "units")):
        for name in files:
            if name.endswith(".parquet"):
                path = os.path.join(root, name)
                found[path] = os.stat(path).st_mtime_ns
    return found


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    subprocess.run(command(out), check=True, cwd=REPO, capture_output=True)
    return out


def test_kill_9_then_resume_recomputes_nothing_finished(reference, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(command(out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(units(out)) < 4 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = units(out)
    assert 4 <= len(before) and not (out / "summary.csv").exists(), "killed too late to test a resume"
    assert (out / ".lock").exists()  # left behind by the killed run: stale
    resumed = subprocess.run(command(out), cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "removing a stale lock" in resumed.stderr and f"resuming: {len(before)} of" in resumed.stderr
    after = units(out)
    assert all(after[path] == mtime for path, mtime in before.items()), "a finished unit was computed again"
    assert (out / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()
    assert not (out / ".lock").exists()


def test_a_damaged_unit_file_is_computed_again(reference, tmp_path, capsys):
    out = tmp_path / "damaged"
    subprocess.run(["cp", "-r", str(reference), str(out)], check=True)
    victims = sorted(p for p in units(out) if "/b0.3_n0.2/" in p)
    with open(victims[0], "r+b") as f:  # truncate one file, garble another
        f.truncate(os.path.getsize(victims[0]) // 2)
    with open(victims[1], "r+b") as f:
        f.seek(0)
        f.write(b"\x00" * 64)
    os.remove(out / "summary.csv")
    assert main(["run", *ARGS, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("is damaged") == 2 and "computing it again" in err
    assert (out / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()


def test_a_second_run_on_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "busy"
    first = subprocess.Popen(command(out), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not (out / ".lock").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(command(out), cwd=REPO, capture_output=True, text=True)
    first.wait()
    assert second.returncode == 2
    assert second.stderr.strip() == (f"error: another run (PID {first.pid}) is writing to {out}; "
                                     f"wait for it to finish or choose another --out")
    assert first.returncode == 0 and (out / "summary.csv").exists()


def test_ctrl_c_says_where_the_run_stopped(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = Runner.run_unit

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "run_unit", interrupted)
    assert main(["run", *ARGS, "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("interrupted: stopped during unit synth b=0.5 σ=0.05 ") and "1 of" in err
    assert err.endswith(f"in {tmp_path}. Rerun the same command to resume.")
    assert not (tmp_path / ".lock").exists()


def test_same_command_same_bytes_and_batch_size_changes_nothing(reference, tmp_path):
    again, batched = tmp_path / "again", tmp_path / "batched"
    subprocess.run(command(again), check=True, cwd=REPO, capture_output=True)
    subprocess.run(command(batched, "--batch-size", "4"), check=True, cwd=REPO, capture_output=True)
    assert (again / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()
    assert (batched / "summary.csv").read_bytes() == (reference / "summary.csv").read_bytes()
    assert (again / "ceiling.csv").read_bytes() == (reference / "ceiling.csv").read_bytes()


def test_training_states_travel_through_git_in_parts(tmp_path):
    """carry_training_states.sh: a state too large for one git file goes in parts that join to the
    same bytes; a finished run's checkpoint travels with its state; a damaged part is an error, never
    a silently wrong state; restore overwrites nothing."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(os.path.join(REPO, "scripts", "carry_training_states.sh"), tmp_path / "scripts")
    big, small = tmp_path / "training" / "big" / "state-main.pt", tmp_path / "training" / "small" / "state-main.pt"
    for path, size in ((big, 27 * 2 ** 20), (small, 1000)):
        path.parent.mkdir(parents=True)
        path.write_bytes(np.random.default_rng(size).bytes(size))
    original = big.read_bytes(), small.read_bytes()
    # "small" has finished: its checkpoint (named by method and preset, not by its folder) travels too
    weights, sidecar = small.parent / "m-compact.pt", small.parent / "m-compact.json"
    weights.write_bytes(b"weights")
    sidecar.write_text('{"steps": 60000}')
    carry = lambda action: subprocess.run(["bash", "scripts/carry_training_states.sh", action], cwd=tmp_path,
                                          capture_output=True, text=True)
    assert carry("save").returncode == 0
    carried = tmp_path / "training-states"
    assert sorted(p.name for p in (carried / "big").iterdir()) == [
        "state-main.pt.part-00", "state-main.pt.part-01", "state-main.pt.sha256"]
    assert (carried / "small" / "state-main.pt").read_bytes() == original[1]
    assert sorted(p.name for p in (carried / "small").iterdir()) == ["m-compact.json", "m-compact.pt", "state-main.pt"]
    shutil.rmtree(tmp_path / "training")
    assert carry("restore").returncode == 0
    assert (big.read_bytes(), small.read_bytes()) == original
    assert weights.read_bytes() == b"weights" and sidecar.read_text() == '{"steps": 60000}'
    small.write_bytes(b"newer")  # a state already in training/ is kept
    assert carry("restore").returncode == 0 and small.read_bytes() == b"newer"
    big.unlink()
    with open(carried / "big" / "state-main.pt.part-01", "ab") as f:
        f.write(b"x")
    result = carry("restore")
    assert result.returncode == 1 and "do not join" in result.stderr and not big.exists()


def test_device_payload_counts_what_a_device_call_sends(tmp_path):
    """device_payload.sh: tracked files, untracked files git does not ignore and carried paths count;
    ignored files that are not carried do not; over 64 MiB it fails, so no device time is spent on a
    call the tool would refuse."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(os.path.join(REPO, "scripts", "device_payload.sh"), tmp_path / "scripts")
    git = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / ".gitignore").write_text("/cache/\n")
    (tmp_path / "code.py").write_bytes(b"x" * 2 ** 20)
    git("add", ".")
    (tmp_path / "notes.txt").write_bytes(b"y" * 2 ** 20)  # untracked, not ignored: travels
    (tmp_path / "cache").mkdir()
    with open(tmp_path / "cache" / "big.bin", "wb") as f:  # ignored: travels only when carried
        f.truncate(70 * 2 ** 20)
    payload = lambda *carry: subprocess.run(["bash", "scripts/device_payload.sh", *carry], cwd=tmp_path,
                                            capture_output=True, text=True)
    alone = payload()
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.strip().splitlines()[-1].split()[0] == "2.0"
    carried = payload("cache")
    assert carried.returncode == 1 and carried.stdout.strip().splitlines()[-1].split()[0] == "72.0"
    assert "70.0 MiB  cache/" in carried.stdout
    missing = payload("nowhere")
    assert missing.returncode == 2 and "nowhere does not exist" in missing.stderr
