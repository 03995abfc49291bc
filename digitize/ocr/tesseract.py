"""Tesseract 5 (`vie`) in-process through tesserocr.

One API object per process (Tesseract's are not thread-safe and cost ~100 ms to
create). Words come back with boxes mapped to display pixels, confidences 0..1,
NFC text; lines are re-assembled into visual rows for reading order."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import numpy as np
from PIL import Image

from ..errors import EngineError
from ..text import nfc
from ..types import CleanPage, Line, OcrPage, Word
from .layout import assemble_rows

_lock = threading.Lock()

# Remnants of dotted leaders and rules that survive cleanup come back as runs of
# dots/underscores or as lone dashes and "¬": they are not text on the paper.
_LEADER_RUN = re.compile(r"[.…·_]{3,}|[¬]")
_NOT_TEXT = re.compile(r"[\s.…·_—–\-¬,:;'\"`~^]*")


def clean_word(text: str) -> str:
    stripped = _LEADER_RUN.sub("", text)
    if _NOT_TEXT.fullmatch(stripped) and (stripped != text or len(stripped) > 1 or stripped in "—_¬~^`.·"):
        return ""
    return stripped


@lru_cache(maxsize=4)
def _api(tessdata: str, lang: str, psm: int):
    try:
        import tesserocr
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineError(f"tesserocr is not installed: {exc}") from None
    try:
        api = tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang=lang, psm=psm,
                                      oem=tesserocr.OEM.LSTM_ONLY)
    except RuntimeError as exc:
        raise EngineError(f"cannot start Tesseract with language {lang!r} in {tessdata}: {exc}") from None
    return api


class TesseractEngine:
    name = "tesseract-vie"

    def __init__(self, tessdata: str = "/usr/share/tesseract-ocr/5/tessdata", lang: str = "vie", psm: int = 3):
        self.tessdata = tessdata
        self.lang = lang
        self.psm = psm

    def recognize(self, page: CleanPage) -> OcrPage:
        words = self.words(page.ocr_input, page.ocr_scale)
        lines = assemble_rows(words, page.rules)
        return OcrPage(number=page.number, lines=tuple(lines), width=page.display.shape[1],
                       height=page.display.shape[0], dpi=page.dpi, rotation=page.rotation, skew=page.skew,
                       engine=self.name)

    def words(self, image: np.ndarray, scale: float = 1.0) -> list[tuple[Word, int]]:
        """(word, tesseract line number) in Tesseract's order; boxes divided by `scale`."""
        import tesserocr
        from tesserocr import RIL, iterate_level

        out: list[tuple[Word, int]] = []
        with _lock:
            api = _api(self.tessdata, self.lang, self.psm)
            api.SetImage(Image.fromarray(image))
            api.SetSourceResolution(300)
            if not api.Recognize():
                raise EngineError("Tesseract failed to recognise the page")
            iterator = api.GetIterator()
            line_no = -1
            for r in iterate_level(iterator, RIL.WORD):
                if r.IsAtBeginningOf(RIL.TEXTLINE):
                    line_no += 1
                text = clean_word(nfc((r.GetUTF8Text(RIL.WORD) or "").strip()))
                if not text:
                    continue
                box = r.BoundingBox(RIL.WORD)
                if box is None:
                    continue
                x0, y0, x1, y1 = (int(round(v / scale)) for v in box)
                out.append((Word(text=text, box=(x0, y0, x1, y1),
                                 confidence=max(0.0, min(1.0, r.Confidence(RIL.WORD) / 100.0))), line_no))
            api.Clear()
        del tesserocr
        return out

    def orientation(self, image: np.ndarray) -> tuple[int, float] | None:
        """(clockwise degrees to turn the image upright, confidence) from Tesseract OSD."""
        from tesserocr import PSM

        with _lock:
            api = _api(self.tessdata, "osd", int(PSM.OSD_ONLY))
            api.SetImage(Image.fromarray(image))
            try:
                result = api.DetectOrientationScript()
            except RuntimeError:
                result = None
            api.Clear()
        if not result:
            return None
        return int(result["orient_deg"]) % 360, float(result.get("orient_conf", 0.0))
