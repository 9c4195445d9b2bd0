import numpy as np
import pytest

from benchmark import recognizers
from benchmark.errors import BenchmarkError


@pytest.fixture(scope="module")
def easyocr():
    return recognizers.create("easyocr")


def test_batched_recognition_equals_easyocr_per_image(easyocr, synth_images):
    import cv2

    images = [img for _, img, _ in synth_images]
    batched = easyocr.recognize(images)
    reversed_batch = easyocr.recognize(images[::-1])[::-1]
    for image, (text, conf), (text_r, _) in zip(images, batched, reversed_batch):
        alone = easyocr.reader.recognize(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), detail=1)
        assert text == alone[0][1] == text_r
        assert conf == pytest.approx(float(alone[0][2]), abs=1e-4)  # float sums differ with batch size


def test_easyocr_reads_clean_synth(easyocr, synth_images):
    from benchmark.datasets import normalize_label

    preds = easyocr.recognize([img for _, img, _ in synth_images])
    correct = sum(normalize_label(p) == normalize_label(label) for (p, _), (_, _, label) in zip(preds, synth_images))
    assert correct >= 0.6 * len(synth_images)


def test_tiny_image_reads_as_empty(easyocr):
    assert easyocr.recognize([np.zeros((1, 5, 3), np.uint8)]) == [("", 0.0)]


def test_weights_md5_is_checked(monkeypatch):
    monkeypatch.setattr(recognizers, "_md5", lambda path: "0" * 32)
    with pytest.raises(BenchmarkError, match="MD5"):
        recognizers.EasyOCRRecognizer()


def test_unknown_recognizer():
    with pytest.raises(BenchmarkError, match="unknown recognizer 'tesseract'"):
        recognizers.create("tesseract")


def test_ppocr_extra_reads_clean_synth(synth_images):
    pytest.importorskip("rapidocr_onnxruntime", reason="PP-OCRv4 reader not installed")
    from benchmark.datasets import normalize_label

    reader = recognizers.create("ppocr")
    preds = reader.recognize([img for _, img, _ in synth_images])
    correct = sum(normalize_label(p) == normalize_label(label) for (p, _), (_, _, label) in zip(preds, synth_images))
    assert correct >= 0.6 * len(synth_images)
    assert reader.recognize([synth_images[3][1]]) == [preds[3]]  # one at a time: batch-independent


def test_every_recognizer_loads_and_reads_with_the_network_off(monkeypatch, synth_images):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("a recognizer tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    read = 0
    for name in recognizers.available():
        try:
            reader = recognizers.create(name)
        except BenchmarkError as e:  # an optional reader whose package is not installed
            assert "needs the package" in str(e)
            continue
        assert len(reader.recognize([synth_images[0][1], synth_images[1][1]])) == 2
        read += 1
    assert read >= 2  # the default readers at least


def test_paddle_readers_are_hash_checked_and_batch_independent(synth_images, monkeypatch):
    from benchmark.datasets import normalize_label

    pytest.importorskip("rapidocr", reason="PP-OCRv6 reader not installed")
    reader = recognizers.create("ppocrv6")
    images = [img for _, img, _ in synth_images]
    preds = reader.recognize(images)
    correct = sum(normalize_label(p) == normalize_label(label) for (p, _), (_, _, label) in zip(preds, synth_images))
    assert correct >= 0.8 * len(images)
    assert [reader.recognize([img])[0][0] for img in images[:5]] == [p for p, _ in preds[:5]]
    monkeypatch.setattr(recognizers, "_sha256", lambda path: "0" * 64)
    with pytest.raises(BenchmarkError, match="differ from the pinned SHA-256"):
        recognizers.create("ppocrv6")
