"""Tesseract 5 (`vie`) in-process through tesserocr.

One API object per process (Tesseract's are not thread-safe and cost ~100 ms to
create). Words come back with boxes mapped to display pixels, confidences 0..1,
NFC text; lines are re-assembled into visual rows for reading order."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import EngineError
from ..text import fold, nfc
from ..types import CleanPage, OcrPage, Word
from .layout import assemble_rows, find_tables

PSM_SINGLE_BLOCK = 6  # a table cell: one block of text, maybe wrapped

# Tesseract's LSTM runs OpenMP threads of its own (Debian builds it so). Pages already run one
# per core in the process pools, where those threads only contend for the cores: 44 -> 57
# pages/min end to end on 2 cores (benchmarks/bench_throughput.py), and no faster for one page
# alone. OCRmyPDF sets the same. libgomp reads it when tesserocr is first imported (only
# inside functions here), so it is set at this module's import; a value already set is kept.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

_lock = threading.Lock()

# Remnants of dotted leaders and rules that survive cleanup come back as runs of
# dots/underscores or as lone dashes and "¬": they are not text on the paper.
_LEADER_RUN = re.compile(r"[.…·_]{3,}|[¬]")
_NOT_TEXT = re.compile(r"[\s.…·_—–\-¬,:;'\"`~^]*")


# Vietnamese has no eth: the model's "Ð" is "Đ" ("QĐÐ-UBND"). Among digits it is a 0, left for
# the field checks to read so.
_ETH = str.maketrans("Ðð", "Đđ")


def clean_word(text: str) -> str:
    stripped = _LEADER_RUN.sub("", text)
    if _NOT_TEXT.fullmatch(stripped) and (stripped != text or len(stripped) > 1 or stripped in "—_¬~^`.·"):
        return ""
    return stripped if any(c.isdigit() for c in stripped) else stripped.translate(_ETH)


def release_held(*locks: threading.Lock) -> None:
    """In a forked child: free the locks a loading thread (`load_in_background`) held at the
    fork. The child has no such thread, and nothing here forks while holding one itself."""
    for lock in locks:
        if lock.locked():
            lock.release()


os.register_at_fork(after_in_child=lambda: release_held(_lock))


def load_in_background(*loads: tuple[Callable[[], object], threading.Lock]) -> None:
    """Run each (load, lock) pair, the load under its lock, on a daemon thread.

    Tesseract reads its models with the GIL released, so a start-up's imports and key
    loading go on beside it on another core; a page that needs a recogniser before it is
    loaded waits on the same lock (a one-page CLI run: 3 to 6 recognisers, ~0.06 s each).
    An error here is left for the first use, which raises it where it is reported."""

    def run() -> None:
        for load, lock in loads:
            try:
                with lock:
                    load()
            except Exception:  # noqa: BLE001 - raised again, and reported, at first use
                return

    threading.Thread(target=run, name="digitize-load-recognisers", daemon=True).start()


@lru_cache(maxsize=4)
def _api(tessdata: str, lang: str, psm: int):
    """The process's shared Tesseract instance for (model, segmentation mode); use it under `_lock`."""
    return _new_api(tessdata, lang, psm)


def _new_api(tessdata: str, lang: str, psm: int):
    try:
        import tesserocr
    except ImportError as exc:  # pragma: no cover - install problem
        raise EngineError(f"tesserocr is not installed: {exc}") from None
    try:
        api = tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang=lang, psm=psm, oem=tesserocr.OEM.LSTM_ONLY)
        # keep the LSTM's other readings of each letter: a near one with other marks is the
        # doubt that a confident wrong tone mark leaves (see `near_alternative`)
        api.SetVariable("lstm_choice_mode", "2")
    except RuntimeError as exc:
        raise EngineError(f"cannot start Tesseract with language {lang!r} in {tessdata}: {exc}") from None
    return api


# An alternative letter at least this likely (Tesseract's choice confidence, percent) makes
# the word doubtful: "ỗ" 88.8 beside "ổ" 20.8 in a "buỗi" that was "buổi".
NEAR_ALTERNATIVE = 10.0


_MARKABLE = frozenset("aeiouyd")


def read_words(
    api, line_offset: int = 0
) -> Iterator[tuple[str, tuple[int, int, int, int], float, int, tuple[str, float]]]:
    """(text, box, confidence 0..1, line number, (near alternative, its confidence 0..1)) of each word Tesseract found
    in its last recognition, in its order. Walks the letters to see their other readings:
    the near alternative is the word with one letter's marks changed to a reading the LSTM
    gave at least `NEAR_ALTERNATIVE` percent ("" when there is none)."""
    from tesserocr import RIL, iterate_level

    line_no = line_offset - 1
    current: list | None = None  # [text, box, confidence, line, letters, alternatives]
    iterator = api.GetIterator()
    if iterator is None:
        return
    for r in iterate_level(iterator, RIL.SYMBOL):
        try:
            if r.IsAtBeginningOf(RIL.TEXTLINE):
                line_no += 1
            if r.IsAtBeginningOf(RIL.WORD):
                if current is not None:
                    yield _finish(current)
                text = (r.GetUTF8Text(RIL.WORD) or "").strip()
                box = r.BoundingBox(RIL.WORD)
                current = [text, box, r.Confidence(RIL.WORD) / 100.0, line_no, [], []]
            if current is None:
                continue
            symbol = r.GetUTF8Text(RIL.SYMBOL) or ""
            current[4].append(symbol)
            position = len(current[4]) - 1
            if fold(symbol) not in _MARKABLE:
                continue  # only vowels and d carry marks: nothing to doubt elsewhere
            for choice in r.GetChoiceIterator():
                alt = choice.GetUTF8Text() or ""
                if (
                    alt != symbol
                    and choice.Confidence() >= NEAR_ALTERNATIVE
                    and alt
                    and symbol
                    and fold(alt) == fold(symbol)
                    and alt.lower() != symbol.lower()
                ):
                    current[5].append((choice.Confidence() / 100.0, position, alt))
        except RuntimeError:  # an empty result: nothing at this position
            continue
    if current is not None:
        yield _finish(current)


def _finish(word: list) -> tuple[str, tuple[int, int, int, int], float, int, tuple[str, float]]:
    text, box, confidence, line_no, letters, alternatives = word
    alternative = ("", 0.0)
    if alternatives and "".join(letters) == text:
        likely, position, alt = max(alternatives)
        alternative = (nfc("".join(letters[:position] + [alt] + letters[position + 1 :])), likely)
    return text, box, max(0.0, min(1.0, confidence)), line_no, alternative


class TesseractEngine:
    name = "tesseract-vie"

    def __init__(self, tessdata: str = "/usr/share/tesseract-ocr/5/tessdata", lang: str = "vie", psm: int = 3):
        self.tessdata = tessdata
        self.lang = lang
        self.psm = psm

    def preload(self, readers: Iterable[tuple[str, str]] = ()) -> None:
        load_in_background((partial(_api, self.tessdata, self.lang, self.psm), _lock), *self.value_loads(readers))

    def value_loads(self, readers: Iterable[tuple[str, str]]) -> list[tuple[Callable[[], object], threading.Lock]]:
        """(load, lock) of each installed value reader of `readers` (`load_in_background`)."""
        return [
            (partial(_value_api, self.tessdata, model, charset), _lock)
            for model, charset in readers
            if (Path(self.tessdata) / f"{model}.traineddata").is_file()
        ]

    def recognize(self, page: CleanPage) -> OcrPage:
        words = self.words(page.ocr_input, page.ocr_scale)
        if page.rules:
            words += self.reread_empty_cells(page, words)
        lines = assemble_rows(words, page.rules)
        return OcrPage(
            number=page.number,
            lines=tuple(lines),
            width=page.display.shape[1],
            height=page.display.shape[0],
            dpi=page.dpi,
            rotation=page.rotation,
            skew=page.skew,
            engine=self.name,
            rules=tuple(page.rules),
        )

    def reread_empty_cells(self, page: CleanPage, words: list[tuple[Word, int]]) -> list[tuple[Word, int]]:
        """Words from ruled-table cells that page-level recognition left empty.

        Tesseract's page layout drops short isolated cell values ("Nam", "Nữ", "Kinh")
        between rulings; read each empty cell that holds ink again as one line."""
        found: list[tuple[Word, int]] = []
        centres = [((w.box[0] + w.box[2]) / 2, (w.box[1] + w.box[3]) / 2) for w, _ in words]
        scale = page.ocr_scale
        next_line = max((n for _, n in words), default=0) + 1
        for table in find_tables(page.rules):
            rows = [table.box[1], *table.row_edges, table.box[3]]
            cols = [table.box[0], *table.col_edges, table.box[2]]
            for y0, y1 in zip(rows[:-1], rows[1:]):
                if y1 - y0 < 10:
                    continue
                for x0, x1 in zip(cols[:-1], cols[1:]):
                    if x1 - x0 < 10 or any(x0 <= cx <= x1 and y0 <= cy <= y1 for cx, cy in centres):
                        continue
                    pad = 3
                    crop = page.ocr_input[
                        int((y0 + pad) * scale) : int((y1 - pad) * scale),
                        int((x0 + pad) * scale) : int((x1 - pad) * scale),
                    ]
                    if crop.size == 0 or (crop < 128).mean() < 0.01:
                        continue  # a blank cell
                    for word, _ in self.words(crop, scale, psm=PSM_SINGLE_BLOCK, border=10):
                        bx0, by0, bx1, by1 = word.box
                        shifted = Word(
                            text=word.text,
                            confidence=word.confidence,
                            box=(bx0 + x0 + pad, by0 + y0 + pad, bx1 + x0 + pad, by1 + y0 + pad),
                        )
                        found.append((shifted, next_line))
                    next_line += 1
        return found

    def words(
        self, image: np.ndarray, scale: float = 1.0, psm: int | None = None, border: int = 0
    ) -> list[tuple[Word, int]]:
        """(word, tesseract line number) in Tesseract's order; boxes divided by `scale`.
        `border` white pixels are added around the image (Tesseract reads text that
        touches the edge badly) and taken off the boxes again."""
        import tesserocr

        if border:
            image = np.pad(image, border, constant_values=255)
        out: list[tuple[Word, int]] = []
        with _lock:
            api = _api(self.tessdata, self.lang, self.psm if psm is None else psm)
            api.SetImage(Image.fromarray(image))
            api.SetSourceResolution(300)
            if not api.Recognize():
                raise EngineError("Tesseract failed to recognise the page")
            for raw, box, confidence, line_no, alternative in read_words(api):
                text = clean_word(nfc(raw))
                if not text or box is None:
                    continue
                x0, y0, x1, y1 = (int(round((v - border) / scale)) for v in box)
                alt, likely = alternative if text == nfc(raw) else ("", 0.0)
                out.append(
                    (
                        Word(
                            text=text,
                            box=(x0, y0, x1, y1),
                            confidence=confidence,
                            alternative=alt,
                            alternative_confidence=likely,
                        ),
                        line_no,
                    )
                )
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

    def read_value(self, image: np.ndarray, charset: str, model: str) -> str | None:
        """A crop holding one value, read as one line by recogniser `model` ("vie"; "eng",
        "Vietnamese": trained on other text, they err on other glyphs) restricted to
        `charset` ("": any letter). Figures come out without spaces, words with single
        spaces. None where the recogniser is not installed (`extract/rereading.py`)."""
        if not (Path(self.tessdata) / f"{model}.traineddata").is_file():
            return None
        image = np.pad(image, 12, constant_values=255)  # text touching the edge reads badly
        with _lock:
            api = _value_api(self.tessdata, model, charset)
            api.SetImage(Image.fromarray(image))
            api.SetSourceResolution(300)
            reading = nfc(api.GetUTF8Text() or "")
            api.Clear()
        return re.sub(r"\s+", "" if charset else " ", reading).strip()


@lru_cache(maxsize=8)
def _value_api(tessdata: str, lang: str, charset: str):
    import tesserocr

    try:
        api = tesserocr.PyTessBaseAPI(
            path=tessdata.rstrip("/") + "/", lang=lang, psm=tesserocr.PSM.SINGLE_LINE, oem=tesserocr.OEM.LSTM_ONLY
        )
    except RuntimeError as exc:
        raise EngineError(f"cannot start Tesseract with language {lang!r} in {tessdata}: {exc}") from None
    if charset:
        api.SetVariable("tessedit_char_whitelist", charset)
    return api
