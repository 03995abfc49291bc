"""Colour: grey/BGR conversion, the paper's colour, coloured marks turned to paper
(stamps, pen, security patterns) except red printed text, and the boxes of pen strokes."""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np

from .ink import _histogram, _median_of_counts


def to_grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def paper_colour(image: np.ndarray) -> tuple[int, int, int] | int:
    """Median colour of the brightest half of the page: the paper."""
    # (np.median's values, exactly, from grey-level histograms: no sorting of the page's pixels)
    grey = to_grey(image)
    bright = (grey >= _median_of_counts(_histogram(grey))).view(np.uint8)
    if image.ndim == 2:
        return int(_median_of_counts(_histogram(grey, bright)))
    return tuple(
        int(_median_of_counts(_histogram(image, bright, c)))  # type: ignore[return-value]
        for c in range(3)
    )


def suppress_colour(image: np.ndarray) -> np.ndarray:
    """Grey image in which coloured marks (red stamps, blue/violet pen, green or pink
    security-paper patterns) turn to paper white while black/dark-grey print stays.

    Black ink is dark in every channel; a coloured mark is bright in at least one.
    The per-pixel maximum channel keeps black text and lifts colour; saturated
    pixels are lifted further."""
    if image.ndim == 2:
        return image
    value, low = channel_range(image)
    saturation = cv2.subtract(value, low)
    # Strongly coloured pixels (stamp, pen, pattern) are not print: paper.
    grey = cv2.max(value, cv2.threshold(saturation, 70, 255, cv2.THRESH_BINARY)[1])
    # ...except red printed text (a certificate's red title): kept as dark print.
    title = red_text_lines(image, saturation)
    if title.any():
        np.copyto(grey, cv2.min(grey, low), where=title)
    return grey


def channel_range(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-pixel maximum, per-pixel minimum) of a BGR image's channels, uint8 (OpenCV's
    per-channel max/min: numpy's reduction over the last axis is several times slower)."""
    b, g, r = cv2.split(image)
    return cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r)


def pen_marks(image: np.ndarray, dpi: float) -> tuple[tuple[int, int, int, int], ...]:
    """Boxes of blue or violet ink strokes the size of handwriting: figures and words written
    in pen on a printed page (a document's number and day, a margin note). Print is black;
    ballpoint ink is blue. The marks are removed before OCR (`suppress_colour`); extraction
    uses their boxes to tell a handwritten value from a printed one."""
    if image.ndim == 2:
        return ()
    # (a BGR image: three uint8 channels, which the stubs type as Mat or float arrays)
    b, g, r = cast(tuple[np.ndarray, np.ndarray, np.ndarray], cv2.split(image))
    high, low = channel_range(image)
    # (uint8 arithmetic, exact: r // 2 + g // 2 <= 254, and a saturated difference is 0 where
    # it would go negative)
    blue = (
        (cv2.subtract(b, cv2.max(g, cv2.add(r >> 1, g >> 1))) > 25)
        & (cv2.subtract(b, r) > 15)
        & (cv2.subtract(high, low) > 45)
        & (low < 170)
    )
    if cv2.countNonZero(blue.view(np.uint8)) < 30:
        return ()
    unit = max(1, int(round(dpi / 150)))
    joined = cv2.dilate(blue.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 5, unit * 3)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    min_h, max_h = dpi * 0.06, dpi * 0.9  # a stroke of a figure (1.5 mm) up to a line of pen (23 mm)
    marks = []
    for x, y, w, h, area in stats[1:]:
        ink = int(blue[y : y + h, x : x + w].sum())
        if min_h <= h <= max_h and w <= dpi * 4 and ink >= 0.02 * w * h and ink >= 15:
            marks.append((int(x), int(y), int(x + w), int(y + h)))
    return tuple(marks)


def red_text_lines(image: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """Mask of red pixels that form horizontal text lines (a red title), not round marks
    (stamps, the national emblem): red ink smeared along the line gives long flat
    blobs for a line of text and near-square ones for a seal; lines inside a seal's box
    (its curved legend) are left out."""
    b, g, r = cv2.split(image)
    red = (cv2.subtract(r, cv2.max(g, b)) > 60) & (saturation > 70)
    if cv2.countNonZero(red.view(np.uint8)) < 200:
        return np.zeros(red.shape, bool)
    h, w = red.shape
    unit = max(2, w // 400)  # about a third of a letter on an A4 page
    smeared = cv2.morphologyEx(
        red.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 6, unit))
    )
    n, labels, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    seals = [(x, y, x + bw, y + bh) for x, y, bw, bh, _ in stats[1:] if 0.6 < bw / max(bh, 1) < 1.7 and bh > h // 30]
    lines = np.zeros(red.shape, bool)
    for x, y, bw, bh, area in stats[1:]:
        flat_line = bw > 4 * bh and h // 150 < bh < h // 25 and area > 0.3 * bw * bh
        inside_seal = any(sx0 <= x + bw / 2 <= sx1 and sy0 <= y + bh / 2 <= sy1 for sx0, sy0, sx1, sy1 in seals)
        if flat_line and not inside_seal:
            # the line's box, grown to take in the tone marks above and the dots below
            lines[max(0, y - bh * 2 // 3) : y + bh + bh // 3, x : x + bw] = True
    return lines & red
