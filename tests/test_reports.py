import dataclasses
import subprocess
import sys

import pandas as pd
import pytest

from reports import facts
from reports.markdown import cell_tables, to_markdown
from reports.tables import ablation_table, gain_over_input_grid, gain_over_input_table, reader_agreement

from .conftest import REPO


def test_markdown_tables():
    assert to_markdown(pd.DataFrame({"a": ["x"], "b": [0.12345]})) == "| a | b |\n| --- | --- |\n| x | 0.123 |"
    summary = pd.DataFrame([
        dict(dataset="d", recognizer="r", brightness=1.0, noise=0.0, restorer="identity", n=2, accuracy=1.0, ned=1.0),
        dict(dataset="d", recognizer="r", brightness=0.5, noise=0.1, restorer="identity", n=2, accuracy=0.5, ned=0.75),
        dict(dataset="d", recognizer="r", brightness=0.5, noise=0.1, restorer="sci", n=2, accuracy=0.0, ned=0.25),
    ])
    text = cell_tables(summary)
    assert "| clean | 1.000 / 1.000 |  |" in text
    assert "| b=0.5 σ=0.1 | 0.500 / 0.750 | 0.000 / 0.250 |" in text


def test_ablation_table_from_summary():
    rows = []
    for restorer, acc in (("did", 0.5), ("did-no-ilvr", 0.4), ("did-no-lpips", 0.55), ("identity", 0.1)):
        for noise in (0.1, 0.2):
            # did-no-lpips is 0.05 better in 1-NED at noise 0.1 and 0.15 better at 0.2
            ned = acc + (noise - 0.15) * 2 if restorer == "did-no-lpips" else acc
            rows.append(dict(dataset="d", model="did", recognizer="easyocr", brightness=0.5, noise=noise,
                             restorer=restorer, accuracy=acc + noise, ned=ned, psnr=20 * acc + 100 * noise, ssim=acc))
    rows.append(dict(dataset="d", model="did", recognizer="easyocr", brightness=1.0, noise=0.0, restorer="identity",
                     accuracy=1.0, ned=1.0))
    table = ablation_table(pd.DataFrame(rows)).set_index("restorer")
    assert list(table.index) == ["did", "did-no-ilvr", "did-no-lpips"]
    assert table.loc["did", "accuracy"] == pytest.approx(0.65)
    assert table.loc["did-no-ilvr", "accuracy_vs_full"] == pytest.approx(-0.1)
    assert table.loc["did-no-lpips", "ned_vs_full"] == pytest.approx(0.05)
    # paired over the two cells: differences -0.05 and +0.15 -> sample std 0.1414, / sqrt(2) = 0.1
    assert table.loc["did-no-lpips", "ned_vs_full_se"] == pytest.approx(0.1)
    assert table.loc["did-no-ilvr", "accuracy_vs_full_se"] == pytest.approx(0.0)
    # the image metrics are plain means over the cells: (18 + 28) / 2 for did-no-ilvr
    assert table.loc["did-no-ilvr", "psnr"] == pytest.approx(23.0)
    assert table.loc["did-no-lpips", "ssim"] == pytest.approx(0.55)
    assert ablation_table(pd.DataFrame(rows[-3:])).empty


def test_gain_over_input_pairs_each_restorer_with_the_dark_input_per_noise_level():
    rows = [dict(dataset="d", model="did", recognizer="r", brightness=1.0, noise=0.0, restorer="identity",
                 accuracy=1.0, ned=1.0)]
    # identity / x 1-NED at two brightness levels per noise level; y only at noise 0.2
    scores = {(0.5, 0.1): (0.8, 0.6), (0.4, 0.1): (0.6, 0.5), (0.5, 0.2): (0.3, 0.5), (0.4, 0.2): (0.1, 0.5)}
    for (brightness, noise), (dark, x) in scores.items():
        rows.append(dict(dataset="d", model="did", recognizer="r", brightness=brightness, noise=noise,
                         restorer="identity", accuracy=0.0, ned=dark))
        rows.append(dict(dataset="d", model="did", recognizer="r", brightness=brightness, noise=noise,
                         restorer="x", accuracy=0.0, ned=x))
    rows.append(dict(dataset="d", model="did", recognizer="r", brightness=0.5, noise=0.2, restorer="y",
                     accuracy=0.0, ned=0.4))
    gains = gain_over_input_table(pd.DataFrame(rows)).set_index(["noise", "restorer"])
    assert list(gains.index) == [(0.1, "x"), (0.2, "x"), (0.2, "y")]  # no identity row, no clean cell
    assert gains.loc[(0.1, "x"), "gain"] == pytest.approx(-0.15)  # (-0.2 - 0.1) / 2
    assert gains.loc[(0.2, "x"), "gain"] == pytest.approx(0.3)  # (0.2 + 0.4) / 2
    # differences 0.2 and 0.4 over the two cells: std 0.1414 / sqrt(2) = 0.1
    assert gains.loc[(0.2, "x"), "gain_se"] == pytest.approx(0.1)
    assert gains.loc[(0.2, "y"), "cells"] == 1 and gains.loc[(0.2, "y"), "gain"] == pytest.approx(0.1)
    grid = gain_over_input_grid(gains.reset_index())
    assert grid.columns.tolist() == ["recognizer", "noise", "x", "y"]
    assert grid["x"].tolist() == ["-0.150 ± 0.050", "+0.300 ± 0.100"]
    assert grid["y"].tolist() == ["", "+0.100"]  # one cell: no standard error
    assert gain_over_input_table(pd.DataFrame([r for r in rows if r["restorer"] != "identity"])).empty


def test_reader_agreement_per_cell():
    rows = []
    for noise, order_b in ((0.1, ("a", "b", "c")), (0.2, ("c", "b", "a"))):
        for rank, restorer in enumerate(("a", "b", "c")):
            rows.append(dict(dataset="d", brightness=0.5, noise=noise, restorer=restorer, recognizer="r1",
                             accuracy=0.0, ned=0.1 * rank))
            rows.append(dict(dataset="d", brightness=0.5, noise=noise, restorer=restorer, recognizer="r2",
                             accuracy=0.0, ned=0.1 * order_b.index(restorer)))
    rows.append(dict(dataset="d", brightness=1.0, noise=0.0, restorer="identity", recognizer="r1", accuracy=1, ned=1))
    table = reader_agreement(pd.DataFrame(rows)).set_index("noise")
    assert list(table.index) == [0.1, 0.2]  # the clean cell is not a ranking
    assert table.loc[0.1, "kendall_tau"] == pytest.approx(1.0) and table.loc[0.1, "same_best"]
    assert table.loc[0.2, "kendall_tau"] == pytest.approx(-1.0) and not table.loc[0.2, "same_best"]
    assert table.loc[0.2, "best_a"] == "c" and table.loc[0.2, "best_b"] == "a"
    assert reader_agreement(pd.DataFrame([r for r in rows if r["recognizer"] == "r1"])).empty


def test_best_restorer_and_labels_follow_the_metric_facts(monkeypatch):
    rows = [dict(dataset="d", recognizer=reader, brightness=0.5, noise=0.1, restorer=restorer, n=2, accuracy=acc,
                 ned=acc) for reader in ("a", "b") for restorer, acc in (("x", 0.8), ("y", 0.2))]
    summary = pd.DataFrame(rows)
    assert reader_agreement(summary)["best_a"].tolist() == ["x"]
    assert "word accuracy / 1-NED" in cell_tables(summary)
    monkeypatch.setitem(facts.METRICS, "ned", dataclasses.replace(facts.METRICS["ned"], higher_is_better=False,
                                                                   name="NED distance"))
    assert reader_agreement(summary)["best_a"].tolist() == ["y"]
    assert "word accuracy / NED distance" in cell_tables(summary)


def test_tables_layer_does_not_load_matplotlib():
    code = "import sys, reports.tables, reports.facts; assert 'matplotlib' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
