"""Page geometry: the sheet found in a photo or scan and rectified, quarter turns and
fine rotation, orientation and skew from projection profiles, and a bound book's
curl measured and flattened."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from .colour import to_grey
from .ink import ink_mask

log = logging.getLogger(__name__)

MAX_SKEW = 15.0
SHEET_INSET = 0.01  # fraction of a rectified sheet trimmed from each side
CURL_MIN_GAIN = 0.05  # measured: curled book page 0.12, flat pages <= 0.015


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
    return cv2.warpAffine(
        image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border
    )


A4_WIDTH_IN = 210 / 25.4
A4_ASPECT = 297 / 210


def _order_corners(points: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    points = points.reshape(4, 2).astype(np.float32)
    total = points.sum(axis=1)
    diff = np.diff(points, axis=1).ravel()
    return np.array(
        [points[np.argmin(total)], points[np.argmin(diff)], points[np.argmax(total)], points[np.argmax(diff)]],
        dtype=np.float32,
    )


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
        if (
            (a[0] <= tol and b[0] <= tol)
            or (a[0] >= w - 1 - tol and b[0] >= w - 1 - tol)
            or (a[1] <= tol and b[1] <= tol)
            or (a[1] >= h - 1 - tol and b[1] >= h - 1 - tol)
        ):
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
    lines: list[tuple[np.ndarray, np.ndarray] | None] = []
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
        if (
            np.linalg.norm(point - corners[i]) <= 2 * reach
            and -reach <= point[0] <= w + reach
            and -reach <= point[1] <= h + reach
        ):
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
    flat = cv2.warpPerspective(colour, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # The found edges are good to a few pixels; a sliver of desk left along a side
    # would read as a page-high ruling line (and turn the page into one table).
    # Paper margins are centimetres wide, so an inset of 1 % loses no text.
    inset_y, inset_x = int(SHEET_INSET * height), int(SHEET_INSET * width)
    return flat[inset_y : height - inset_y, inset_x : width - inset_x]


def sheet_dpi(width: int, height: int, fallback: float) -> float:
    """Resolution of a rectified sheet: an A4-shaped sheet is 210 mm wide."""
    aspect = max(width, height) / max(1, min(width, height))
    if abs(aspect - A4_ASPECT) < 0.08:
        return min(width, height) / A4_WIDTH_IN
    return fallback


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
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, np.ones((1, 7), np.uint8)), connectivity=8)
    strip_width = float(bounds[1] - bounds[0])
    tall = 0.05 * ink.shape[0]
    before = after = 0.0
    lines = 0
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_WIDTH] < 3 * strip_width or stats[i, cv2.CC_STAT_HEIGHT] > tall:
            continue
        x, y, w, h = (
            int(stats[i, k]) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT)
        )
        blob = labels[y : y + h, x : x + w] == i
        centres, flat = [], []
        for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            a, b = max(a, x), min(b, x + w)
            if b - a < strip_width / 2:
                continue
            rows = np.nonzero(blob[:, a - x : b - x])[0]
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
