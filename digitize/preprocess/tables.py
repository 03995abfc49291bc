"""Tables: ruling lines found in an ink mask, and erased from it with their boxes kept
for the table grid."""

from __future__ import annotations

import cv2
import numpy as np


def find_rules(binary_ink: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) masks of ruling lines: ink runs far longer than any
    letter (≥ 12 mm), a few pixels thick."""
    length = max(15, int(dpi * 12 / 25.4))
    return _opening(binary_ink, length, 1), _opening(binary_ink, length, 0)


def _opening(binary_ink: np.ndarray, length: int, axis: int) -> np.ndarray:
    """cv2.morphologyEx(MORPH_OPEN) with a line `length` long along `axis` (1: horizontal,
    0: vertical), the same pixels: the erosion, then the dilation only on the rows (columns)
    the erosion left any ink on — a line's dilation stays within its row (column)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1) if axis == 1 else (1, length))
    eroded = cv2.erode(binary_ink, kernel)
    lines = np.flatnonzero(eroded.max(axis=axis))
    if lines.size * 2 > eroded.shape[1 - axis]:
        return cv2.dilate(eroded, kernel)
    opened = np.zeros_like(eroded)
    if lines.size:
        if axis == 1:
            opened[lines] = cv2.dilate(eroded[lines], kernel)
        else:
            opened[:, lines] = cv2.dilate(np.ascontiguousarray(eroded[:, lines]), kernel)
    return opened


def remove_rules(binary_ink: np.ndarray, dpi: float) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Erase table rulings and underlines so the recogniser sees letters only;
    return the ink without them and the rules' boxes (for the table grid).

    Letters crossing a rule lose the rule's pixels only; a thin rule rarely overlaps
    more than a serif."""
    horizontal, vertical = find_rules(binary_ink, dpi)
    both = cv2.bitwise_or(horizontal, vertical)
    boxes: list[tuple[int, int, int, int]] = []
    for mask in (horizontal, vertical):
        boxes.extend(_component_boxes(mask))
    rules = cv2.dilate(both, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(binary_ink, cv2.bitwise_not(rules)), boxes


def _component_boxes(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of a sparse mask's 8-connected components, in
    connectedComponentsWithStats' order, labelling only the bands of rows that hold any
    of the mask (no component crosses an empty row). Each band starts on an even row, as
    OpenCV labels 2x2 blocks in raster order: the labels come out in the same order."""
    rows = np.flatnonzero(mask.max(axis=1))
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts = np.concatenate([[rows[0]], rows[breaks + 1]]) & ~1
    ends = np.concatenate([rows[breaks], [rows[-1]]]) + 1
    bands: list[list[int]] = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        if bands and start <= bands[-1][1]:
            bands[-1][1] = end
        else:
            bands.append([start, end])
    boxes = []
    for start, end in bands:
        _, _, stats, _ = cv2.connectedComponentsWithStats(mask[start:end], connectivity=8)
        for x, y, w, h, _ in stats[1:]:
            boxes.append((int(x), int(y + start), int(x + w), int(y + start + h)))
    return boxes
