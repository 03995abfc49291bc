"""Doubted words read again by a second recogniser, on the page itself.

A word carries a doubt where the recogniser nearly read it with other marks ("tuyến" /
"tuyển"), or where the line's context would make a word of a syllable one mark away and the
confident reading makes none ("kỳ thi tuyến sinh": `context.py`). Each reading is itself a
Vietnamese syllable, so no spelling check settles it, and a value holding it goes to review.
Tesseract's script model `Vietnamese` (Debian `tesseract-ocr-script-viet`) is trained on
other text than `vie`. Where the other syllable makes a word with a neighbour (the context
is for it) and the script model reads the word's crop as that syllable, the word becomes it
(the context and a second recogniser against one), its first reading kept as the unlikely
other. Measured on the OCR of `ood_pages` seeds 1 and 2 and the generator's held-out seed
4949: 6 words changed so, all right ("Bênh viện" -> Bệnh, "kiếm lâm" -> kiểm, "Viêt Nam" ->
Việt). Not done, because measured worse: on the second recogniser alone (37 changes, 8 wrong:
it reads the generator's "Sổ hộ tịch" as "Số" as `vie` nearly did, and one went out
auto-accepted), or settling a doubt where it reads the word as it stands (the two models share
slips on marks: both read "kỳ thi tuyến sinh" where the print says "tuyển", auto-accepted).
Only letters and their marks are compared; the case and the punctuation are the page's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..types import Line, OcrPage, Word
from .base import OcrEngine
from .context import makes_a_word

DOUBT = 0.5  # an other reading at least this likely is a doubt (extract.labels.NEAR_READING)
SETTLED = 0.1  # the first reading's likelihood, kept as the other, once two have ruled it out
CHANGED = 0.9  # confidence kept by a word changed to its other reading
MODEL = "Vietnamese"


def settle_doubts(page: OcrPage, image: np.ndarray, scale: float, engine: OcrEngine) -> OcrPage:
    """The page with each doubted word read again from `image` (the OCR input, `scale` of
    the page's display pixels), changed where the second reading is its other syllable."""
    lines = []
    changed = False
    for line in page.lines:
        words = []
        for i, word in enumerate(line.words):
            if (
                word.alternative
                and word.alternative_confidence >= DOUBT
                and makes_a_word(line.words, i, word.alternative)
            ):
                settled = _settle(word, image, scale, engine)
                changed = changed or settled is not word
                word = settled
            words.append(word)
        lines.append(Line(words=tuple(words)))
    return replace(page, lines=tuple(lines)) if changed else page


def _settle(word: Word, image: np.ndarray, scale: float, engine: OcrEngine) -> Word:
    x0, y0, x1, y1 = word.box
    pad = int(0.15 * (y1 - y0)) + 2
    crop = image[
        max(0, int((y0 - pad) * scale)) : int((y1 + pad) * scale),
        max(0, int((x0 - 1) * scale)) : int((x1 + 1) * scale),
    ]
    if crop.size == 0:
        return word
    reading = engine.read_value(crop, "", MODEL)
    if not reading:
        return word
    second = _letters(reading)
    if second == _letters(word.alternative):
        # the second recogniser reads what the first nearly read: that reading, and the
        # first one kept as the unlikely other
        return replace(
            word,
            text=word.alternative,
            confidence=word.confidence * CHANGED,
            alternative=word.text,
            alternative_confidence=SETTLED,
        )
    return word


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalpha())
