"""PP-OCR text-line detection + Tesseract `vie` line recognition.

The PaddleOCR DB detector (the ONNX export that the `rapidocr` wheel ships
inside the package) finds text lines; PP-OCR's recognisers cannot read
Vietnamese, so each detected line is read by Tesseract in single-line mode
(PSM 7) on the cleaned OCR input. Nothing is downloaded: the model is a local
file, loaded straight into onnxruntime, and the DB post-processing
(probability map -> contours -> unclipped boxes) is done here with OpenCV.

Three layers, as in tesseract.py: the ONNX session (`_session`), the detector
(`detect_lines`, pure functions over arrays) and the engine adapter
(`PaddleDetEngine.recognize`)."""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from PIL import Image

from ..errors import EngineError
from ..text import fold, nfc
from ..types import Box, CleanPage, OcrPage, Word
from .layout import assemble_rows
from .line_reader import LineReading
from .tesseract import TesseractEngine, _api, _lock, _new_api, clean_word, load_in_background, read_words, release_held

INSTALL_HINT = "install the optional extra: pip install 'digitize[ppocr]'"

# DB post-processing, PaddleOCR's defaults for the det models rapidocr ships.
THRESH = 0.3  # pixel is text if probability > THRESH
BOX_THRESH = 0.5  # keep a region if its mean probability > BOX_THRESH
UNCLIP_RATIO = 1.6  # DB shrinks text regions when training; grow them back by area*ratio/perimeter
MIN_SIZE = 3  # shorter side, detector pixels
MAX_CANDIDATES = 2000
MEAN, STD = 0.5, 0.5  # (x/255 - 0.5) / 0.5 on every channel
FALLBACK_MIN_CONFIDENCE = 0.7  # PSM 6 words on a box PSM 7 found empty: below this they are stamp/signature noise
PIECE_GAP = 0.5  # a line Tesseract gives up on is read in parts parted by half its height
LINE_MARGIN = 0.3  # white margin around each cut-out line, as a fraction of its height
BASELINE_STEP = 0.3  # a line's parts whose baselines differ by this much of a letter's height are read apart
# ... and by this many pixels of the OCR input (about 300 dpi): on small print a letter a few
# pixels off its neighbours is the scan's noise (a phone photo's letters 12-17 pixels high)
MIN_BASELINE_STEP = 6
_EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")  # of a folded word
_ABBREVIATION = re.compile(r"[A-ZĐ]+")  # "UBND", "HĐND", "VT": capitals without marks ("DUƠNG" is none)
# A line the trained reader reads with every letter at least this likely is kept as it read it
# (at 0.8 a typed "MINH" read "NINH" at 0.81 was kept);
# any other is read by Tesseract as before (the reader: ~5 ms a line, Tesseract 15-23 ms).
READER_TRUST = 0.95
# ... and no letter's other marks at least this likely: the reader's confident slips are marks
# in faces it was not trained on ("Đổng" with "ồ" at 0.14, "Hiển" with "ề" at 0.02-0.09, on
# the generator's pages before its faces were trained on) and the case of letters of one
# shape ("Xã" for "xã" in a registry's cells), which Tesseract reads right
READER_MARK_DOUBT = 0.01


def default_model() -> Path:
    """The det .onnx inside the installed `rapidocr` package (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            f"PP-OCR detector: package 'rapidocr' (which ships the model) is not installed; {INSTALL_HINT}"
        )
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    found = sorted(models.glob("*det*.onnx"))
    if not found:
        raise EngineError(f"PP-OCR detector: no *det*.onnx model in {models}; {INSTALL_HINT}")
    return found[-1]


@lru_cache(maxsize=2)
def _session(model: str, threads: int):
    try:
        import onnxruntime as ort
    except ImportError:
        raise EngineError(f"PP-OCR detector: onnxruntime is not installed; {INSTALL_HINT}") from None
    if not Path(model).is_file():
        raise EngineError(f"PP-OCR detector: model file not found: {model}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise EngineError(f"PP-OCR detector: cannot load {model}: {exc}") from None


# ---------------------------------------------------------------- detection


def _prepare(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float, float]:
    """BGR/grey image -> NCHW float tensor with sides multiples of 32, and the x/y factors back."""
    h, w = image.shape[:2]
    ratio = min(1.0, max_side / max(h, w))
    rh, rw = max(32, int(round(h * ratio / 32)) * 32), max(32, int(round(w * ratio / 32)) * 32)
    resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR)
    if resized.ndim == 2:  # grey made colour after the resize: the same pixels, a third of the work
        resized = cv2.cvtColor(resized, cv2.COLOR_GRAY2BGR)
    tensor = (resized.astype(np.float32) / 255.0 - MEAN) / STD
    return tensor.transpose(2, 0, 1)[None], w / rw, h / rh


def boxes_from_probability(prob: np.ndarray, fx: float = 1.0, fy: float = 1.0) -> list[tuple[Box, float]]:
    """DB post-processing for upright pages: (axis-aligned box in source pixels, score)."""
    mask = cv2.dilate((prob > THRESH).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    h, w = prob.shape
    out: list[tuple[Box, float]] = []
    for contour in contours[:MAX_CANDIDATES]:
        x, y, bw, bh = cv2.boundingRect(contour)
        if min(bw, bh) < MIN_SIZE:
            continue
        region = np.zeros((bh, bw), np.uint8)
        cv2.fillPoly(region, [contour - (x, y)], 1)
        score = float(cv2.mean(prob[y : y + bh, x : x + bw], region)[0])
        if score < BOX_THRESH:
            continue
        # Unclip: DB's training shrinks each polygon by area*(1-r^2)/perimeter; grow it back.
        area, perimeter = cv2.contourArea(contour), cv2.arcLength(contour, True)
        d = area * UNCLIP_RATIO / perimeter if perimeter else 0.0
        x0, y0, x1, y1 = max(0.0, x - d), max(0.0, y - d), min(w, x + bw + d), min(h, y + bh + d)
        if min(x1 - x0, y1 - y0) < MIN_SIZE + 2:
            continue
        out.append(((int(round(x0 * fx)), int(round(y0 * fy)), int(round(x1 * fx)), int(round(y1 * fy))), score))
    return out


def detect_lines(
    image: np.ndarray, model: str | Path, max_side: int = 960, threads: int = 1
) -> list[tuple[Box, float]]:
    """Text-line boxes (pixels of `image`), top to bottom then left to right."""
    session = _session(str(model), threads)
    tensor, fx, fy = _prepare(image, max_side)
    prob = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]  # run() is thread-safe
    boxes = boxes_from_probability(prob, fx, fy)
    boxes.sort(key=lambda b: ((b[0][1] + b[0][3]) / 2, b[0][0]))
    return boxes


def _pieces(black_white: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of a line crop (black ink on white) parted by gaps wider than half the
    ink's height; specks (a leader's dots) do not bridge a gap. One piece: []."""
    ink = (black_white < 128).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    rows = np.flatnonzero(ink.any(axis=1))
    if not rows.size:
        return []
    height = rows[-1] - rows[0] + 1
    speck = 0.15 * height
    solid = [i for i in range(1, n) if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) > speck]
    if not solid:
        return []
    columns = np.isin(labels, solid).any(axis=0)
    xs = np.flatnonzero(columns)
    gap = PIECE_GAP * height
    cuts = np.flatnonzero(np.diff(xs) > gap)
    if not cuts.size:
        return []
    # Cut halfway across each gap, so a colon or a stop stays with its word.
    middles = [int(xs[c] + xs[c + 1]) // 2 for c in cuts]
    return list(zip([0, *middles], [*middles, ink.shape[1]]))


def _baseline_pieces(black_white: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges of a line crop (black ink on white) whose letters stand on different
    baselines: a printed label and a value typed a third of a line below or above it (a
    form run through a typewriter out of register). One baseline: [].

    Why: Tesseract fits one baseline to a line; where a value drops below its label the
    letters around the step are misread ("tên:HỒ" as "tÊm ,a") and the value's figures
    with them. Each part read on its own reads as well as a level line.

    A part's baseline is the highest bottom among three neighbouring letters (a descender,
    a comma or a bracket only reaches lower), so "Nguyễn" is one baseline and a step is
    where the next three letters' baseline lies lower or higher than the last three's."""
    ink = (black_white < 128).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n < 6:
        return []
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    # letters, not accents, dots or specks
    solid = 1 + np.flatnonzero(heights >= 0.5 * np.percentile(heights, 90))
    if solid.size < 5:
        return []
    solid = solid[np.argsort(stats[solid, cv2.CC_STAT_LEFT], kind="stable")]
    left = stats[solid, cv2.CC_STAT_LEFT]
    right = left + stats[solid, cv2.CC_STAT_WIDTH]
    # a piece of a letter mostly within another's columns (a thin scan's broken "g" or "N")
    # is no letter
    tall = stats[solid, cv2.CC_STAT_HEIGHT]
    overlap = np.minimum(right[:, None], right[None, :]) - np.maximum(left[:, None], left[None, :])
    inside = ((tall[None, :] > tall[:, None]) & (overlap >= 0.5 * (right - left)[:, None])).any(axis=1)
    solid = solid[~inside]
    if solid.size < 5:
        return []
    left = stats[solid, cv2.CC_STAT_LEFT]
    right = left + stats[solid, cv2.CC_STAT_WIDTH]
    bottom = stats[solid, cv2.CC_STAT_TOP] + stats[solid, cv2.CC_STAT_HEIGHT]
    step = max(BASELINE_STEP * float(np.median(stats[solid, cv2.CC_STAT_HEIGHT])), MIN_BASELINE_STEP)
    count = solid.size
    # the baseline change between the (up to) three letters before boundary k and from it
    change = np.array(
        [0.0] + [float(bottom[k : k + 3].min() - bottom[max(0, k - 3) : k].min()) for k in range(1, count)]
    )
    cuts: list[int] = []
    k = 2
    # A step is seen where two letters or more stand before it and three after: two at a
    # line's end may both hang below it ("đăng ký", the k and ý touching).
    while k <= count - 3:
        if abs(change[k]) < step:
            k += 1
            continue
        # It shows at up to three boundaries in a row (windows across it), and lies at the
        # one where two neighbouring letters' bottoms jump its way and the space between
        # them is widest (a label's colon and space): a descender beside the step ("đăng
        # ký:") jumps as far, with a letter's space only.
        sign = np.sign(change[k])
        first, last = k, k
        while first - 1 >= 1 and abs(change[first - 1]) >= step and np.sign(change[first - 1]) == sign:
            first -= 1
        while last + 1 < count and abs(change[last + 1]) >= step and np.sign(change[last + 1]) == sign:
            last += 1
        cuts.append(
            max(
                range(first, last + 1),
                key=lambda c: sign * float(bottom[c] - bottom[c - 1]) + float(left[c] - right[c - 1]),
            )
        )
        k = last + 1
    cuts = sorted(set(cuts))
    # A piece after a step holds three letters or more: two short ones off the baseline are a
    # letter broken by a thin scan (the "g" of "người" in two, read "5"). A line's first piece
    # may be a label of two ("Số:"), or what the box took of the line above (wholly above the
    # next piece's letters), which is best read apart.
    top = stats[solid, cv2.CC_STAT_TOP]
    kept: list[int] = []
    blip = False  # the cut before ended a piece too short: this one returns from it
    for i, c in enumerate(cuts):
        before = c - (kept[-1] if kept else 0)
        after = (cuts[i + 1] if i + 1 < len(cuts) else count) - c
        stray = not kept and before == 1 and bottom[0] <= np.median(top[c : c + after])
        if not blip and (before >= (3 if kept else 2) or stray) and after >= 3:
            kept.append(c)
        blip = after < 3 and not blip
    cuts = kept
    if not cuts:
        return []
    middles = [int(right[c - 1] + left[c]) // 2 for c in cuts]
    return list(zip([0, *middles], [*middles, ink.shape[1]]))


# ---------------------------------------------------------------- engine

MIN_LINES_PER_THREAD = 8
MAX_LINE_THREADS = 8
_slot_locks = [threading.Lock() for _ in range(MAX_LINE_THREADS)]
os.register_at_fork(after_in_child=lambda: release_held(*_slot_locks))


@lru_cache(maxsize=MAX_LINE_THREADS)
def _slot_api(tessdata: str, lang: str, psm: int, slot: int):
    """Tesseract instance number `slot` for reading a page's lines in parallel (its own,
    apart from the one the rest of the process shares under `_lock`)."""
    del slot  # part of the cache key only
    return _new_api(tessdata, lang, psm)


class PaddleDetEngine:
    """PP-OCR detection, Tesseract recognition line by line.

    `source` picks the image the detector sees: "ocr" (the binarised OCR input,
    leaders, rules and colour removed; measured better) or "display" (the colour
    page). `max_side` is the detector's input size (PaddleOCR's 960: 736 reads as
    well on A4 at 300 dpi and is 20% faster, 1280 no better). `threads` is
    onnxruntime's intra-op threads: 1, since pages run in parallel processes.
    `line_threads` reads a page's lines on that many Tesseract instances at once (the
    recognition releases the GIL): 1 where pages already run one per core, more where one
    page has the machine to itself (a single page from the command line)."""

    name = "ppocr-det+tesseract"

    def __init__(
        self,
        tessdata: str = "/usr/share/tesseract-ocr/5/tessdata",
        lang: str = "vie",
        model: str | Path | None = None,
        source: str = "ocr",
        max_side: int = 960,
        threads: int = 1,
        margin: float = LINE_MARGIN,
        fallback: bool = True,
        line_threads: int = 1,
        line_reader: bool = False,
    ):
        if source not in ("display", "ocr"):
            raise ValueError(f"source must be 'display' or 'ocr', not {source!r}")
        self.tessdata, self.lang, self.source, self.max_side, self.threads = tessdata, lang, source, max_side, threads
        self.margin, self.fallback, self.line_threads = margin, fallback, min(MAX_LINE_THREADS, max(1, line_threads))
        self.model = Path(model) if model else default_model()
        _session(str(self.model), threads)  # fail at start-up, not on the first page
        self._tesseract = TesseractEngine(tessdata=tessdata, lang=lang)
        # the trained reader where the model ships; a missing model is not an error, since
        # Tesseract reads every line without it
        self.reader = None
        if line_reader:
            from .line_reader import model_installed, shared_reader

            if model_installed():
                self.reader = shared_reader()

    def preload(self, readers: Iterable[tuple[str, str]] = ()) -> None:
        import tesserocr

        psm = int(tesserocr.PSM.SINGLE_LINE)
        if self.line_threads == 1:
            lines = [(partial(_api, self.tessdata, self.lang, psm), _lock)]
        else:
            lines = [
                (partial(_slot_api, self.tessdata, self.lang, psm, slot), _slot_locks[slot])
                for slot in range(self.line_threads)
            ]
        load_in_background(*lines, *self._tesseract.value_loads(readers))

    def recognize(self, page: CleanPage) -> OcrPage:
        scale = page.ocr_scale
        if self.source == "display":
            boxes = detect_lines(page.display, self.model, self.max_side, self.threads)
        else:
            boxes = [
                (tuple(int(round(v / scale)) for v in box), score)  # type: ignore[misc]
                for box, score in detect_lines(page.ocr_input, self.model, self.max_side, self.threads)
            ]
        words = self.read_lines(page.ocr_input, scale, [box for box, _ in boxes])
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

    def read_lines(self, image: np.ndarray, scale: float, boxes: list[Box]) -> list[tuple[Word, int]]:
        """Tesseract PSM 7 on each box (display pixels) of the OCR image; (word, line index).

        Each line is cut out exactly and set on white paper with a margin (reading
        more of the page around the box lets the neighbouring lines' accents and
        table cells in). A box PSM 7 reads as empty, usually because bits of the
        lines above and below are inside it, is read again as a block (PSM 6)."""
        import tesserocr

        psm = int(tesserocr.PSM.SINGLE_LINE)
        # a few lines are not worth a second instance's start
        slots = min(self.line_threads, max(1, len(boxes) // MIN_LINES_PER_THREAD))
        if slots == 1:
            with _lock:
                api = _api(self.tessdata, self.lang, psm)
                try:
                    return self._read_boxes(api, image, scale, boxes, range(len(boxes)))
                finally:
                    api.Clear()

        def read_share(slot: int) -> list[tuple[Word, int]]:
            # every slot-th line, so each instance gets long and short lines alike
            with _slot_locks[slot]:
                api = _slot_api(self.tessdata, self.lang, psm, slot)
                try:
                    return self._read_boxes(api, image, scale, boxes, range(slot, len(boxes), slots))
                finally:
                    api.Clear()

        with ThreadPoolExecutor(max_workers=slots) as pool:
            shares = list(pool.map(read_share, range(slots)))
        return sorted((w for share in shares for w in share), key=lambda wl: wl[1])

    def _read_boxes(
        self, api, image: np.ndarray, scale: float, boxes: list[Box], indices: Iterable[int]
    ) -> list[tuple[Word, int]]:
        height, width = image.shape[:2]
        out: list[tuple[Word, int]] = []
        for line_no in indices:
            x0, y0, x1, y1 = boxes[line_no]
            left, top = max(0, int(x0 * scale)), max(0, int(y0 * scale))
            right, bottom = min(width, int(np.ceil(x1 * scale))), min(height, int(np.ceil(y1 * scale)))
            if right - left < 4 or bottom - top < 4:
                continue
            m = max(4, int((bottom - top) * self.margin))
            crop = cv2.copyMakeBorder(image[top:bottom, left:right], m, m, m, m, cv2.BORDER_CONSTANT, value=255)
            for text, (bx0, by0, bx1, by1), conf, alternative in self._read_line(api, crop):
                bx0, bx1 = (min(right, max(left, v - m + left)) for v in (bx0, bx1))
                by0, by1 = (min(bottom, max(top, v - m + top)) for v in (by0, by1))
                if bx1 <= bx0 or by1 <= by0:
                    continue
                disp = cast(Box, tuple(int(round(v / scale)) for v in (bx0, by0, bx1, by1)))
                word = Word(
                    text=text,
                    box=disp,
                    confidence=conf,
                    alternative=alternative[0],
                    alternative_confidence=alternative[1],
                )
                out.append((word, line_no))
        return out

    def _read_line(self, api, crop: np.ndarray) -> list[tuple[str, Box, float, tuple[str, float]]]:
        """One detected line (with its margin): the trained reader's words where they are kept
        (`kept_reading`), else Tesseract's reading (`_tesseract_line`)."""
        if self.reader is not None:
            kept = kept_reading(self.reader.read(crop))
            if kept is not None:
                return kept
        return self._tesseract_line(api, crop)

    def _tesseract_line(self, api, crop: np.ndarray) -> list[tuple[str, Box, float, tuple[str, float]]]:
        """Tesseract's reading of a line crop: as a line, or part by part where its parts stand
        on different baselines (`_baseline_pieces`); where Tesseract gives up on it, read again
        the ways that measured to recover it."""
        import tesserocr

        # Otsu's threshold for the letters' shapes: on a grey second reading a fixed one breaks
        # faint strokes into pieces whose bottoms jump (a registry page's dates cut apart)
        _, letters = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        words = self._read_pieces(api, crop, _baseline_pieces(letters))
        if words:
            return words
        words = self._read(api, crop)
        if words:
            return words
        black_white = np.where(crop < 128, 0, 255).astype(np.uint8)
        if crop.min() < 128 < crop.max():
            # On a grey crop Tesseract can give up on a clean line (a leader's faint
            # remnants under it, seen on a typed-over form); the line in black and white
            # reads. Mid-grey, as Otsu's threshold on the crop keeps the remnants.
            words = self._read(api, black_white)
        if not words:
            # A label and a value typed off its baseline, in one box: Tesseract finds no line
            # through both ("Giới tính:" and "Nam" a third of a line lower), each part reads.
            for start, stop in _pieces(black_white):
                for text, (bx0, by0, bx1, by1), conf, alternative in self._read(api, black_white[:, start:stop]):
                    words.append((text, (bx0 + start, by0, bx1 + start, by1), conf, alternative))
        if not words and self.fallback:
            # PSM 7 gives up on a line with bits of its neighbours in the box; a block reads it.
            api.SetPageSegMode(tesserocr.PSM.SINGLE_BLOCK)
            words = [w for w in self._read(api, crop) if w[2] >= FALLBACK_MIN_CONFIDENCE]
            api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
        return words

    def _read_pieces(
        self, api, crop: np.ndarray, pieces: list[tuple[int, int]]
    ) -> list[tuple[str, Box, float, tuple[str, float]]]:
        """The words of a line crop read piece by piece (column ranges), each set on white
        with a margin: a cut between a label's colon and its value leaves none."""
        words: list[tuple[str, Box, float, tuple[str, float]]] = []
        pad = max(4, crop.shape[0] // 4)
        for start, stop in pieces:
            piece = cv2.copyMakeBorder(crop[:, start:stop], 0, 0, pad, pad, cv2.BORDER_CONSTANT, value=255)
            for text, (bx0, by0, bx1, by1), conf, alternative in self._read(api, piece):
                words.append((text, (bx0 - pad + start, by0, bx1 - pad + start, by1), conf, alternative))
        return words

    @staticmethod
    def _read(api, crop: np.ndarray) -> list[tuple[str, Box, float, tuple[str, float]]]:
        """(text, box in crop pixels, confidence 0..1, near alternative) of the words Tesseract
        finds in `crop`."""
        api.SetImage(Image.fromarray(crop))
        api.SetSourceResolution(300)
        if not api.Recognize():
            return []
        words: list[tuple[str, Box, float, tuple[str, float]]] = []
        for raw, box, confidence, _, alternative in read_words(api):
            text = clean_word(nfc(raw))
            if text and box is not None:
                words.append((text, cast(Box, tuple(box)), confidence, alternative if text == nfc(raw) else ("", 0.0)))
        return words

    def orientation(self, image: np.ndarray) -> tuple[int, float] | None:
        """Tesseract OSD, as TesseractEngine (the pipeline's upside-down check calls this)."""
        return self._tesseract.orientation(image)

    def read_value(self, image: np.ndarray, charset: str, model: str) -> str | None:
        """As TesseractEngine: one value read again by another recogniser."""
        return self._tesseract.read_value(image, charset, model)


def kept_reading(
    reading: LineReading, trust: float | None = None
) -> list[tuple[str, Box, float, tuple[str, float]]] | None:
    """The trained reader's words of a line where they are kept as read (the line's least
    certain letter at least `trust`, READER_TRUST by default, no doubt between marks, and
    only plain words); None where Tesseract reads the line instead."""
    words = [(clean_word(t), b, c, a) for t, b, c, a in reading.words]
    words = [w for w in words if w[0]]
    threshold = READER_TRUST if trust is None else trust
    if (
        words
        and reading.certainty >= threshold
        and reading.mark_doubt < READER_MARK_DOUBT
        and _plain_words(w[0] for w in words)
    ):
        return words
    return None


def _plain_words(texts: Iterable[str]) -> bool:
    """Whether a line holds only words the syllable list knows (or capitals' abbreviations,
    or punctuation): the lines the trained reader's reading is kept for. A figure, or a word
    no list holds, sends the line to Tesseract: in faces it was not trained on the reader
    read a CCCD's digits wrong at 0.999, and it spells some marks of capitals after its own
    fonts ("CHÚNG" for "CHỨNG", "DUƠNG"), which the list catches where the result is no word."""
    from .vietnamese import _is_abbreviation, _syllable, lexicon

    lex = lexicon()
    if not lex:
        return False
    for text in texts:
        core = _EDGE_PUNCTUATION.sub("", text)
        if not core:
            continue
        if not (core.islower() or core.istitle() or core.isupper()):
            return False  # "cỘNG": a capital read small
        if _ABBREVIATION.fullmatch(core) and _is_abbreviation(core):
            continue
        # every Vietnamese syllable has a vowel; the list also holds lone consonants ("m", "b"),
        # which is what the reader leaves of a word whose last letters it dropped ("người m"
        # for "người mẹ:" on a stained line, which then lost the mother's section)
        if not (_VOWEL.search(fold(core)) and _syllable(core, lex)):
            return False
    return True
