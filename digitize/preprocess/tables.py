"""Tables: ruling lines found in an ink mask, and erased from it with their boxes kept
for the table grid."""

from __future__ import annotations

import cv2
import numpy as np


def find_rules(binary_ink: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) masks of ruling lines: ink runs far longer than any
    letter (≥ 12 mm), a few pixels thick."""
    length = max(15, int(dpi * 12 / 25.4))
    horizontal = cv2.morphologyEx(binary_ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(binary_ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return horizontal, vertical


def remove_rules(binary_ink: np.ndarray, dpi: float) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Erase table rulings and underlines so the recogniser sees letters only;
    return the ink without them and the rules' boxes (for the table grid).

    Letters crossing a rule lose the rule's pixels only; a thin rule rarely overlaps
    more than a serif."""
    horizontal, vertical = find_rules(binary_ink, dpi)
    both = cv2.bitwise_or(horizontal, vertical)
    boxes: list[tuple[int, int, int, int]] = []
    for mask in (horizontal, vertical):
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for x, y, w, h, _ in stats[1:]:
            boxes.append((int(x), int(y), int(x + w), int(y + h)))
    rules = cv2.dilate(both, np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(binary_ink, cv2.bitwise_not(rules)), boxes
