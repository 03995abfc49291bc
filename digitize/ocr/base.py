"""OCR engine interface: a CleanPage in, an OcrPage (lines of words with boxes
in display pixels and confidences, NFC text, reading order) out."""

from __future__ import annotations

from typing import Protocol

from ..types import CleanPage, OcrPage


class OcrEngine(Protocol):
    name: str

    def recognize(self, page: CleanPage) -> OcrPage: ...
