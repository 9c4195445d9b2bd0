"""The report opens in a real headless browser: every image loads, the main table is there."""
import os
import shutil

import pytest

from benchmark.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")

# Flags for a closed network and no display (see the machine notes): no sandbox as root, no
# background networking, a fresh profile.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "r"
    args = ["run", "--restorers", "identity,clahe,gain-nlm", "--limit", "3", "--brightness", "0.5,0.2",
            "--noise", "0.1,0.3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    return out / "report.html"


def test_report_is_self_contained(report):
    html = report.read_text()
    assert 'src="http' not in html and "<script src" not in html and "<link " not in html
    assert html.count('src="data:image/png;base64,') >= 5


def test_report_renders_in_chromium(report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("""() => Array.from(document.images).map(
            i => ({name: i.dataset.file, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth}))""")
        rows = page.evaluate("() => document.querySelectorAll('#main-table tbody tr').length")
        headers = page.evaluate("() => Array.from(document.querySelectorAll('#main-table th')).map(t => t.textContent)")
        gain_rows = page.evaluate("() => document.querySelectorAll('#gain-table tbody tr').length")
        sections = page.evaluate("() => Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    names = {i["name"] for i in images}
    assert images and all(i["ok"] for i in images), [i for i in images if not i["ok"]]
    assert {"did_accuracy_easyocr.png", "did_ned_easyocr.png", "heatmap_accuracy_easyocr.png"} <= names
    assert any(n.startswith("example_") for n in names)
    assert rows == 2 * (1 + 4 * 3)  # (clean + 4 cells x 3 restorers) x 2 default readers, one dataset
    assert {"accuracy", "ned", "psnr", "ssim", "kid", "perceptual"} <= set(headers)
    assert gain_rows == 2 * 2  # 2 readers x 2 noise levels, against identity
    for title in ("Cost", "Image quality", "Configuration", "All cells", "Where each restorer helps"):
        assert any(title in s for s in sections), title
    assert os.path.getsize(tmp_path / "report.png") > 10_000
    if os.environ.get("REPORT_SCREENSHOT"):
        shutil.copy(tmp_path / "report.png", os.environ["REPORT_SCREENSHOT"])
