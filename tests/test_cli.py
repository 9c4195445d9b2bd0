import os
import subprocess
import sys

import pytest

from benchmark.cli import main

from .conftest import REPO


@pytest.fixture
def tsv_root(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "labels.tsv").write_text("")
    return tmp_path


@pytest.mark.parametrize("argv,message", [
    (["--restorers", "magic"], "unknown restorer 'magic'"),
    (["--datasets", "mnist"], "unknown dataset 'mnist'"),
    (["--recognizers", "tesseract"], "unknown recognizer 'tesseract'"),
    (["--brightness", "0"], "brightness must be in (0, 1]"),
    (["--brightness", "1.5"], "brightness must be in (0, 1]"),
    (["--noise", "-0.1"], "noise std must be >= 0"),
    (["--grid", "blur"], "unknown grid axis 'blur'"),
    (["--datasets", "iiit5k", "--data-root", "/nonexistent/data"], "data root '/nonexistent/data' does not exist"),
    (["--limit", "0"], "--limit must be positive"),
    (["--device", "tpu"], "--device must be auto, cpu or cuda"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    code = main(["run", "--out", str(tmp_path / "out"), "--quiet", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not os.path.exists(tmp_path / "out" / "summary.csv")


def test_cuda_without_a_gpu(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert main(["run", "--device", "cuda", "--out", str(tmp_path), "--quiet"]) == 2
    assert "PyTorch sees no CUDA GPU" in capsys.readouterr().err


def test_missing_data_root_and_empty_dataset(capsys, tsv_root, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_ROOT", raising=False)
    monkeypatch.chdir(tsv_root)
    assert main(["run", "--datasets", "svt", "--quiet"]) == 2
    assert "needs --data-root" in capsys.readouterr().err
    assert main(["run", "--datasets", str(tsv_root / "empty"), "--restorers", "identity", "--quiet",
                 "--out", str(tsv_root / "o")]) == 2
    assert "has no usable samples" in capsys.readouterr().err
    # refused requests leave no empty run folders (the default --out is runs/<time>)
    assert not (tsv_root / "o").exists() and not list((tsv_root / "runs").glob("*"))


def test_unwritable_out(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", "--restorers", "identity", "--limit", "2", "--out", str(blocker / "run"), "--quiet"])
    assert code == 2 and "cannot write to --out" in capsys.readouterr().err


def test_process_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--noise", "-1", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip() == "error: noise std must be >= 0, got -1"


def test_list_and_help(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("identity", "clahe", "synth", "iiit5k", "easyocr", "KID", "1-NED", "did"):
        assert word in out
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    assert "--grid" in capsys.readouterr().out


def test_an_ablation_trained_unlike_its_method_is_one_warning_line(capsys, tmp_path):
    """An ablation's checkpoint trained with fewer steps than did's: a run says so in one plain line
    (the CLI silences its dependencies' UserWarnings, not the suite's own caveats); one trained like
    did but for its switch runs without it."""
    import warnings

    from restorers.checkpoints import load_checkpoint, save_checkpoint

    state, meta = load_checkpoint("did", "compact")
    meta = {k: v for k, v in meta.items() if k not in ("sha256", "file", "path")}
    meta.update(method="did-no-lpips", config=dict(meta["config"], lpips_weight=0.0))
    for name, steps in (("short", meta["steps"] // 2), ("equal", meta["steps"])):
        save_checkpoint(str(tmp_path / name / "did-no-lpips-compact.pt"), state, dict(meta, steps=steps))
        with warnings.catch_warnings():
            code = main(["ceiling", "--restorers", "did-no-lpips", "--datasets", "synth", "--limit", "1",
                         "--recognizers", "easyocr", "--checkpoints", str(tmp_path / name),
                         "--out", str(tmp_path / f"run-{name}")])
        err = capsys.readouterr().err
        assert code == 0 and "RestorerWarning" not in err
        expected = f"warning: did-no-lpips was not trained like did (steps {steps} vs {meta['steps']}):"
        assert (expected in err) == (name == "short"), err
