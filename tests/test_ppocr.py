"""PP-OCR line detection + Tesseract line recognition (`DIGITIZE_OCR_ENGINE=paddle-det`).

Needs the optional extra (`pip install 'digitize[ppocr]'`: onnxruntime, and
rapidocr for the det model file); skipped without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason="optional extra 'ppocr' not installed (onnxruntime)")
pytest.importorskip("rapidocr", reason="optional extra 'ppocr' not installed (rapidocr ships the det model)")

from digitize.config import Settings, load_settings  # noqa: E402
from digitize.errors import ConfigError, EngineError  # noqa: E402
from digitize.ocr import make_ocr_engine  # noqa: E402
from digitize.ocr.ppocr import PaddleDetEngine, boxes_from_probability, default_model, detect_lines  # noqa: E402
from digitize.text import cer  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "data"


@pytest.fixture(scope="module")
def clean(clean_khai_sinh):
    return clean_khai_sinh


@pytest.fixture(scope="module")
def engine():
    return PaddleDetEngine()


def test_model_is_a_local_file():
    model = default_model()
    assert model.is_file() and model.suffix == ".onnx"


def test_reads_committed_sample(engine, clean):
    import json

    gt = json.loads((SAMPLES / "khai_sinh_clean.gt.json").read_text(encoding="utf-8"))
    page = engine.recognize(clean)
    assert page.engine == "ppocr-det+tesseract"
    assert cer(page.text, gt["text"]) <= 0.02, page.text
    height, width = clean.display.shape[:2]
    words = [w for line in page.lines for w in line.words]
    assert len(words) > 100
    for w in words:
        x0, y0, x1, y1 = w.box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, w
        assert 0.0 <= w.confidence <= 1.0
    # Reading order: the header's two blocks share one row, as with TesseractEngine.
    assert page.lines[0].text.startswith("ỦY BAN NHÂN DÂN") and "CỘNG HÒA" in page.lines[0].text


def test_lines_read_on_two_instances_at_once_are_the_lines_read_on_one(engine, clean):
    two = PaddleDetEngine(line_threads=2)
    assert two.recognize(clean) == engine.recognize(clean)


def test_a_single_input_reads_its_lines_on_the_cores_it_has(monkeypatch):
    """`digitize process one.jpg`: one worker, so its page gets every core."""
    import os

    from digitize import cli

    seen = {}
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(
        cli, "_worker_init", lambda settings, debug_dir: seen.setdefault("threads", settings.ocr_line_threads)
    )
    monkeypatch.setattr(cli, "_process_one", lambda path, doc_type, book: (path, None, "stopped here"))
    cli.main(["process", str(SAMPLES / "khai_sinh_clean.png"), "--no-progress"])
    assert seen["threads"] == 4


def test_recognisers_load_on_a_thread_and_a_forked_child_is_not_locked_out(clean):
    """`preload` returns at once; a page waits for a recogniser still loading (same lock),
    and a process forked while one loads gets its locks free (it has no loading thread)."""
    import os
    import threading
    import time

    from digitize.ocr import ppocr, tesseract

    engine = PaddleDetEngine(line_threads=3)  # a third slot: not loaded by the other tests
    readers = [("eng", "0123456789"), ("no-such-model", "")]
    started = time.perf_counter()
    engine.preload(readers)
    assert time.perf_counter() - started < 0.05
    deadline = time.monotonic() + 60
    while any(t.name == "digitize-load-recognisers" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    loaded = tesseract._value_api.cache_info().currsize
    assert tesseract._value_api(engine.tessdata, "eng", "0123456789") is not None
    assert tesseract._value_api.cache_info().currsize == loaded  # already there
    assert engine.recognize(clean) == PaddleDetEngine().recognize(clean)

    ppocr._slot_locks[2].acquire()  # as a loading thread holds it at the fork
    try:
        pid = os.fork()
        if pid == 0:  # the child: can it take the lock?
            os._exit(0 if ppocr._slot_locks[2].acquire(timeout=5) else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        ppocr._slot_locks[2].release()
    assert os.waitstatus_to_exitcode(status) == 0


def test_detector_finds_lines_on_either_image(clean):
    for image, scale in ((clean.display, 1.0), (clean.ocr_input, clean.ocr_scale)):
        boxes = detect_lines(image, default_model())
        assert 25 <= len(boxes) <= 60
        assert all(0.5 <= score <= 1.0 for _, score in boxes)
        h, w = image.shape[:2]
        assert all(0 <= b[0] < b[2] <= w and 0 <= b[1] < b[3] <= h for b, _ in boxes)


def test_blank_page_gives_empty_result(engine, clean):
    from dataclasses import replace

    blank = replace(
        clean, display=np.full_like(clean.display, 255), ocr_input=np.full_like(clean.ocr_input, 255), rules=()
    )
    page = engine.recognize(blank)
    assert page.lines == ()


def test_db_postprocess_unclips_a_shrunk_region():
    prob = np.zeros((100, 200), np.float32)
    prob[40:50, 20:180] = 0.9  # a 160 x 10 kernel: DB's shrunk text region
    ((box, score),) = boxes_from_probability(prob, 2.0, 2.0)
    assert 0.75 < score <= 0.9  # mean over the dilated region, as PaddleOCR scores it
    x0, y0, x1, y1 = box
    # grown by area * 1.6 / perimeter (~7.5 px) on each side, then scaled by 2
    assert 20 <= x0 <= 30 and 360 <= x1 <= 380 and 60 <= y0 <= 70 and 110 <= y1 <= 120


def test_missing_model_is_a_one_line_error(tmp_path):
    with pytest.raises(EngineError, match="model file not found"):
        PaddleDetEngine(model=tmp_path / "nope.onnx")


def test_selected_by_settings():
    assert make_ocr_engine(Settings(ocr_engine="paddle-det")).name == "ppocr-det+tesseract"


def test_missing_package_is_a_config_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    with pytest.raises(ConfigError, match="rapidocr.*not installed.*digitize\\[ppocr\\]"):
        make_ocr_engine(Settings(ocr_engine="paddle-det"))


def test_a_line_tesseract_gives_up_on_is_read_in_parts(engine):
    """A label and a value typed half a line lower in one detected box: Tesseract's line
    mode finds no line through both and reads nothing; read in parts, both are there, in
    place."""
    from PIL import Image, ImageDraw, ImageFont

    from digitize.ocr.ppocr import _pieces

    image = Image.new("L", (420, 90), 255)
    draw = ImageDraw.Draw(image)
    draw.text(
        (10, 15), "Giới tính:", font=ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 40), fill=0
    )
    mono = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 36)
    draw.text((230, 35), "Nam", font=mono, fill=0)
    pixels = np.asarray(image)
    assert len(_pieces(pixels)) == 2  # the word space inside the label does not part it
    words = engine.read_lines(pixels, 1.0, [(0, 0, 420, 90)])
    assert [w.text for w, _ in words] == ["Giới", "tính:", "Nam"]
    assert 220 <= words[-1][0].box[0] <= 240


def test_pieces_are_not_bridged_by_a_leaders_dots():
    from digitize.ocr.ppocr import _pieces

    line = np.full((60, 400), 255, np.uint8)
    line[10:50, 10:120] = 0  # a word
    for x in range(130, 250, 12):
        line[44:48, x : x + 4] = 0  # the leader's dots
    line[10:50, 260:380] = 0  # the value
    (a, b), (c, d) = _pieces(line)
    assert a == 0 and b == c and 120 < b < 260 and d == 400


def _label_and_value(drop: int) -> np.ndarray:
    """ "Họ, chữ đệm, tên:" printed, and a name typed `drop` pixels below its baseline."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (760, 110), 255)
    draw = ImageDraw.Draw(image)
    serif = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 34)
    draw.text((10, 20), "Họ, chữ đệm, tên:", font=serif, fill=0)
    label_end = int(draw.textlength("Họ, chữ đệm, tên:", font=serif)) + 10
    mono = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 34)
    draw.text((label_end + 2, 20 + drop), "PHAN VĂN TÂM", font=mono, fill=0)
    return np.asarray(image)


def test_a_value_typed_below_its_labels_baseline_is_read_apart_from_it(engine):
    from digitize.ocr.ppocr import _baseline_pieces

    pixels = _label_and_value(drop=18)
    (a, b), (c, d) = _baseline_pieces(pixels)
    assert a == 0 and b == c and d == pixels.shape[1]
    # read whole, Tesseract's one baseline misreads the letters at the step ("tÊn:pHAN")
    words = engine.read_lines(pixels, 1.0, [(0, 0, pixels.shape[1], pixels.shape[0])])
    assert [w.text for w, _ in words] == ["Họ,", "chữ", "đệm,", "tên:", "PHAN", "VĂN", "TÂM"]
    assert words[-3][0].box[0] >= b - 4


@pytest.mark.parametrize(
    "text",
    [
        "Ngày, tháng, năm sinh: Nguyễn Quỳnh Giang",  # descenders: one baseline
        "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ và đóng dấu)",
    ],
)
def test_one_baseline_is_one_piece(text):
    from PIL import Image, ImageDraw, ImageFont

    from digitize.ocr.ppocr import _baseline_pieces

    image = Image.new("L", (1100, 80), 255)
    ImageDraw.Draw(image).text(
        (10, 15), text, font=ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 30), fill=0
    )
    assert _baseline_pieces(np.asarray(image)) == []
    assert _baseline_pieces(_label_and_value(drop=0)) == []


def test_the_engine_reads_with_the_trained_line_reader_first_and_as_well(clean):
    import json

    gt = json.loads((SAMPLES / "khai_sinh_clean.gt.json").read_text(encoding="utf-8"))
    engine = make_ocr_engine(Settings(ocr_engine="paddle-det"))
    assert engine.reader is not None
    page = engine.recognize(clean)
    assert cer(page.text, gt["text"]) <= 0.02, page.text


def test_the_trained_line_reader_can_be_turned_off():
    assert make_ocr_engine(Settings(ocr_engine="paddle-det", line_reader=False)).reader is None
    assert load_settings({"DIGITIZE_LINE_READER": "false"}).line_reader is False
