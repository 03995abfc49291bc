"""The trained printed-line reader: a small convolutional CTC network run by onnxruntime.

`models/line_reader.onnx` is trained by `models/train_line_reader.py` on rendered lines
(fonts, text sources and degradations are listed there); its alphabet travels in the
file's metadata. It reads one cut-out line as Tesseract's PSM 7 does, and answers in the
same shape: (text, box in crop pixels, confidence 0..1, (near alternative, its
confidence)) per word, the alternative being the word with one letter's marks changed
to the network's next reading of it."""

from __future__ import annotations

import json
from importlib import resources
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from ..errors import EngineError
from ..text import fold, nfc
from ..types import Box
from .line_input import STRIDE, normalise
from .tesseract import _MARKABLE

MODEL_FILE = "line_reader.onnx"  # in the `models` package
CALIBRATION_FILE = "line_reader.json"  # beside it: the network's certainty mapped to Tesseract's confidence
NEAR_ALTERNATIVE = 0.10  # as tesseract.NEAR_ALTERNATIVE: a next reading this likely is a doubt
_ONE_SHAPE = frozenset("cosvwxz")  # letters whose capital is the small letter enlarged
_lock = threading.Lock()

Read = tuple[str, Box, float, tuple[str, float]]


@dataclass(frozen=True)
class LineReading:
    words: tuple[Read, ...]  # confidences on Tesseract's scale (the calibration beside the model)
    certainty: float  # the probability of the line's least certain letter, as the network gave it
    certainties: tuple[float, ...] = ()  # each word's, likewise (what the calibration maps)
    # the likeliest other reading of any letter with the same base and other marks ("ồ" beside
    # a read "ổ"), or in the other case where both cases are one shape ("x" beside "X"): where
    # the network hesitates between them at all, Tesseract reads the line
    mark_doubt: float = 0.0


def model_installed() -> bool:
    try:
        return resources.files("models").joinpath(MODEL_FILE).is_file()
    except ModuleNotFoundError:
        return False


def shipped_model() -> bytes | None:
    """The model file of the `models` package; None where the package or the file is not installed."""
    try:
        return resources.files("models").joinpath(MODEL_FILE).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@lru_cache(maxsize=2)
def _session(model: str, threads: int):
    """(session, alphabet) of a model file; "" for the shipped one."""
    data = Path(model).read_bytes() if model else shipped_model()
    if data is None:
        raise EngineError(f"line reader: models/{MODEL_FILE} is not installed")
    try:
        import onnxruntime as ort
    except ImportError:
        raise EngineError("line reader: onnxruntime is not installed") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise EngineError(f"line reader: cannot load {model or MODEL_FILE}: {exc}") from None
    alphabet = session.get_modelmeta().custom_metadata_map.get("alphabet")
    if not alphabet:
        raise EngineError(f"line reader: {model or MODEL_FILE} carries no alphabet")
    return session, alphabet


class LineReader:
    def __init__(self, model: str | Path | None = None, threads: int = 1) -> None:
        """`model`: a model file (its calibration beside it); None: the shipped one."""
        self.model, self.threads = str(model or ""), threads
        self.session, self.alphabet = _session(self.model, threads)
        self.input = self.session.get_inputs()[0].name
        self.calibration = _calibration(str(Path(model).with_name(CALIBRATION_FILE)) if model else "")
        # per class: the classes of the letters with its base and other marks, and of its other
        # case where the two are one shape ("xã" read "Xã") (output indices); the letters are
        # grouped by base first, since folding every pair of the alphabet took 0.07 s a start
        by_base: dict[str, list[int]] = {}
        for j, b in enumerate(self.alphabet):
            by_base.setdefault(fold(b), []).append(j)
        self.same_base = [np.zeros(0, np.int64)] + [
            np.array(
                [
                    j + 1
                    for j in by_base[fold(a)]
                    if (b := self.alphabet[j]) != a and (b.lower() != a.lower() or fold(a) in _ONE_SHAPE)
                ],
                np.int64,
            )
            for a in self.alphabet
        ]

    def read(self, crop: np.ndarray) -> LineReading:
        """The words of one grey line crop (ink dark), in reading order."""
        got = normalise(crop)
        if got is None:
            return LineReading((), 0.0)
        x, top, bottom, per_column = got
        logp = self.session.run(None, {self.input: x[None, None]})[0][0]
        _, ink = cv2.threshold(crop[top:bottom], 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        probs = np.exp(logp)  # classes × steps
        words = self.words(probs, top, ink, per_column)
        certainty = min((w[2] for w in words), default=0.0)
        mark_doubt = self.mark_doubt(probs)
        knots, values = self.calibration
        return LineReading(
            tuple((t, b, float(np.interp(c, knots, values)), a) for t, b, c, a in words),
            certainty,
            tuple(w[2] for w in words),
            mark_doubt,
        )

    def mark_doubt(self, probs: np.ndarray) -> float:
        """The highest probability, at the step where a letter is read, of a letter with the
        same base and other marks."""
        best = probs.argmax(axis=0)
        doubt = 0.0
        for t in np.nonzero(best)[0]:
            others = self.same_base[int(best[t])]
            if others.size:
                doubt = max(doubt, float(probs[others, t].max()))
        return doubt

    def words(self, probs: np.ndarray, top: int, ink: np.ndarray, per_column: float) -> list[Read]:
        """Words from the network's letter probabilities (classes × steps) over a line's band
        (`ink`: its letters, 1 on 0, starting at row `top` of the crop); each word's box is its
        own ink's, as Tesseract's are, which is what the page's rows are assembled from."""
        best = probs.argmax(axis=0)
        peak = probs.max(axis=0)
        alphabet = self.alphabet
        # letters: runs of one class that is not the blank; each with its steps and peak
        letters: list[tuple[str, int, int, float, int]] = []  # (letter, first, last, confidence, peak step)
        last = 0
        for t, k in enumerate(best):
            k = int(k)
            if k != 0 and k == last and letters:
                ch, first, _, conf, at = letters[-1]
                letters[-1] = (ch, first, t, max(conf, float(peak[t])), t if peak[t] > conf else at)
            elif k != 0:
                letters.append((alphabet[k - 1], t, t, float(peak[t]), t))
            last = k
        out: list[Read] = []
        word: list[tuple[str, int, int, float, int]] = []

        def finish() -> None:
            if not word:
                return
            text = nfc("".join(w[0] for w in word))
            x0 = int(word[0][1] * STRIDE * per_column)
            x1 = int(np.ceil((word[-1][2] + 1) * STRIDE * per_column))
            confidence = min(w[3] for w in word)
            alternative = ("", 0.0)
            for i, (ch, _, _, _, at) in enumerate(word):
                if fold(ch) not in _MARKABLE:
                    continue
                order = np.argsort(probs[:, at])[::-1][1:4]
                for k in order:
                    p = float(probs[k, at])
                    alt = alphabet[int(k) - 1] if k else ""
                    if p < NEAR_ALTERNATIVE or not alt:
                        break
                    if fold(alt) == fold(ch) and alt.lower() != ch.lower() and p > alternative[1]:
                        letters_ = [w[0] for w in word]
                        letters_[i] = alt
                        alternative = (nfc("".join(letters_)), p)
            rows = np.nonzero(ink[:, x0 : max(x1, x0 + 1)].any(axis=1))[0]
            y0, y1 = (top + int(rows[0]), top + int(rows[-1]) + 1) if rows.size else (top, top + ink.shape[0])
            out.append((text, cast(Box, (x0, y0, x1, y1)), confidence, alternative))
            word.clear()

        for letter in letters:
            if letter[0] == " ":
                finish()
            else:
                word.append(letter)
        finish()
        return out


@lru_cache(maxsize=2)
def _calibration(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else resources.files("models").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
        )
        data = json.loads(text)
        return np.asarray(data["reader"], float), np.asarray(data["tesseract"], float)
    except (OSError, ValueError, KeyError, ModuleNotFoundError) as exc:
        raise EngineError(f"line reader: cannot read its calibration {path}: {exc}") from None


@lru_cache(maxsize=2)
def shared_reader(model: str = "", threads: int = 1) -> LineReader:
    """The process's reader of a model file ("": the shipped one); onnxruntime's sessions
    may be run from several threads at once."""
    with _lock:
        return LineReader(model or None, threads)
