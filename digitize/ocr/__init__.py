"""OCR engines behind one interface (`base.OcrEngine`)."""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError
from .base import OcrEngine


def make_ocr_engine(settings: Settings) -> OcrEngine:
    if settings.ocr_engine == "tesseract":
        from .tesseract import TesseractEngine

        return TesseractEngine(tessdata=settings.tessdata)
    raise ConfigError(f"unknown OCR engine {settings.ocr_engine!r}")
