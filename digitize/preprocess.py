"""Cleanup: PageImage -> CleanPage.

Each stage is a small pure function over numpy images. The display image (what
the PDF shows) is the page's own colour image, rotated upright and deskewed; the
OCR input is a flattened, colour-filtered, binarised and upscaled grey image.
Stages can be switched off and their images saved for debugging."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .types import CleanPage, PageImage

OCR_TARGET_DPI = 300.0
MAX_SKEW = 15.0


@dataclass(frozen=True)
class CleanupOptions:
    orientation: bool = True
    deskew: bool = True
    flatten: bool = True
    remove_colour: bool = True  # red stamps, blue/violet ink, green/pink security paper
    remove_leaders: bool = True  # dotted leader lines on forms
    remove_rules: bool = True  # table rulings and underlines
    upscale: bool = True
    debug_dir: Path | None = None


# ---------------------------------------------------------------- helpers

def to_grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


def rotate_quarter(image: np.ndarray, clockwise_degrees: int) -> np.ndarray:
    turns = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    code = turns[clockwise_degrees % 360]
    return image if code is None else cv2.rotate(image, code)


def rotate_fine(image: np.ndarray, degrees: float, border: int | tuple[int, int, int] = 255) -> np.ndarray:
    """Rotate counter-clockwise by `degrees` about the centre, keeping the whole page."""
    if abs(degrees) < 0.05:
        return image
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    if image.ndim == 3 and isinstance(border, int):
        border = (border, border, border)
    return cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def paper_colour(image: np.ndarray) -> tuple[int, int, int] | int:
    """Median colour of the brightest half of the page: the paper."""
    if image.ndim == 2:
        return int(np.median(image[image >= np.median(image)]))
    grey = to_grey(image)
    mask = grey >= np.median(grey)
    return tuple(int(np.median(image[:, :, c][mask])) for c in range(3))  # type: ignore[return-value]


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Binary (uint8 0/255) mask of dark ink on a flattened grey image."""
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask


# ---------------------------------------------------------------- stages

def suppress_colour(image: np.ndarray) -> np.ndarray:
    """Grey image in which coloured marks (red stamps, blue/violet pen, green or pink
    security-paper patterns) turn to paper white while black/dark-grey print stays.

    Black ink is dark in every channel; a coloured mark is bright in at least one.
    The per-pixel maximum channel keeps black text and lifts colour; saturated
    pixels are lifted further."""
    if image.ndim == 2:
        return image
    value = image.max(axis=2)
    low = image.min(axis=2).astype(np.int16)
    saturation = (value.astype(np.int16) - low)
    grey = value.copy()
    # Strongly coloured pixels (stamp, pen, pattern) are not print: paper.
    grey[saturation > 70] = 255
    return grey


def flatten_background(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Divide by a smooth background estimate: evens out yellowing, stains, shadows."""
    scale = 4
    small = cv2.resize(grey, (max(1, grey.shape[1] // scale), max(1, grey.shape[0] // scale)),
                       interpolation=cv2.INTER_AREA)
    # A closing wider than a letter stroke removes text, leaving the background.
    k = max(3, int(dpi / 25 / scale) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.medianBlur(background, 5)
    background = cv2.resize(background, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(grey, np.maximum(background, 1), scale=255)
    return flat


def _small_ink(grey: np.ndarray, width: int = 800) -> np.ndarray:
    scale = width / grey.shape[1]
    small = cv2.resize(grey, (width, max(1, int(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return ink_mask(small)


def _best_angle(mask: np.ndarray, max_angle: float) -> tuple[float, float]:
    """(angle, score) maximising the sharpness of the horizontal projection profile.

    Text lines aligned with the rows make the profile alternate between full and
    empty rows; the sum of squared differences of the profile measures that."""
    h, w = mask.shape
    centre = (w / 2, h / 2)

    def score(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rotated = cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_NEAREST)
        profile = rotated.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(profile)).sum()) / (w * h)

    best = max(np.arange(-max_angle, max_angle + 0.01, 1.0), key=score)
    for step in (0.25, 0.05):
        candidates = np.arange(best - 4 * step, best + 4 * step + step / 2, step)
        best = max(candidates, key=score)
    return float(round(best, 2)), score(best)


def estimate_skew(grey: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """Skew in degrees (positive = text rises to the right, counter-clockwise)."""
    return _best_angle(_small_ink(grey), max_angle)[0]


def estimate_orientation(grey: np.ndarray, max_angle: float = MAX_SKEW) -> tuple[int, float]:
    """(0 or 90, skew): whether text lines run vertically (page sideways), and the skew
    of the page once turned. 90 vs 270 and 0 vs 180 are told apart later, by OCR."""
    mask = _small_ink(grey)
    upright = _best_angle(mask, max_angle)
    sideways = _best_angle(_small_ink(rotate_quarter(grey, 90)), max_angle)
    return (90, sideways[0]) if sideways[1] > upright[1] * 1.15 else (0, upright[0])


def remove_leader_dots(binary_ink: np.ndarray, dpi: float) -> np.ndarray:
    """Remove runs of dotted leaders (.......) from an ink mask (255 = ink).

    A leader dot is a small blob; a leader is ≥ 6 such blobs of similar size on one
    baseline at regular spacing. Diacritic dots (ạ, ệ) sit alone under or over a
    letter, never in such runs, so they survive."""
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(binary_ink, connectivity=8)
    if n <= 1:
        return binary_ink
    max_dot = max(2, int(dpi * 0.03))  # ~0.75 mm: a full stop of 14-pt type
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    small = np.where((w <= max_dot) & (h <= max_dot) & (area >= 1))[0]
    small = small[small != 0]
    if len(small) < 6:
        return binary_ink
    # A diacritic sits right above or below a letter body; a leader dot has nothing there.
    letters = np.where(area > 4 * max_dot * max_dot)[0]
    big = np.isin(labels, letters[letters != 0]).astype(np.uint8)
    reach = max(2, int(dpi * 0.03))
    near_letter = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * reach + 1)))
    small = np.array([c for c in small if not near_letter[int(centroids[c, 1]), int(centroids[c, 0])]], dtype=int)
    if len(small) < 6:
        return binary_ink
    ys = centroids[small, 1]
    xs = centroids[small, 0]
    order = np.lexsort((xs, np.round(ys / max(2, max_dot))))
    remove: list[int] = []
    run: list[int] = []
    max_gap = dpi * 0.08  # dots closer than ~2 mm

    def flush() -> None:
        if len(run) >= 6:
            remove.extend(run)

    previous = None
    for idx in order:
        comp = small[idx]
        if previous is not None:
            p = small[previous]
            same_row = abs(centroids[comp, 1] - centroids[p, 1]) <= max_dot
            close = 0 < centroids[comp, 0] - centroids[p, 0] <= max_gap
            if not (same_row and close):
                flush()
                run = []
        run.append(comp)
        previous = idx
    flush()
    if not remove:
        return binary_ink
    out = binary_ink.copy()
    out[np.isin(labels, np.array(remove))] = 0
    return out


def find_rules(binary_ink: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) masks of ruling lines: ink runs far longer than any
    letter (≥ 12 mm), a few pixels thick."""
    length = max(15, int(dpi * 12 / 25.4))
    horizontal = cv2.morphologyEx(binary_ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(binary_ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
    return horizontal, vertical


def remove_rules(binary_ink: np.ndarray, dpi: float) -> np.ndarray:
    """Erase table rulings and underlines so the recogniser sees letters only.

    Letters crossing a rule lose the rule's pixels only; a thin rule rarely overlaps
    more than a serif."""
    horizontal, vertical = find_rules(binary_ink, dpi)
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((3, 3), np.uint8))
    return cv2.bitwise_and(binary_ink, cv2.bitwise_not(rules))


# ---------------------------------------------------------------- orchestration

def clean_page(page: PageImage, options: CleanupOptions = CleanupOptions()) -> CleanPage:
    stages: list[str] = []
    debug = _Debug(options.debug_dir, page.number)
    colour = to_bgr(page.pixels)
    debug.save("0-input", colour)

    grey_for_geometry = flatten_background(to_grey(colour), page.dpi)

    rotation, skew = 0, 0.0
    if options.orientation:
        rotation, skew = estimate_orientation(grey_for_geometry)
        if rotation:
            colour = rotate_quarter(colour, rotation)
        stages.append("orientation")
    elif options.deskew:
        skew = estimate_skew(grey_for_geometry)
    if options.deskew:
        if abs(skew) >= 0.1:
            colour = rotate_fine(colour, skew, border=paper_colour(colour))
        stages.append("deskew")
    else:
        skew = 0.0
    debug.save("1-upright", colour)

    grey = suppress_colour(colour) if options.remove_colour else to_grey(colour)
    if options.remove_colour:
        stages.append("remove_colour")
    if options.flatten:
        grey = flatten_background(grey, page.dpi)
        stages.append("flatten")
    debug.save("2-flat", grey)

    scale = 1.0
    if options.upscale and page.dpi < OCR_TARGET_DPI * 0.9:
        scale = OCR_TARGET_DPI / page.dpi
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        stages.append("upscale")
    ocr_dpi = page.dpi * scale

    ink = ink_mask(grey)
    if options.remove_leaders:
        ink = remove_leader_dots(ink, ocr_dpi)
        stages.append("remove_leaders")
    if options.remove_rules:
        ink = remove_rules(ink, ocr_dpi)
        stages.append("remove_rules")
    ocr_input = 255 - ink
    debug.save("3-ocr", ocr_input)

    return CleanPage(number=page.number, display=colour, ocr_input=ocr_input, dpi=page.dpi, ocr_scale=scale,
                     rotation=rotation, skew=skew, stages=tuple(stages))


def with_rotation(page: CleanPage, extra: int) -> CleanPage:
    """The same page turned a further `extra` degrees clockwise (used when OCR finds it upside down)."""
    if extra % 360 == 0:
        return page
    return CleanPage(number=page.number, display=rotate_quarter(page.display, extra),
                     ocr_input=rotate_quarter(page.ocr_input, extra), dpi=page.dpi, ocr_scale=page.ocr_scale,
                     rotation=(page.rotation + extra) % 360, skew=page.skew, stages=page.stages + ("flip",))


class _Debug:
    def __init__(self, folder: Path | None, number: int):
        self.folder = folder
        self.number = number
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    def save(self, stage: str, image: np.ndarray) -> None:
        if self.folder:
            cv2.imwrite(str(self.folder / f"p{self.number:03d}-{stage}.png"), image)
