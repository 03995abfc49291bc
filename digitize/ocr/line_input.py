"""What the trained line reader sees: its alphabet and the one way a line crop becomes its input.

Shared, unchanged, by the reader (`line_reader.py`) and its training script
(`models/train_line_reader.py`, which loads this file by path so that training needs
numpy, OpenCV and PyTorch alone): a line normalised one way in training and another at
reading time reads worse than either.

Only numpy, OpenCV and the standard library are imported here."""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np

HEIGHT = 40  # input rows: the text band scaled to this (Tesseract's `vie` LSTM reads 36)
STRIDE = 4  # input columns per output step
MAX_WIDTH = 2400  # a wider line is squeezed to this (a full A4 line at 300 dpi comes to under 2,000)


def _letters() -> str:
    out: list[str] = []
    for base in "aăâeêioôơuưy":
        for tone in ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"):
            out.append(unicodedata.normalize("NFC", base + tone))
    out += ["đ", *"bcdfghjklmnpqrstvwxz"]
    return "".join(out) + "".join(c.upper() for c in out)


# NFC, one class each; index 0 of the model's output is CTC's blank, class i is ALPHABET[i - 1]
ALPHABET = " " + "0123456789" + _letters() + ".,:;!?()[]/\\-–—'\"“”‘’%&*+=<>@#_…°§|~^$€"


def text_band(grey: np.ndarray) -> tuple[int, int] | None:
    """The rows (top, bottom exclusive) of a line crop's text: the band of rows with the most
    ink, with the bands of marks above and below it that are close and small (tone marks and
    the dots of i, parted from their letters by a white row), but not the bits of the
    neighbouring lines that a detector's box cuts in at its edges."""
    _, ink = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if grey.min() > 160:  # a blank crop: Otsu splits the paper's own noise
        return None
    rows = ink.sum(axis=1)
    inked = rows > 0
    bands: list[list[int]] = []
    for y, on in enumerate(inked):
        if on and bands and bands[-1][1] == y:
            bands[-1][1] = y + 1
        elif on:
            bands.append([y, y + 1])
    if not bands:
        return None
    weights = [int(rows[a:b].sum()) for a, b in bands]
    main = int(np.argmax(weights))
    top, bottom = bands[main]
    height = bottom - top
    # marks above: small bands within a third of the band's height of it
    i = main - 1
    while i >= 0 and top - bands[i][1] <= max(2, height // 3) and bands[i][1] - bands[i][0] <= height // 2:
        top = bands[i][0]
        i -= 1
    i = main + 1
    while i < len(bands) and bands[i][0] - bottom <= max(2, height // 4) and bands[i][1] - bands[i][0] <= height // 3:
        bottom = bands[i][1]
        i += 1
    return top, bottom


def normalise(grey: np.ndarray) -> tuple[np.ndarray, int, int, float] | None:
    """A grey line crop -> (float32 input of HEIGHT rows, the band's top and bottom rows in
    the crop, crop columns per input column); None for a crop without text."""
    band = text_band(grey)
    if band is None:
        return None
    top, bottom = band
    pad = max(1, (bottom - top) // 12)
    top, bottom = max(0, top - pad), min(grey.shape[0], bottom + pad)
    strip = grey[top:bottom]
    if bottom - top < 6 or not (strip < 128).any():
        return None
    scale = HEIGHT / (bottom - top)
    width = max(STRIDE * 2, min(MAX_WIDTH, int(round(strip.shape[1] * scale))))
    resized = cv2.resize(strip, (width, HEIGHT), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    # ink dark on 0, paper at 1, whatever the scan's levels
    lo, hi = float(np.percentile(resized, 2)), float(np.percentile(resized, 98))
    if hi - lo < 24:
        return None
    x = np.clip((resized.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0)
    return x, top, bottom, strip.shape[1] / width
