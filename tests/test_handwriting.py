"""The pen-figure model (`digitize.ocr.handwriting`) on figures it was not trained on, and the
pipeline's header band it reads them from."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitize.ocr.handwriting import figure_model, read_pen_figures


def _written(text: str, height: int = 120, width: int = 320, rule: bool = False) -> np.ndarray:
    """Figures drawn by OpenCV's single-stroke script face (not in the training data)."""
    img = np.full((height, width), 255, np.uint8)
    cv2.putText(img, text, (20, 85), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, 0, 4, cv2.LINE_AA)
    if rule:  # the header's underline running over the blank
        cv2.line(img, (0, 8), (width - 1, 8), 0, 3)
    return img


def test_the_model_ships_with_the_package():
    model = figure_model()
    assert model is not None and model.w2.shape[1] == 10


@pytest.mark.parametrize("text", ["07", "23", "16", "31", "660", "5", "12", "48", "2859", "904"])
def test_figures_in_a_blank_are_read(text):
    read = read_pen_figures(_written(text), 50)
    assert read is not None and read.text == text and 0 < read.confidence <= 1


def test_a_rule_over_the_blank_is_no_figure():
    read = read_pen_figures(_written("23", rule=True), 50)
    assert read is not None and read.text == "23"


def test_an_empty_blank_reads_nothing():
    assert read_pen_figures(np.full((80, 200), 250, np.uint8), 50) is None
    paper = np.random.default_rng(0).integers(200, 256, (80, 200)).astype(np.uint8)
    assert read_pen_figures(paper, 50) is None
    assert read_pen_figures(np.zeros((0, 0), np.uint8), 50) is None


def test_a_header_band_is_kept_and_read_from():
    """The pipeline keeps the band above and around "Số:" of a document's first page, grey as
    scanned (pen colour kept), and reads the blank from it."""
    from dataclasses import replace

    from digitize.pipeline import PageValues
    from digitize.types import CleanPage, Line, OcrPage, Word

    display = np.full((1200, 1000, 3), 255, np.uint8)
    cv2.putText(display, "23", (330, 300), cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 2.2, (160, 50, 35), 4, cv2.LINE_AA)
    words = (Word("Số:", (200, 250, 265, 300), 0.95), Word("/BC-UBND", (460, 255, 700, 300), 0.95))
    page = OcrPage(1, (Line(words),), 1000, 1200, 300.0)
    clean = CleanPage(1, display, np.full((10, 10), 255, np.uint8), 300.0, 1.0, 0, 0.0)
    values = PageValues(engine=None)  # type: ignore[arg-type]
    values.keep_page(clean, page, "van_ban")
    read = values.figures_by_hand(1, (270, 220, 455, 320), 35)
    assert read is not None and read.text == "23"
    assert not values.headers.png and not values.forms.png  # the latest band is kept as it is: no PNG
    # a second document's header: the first band is compressed, both are read
    values.keep_page(replace(clean, number=2), replace(page, number=2), "van_ban")
    assert set(values.headers.png) == {1}
    assert values.figures_by_hand(1, (270, 220, 455, 320), 35) == read
    assert values.figures_by_hand(2, (270, 220, 455, 320), 35) == read
    # stored and restored as the benchmarks' cache does
    again = PageValues.unpacked(None, values.packed())  # type: ignore[arg-type]
    assert set(again.headers.png) == {1, 2} and again.figures_by_hand(1, (270, 220, 455, 320), 35) == read
    # a page that starts no document keeps nothing
    other = PageValues(engine=None)  # type: ignore[arg-type]
    other.keep_page(
        clean, OcrPage(2, (Line((Word("Nội", (200, 250, 265, 300), 0.95),)),), 1000, 1200, 300.0), "van_ban"
    )
    assert not other.headers.png and not other.forms.png
