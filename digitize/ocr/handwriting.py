"""Figures written by hand in pen into a printed blank: the number of "Số:    /CT-UBND" and
the day and month of "ngày    tháng    năm 2025" (Nghị định 30 gives them when a document is
issued, after it was printed and signed). Tesseract reads such figures as confident-looking
wrong digits or as stray marks; this reads them with a digit model trained on handwriting.

A reading is a suggestion for the person who confirms the value: a value read here is never
auto-accepted (`extract.base.Value.handwritten`). Measured on the real scans in
`../shared/realdocs/` (README "Measured": `benchmarks/bench_realdocs.py`).

The model (`models/pen_figures.npz`, trained by `python -m models.train_pen_figures`) is a
small perceptron over gradient-orientation histograms and a coarse image of one figure,
normalised as MNIST's are (the figure fitted into 20×20 pixels, its centre of mass centred in
28×28, its slant undone). A blank is cut into figures by connected components; a group of
touching figures is cut where its ink is thinnest, into as many figures as read best."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

import cv2
import numpy as np

MODEL_FILE = "pen_figures.npz"
SIZE = 28  # a figure is read as a 28×28 image, as MNIST's figures are
_FIT = 20  # the figure's longer side inside it


@dataclass(frozen=True)
class PenFigures:
    """What the model read in a blank: its figures and its confidence in the weakest one, and
    the readings it allows, most probable first (each figure as read or as its runner-up), for
    a check that knows more (a date bounded by the document's signing) to choose among."""

    text: str
    confidence: float
    readings: tuple[tuple[str, float], ...] = ()


# ------------------------------------------------------------------ one figure


def normalised(ink: np.ndarray) -> np.ndarray:
    """One figure's ink (bright on dark) as the model reads it: fitted into 20×20, centred by
    its mass in 28×28, values 0..1."""
    ys, xs = np.nonzero(ink > 40)
    out = np.zeros((SIZE, SIZE), np.float32)
    if len(xs) == 0:
        return out
    ink = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = ink.shape
    scale = _FIT / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(ink, (nw, nh), interpolation=cv2.INTER_AREA)
    m = cv2.moments(small)
    cy = m["m01"] / m["m00"] if m["m00"] else nh / 2
    cx = m["m10"] / m["m00"] if m["m00"] else nw / 2
    oy = min(max(int(round(SIZE / 2 - cy)), 0), SIZE - nh)
    ox = min(max(int(round(SIZE / 2 - cx)), 0), SIZE - nw)
    out[oy : oy + nh, ox : ox + nw] = small
    return out / 255.0


def _upright(img: np.ndarray) -> np.ndarray:
    """The figure's slant undone (italic hands lean 10–30°), from its second moments."""
    m = cv2.moments(img)
    if abs(m["mu02"]) < 1e-2:
        return img
    skew = m["mu11"] / m["mu02"]
    shear = np.array([[1, skew, -0.5 * SIZE * skew], [0, 1, 0]], dtype=np.float32)
    return cv2.warpAffine(img, shear, (SIZE, SIZE), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


_ORIENTATIONS = 8
_ROWS, _COLS = np.indices((SIZE, SIZE))


def orientation_histograms(img: np.ndarray) -> np.ndarray:
    """Gradient orientations (8 bins, shared linearly between neighbours) summed over 7×7
    cells, on two grids offset by half a cell; the vector scaled to unit length."""
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    angle = (np.arctan2(gy, gx) % (2 * np.pi)) / (2 * np.pi) * _ORIENTATIONS
    low = np.floor(angle).astype(int) % _ORIENTATIONS
    share = angle - np.floor(angle)
    hist = np.zeros((SIZE, SIZE, _ORIENTATIONS), np.float32)
    hist[_ROWS, _COLS, low] += magnitude * (1 - share)
    hist[_ROWS, _COLS, (low + 1) % _ORIENTATIONS] += magnitude * share
    cells = hist.reshape(4, 7, 4, 7, _ORIENTATIONS).sum((1, 3)).ravel()
    offset = hist[3:24, 3:24].reshape(3, 7, 3, 7, _ORIENTATIONS).sum((1, 3)).ravel()
    vector = np.concatenate([cells, offset])
    return vector / (np.linalg.norm(vector) + 1e-6)


def features(img: np.ndarray) -> np.ndarray:
    """What the model reads of a normalised figure: orientation histograms and a 14×14 image."""
    upright = _upright(img)
    coarse = cv2.resize(upright, (14, 14), interpolation=cv2.INTER_AREA).ravel()
    return np.concatenate([orientation_histograms(upright), coarse]).astype(np.float32)


@dataclass(frozen=True)
class FigureModel:
    """A perceptron with one hidden layer: features (standardised) → 10 figures."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        hidden = np.maximum(((batch - self.mean) / self.scale) @ self.w1 + self.b1, 0)
        out = hidden @ self.w2 + self.b2
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)

    def read(self, ink: np.ndarray) -> tuple[int, float, int, float]:
        """One figure's ink → (figure, probability, runner-up, its probability)."""
        return self.ranked(features(normalised(ink)))

    def ranked(self, row: np.ndarray) -> tuple[int, float, int, float]:
        """One feature row → (class, probability, runner-up, its probability)."""
        p = self.probabilities(row[None, :])[0]
        first, second = (int(i) for i in np.argsort(p)[::-1][:2])
        return first, float(p[first]), second, float(p[second])

    def arrays(self) -> dict[str, np.ndarray]:
        return {"w1": self.w1, "b1": self.b1, "w2": self.w2, "b2": self.b2, "mean": self.mean, "scale": self.scale}


_MODELS: dict[str, FigureModel] = {}
_LOCK = threading.Lock()


def shipped_model(file_name: str) -> FigureModel | None:
    """A model file of the `models` package (loaded once); None where the package is not installed."""
    with _LOCK:
        if file_name not in _MODELS:
            try:
                data = resources.files("models").joinpath(file_name).read_bytes()
            except (ModuleNotFoundError, FileNotFoundError):
                return None
            with np.load(io.BytesIO(data)) as z:
                _MODELS[file_name] = FigureModel(**{k: z[k] for k in ("w1", "b1", "w2", "b2", "mean", "scale")})
        return _MODELS[file_name]


def figure_model() -> FigureModel | None:
    """The shipped pen-figure model; None where the models package is not installed."""
    return shipped_model(MODEL_FILE)


# ------------------------------------------------------------------ a blank


def _is_rule(width: int, height: int, figure_height: float) -> bool:
    """A rule (the header's underline) or a leader's stretch: long and thin, no figure."""
    return width > 1.2 * figure_height and height < 0.25 * width


def figure_groups(ink: np.ndarray, figure_height: float) -> list[tuple[np.ndarray, int, int]]:
    """The blank's ink in groups of strokes that overlap left to right (a 5's flag, a 7's bar),
    each as (its ink, its left x, its height); specks and rules left out."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    parts = sorted(
        (int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 0] + stats[i, 2]), int(stats[i, 1] + stats[i, 3]), i)
        for i in range(1, count)
        if (stats[i, 3] >= 0.3 * figure_height or stats[i, 2] >= 0.5 * figure_height)
        and not _is_rule(int(stats[i, 2]), int(stats[i, 3]), figure_height)
    )
    groups: list[list[int]] = []  # x0, y0, x1, y1, then the labels
    for x0, y0, x1, y1, label in parts:
        if groups and x0 < groups[-1][2] - 0.25 * (x1 - x0):
            g = groups[-1]
            groups[-1] = [min(g[0], x0), min(g[1], y0), max(g[2], x1), max(g[3], y1)] + g[4:] + [label]
        else:
            groups.append([x0, y0, x1, y1, label])
    out = []
    for g in groups:
        x0, y0, x1, y1 = g[:4]
        if y1 - y0 < 0.6 * figure_height:  # a comma, a dot, a tone mark's remains
            continue
        out.append(((np.isin(labels[y0:y1, x0:x1], g[4:]) * 255).astype(np.uint8), x0, y1 - y0))
    return out


class _ReadsOne(Protocol):
    def read(self, ink: np.ndarray) -> tuple[int, float, int, float]: ...


_READ_HEIGHT = 40  # pixels: smaller figures are enlarged to this before they are cut apart

# A figure is seldom wider than tall; reading a group as more figures than needed costs a
# little (a 1's long lead-in read as "01" otherwise).
_WIDE = 0.95
_PER_FIGURE = 0.25
# A group is cut into k figures only when it is this wide (× its height): a single figure of
# a hand or an italic face is up to three quarters as wide as tall.
_CUT_WIDTH = {2: 0.75, 3: 1.2}


def read_group(model: "_ReadsOne", ink: np.ndarray, height: int) -> list[tuple[int, float, int, float]]:
    """Touching figures cut where the ink is thinnest into 1, 2 or 3 figures: the cut read
    best (mean log-probability), less a cost for figures wider than tall and for each cut."""
    width = ink.shape[1]
    best: tuple[float, list[tuple[int, float, int, float]]] | None = None
    for k in (1, 2, 3):
        if k > 1 and width < _CUT_WIDTH[k] * height:
            break
        cuts = thinnest_cuts(ink, k, spread=3)
        read, penalty = [], _PER_FIGURE * (k - 1)
        for a, b in zip(cuts, cuts[1:]):
            piece = ink[:, a:b]
            rows = np.nonzero(piece.any(axis=1))[0]
            if not len(rows):
                continue
            read.append(model.read(piece))
            penalty += 2.0 * max(0.0, (b - a) / (rows[-1] - rows[0] + 1) - _WIDE)
        if not read:
            continue
        score = float(np.mean([np.log(max(r[1], 1e-6)) for r in read])) - penalty
        if best is None or score > best[0]:
            best = (score, read)
    return best[1] if best else []


def thinnest_cuts(ink: np.ndarray, count: int, spread: int) -> list[int]:
    """Column edges cutting a mark into `count` figures, [0, ..., width]: each cut where the ink
    is thinnest within a `spread`-th of a figure's width of its share of the mark's width."""
    width = ink.shape[1]
    cuts = [0]
    for j in range(1, count):
        centre, near = width * j // count, max(1, width // (spread * count))
        lo, hi = max(cuts[-1] + 1, centre - near), min(width - 1, centre + near)
        cuts.append(lo + int(ink[:, lo:hi].sum(axis=0).argmin()) if hi > lo else centre)
    cuts.append(width)
    return cuts


def read_pen_figures(grey: np.ndarray, figure_height: float) -> PenFigures | None:
    """The figures in a blank (a grey crop holding only the blank, ink dark), `figure_height`
    the printed figures' height beside it; None where no figure is there or no model is."""
    model = figure_model()
    if model is None or grey.size == 0 or figure_height <= 0 or int(grey.min()) > 160:
        return None  # (nothing darker than paper: Otsu would make figures of its grain)
    if figure_height < _READ_HEIGHT:  # a coarse scan: figures a dozen pixels tall touch once thresholded
        scale = _READ_HEIGHT / figure_height
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        figure_height = _READ_HEIGHT
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    read = [r for ink_group, _x, h in figure_groups(ink, figure_height) for r in read_group(model, ink_group, h)]
    if not read:
        return None
    return PenFigures("".join(str(r[0]) for r in read), min(r[1] for r in read), _readings(read))


_READINGS = 8


def _readings(read: list[tuple[int, float, int, float]]) -> tuple[tuple[str, float], ...]:
    """Every reading that takes each figure as read or as its runner-up, by probability."""
    found: list[tuple[str, float]] = [("", 1.0)]
    for first, p1, second, p2 in read:
        found = [(text + str(d), p * q) for text, p in found for d, q in ((first, p1), (second, p2))]
        found = sorted(found, key=lambda r: -r[1])[: _READINGS * 4]
    return tuple(found[:_READINGS])
