"""The trained line reader (models/line_reader.onnx) and the rule that keeps its readings (the
engine that reads with it first: tests/test_ppocr.py).

Needs onnxruntime (the `ppocr` extra, which scripts/setup.sh installs); skipped without it."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

pytest.importorskip("onnxruntime", reason="optional extra 'ppocr' not installed (onnxruntime)")

from digitize.ocr.line_input import ALPHABET, HEIGHT, normalise, text_band  # noqa: E402
from digitize.ocr.line_reader import LineReader, model_installed, shared_reader  # noqa: E402
from digitize.text import cer  # noqa: E402

SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")


@pytest.fixture(scope="module")
def serif() -> Path:
    """The face the generator prints in, which the reader was trained on with others (scripts/setup.sh
    installs fonts-dejavu-core)."""
    if not SERIF.is_file():
        pytest.skip("fonts-dejavu-core not installed")
    return SERIF


def line_image(text: str, size: int = 40, margin: int = 14) -> np.ndarray:
    font = ImageFont.truetype(str(SERIF), size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=20)
    return np.array(image)


@pytest.fixture(scope="module")
def reader() -> LineReader:
    assert model_installed(), "models/line_reader.onnx is committed"
    return shared_reader()


def test_the_alphabet_has_every_vietnamese_letter_tesseract_vie_lacks_none():
    for base in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):
            letter = unicodedata.normalize("NFC", base + tone)
            assert letter in ALPHABET and letter.upper() in ALPHABET
    assert "ỵ" in ALPHABET and "Ỵ" in ALPHABET  # Tesseract `vie` cannot output these two
    assert len(set(ALPHABET)) == len(ALPHABET)
    assert all(unicodedata.is_normalized("NFC", c) for c in ALPHABET)


@pytest.mark.parametrize(
    "text",
    ["Cộng hòa xã hội chủ nghĩa Việt Nam", "NGUYỄN THỊ THỦY", "ngày 15 tháng 08 năm 2021", "Số: 123/QĐ-UBND"],
)
def test_reads_a_printed_line_with_its_tone_marks(reader, serif, text):
    crop = line_image(text)
    reading = reader.read(crop)
    got = " ".join(w[0] for w in reading.words)
    assert cer(got, text) <= 0.04, got
    assert unicodedata.is_normalized("NFC", got)
    height, width = crop.shape
    for word, (x0, y0, x1, y1), confidence, (alternative, likely) in reading.words:
        assert 0 <= x0 < x1 <= width + 4 and 0 <= y0 < y1 <= height, (word, x0, y0, x1, y1)
        assert 0.0 <= confidence <= 1.0 and 0.0 <= likely <= 1.0
        assert alternative == "" or len(alternative) == len(word)
    assert 0.0 <= reading.certainty <= 1.0
    assert len(reading.certainties) == len(reading.words)


def test_word_boxes_follow_the_words_left_to_right(reader, serif):
    reading = reader.read(line_image("Họ và tên người yêu cầu"))
    lefts = [w[1][0] for w in reading.words]
    assert len(lefts) == 6 and lefts == sorted(lefts)


def test_a_blank_crop_reads_as_nothing(reader):
    assert reader.read(np.full((60, 400), 250, np.uint8)).words == ()
    noise = np.random.default_rng(1).integers(240, 256, (60, 400)).astype(np.uint8)
    assert reader.read(noise).words == ()


def test_the_band_keeps_tone_marks_and_leaves_a_neighbours_descenders_out(serif):
    crop = line_image("ỐNG ẤM", size=40, margin=20)
    crop[:4, 10:40] = 0  # the line above's descenders, cut in by the detector's box
    top, bottom = text_band(crop)
    ink_rows = np.nonzero((crop[6:] < 128).any(axis=1))[0] + 6
    assert top == ink_rows[0] and bottom == ink_rows[-1] + 1  # the marks above the capitals are in
    x, _, _, _ = normalise(crop)
    assert x.shape[0] == HEIGHT and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0


def test_the_calibration_maps_certainty_onto_tesseracts_scale_in_order():
    data = json.loads((Path(__file__).resolve().parents[1] / "models" / "line_reader.json").read_text("utf-8"))
    knots, values = data["reader"], data["tesseract"]
    assert len(knots) == len(values) >= 10
    assert all(a < b for a, b in zip(knots, knots[1:]))
    assert all(a <= b for a, b in zip(values, values[1:]))
    assert 0.0 <= values[0] and values[-1] <= 1.0


def test_the_training_lines_are_what_the_reader_reads(tmp_path, serif):
    """The training script's renderer and the reader share one normalisation (no PyTorch needed)."""
    from models import train_line_reader as training

    fonts = [serif]
    rng = random.Random(3)
    dic, places = tmp_path / "vi.dic", tmp_path / "places.txt"
    dic.write_text("4\nnhà\nnước\nthủy/A\nđiện\n", encoding="utf-8")  # hunspell's layout: a count, then words
    places.write_text("Xã Tân Phú\nHuyện Kỳ Sơn\n", encoding="utf-8")
    texts = training.Texts(dic, places)
    got = [training.sample(texts, fonts, rng) for _ in range(20)]
    got = [g for g in got if g is not None]
    assert len(got) >= 10
    for x, labels, text in got:
        assert x.shape[0] == HEIGHT and len(labels) == len(text)
        assert all(1 <= k <= len(ALPHABET) for k in labels)


def reading(*words: str, certainty: float = 0.99, mark_doubt: float = 0.0):
    from digitize.ocr.line_reader import LineReading

    boxes = [(10 * i, 0, 10 * i + 8, 10) for i in range(len(words))]
    return LineReading(tuple((w, b, 0.95, ("", 0.0)) for w, b in zip(words, boxes)), certainty, (), mark_doubt)


def test_the_reader_is_kept_only_for_sure_lines_of_known_words():
    from digitize.ocr.ppocr import READER_MARK_DOUBT, READER_TRUST, kept_reading

    assert kept_reading(reading("Ủy", "ban", "nhân", "dân", "tỉnh", "UBND")) is not None
    assert kept_reading(reading("ngày", "15", "tháng")) is None  # figures: Tesseract
    assert kept_reading(reading("cỘNG", "hòa")) is None  # a capital read small
    assert kept_reading(reading("XÃ", "BÌNH", "DUƠNG")) is None  # no syllable, no abbreviation
    assert kept_reading(reading("Ủy", "ban", certainty=READER_TRUST - 0.01)) is None
    assert kept_reading(reading("Ủy", "ban", mark_doubt=READER_MARK_DOUBT)) is None
    assert kept_reading(reading()) is None


def test_a_lone_consonant_is_no_word_to_keep():
    """The list holds lone consonants; as the reader's reading they are a word cut short
    ("người m" for "người mẹ:"), so the line goes to Tesseract."""
    from digitize.ocr.ppocr import kept_reading

    assert kept_reading(reading("tên", "người", "m")) is None
    assert kept_reading(reading("tên", "người", "mẹ:")) is not None
    assert kept_reading(reading("UBND", "tỉnh")) is not None  # capitals' abbreviations still pass


def test_a_hesitation_between_marks_is_measured(reader, serif):
    got = reader.read(line_image("Trần Văn Thắng"))
    assert 0.0 <= got.mark_doubt <= 1.0
    assert reader.same_base[reader.alphabet.index("ồ") + 1].size >= 5  # o ó ò ỏ õ ọ ô ố ổ ỗ ộ ơ ...
    assert reader.alphabet.index("X") + 1 in reader.same_base[reader.alphabet.index("x") + 1]
    assert reader.alphabet.index("A") + 1 not in reader.same_base[reader.alphabet.index("a") + 1]
