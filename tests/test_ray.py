"""--executor ray on a local Ray cluster: the same summary.csv as the local executor, also when a
worker dies mid-unit, and resume across executors."""
import os
import shutil

import pytest

from benchmark.distributed import FAIL_ONCE_ENV
from benchmark.runner import RunConfig, Runner
from degradations import CLEAN, Cell

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")

CELLS = [CLEAN, Cell(0.5, 0.1), Cell(0.3, 0.2)]


def config(out, **overrides):
    # 10 crops at batch size 2 in parts of 4: every degraded unit is cut in three. KID is off here
    # (its Inception batch of 32 would make parts of 32); test_kid_over_parts covers it.
    values = dict(out=str(out), datasets=["synth"], cells=CELLS, restorers=["identity", "clahe", "dtdm-1step"],
                  recognizers=["easyocr"], limit=10, device="cpu", batch_size=2, part_size=4, examples=2,
                  kid=False, perceptual=False)
    values.update(overrides)
    return RunConfig(**values)


def units(out):
    found = {}
    for root, _, files in os.walk(os.path.join(out, "units")):
        for name in files:
            found[os.path.join(root, name)] = os.stat(os.path.join(root, name)).st_mtime_ns
    return found


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "run"
    Runner(config(out), progress=False).run()
    return out


def test_ray_executor_gives_the_local_summary(cluster, local_run, tmp_path):
    out = tmp_path / "ray"
    Runner(config(out, executor="ray"), progress=False).run()
    assert (out / "summary.csv").read_bytes() == (local_run / "summary.csv").read_bytes()
    assert (out / "ceiling.csv").read_bytes() == (local_run / "ceiling.csv").read_bytes()
    assert sorted(os.listdir(out / "examples" / "synth")) == sorted(os.listdir(local_run / "examples" / "synth"))


def test_a_worker_killed_mid_unit_changes_nothing(cluster, local_run, tmp_path, monkeypatch):
    flag = tmp_path / "worker-died"
    monkeypatch.setenv(FAIL_ONCE_ENV, str(flag))
    out = tmp_path / "ray"
    Runner(config(out, executor="ray"), progress=False).run()
    assert flag.exists(), "no worker was killed"
    assert (out / "summary.csv").read_bytes() == (local_run / "summary.csv").read_bytes()


def test_resume_across_executors(cluster, local_run, tmp_path, monkeypatch):
    # started locally, interrupted after two units, finished with Ray
    out = tmp_path / "local-then-ray"
    calls = {"n": 0}
    original = Runner.run_unit

    def interrupt_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "run_unit", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        Runner(config(out), progress=False).run()
    monkeypatch.setattr(Runner, "run_unit", original)
    before = units(out)
    assert len(before) >= 2
    Runner(config(out, executor="ray"), progress=False).run()
    assert all(units(out)[path] == mtime for path, mtime in before.items())
    assert (out / "summary.csv").read_bytes() == (local_run / "summary.csv").read_bytes()

    # started with Ray on part of the restorers, finished locally with all of them
    out = tmp_path / "ray-then-local"
    Runner(config(out, executor="ray", restorers=["identity", "dtdm"]), progress=False).run()
    before = units(out)
    Runner(config(out), progress=False).run()
    assert all(units(out)[path] == mtime for path, mtime in before.items())
    assert (out / "summary.csv").read_bytes() == (local_run / "summary.csv").read_bytes()
    shutil.rmtree(out)


def test_kid_over_parts(cluster, tmp_path):
    # 40 crops: parts of 32 and 8, KID assembled by the driver over the whole unit
    kid_config = dict(restorers=["identity"], cells=[CLEAN, Cell(0.4, 0.1)], limit=40, batch_size=8, kid=True,
                      ceiling=False)
    Runner(config(tmp_path / "local", **kid_config), progress=False).run()
    Runner(config(tmp_path / "ray", executor="ray", **kid_config), progress=False).run()
    local, distributed = ((tmp_path / name / "summary.csv").read_bytes() for name in ("local", "ray"))
    assert local == distributed
