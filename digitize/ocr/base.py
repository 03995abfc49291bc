"""OCR engine interface: a CleanPage in, an OcrPage (lines of words with boxes
in display pixels and confidences, NFC text, reading order) out."""

from __future__ import annotations

from typing import Iterable, Protocol

import numpy as np

from ..types import CleanPage, OcrPage


class OcrEngine(Protocol):
    name: str

    def recognize(self, page: CleanPage) -> OcrPage: ...

    def orientation(self, image: np.ndarray) -> tuple[int, float] | None:
        """(clockwise degrees to turn the image upright, confidence), or None when the engine
        cannot tell; the pipeline asks only where the geometric check could not decide."""
        ...

    def read_value(self, image: np.ndarray, charset: str, model: str) -> str | None:
        """A crop (OCR pixels) holding one value, read again as one line by recogniser
        `model` ("vie"; "eng" or "Vietnamese", which err on other glyphs) restricted to
        `charset` ("": any); None where that recogniser is not installed."""
        ...

    def preload(self, readers: Iterable[tuple[str, str]] = ()) -> None:
        """Load the recognisers a page will need (its lines' and the value readers
        `readers`: (model, charset) pairs of `read_value`) now, on a thread of their own,
        rather than inside the first page; returns at once."""
        ...
