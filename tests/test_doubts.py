"""Doubted words read again by a second recogniser (`digitize.ocr.doubts`): the other reading
taken where the second recogniser reads it, nothing else changed."""

from __future__ import annotations

import numpy as np

from digitize.extract.labels import word_confidence
from digitize.ocr.doubts import settle_doubts
from digitize.types import Line, OcrPage, Word


class Reads:
    """An engine whose second recogniser reads every crop as `reading`."""

    def __init__(self, reading: str | None) -> None:
        self.reading = reading
        self.asked = 0

    def read_value(self, image, charset, model):
        self.asked += 1
        return self.reading


def _page(*words: Word) -> OcrPage:
    return OcrPage(1, (Line(words),), 600, 100, 300.0)


IMAGE = np.full((100, 600), 255, np.uint8)
DOUBTED = Word("tuyến", (60, 10, 120, 40), 0.96, alternative="tuyển", alternative_confidence=0.5)


def test_the_other_reading_is_taken_where_the_second_recogniser_reads_it():
    page = _page(Word("thi", (10, 10, 50, 40), 0.97), DOUBTED, Word("sinh,", (130, 10, 190, 40), 0.97))
    engine = Reads("tuyển,")
    out = settle_doubts(page, IMAGE, 1.0, engine).lines[0].words
    assert [w.text for w in out] == ["thi", "tuyển", "sinh,"] and engine.asked == 1
    assert out[1].alternative == "tuyến" and word_confidence(out[1]) > 0.8


def test_a_second_reading_that_agrees_with_the_first_or_with_neither_leaves_the_doubt():
    page = _page(DOUBTED)
    for reading in ("tuyến", "tuyền", "", None):
        out = settle_doubts(page, IMAGE, 1.0, Reads(reading))
        assert out is page and word_confidence(out.lines[0].words[0]) <= 0.5


def test_words_without_a_doubt_are_not_read_again():
    engine = Reads("x")
    page = _page(Word("thi", (10, 10, 50, 40), 0.97), Word("tuyến", (60, 10, 120, 40), 0.96, "tuyển", 0.1))
    assert settle_doubts(page, IMAGE, 1.0, engine) is page and engine.asked == 0


def test_the_other_reading_is_taken_only_where_the_context_is_for_it():
    """Against the page's reading, the second recogniser needs the line's context on its side:
    alone it shares `vie`'s slips on some marks ("Sổ hộ tịch" read "Số")."""
    page = _page(Word("xem", (10, 10, 50, 40), 0.97), DOUBTED, Word("buổi", (130, 10, 190, 40), 0.97))
    engine = Reads("tuyển")
    assert settle_doubts(page, IMAGE, 1.0, engine) is page and engine.asked == 0
