"""OCR engines behind one interface (`base.OcrEngine`)."""

from __future__ import annotations

from ..config import Settings
from ..errors import ConfigError, EngineError
from .base import OcrEngine


def make_ocr_engine(settings: Settings) -> OcrEngine:
    if settings.ocr_engine == "auto":
        # PP-OCR detection + Tesseract per line reads better where it is installed
        # (benchmarks/bench_engines.py: held-out CER 1.51 % vs 2.31 %); the lean
        # default install has only Tesseract.
        try:
            return _paddle_det(settings)
        except EngineError:
            from .tesseract import TesseractEngine

            return TesseractEngine(tessdata=settings.tessdata)
    if settings.ocr_engine == "tesseract":
        from .tesseract import TesseractEngine

        return TesseractEngine(tessdata=settings.tessdata)
    if settings.ocr_engine == "paddle-det":
        # PP-OCR line detection (local ONNX model from the `ppocr` extra) + Tesseract per line.
        try:
            return _paddle_det(settings)
        except EngineError as exc:
            raise ConfigError(f"DIGITIZE_OCR_ENGINE=paddle-det: {exc}") from None
    raise ConfigError(f"unknown OCR engine {settings.ocr_engine!r}")


def _paddle_det(settings: Settings) -> OcrEngine:
    from .ppocr import PaddleDetEngine

    return PaddleDetEngine(
        tessdata=settings.tessdata,
        line_threads=max(1, settings.ocr_line_threads),
        line_reader=settings.line_reader,
    )
