"""Cleanup: PageImage -> CleanPage.

Each stage is a small pure function over numpy images. The display image (what
the PDF shows) is the page's own colour image, rotated upright and deskewed; the
OCR input is a flattened, colour-filtered, binarised and upscaled grey image.
Stages can be switched off and their images saved for debugging."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import logging
import time

import cv2
import numpy as np

from .types import CleanPage, PageImage

log = logging.getLogger(__name__)

OCR_TARGET_DPI = 300.0
MAX_SKEW = 15.0
# Gaussian sigma (pixels at 300 dpi) before thresholding an upscaled page. Measured on
# a generated dev slice: blurred+noisy pages 6.3% -> 0.3% CER; 1.0 and more start to
# cost on clean forms (Tesseract drops lines).
DENOISE_SIGMA = 0.7
SPECKLE_NOISE = 12.0  # pixel noise (grey levels) of the flattened paper above which a page is despeckled;
# chosen on the dev slice: 8 and 12 both help blur+noise (4.5 % -> 3.8 % CER), 12 leaves lighter
# noise alone (at 4 and 8 it cost noise+skew pages 0.1 points)
SHEET_INSET = 0.01  # fraction of a rectified sheet trimmed from each side
# Faint ink (worn typewriter ribbon). Measured on dev pages: a threshold 25-30 grey levels under
# the paper takes ribbon level-3 pages from 7.6/10.3 % to 1.2/3.1 % CER but wrecks JPEG and
# bleed-through pages, so it is a second reading, only where whole letters are missed:
# FAINT_LETTERS of the marks at the probe threshold (ribbon pages 0.022-0.055, bleed-through
# 0.0197, others 0). Which reading is kept is then Tesseract's confidence's call.
FAINT_MARGIN = 28.0
FAINT_PROBE_MARGIN = 40.0
FAINT_LETTERS = 0.02
# Page confidence under which the grey (unthresholded) input is read as well. Measured on
# 22 dev pages: blurred+noisy pages read at 0.76-0.92 and their grey input better (8.6 -> 1.5 %
# CER on one); well-read pages are at 0.94-0.96, where the grey input is no better.
GREY_REREADING_BELOW = 0.93
CURL_MIN_GAIN = 0.05  # measured: curled book page 0.12, flat pages <= 0.015


@dataclass(frozen=True)
class CleanupOptions:
    find_page: bool = True  # phone photos and scanner borders: crop and rectify the sheet
    orientation: bool = True
    deskew: bool = True
    dewarp: bool = True  # bound books: flatten text lines curling toward the spine
    flatten: bool = True
    remove_colour: bool = True  # red stamps, blue/violet ink, green/pink security paper
    remove_leaders: bool = True  # dotted leader lines on forms
    remove_rules: bool = True  # table rulings and underlines
    upscale: bool = True
    denoise: bool = True  # smooth scan noise before thresholding the upscaled page
    faint_ink: bool = True  # a second OCR input that keeps faint letters, where a page has them
    grey_rereading: bool = True  # a second OCR input in grey levels, read where the first reads badly
    binarise: bool = True  # False: the recogniser gets the flattened grey, marks erased
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


def faint_ink_mask(grey: np.ndarray, margin: float = FAINT_MARGIN) -> np.ndarray:
    """Ink mask that keeps faint strokes (a worn typewriter ribbon): the threshold rises
    from Otsu's to `margin` grey levels under the paper, or as near as the paper's
    own noise allows."""
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    paper = float(np.median(grey[grey >= np.median(grey)]))
    threshold = max(otsu, paper - max(margin, 6 * noise_level(grey)))
    return (grey < threshold).astype(np.uint8) * 255


def faint_letters(grey: np.ndarray, dpi: float) -> float:
    """Share of the letter-sized marks found at a faint-ink threshold that Otsu's
    threshold misses altogether: ~0 on a well-inked page, 0.03-0.07 on worn ribbon."""
    strong = ink_mask(grey) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(faint_ink_mask(grey, FAINT_PROBE_MARGIN), connectivity=8)
    overlap = np.bincount(labels.ravel(), weights=strong.ravel(), minlength=count)
    mm = dpi / 25.4
    height, area = stats[:, 3], stats[:, 4]
    letter = (height >= 1.2 * mm) & (height <= 6 * mm) & (area >= 0.6 * mm * mm)
    letter[0] = False  # the background
    if not letter.any():
        return 0.0
    return float((letter & (overlap < 0.05 * area)).sum() / letter.sum())


# ---------------------------------------------------------------- stages

A4_WIDTH_IN = 210 / 25.4
A4_ASPECT = 297 / 210


def _order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    points = points.reshape(4, 2).astype(np.float32)
    total = points.sum(axis=1)
    diff = np.diff(points, axis=1).ravel()
    return np.array([points[np.argmin(total)], points[np.argmin(diff)], points[np.argmax(total)],
                     points[np.argmax(diff)]], dtype=np.float32)


def find_sheet(colour: np.ndarray) -> np.ndarray | None:
    """The four corners of the paper sheet where it stands out from a darker
    surround (a phone photo on a desk, black scanner borders); None when the sheet
    fills the frame."""
    grey = to_grey(colour)
    scale = 800 / max(grey.shape)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, sheet = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    sheet = cv2.morphologyEx(sheet, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    fraction = cv2.contourArea(contour) / (small.shape[0] * small.shape[1])
    if not 0.25 <= fraction <= 0.985:
        return None
    # The surround must be really darker than the sheet, or this is a page's own shading.
    inside = small[sheet > 0]
    outside = small[sheet == 0]
    if outside.size == 0 or float(np.median(inside)) - float(np.median(outside)) < 40:
        return None
    hull = cv2.convexHull(contour)
    approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    corners = _order_corners(approx if len(approx) == 4 else cv2.boxPoints(cv2.minAreaRect(hull)))
    # A dim corner (light falling off across a phone photo) drops below the global
    # threshold and the outline cuts it off; the sheet's straight edges still show.
    corners = refine_sheet_corners(small, corners)
    if _edges_on_frame(corners, small.shape) >= 3:
        # Dark on one side only: a bound book's spine shade or a scanner's border, not a
        # sheet on a desk; cutting there would cut text (trim_dark_borders takes the band).
        return None
    return _order_corners(corners / scale)


def _edges_on_frame(corners: np.ndarray, shape: tuple[int, ...], tolerance: float = 0.015) -> int:
    """How many of the quadrilateral's sides lie along the image's own edges."""
    h, w = shape[:2]
    tol = tolerance * max(h, w)
    count = 0
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        if (a[0] <= tol and b[0] <= tol) or (a[0] >= w - 1 - tol and b[0] >= w - 1 - tol) or \
                (a[1] <= tol and b[1] <= tol) or (a[1] >= h - 1 - tol and b[1] >= h - 1 - tol):
            count += 1
    return count


def refine_sheet_corners(small: np.ndarray, corners: np.ndarray, band: float = 0.07) -> np.ndarray:
    """Corners moved onto the sheet's four straight edges: along each side of the
    rough outline, the strongest bright-inside/dark-outside step within `band` (a
    fraction of the image size) of it, a robust line through those points, and the
    lines' intersections. The rough corners stand where an edge cannot be found."""
    h, w = small.shape[:2]
    img = small.astype(np.float32)
    reach = int(band * max(h, w))
    window = 6  # px at this scale: wider than a ruling line, so a rule is no step
    offsets = np.arange(-reach, reach + 1, dtype=np.float32)
    # at each offset along the normal: the window just inside and the window just outside
    reach_in = offsets[:, None] + np.arange(-window, 0, dtype=np.float32)[None, :]
    reach_out = offsets[:, None] + np.arange(1, window + 1, dtype=np.float32)[None, :]
    lines = []
    centre = corners.mean(axis=0)
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        side = b - a
        length = float(np.linalg.norm(side))
        if length < 20:
            return corners
        tangent = side / length
        normal = np.array([tangent[1], -tangent[0]], np.float32)
        if np.dot(normal, (a + b) / 2 - centre) < 0:
            normal = -normal  # outward
        points = []
        for t in np.linspace(0.12, 0.88, 48):
            base = a + t * side
            inner = _sample(img, base, normal, reach_in)
            outer = _sample(img, base, normal, reach_out)
            if inner is None or outer is None:
                continue
            step = inner.mean(axis=1) - outer.mean(axis=1)
            best = int(np.argmax(step))
            if step[best] >= 25:
                points.append(base + offsets[best] * normal)
        if len(points) < 12:
            lines.append(None)
            continue
        vx, vy, x0, y0 = cv2.fitLine(np.array(points, np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    refined = corners.copy()
    for i in range(4):
        before, after = lines[i - 1], lines[i]  # the sides meeting at corner i
        if before is None or after is None:
            continue
        (p, u), (q, v) = before, after
        det = u[0] * -v[1] - u[1] * -v[0]
        if abs(det) < 1e-6:
            continue
        s = ((q - p)[0] * -v[1] - (q - p)[1] * -v[0]) / det
        point = p + s * u
        if np.linalg.norm(point - corners[i]) <= 2 * reach and -reach <= point[0] <= w + reach \
                and -reach <= point[1] <= h + reach:
            refined[i] = point
    return refined.astype(np.float32)


def _sample(img: np.ndarray, base: np.ndarray, normal: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    """Grey values at base + offsets * normal (nearest pixel); None where the walk leaves the image."""
    xs = np.rint(base[0] + offsets * normal[0]).astype(int)
    ys = np.rint(base[1] + offsets * normal[1]).astype(int)
    inside = (xs >= 0) & (xs < img.shape[1]) & (ys >= 0) & (ys < img.shape[0])
    if inside.mean() < 0.6:
        return None
    xs, ys = np.clip(xs, 0, img.shape[1] - 1), np.clip(ys, 0, img.shape[0] - 1)
    return img[ys, xs]


def trim_dark_borders(colour: np.ndarray) -> np.ndarray:
    """Cut the black bands a scanner leaves along the edges: edge rows/columns
    that are mostly near-black."""
    dark = to_grey(colour) < 80
    rows, cols = dark.mean(axis=1), dark.mean(axis=0)
    top, bottom, left, right = 0, len(rows), 0, len(cols)
    limit_r, limit_c = len(rows) // 4, len(cols) // 4
    while top < limit_r and rows[top] > 0.5:
        top += 1
    while bottom > len(rows) - limit_r and rows[bottom - 1] > 0.5:
        bottom -= 1
    while left < limit_c and cols[left] > 0.5:
        left += 1
    while right > len(cols) - limit_c and cols[right - 1] > 0.5:
        right -= 1
    if (top, bottom, left, right) == (0, len(rows), 0, len(cols)):
        return colour
    return colour[top:bottom, left:right]


def rectify_sheet(colour: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Warp the sheet inside `corners` to an upright rectangle (perspective undone)."""
    tl, tr, br, bl = corners
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    # Side lengths in a photo taken at an angle misstate the sheet's shape by a few per
    # cent; administrative paper is A4 (Nghị định 30/2020), so a near-A4 sheet is made A4.
    if height >= width and abs(height / width - A4_ASPECT) < 0.08:
        height = int(round(width * A4_ASPECT))
    elif width > height and abs(width / height - A4_ASPECT) < 0.08:
        width = int(round(height * A4_ASPECT))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    flat = cv2.warpPerspective(colour, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)
    # The found edges are good to a few pixels; a sliver of desk left along a side
    # would read as a page-high ruling line (and turn the page into one table).
    # Paper margins are centimetres wide, so an inset of 1 % loses no text.
    inset_y, inset_x = int(SHEET_INSET * height), int(SHEET_INSET * width)
    return flat[inset_y:height - inset_y, inset_x:width - inset_x]


def sheet_dpi(width: int, height: int, fallback: float) -> float:
    """Resolution of a rectified sheet: an A4-shaped sheet is 210 mm wide."""
    aspect = max(width, height) / max(1, min(width, height))
    if abs(aspect - A4_ASPECT) < 0.08:
        return min(width, height) / A4_WIDTH_IN
    return fallback

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
    # ...except red printed text (a certificate's red title): kept as dark print.
    title = red_text_lines(image, saturation)
    grey[title] = np.minimum(grey[title], low[title].astype(np.uint8))
    return grey


def pen_marks(image: np.ndarray, dpi: float) -> tuple[tuple[int, int, int, int], ...]:
    """Boxes of blue or violet ink strokes the size of handwriting: figures and words written
    in pen on a printed page (a document's number and day, a margin note). Print is black;
    ballpoint ink is blue. The marks are removed before OCR (`suppress_colour`); extraction
    uses their boxes to tell a handwritten value from a printed one."""
    if image.ndim == 2:
        return ()
    b, g, r = (image[:, :, i].astype(np.int16) for i in range(3))
    saturation = image.max(axis=2).astype(np.int16) - image.min(axis=2)
    blue = ((b - np.maximum(g, r // 2 + g // 2)) > 25) & (b > r + 15) & (saturation > 45) & (image.min(axis=2) < 170)
    if blue.sum() < 30:
        return ()
    unit = max(1, int(round(dpi / 150)))
    joined = cv2.dilate(blue.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 5, unit * 3)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    low, high = dpi * 0.06, dpi * 0.9  # a stroke of a figure (1.5 mm) up to a line of pen (23 mm)
    marks = []
    for x, y, w, h, area in stats[1:]:
        ink = int(blue[y:y + h, x:x + w].sum())
        if low <= h <= high and w <= dpi * 4 and ink >= 0.02 * w * h and ink >= 15:
            marks.append((int(x), int(y), int(x + w), int(y + h)))
    return tuple(marks)


def red_text_lines(image: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """Mask of red pixels that form horizontal text lines (a red title), not round marks
    (stamps, the national emblem): red ink smeared along the line gives long flat
    blobs for a line of text and near-square ones for a seal; lines inside a seal's box
    (its curved legend) are left out."""
    b, g, r = (image[:, :, i].astype(np.int16) for i in range(3))
    red = ((r - np.maximum(g, b)) > 60) & (saturation > 70)
    if red.sum() < 200:
        return np.zeros(red.shape, bool)
    h, w = red.shape
    unit = max(2, w // 400)  # about a third of a letter on an A4 page
    smeared = cv2.morphologyEx(red.astype(np.uint8), cv2.MORPH_CLOSE,
                               cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 6, unit)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    seals = [(x, y, x + bw, y + bh) for x, y, bw, bh, _ in stats[1:] if 0.6 < bw / max(bh, 1) < 1.7 and bh > h // 30]
    lines = np.zeros(red.shape, bool)
    for x, y, bw, bh, area in stats[1:]:
        flat_line = bw > 4 * bh and h // 150 < bh < h // 25 and area > 0.3 * bw * bh
        inside_seal = any(sx0 <= x + bw / 2 <= sx1 and sy0 <= y + bh / 2 <= sy1 for sx0, sy0, sx1, sy1 in seals)
        if flat_line and not inside_seal:
            # the line's box, grown to take in the tone marks above and the dots below
            lines[max(0, y - bh * 2 // 3):y + bh + bh // 3, x:x + bw] = True
    return lines & red


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
    # Smearing along the rows turns upright text lines into solid bars and blurs
    # sideways text into blobs, so letter strokes cannot pass for text lines.
    # Both orientations are scored on the same raster so that scale cannot decide.
    smear = np.ones((1, 5), np.uint8)
    mask = _small_ink(grey, width=int(800 * grey.shape[1] / max(grey.shape)))
    upright = _best_angle(cv2.dilate(mask, smear), max_angle)
    sideways = _best_angle(cv2.dilate(rotate_quarter(mask, 90), smear), max_angle)
    rotation = 90 if sideways[1] > upright[1] * 1.15 else 0
    # The smear blurs the angle a little: measure the skew on the plain ink.
    return rotation, estimate_skew(rotate_quarter(grey, rotation), max_angle)


def remove_leader_dots(binary_ink: np.ndarray, dpi: float) -> np.ndarray:
    """Remove dotted leaders (.......) from an ink mask (255 = ink), also where a
    value is typed over them.

    A leader is a run of ≥ 5 dots of one size on one baseline at a regular pitch
    (neighbouring dots that touch after scanning count as several). A diacritic
    dot (ạ, ệ, ộ) is not part of such a run: it is off the run's pitch or of
    another size, so it survives even when it sits on a leader."""
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(binary_ink, connectivity=8)
    if n <= 1:
        return binary_ink
    max_dot = max(2, int(dpi * 0.03))  # ~0.75 mm: a full stop of 14-pt type
    x, w, h = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    blobs = np.where((h <= max_dot) & (w <= 4 * max_dot) & (area >= 2))[0]
    blobs = blobs[blobs != 0]
    # Virtual dots: (x, y, size, blob).
    dots: list[tuple[float, float, float, int]] = []
    for b in blobs:
        count = max(1, int(round(w[b] / max(h[b], 2) * 0.9)))
        for i in range(count):
            dots.append((x[b] + (i + 0.5) * w[b] / count, centroids[b, 1], area[b] / count, int(b)))
    if len(dots) < 5:
        return binary_ink
    dots.sort(key=lambda d: d[1])
    tolerance = max(1.5, max_dot * 0.4)
    max_gap = dpi * 0.08  # pitch of any leader: under ~2 mm
    rows: list[list[tuple[float, float, float, int]]] = []
    for dot in dots:
        if rows and abs(dot[1] - rows[-1][0][1]) <= tolerance:
            rows[-1].append(dot)
        else:
            rows.append([dot])
    leader_dots: dict[int, int] = {}
    for row in rows:
        if len(row) < 5:
            continue
        row.sort(key=lambda d: d[0])
        run = [row[0]]
        members: list[tuple[float, float, float, int]] = []
        for dot in row[1:] + [None]:
            if dot is not None and 0 < dot[0] - run[-1][0] <= max_gap:
                run.append(dot)
                continue
            members += _regular_run(run)
            run = [dot] if dot is not None else []
        members += _dots_under_values(row, members, binary_ink, dpi)
        for member in members:
            leader_dots[member[3]] = leader_dots.get(member[3], 0) + 1
    per_blob: dict[int, int] = {}
    for dot in dots:
        per_blob[dot[3]] = per_blob.get(dot[3], 0) + 1
    remove = [b for b, count in leader_dots.items() if count == per_blob[b]]
    if not remove:
        return binary_ink
    out = binary_ink.copy()
    out[np.isin(labels, np.array(remove))] = 0
    return out


def _dots_under_values(row: list[tuple[float, float, float, int]], members: list[tuple[float, float, float, int]],
                       binary_ink: np.ndarray, dpi: float) -> list[tuple[float, float, float, int]]:
    """The leader's dots left between the words of a value typed over it.

    Where a value covers a leader, the dots between its letters and words come in ones
    and twos, too few for a run of their own, and Tesseract reads them as stops and
    commas inside the value ("PHAN. .THỊ. .TUẤN"). The leader's visible runs fix its
    grid (pitch, phase, baseline, dot size); an isolated dot of that size on that grid,
    within a value's length of the runs, is the leader's too — unless a letter stands
    right above it (a dot-below diacritic: ạ, ệ, ộ) or a dot of its size does (a colon)."""
    if len(members) < 5:
        return []
    xs = np.array([m[0] for m in members])
    order = np.argsort(xs)
    xs = xs[order]
    gaps = np.diff(xs)
    pitch = float(np.median(gaps[gaps > 0])) if np.any(gaps > 0) else 0.0
    if pitch <= 0:
        return []
    size = float(np.median([m[2] for m in members]))
    baseline = float(np.median([m[1] for m in members]))
    known = {id(m) for m in members}
    dot_height = max(2.0, float(np.sqrt(size)))
    reach = dpi * 6.0  # a value typed over a leader may cover most of it (about 15 cm)
    found = []
    for dot in row:
        if id(dot) in known or not (0.5 * size <= dot[2] <= 2.0 * size) or abs(dot[1] - baseline) > dot_height:
            continue
        nearest = xs[np.argmin(np.abs(xs - dot[0]))]
        if abs(dot[0] - nearest) > reach:
            continue
        phase = (dot[0] - nearest) / pitch
        if abs(phase - round(phase)) > 0.2:
            continue
        if _ink_above(binary_ink, dot[0], dot[1], dot_height, dpi):
            continue
        found.append(dot)
    return found


def _ink_above(binary_ink: np.ndarray, x: float, y: float, dot_height: float, dpi: float) -> bool:
    """Whether ink stands right above a dot: the letter of a dot-below diacritic, or a
    colon's upper dot (within about an x-height)."""
    half = max(1, int(round(dot_height)))
    top = int(round(y - dot_height / 2)) - 1
    above = binary_ink[max(0, top - int(dpi * 0.07)):max(0, top - 1), max(0, int(x) - half):int(x) + half + 1]
    return bool(above.size and above.any())


def _regular_run(run: list[tuple[float, float, float, int]]) -> list[tuple[float, float, float, int]]:
    """The dots of a run that belong to a leader (regular pitch, one size)."""
    if len(run) < 5:
        return []
    xs = np.array([d[0] for d in run])
    sizes = np.array([d[2] for d in run])
    gaps = np.diff(xs)
    pitch = float(np.median(gaps))
    if pitch <= 0 or np.mean(np.abs(gaps - pitch) <= 0.3 * pitch) < 0.7:
        return []
    size = float(np.median(sizes))
    # Fit x = origin + pitch * index: a pitch estimated from rounded gaps drifts off
    # the grid over a long leader, a least-squares fit does not.
    index = np.concatenate([[0], np.cumsum(np.maximum(0, np.round(gaps / pitch)))])
    on_grid = np.ones(len(run), bool)
    for _ in range(2):
        if np.unique(index[on_grid]).size < 2:
            return []
        slope, origin = np.polyfit(index[on_grid], xs[on_grid], 1)
        on_grid = np.abs(xs - (origin + slope * index)) <= 0.25 * slope
    same_size = (sizes >= 0.5 * size) & (sizes <= 2.0 * size)
    return [d for d, keep in zip(run, on_grid & same_size) if keep]


def _line_profile(strip: np.ndarray) -> np.ndarray:
    profile = strip.sum(axis=1, dtype=np.float64)
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")
    return profile - profile.mean()


def estimate_curl(grey: np.ndarray, strips: int = 24) -> tuple[np.ndarray, np.ndarray] | None:
    """Per vertical strip, the map y_page = shift + scale * y_flat that lines the
    strip's text lines up with the page's flattest part; None for a flat page.

    A bound book curls toward the spine: near it, text lines bend and converge.
    Each strip's row profile is matched against the reference strip's over a grid
    of scales and shifts (the curl model of `samples/degrade.spine_curl` and of
    real books: vertical displacement smooth in x, affine in y)."""
    width = 800
    factor = width / grey.shape[1]
    small = cv2.resize(grey, (width, max(1, int(grey.shape[0] * factor))), interpolation=cv2.INTER_AREA)
    ink = cv2.dilate(ink_mask(small), np.ones((1, 9), np.uint8))
    h = ink.shape[0]
    bounds = np.linspace(0, width, strips + 1).astype(int)
    profiles = [_line_profile(ink[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    energy = np.array([float(np.square(p).sum()) for p in profiles])
    if energy.max() <= 0:
        return None
    usable = energy > 0.25 * np.median(energy[energy > 0]) if (energy > 0).any() else energy > 0
    ref_index = strips // 2
    reference = profiles[ref_index]
    if not usable[ref_index] or float(np.square(reference).sum()) == 0:
        return None
    ys = np.arange(h, dtype=np.float64)
    best_shift = np.zeros(strips)
    best_scale = np.ones(strips)
    # Walk outwards from the reference strip; each strip may move only a little
    # from its neighbour (curl is smooth), which also stops the match from
    # jumping by a whole line pitch on regularly spaced lines.
    step_shift = max(2, int(0.012 * h))
    gain = base = 0.0
    for order in (range(ref_index + 1, strips), range(ref_index - 1, -1, -1)):
        previous = ref_index
        for i in order:
            if not usable[i]:
                best_shift[i], best_scale[i] = best_shift[previous], best_scale[previous]
                previous = i
                continue
            best = (-np.inf, best_shift[previous], best_scale[previous])
            for scale in best_scale[previous] + np.linspace(-0.012, 0.012, 7):
                for shift in best_shift[previous] + np.arange(-step_shift, step_shift + 1):
                    warped = np.interp(shift + scale * ys, ys, profiles[i], left=0, right=0)
                    score = float(warped @ reference)
                    if score > best[0]:
                        best = (score, float(shift), float(scale))
            best_shift[i], best_scale[i] = best[1], best[2]
            gain += best[0] - float(profiles[i] @ reference)
            base += abs(float(profiles[i] @ reference))
            previous = i
    best_shift = np.convolve(np.pad(best_shift, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    best_scale = np.convolve(np.pad(best_scale, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    displacement = np.abs(best_shift[:, None] + (best_scale[:, None] - 1) * ys[None, :]).max()
    # Flat enough (under ~5 px at 200 dpi), or the warp explains the page hardly
    # better than no warp at all (different content in different strips).
    log.debug("curl: displacement %.1f px, gain %.3f", displacement, gain / max(base, 1e-9))
    if displacement < 2.0 or gain < CURL_MIN_GAIN * max(base, 1e-9):
        return None
    if not _warp_straightens_lines(ink, bounds, best_shift, best_scale):
        log.debug("curl: rejected, the page's own lines are straight")
        return None
    return best_shift / factor, best_scale


def _warp_straightens_lines(ink: np.ndarray, bounds: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> bool:
    """Whether a warp found from the strips' row profiles also straightens the lines
    that run across several strips.

    On a curled page a line of text bends with the paper, and flattening it is what
    the warp is for. A flat form whose values were typed half a row above their labels
    has strips whose profiles differ by a shift too (labels at left, values further
    right), yet every line on it is straight; the warp would bend them all. Each
    wide line-shaped blob's centre per strip is compared before and after the warp."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, np.ones((1, 7), np.uint8)),
                                                           connectivity=8)
    strip_width = float(bounds[1] - bounds[0])
    tall = 0.05 * ink.shape[0]
    before = after = 0.0
    lines = 0
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_WIDTH] < 3 * strip_width or stats[i, cv2.CC_STAT_HEIGHT] > tall:
            continue
        x, y, w, h = (int(stats[i, k]) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                                  cv2.CC_STAT_HEIGHT))
        blob = labels[y:y + h, x:x + w] == i
        centres, flat = [], []
        for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            a, b = max(a, x), min(b, x + w)
            if b - a < strip_width / 2:
                continue
            rows = np.nonzero(blob[:, a - x:b - x])[0]
            if rows.size == 0:
                continue
            c = y + float(rows.mean())
            centres.append(c)
            flat.append((c - shift[s]) / scale[s])
        if len(centres) >= 3:
            before += float(np.var(centres))
            after += float(np.var(flat))
            lines += 1
    if lines < 3:
        return True  # nothing to judge by: trust the profiles
    return after <= before


def dewarp(colour: np.ndarray, curl: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    shift, scale = curl
    h, w = colour.shape[:2]
    strips = len(shift)
    centres = (np.arange(strips) + 0.5) * w / strips
    xs = np.arange(w, dtype=np.float64)
    shift_x = np.interp(xs, centres, shift)
    scale_x = np.interp(xs, centres, scale)
    ys = np.arange(h, dtype=np.float64)[:, None]
    map_y = (shift_x[None, :] + scale_x[None, :] * ys).astype(np.float32)
    map_x = np.broadcast_to(xs[None, :], (h, w)).astype(np.float32)
    return cv2.remap(colour, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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


def noise_level(flat_grey: np.ndarray) -> float:
    """Pixel noise of the paper: how far the flattened page strays from its 3x3 median,
    on paper (not ink) only; the 90th percentile, since flattening clips the paper
    white and leaves most of it exactly at 255."""
    residual = flat_grey.astype(np.int16) - cv2.medianBlur(flat_grey, 3).astype(np.int16)
    paper = cv2.erode((flat_grey > 200).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if paper.sum() < 1000:
        return 0.0
    return float(np.percentile(np.abs(residual[paper]), 90))


# ---------------------------------------------------------------- orchestration

def clean_page(page: PageImage, options: CleanupOptions = CleanupOptions()) -> CleanPage:
    stages: list[str] = []
    clock = _Clock()
    debug = _Debug(options.debug_dir, page.number)
    colour = to_bgr(page.pixels)
    debug.save("0-input", colour)

    dpi = page.dpi
    if options.find_page:
        corners = find_sheet(colour)
        if corners is not None:
            colour = rectify_sheet(colour, corners)
            dpi = sheet_dpi(colour.shape[1], colour.shape[0], page.dpi)
            stages.append("find_page")
        else:
            trimmed = trim_dark_borders(colour)
            if trimmed.shape != colour.shape:
                colour = trimmed
                stages.append("trim_borders")
        debug.save("0-sheet", colour)
        clock.mark("find_page")

    grey_for_geometry = flatten_background(to_grey(colour), dpi)

    # `correction` is the counter-clockwise turn that levels the text; the page's
    # skew (reported, CCW positive like the samples' ground truth) is its opposite.
    rotation, correction = 0, 0.0
    if options.orientation:
        rotation, correction = estimate_orientation(grey_for_geometry)
        if rotation:
            colour = rotate_quarter(colour, rotation)
        stages.append("orientation")
    elif options.deskew:
        correction = estimate_skew(grey_for_geometry)
    if options.deskew and abs(correction) >= 0.1:
        colour = rotate_fine(colour, correction, border=paper_colour(colour))
        stages.append("deskew")
    skew = -correction if options.deskew and abs(correction) >= 0.1 else 0.0
    clock.mark("orientation_deskew")
    if options.dewarp:
        curl = estimate_curl(flatten_background(to_grey(colour), dpi))
        if curl is not None:
            colour = dewarp(colour, curl)
            stages.append("dewarp")
        clock.mark("dewarp")
    debug.save("1-upright", colour)

    grey = suppress_colour(colour) if options.remove_colour else to_grey(colour)
    marks = pen_marks(colour, dpi) if options.remove_colour else ()
    if options.remove_colour:
        stages.append("remove_colour")
    if options.flatten:
        grey = flatten_background(grey, dpi)
        stages.append("flatten")
    debug.save("2-flat", grey)
    clock.mark("colour_flatten")

    if options.denoise and noise_level(grey) > SPECKLE_NOISE:
        # grainy scans: a median takes out the speckle Tesseract reads as dots and commas
        grey = cv2.medianBlur(grey, 3)
        stages.append("despeckle")
    # (measured at the scan's own resolution: upscaling blurs a faint letter into its neighbours)
    worn_ribbon = options.faint_ink and faint_letters(grey, dpi) >= FAINT_LETTERS
    scale = 1.0
    if options.upscale and dpi < OCR_TARGET_DPI * 0.9:
        scale = OCR_TARGET_DPI / dpi
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        if options.denoise:
            grey = cv2.GaussianBlur(grey, (0, 0), DENOISE_SIGMA)
        stages.append("upscale")
    ocr_dpi = dpi * scale

    mask = ink_mask(grey)

    def recogniser_input(ink: np.ndarray) -> np.ndarray:
        return 255 - ink if options.binarise else grey_with_erasures(grey, mask, ink)

    ink, rules, ink_stages = clean_ink(mask, ocr_dpi, scale, options)
    ocr_input = recogniser_input(ink)
    stages.extend(ink_stages)
    clock.mark("upscale_binarise_leaders_rules")
    debug.save("3-ocr", ocr_input)
    # Second readings, each tried when the first reading's confidence is below its bar;
    # the better-read one is kept.
    alternates: list[tuple[float, CleanPage]] = []

    def alternate(ocr_input: np.ndarray, rules, stage: str) -> CleanPage:
        return CleanPage(number=page.number, display=colour, ocr_input=ocr_input, dpi=dpi, ocr_scale=scale,
                         rotation=rotation, skew=skew, stages=tuple(stages) + (stage,), rules=rules,
                         timings=tuple(clock.laps), pen_marks=marks)

    if worn_ribbon:
        # Worn ribbon: whole letters lighter than Otsu's threshold. The faint-ink input
        # keeps them; it is always read too (bleed-through also adds faint "letters"; its
        # reading comes out worse and loses).
        faint_ink, faint_rules, _ = clean_ink(faint_ink_mask(grey), ocr_dpi, scale, options)
        faint_input = recogniser_input(faint_ink)
        debug.save("3-ocr-faint", faint_input)
        alternates.append((1.01, alternate(faint_input, faint_rules, "faint_ink")))
    if options.binarise and options.grey_rereading:
        # Blurred, noisy print: thresholding breaks and merges strokes; the flattened grey
        # reads better there (measured: blur+noise level 3, 8.4 % -> 5.0 % CER), and
        # Tesseract's confidence tells those pages apart.
        alternates.append((GREY_REREADING_BELOW, alternate(grey_with_erasures(grey, mask, ink), rules, "grey")))
    clock.mark("alternates")

    return CleanPage(number=page.number, display=colour, ocr_input=ocr_input, dpi=dpi, ocr_scale=scale,
                     rotation=rotation, skew=skew, stages=tuple(stages), rules=rules,
                     timings=tuple(clock.laps), alternates=tuple(alternates), pen_marks=marks)


def clean_ink(ink: np.ndarray, ocr_dpi: float, scale: float,
              options: CleanupOptions) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], ...], list[str]]:
    """A page's ink with leaders and rules erased; the rules' boxes (display pixels) and
    the stages that ran."""
    stages = []
    if options.remove_leaders:
        ink = remove_leader_dots(ink, ocr_dpi)
        stages.append("remove_leaders")
    rules: tuple[tuple[int, int, int, int], ...] = ()
    if options.remove_rules:
        ink, boxes = remove_rules(ink, ocr_dpi)
        rules = tuple(tuple(int(round(v / scale)) for v in box) for box in boxes)  # type: ignore[misc]
        stages.append("remove_rules")
    return ink, rules, stages


def grey_with_erasures(grey: np.ndarray, mask: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The grey levels kept (blurred and noisy print reads better unthresholded), with
    only what the stages took out of the page's ink `mask` (leaders, rules) erased."""
    erased = cv2.dilate(cv2.subtract(mask, ink), np.ones((3, 3), np.uint8))
    ocr_input = grey.copy()
    ocr_input[erased > 0] = 255
    return ocr_input


def with_rotation(page: CleanPage, extra: int) -> CleanPage:
    """The same page turned a further `extra` degrees clockwise (used when OCR finds it upside down)."""
    if extra % 360 == 0:
        return page
    return CleanPage(number=page.number, display=rotate_quarter(page.display, extra),
                     ocr_input=rotate_quarter(page.ocr_input, extra), dpi=page.dpi, ocr_scale=page.ocr_scale,
                     rotation=(page.rotation + extra) % 360, skew=page.skew, stages=page.stages + ("flip",),
                     rules=_rotate_boxes(page.rules, extra, page.display.shape[1], page.display.shape[0]),
                     timings=page.timings,
                     alternates=tuple((bar, with_rotation(alt, extra)) for bar, alt in page.alternates),
                     pen_marks=tuple(_rotate_boxes(page.pen_marks, extra, page.display.shape[1],
                                                   page.display.shape[0])))


def _rotate_boxes(boxes, clockwise: int, width: int, height: int):
    """Boxes of a width x height image after turning it `clockwise` degrees."""
    out = []
    for x0, y0, x1, y1 in boxes:
        if clockwise % 360 == 90:
            out.append((height - y1, x0, height - y0, x1))
        elif clockwise % 360 == 180:
            out.append((width - x1, height - y1, width - x0, height - y0))
        elif clockwise % 360 == 270:
            out.append((y0, width - x1, y1, width - x0))
        else:
            out.append((x0, y0, x1, y1))
    return tuple(out)


class _Clock:
    """Seconds spent per stage, for the benchmarks' per-stage breakdown."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps.append((stage, now - self._last))
        self._last = now


class _Debug:
    def __init__(self, folder: Path | None, number: int):
        self.folder = folder
        self.number = number
        if folder:
            folder.mkdir(parents=True, exist_ok=True)

    def save(self, stage: str, image: np.ndarray) -> None:
        if self.folder:
            cv2.imwrite(str(self.folder / f"p{self.number:03d}-{stage}.png"), image)
