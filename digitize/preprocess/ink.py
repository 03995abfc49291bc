"""Ink: masks of the print (Otsu's and a faint-ink threshold), background flattening,
the paper's pixel noise, and dotted leaders taken out of an ink mask."""

from __future__ import annotations

import cv2
import numpy as np

# Faint ink (worn typewriter ribbon). Measured on dev pages: a threshold 25-30 grey levels under
# the paper takes ribbon level-3 pages from 7.6/10.3 % to 1.2/3.1 % CER but wrecks JPEG and
# bleed-through pages, so it is a second reading, only where whole letters are missed:
# FAINT_LETTERS of the marks at the probe threshold (ribbon pages 0.022-0.055, bleed-through
# 0.0197, others 0). Which reading is kept is then Tesseract's confidence's call.
FAINT_MARGIN = 28.0
FAINT_PROBE_MARGIN = 40.0
FAINT_LETTERS = 0.02


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Binary (uint8 0/255) mask of dark ink on a flattened grey image."""
    _, mask = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask


def faint_ink_mask(grey: np.ndarray, margin: float = FAINT_MARGIN) -> np.ndarray:
    """Ink mask that keeps faint strokes (a worn typewriter ribbon): the threshold rises
    from Otsu's to `margin` grey levels under the paper, or as near as the paper's
    own noise allows."""
    otsu, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    counts = _histogram(grey)
    counts[np.arange(256) < _median_of_counts(counts)] = 0
    paper = _median_of_counts(counts)  # the median of the brighter half (np.median's, exactly)
    threshold = max(otsu, paper - max(margin, 6 * noise_level(grey)))
    return (grey < threshold).astype(np.uint8) * 255


def faint_letters(grey: np.ndarray, dpi: float) -> float:
    """Share of the letter-sized marks found at a faint-ink threshold that Otsu's
    threshold misses altogether: ~0 on a well-inked page, 0.03-0.07 on worn ribbon."""
    strong = ink_mask(grey) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(faint_ink_mask(grey, FAINT_PROBE_MARGIN), connectivity=8)
    overlap = np.bincount(labels[strong], minlength=count)
    mm = dpi / 25.4
    height, area = stats[:, 3], stats[:, 4]
    letter = (height >= 1.2 * mm) & (height <= 6 * mm) & (area >= 0.6 * mm * mm)
    letter[0] = False  # the background
    if not letter.any():
        return 0.0
    return float((letter & (overlap < 0.05 * area)).sum() / letter.sum())


def flatten_background(grey: np.ndarray, dpi: float) -> np.ndarray:
    """Divide by a smooth background estimate: evens out yellowing, stains, shadows."""
    scale = 4
    small = cv2.resize(
        grey, (max(1, grey.shape[1] // scale), max(1, grey.shape[0] // scale)), interpolation=cv2.INTER_AREA
    )
    # A closing wider than a letter stroke removes text, leaving the background.
    k = max(3, int(dpi / 25 / scale) | 1)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    background = cv2.medianBlur(background, 5)
    background = cv2.resize(background, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(grey, np.maximum(background, 1), scale=255)
    return flat


def noise_level(flat_grey: np.ndarray) -> float:
    """Pixel noise of the paper: how far the flattened page strays from its 3x3 median,
    on paper (not ink) only; the 90th percentile, since flattening clips the paper
    white and leaves most of it exactly at 255."""
    residual = cv2.absdiff(flat_grey, cv2.medianBlur(flat_grey, 3))
    paper = cv2.erode((flat_grey > 200).astype(np.uint8), np.ones((5, 5), np.uint8))
    if cv2.countNonZero(paper) < 1000:
        return 0.0
    return _percentile_of_counts(_histogram(residual, paper), 90)


def _histogram(image: np.ndarray, mask: np.ndarray | None = None, channel: int = 0) -> np.ndarray:
    """Counts of each level 0-255 of a uint8 image's `channel` (where `mask` is non-zero)."""
    return cv2.calcHist([image], [channel], mask, [256], [0, 256]).ravel().astype(np.int64)


def _order_statistic(cumulative: np.ndarray, k: int) -> int:
    """The k-th smallest value (0-based) of the pixels a cumulative histogram counts."""
    return int(np.searchsorted(cumulative, k, side="right"))


def _median_of_counts(counts: np.ndarray) -> float:
    """np.median of the pixels a histogram counts, without sorting them."""
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    if n % 2:
        return float(_order_statistic(cumulative, n // 2))
    return (_order_statistic(cumulative, n // 2 - 1) + _order_statistic(cumulative, n // 2)) / 2


def _percentile_of_counts(counts: np.ndarray, q: float) -> float:
    """np.percentile(values, q) (its default linear method, to the last bit) of the values a
    histogram counts, without sorting them."""
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    index = (n - 1) * (np.float64(q) / 100)
    below = int(np.floor(index))
    gamma = float(index - below)
    a = float(_order_statistic(cumulative, below))
    b = float(_order_statistic(cumulative, min(below + 1, n - 1)))
    return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma


def figures_without_dots(crop: np.ndarray) -> np.ndarray:
    """A crop (grey, dark ink) holding one value in figures with a leader's dots cleared:
    every dot-sized mark in the figures' lower part and all ink under their baseline.

    Why here and not on the page: a dot under a letter may be a diacritic (ạ, ệ, ộ), and
    on a typed-over leader neither the gap above it nor its offset from the letter tells
    which (measured), so the page keeps them; figures have neither diacritics nor
    descenders, so any such mark under them is the leader's. Touching a figure's foot it
    turns 0 into 9 or 8 and 1 into 4 for Tesseract. The zero's inner dot (a slashed or
    dotted zero) stands at mid-height and is kept."""
    ink = (crop < 128).astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return crop
    top, w, h = stats[1:, cv2.CC_STAT_TOP], stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    figures = h >= 0.35 * crop.shape[0]
    if figures.sum() < 3:
        return crop
    line_top = float(np.median(top[figures]))
    # The shorter figures' height: a figure a dot clings to below is taller than it is.
    height = float(np.percentile(h[figures], 30))
    dots = (h <= 0.3 * height) & (w <= 0.4 * height) & (centroids[1:, 1] > line_top + 0.6 * height)
    out = crop.copy()
    if dots.any():
        # with the grey rim the threshold left around each dot: alone, it reads as a ring ("o")
        cleared = np.isin(labels, np.where(dots)[0] + 1).astype(np.uint8)
        out[cv2.dilate(cleared, np.ones((3, 3), np.uint8)) > 0] = 255
    baseline = int(round(line_top + height + max(1.0, 0.06 * height)))
    out[baseline:] = 255
    return out


def leader_through_figures(crop: np.ndarray) -> bool:
    """Whether a leader runs through a crop's figures at their mid-height (a value typed a
    little below its dotted line): a dot-sized mark stands there beside the figures.

    Why it matters: where such a leader touches a figure the dot merges into it, no crop
    clears it, and every recogniser reads the same wrong figure ("·1" as 4), so readings
    that agree there confirm nothing. The zero's inner dot (inside a figure) and a colon
    (a dot above or below another) do not count."""
    # Otsu's threshold, not a fixed one: a faint grey crop falls apart into dot-sized pieces
    _, ink = cv2.threshold(crop, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 2:
        return False
    left, top, w, h = (stats[1:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
    figures = h >= 0.35 * crop.shape[0]
    if figures.sum() < 3:
        return False  # no row of figures to measure the marks against (a broken, faint crop)
    line_top = float(np.median(top[figures]))
    height = float(np.percentile(h[figures], 30))
    cx, cy = centroids[1:, 0], centroids[1:, 1]
    dots = np.where((h <= 0.3 * height) & (w <= 0.4 * height) & (h >= 0.06 * height))[0]
    for d in dots:
        if not (line_top + 0.25 * height <= cy[d] <= line_top + 0.75 * height):
            continue
        if np.any(figures & (left <= cx[d]) & (cx[d] <= left + w)):
            continue  # inside a figure's width: the zero's dot, or a figure's own part
        column = [o for o in dots if o != d and abs(cx[o] - cx[d]) <= 0.3 * height]
        if column:
            continue  # a colon
        return True
    return False


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
    # A row goes on while each dot is near the one before it, within a few tolerances of
    # its first: a page levelled by dewarping still tilts a leader by a few pixels across
    # the line, and a row held to its first dot split one leader in two (the half under a
    # typed value then had too few dots of its own to count, and stayed in the value).
    rows: list[list[tuple[float, float, float, int]]] = []
    for dot in dots:
        if rows and dot[1] - rows[-1][-1][1] <= tolerance and dot[1] - rows[-1][0][1] <= 3 * tolerance:
            rows[-1].append(dot)
        else:
            rows.append([dot])
    leader_dots: dict[int, int] = {}
    for row in rows:
        if len(row) < 5:
            continue
        row.sort(key=lambda d: d[0])
        members: list[tuple[float, float, float, int]] = []
        for chain in _chains(row, max_gap, tolerance):
            members += _regular_run(chain)
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
    for b in remove:  # each a dot's small box: cleared there, not by a search of the whole page
        x0, y0 = int(x[b]), int(stats[b, cv2.CC_STAT_TOP])
        box = (slice(y0, y0 + int(h[b])), slice(x0, x0 + int(w[b])))
        out[box][labels[box] == b] = 0
    return out


def _dots_under_values(
    row: list[tuple[float, float, float, int]],
    members: list[tuple[float, float, float, int]],
    binary_ink: np.ndarray,
    dpi: float,
) -> list[tuple[float, float, float, int]]:
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
    # the leader's height where the dot is: a line a few pixels off level (after dewarping)
    # puts a dot under the value further from the whole leader's median than a dot's height
    ys = np.array([m[1] for m in members])[order]
    tilt, height_at_0 = np.polyfit(xs, ys, 1) if xs[-1] > xs[0] else (0.0, float(np.median(ys)))
    known = {id(m) for m in members}
    dot_height = max(2.0, float(np.sqrt(size)))
    reach = dpi * 6.0  # a value typed over a leader may cover most of it (about 15 cm)
    found = []
    for dot in row:
        if (
            id(dot) in known
            or not (0.5 * size <= dot[2] <= 2.0 * size)
            or abs(dot[1] - (height_at_0 + tilt * dot[0])) > dot_height
        ):
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
    above = binary_ink[max(0, top - int(dpi * 0.07)) : max(0, top - 1), max(0, int(x) - half) : int(x) + half + 1]
    return bool(above.size and above.any())


def _chains(
    row: list[tuple[float, float, float, int]], max_gap: float, tolerance: float
) -> list[list[tuple[float, float, float, int]]]:
    """A row's dots (sorted by x) linked into chains, each dot to the chain whose last dot
    lies within a leader's pitch before it and nearest in height: a leader followed along
    its own tilt, and not broken by a dot-below diacritic or a stop beside it."""
    chains: list[list[tuple[float, float, float, int]]] = []
    open_chains: list[list[tuple[float, float, float, int]]] = []  # those a next dot may still join
    for dot in row:
        open_chains = [c for c in open_chains if dot[0] - c[-1][0] <= max_gap]
        near = [c for c in open_chains if dot[0] > c[-1][0] and abs(dot[1] - c[-1][1]) <= tolerance]
        if near:
            min(near, key=lambda c: abs(dot[1] - c[-1][1])).append(dot)
        else:
            chains.append([dot])
            open_chains.append(chains[-1])
    return chains


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
