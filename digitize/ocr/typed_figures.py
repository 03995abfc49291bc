"""Typed figures read by a small model of their own: a third reader, beside Tesseract's two,
for the figure fields of a form typed on a typewriter over its dotted leaders.

Why: Tesseract's `eng` and `vie` models share most of their misreads of a typewriter's
figures (a "1" whose long flag and foot read as "4", a "0" with a dot of the leader under it
read as "9"), so where they disagree neither settles the value, and where they agree on a
shared misread both are wrong alike. A classifier of single figures that never saw
Tesseract's training text errs elsewhere: its agreement with one of them is the second,
independent witness a value needs (`extract.rereading.check_figures`).

The model (`models/typed_figures.npz`, trained by `python -m models.train_typed_figures`) is
the pen-figure model's kind (`ocr.handwriting`: one hidden layer over gradient-orientation
histograms and a coarse image), over twelve classes: the ten figures, the slash of a date,
and anything else (a label's letters or colon caught at the crop's edge, a leader's dots).
Typed figures stand upright, so unlike pen figures their slant is not undone (a "/" would
become a "1"), and each figure's width and height beside the line's figures are features:
a colon, a dot or a comma is short. It was trained on figures rendered in typefaces other
than the ones the evaluation pages are typed in (see the training script)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .handwriting import (
    FigureModel,
    figure_groups,
    normalised,
    orientation_histograms,
    read_group,
    shipped_model,
    thinnest_cuts,
)

MODEL_FILE = "typed_figures.npz"
CLASSES = "0123456789/"  # and one more: not a figure
OTHER = len(CLASSES)
_READ_HEIGHT = 40  # pixels: figures are enlarged to this before they are thresholded and cut


def typed_features(ink: np.ndarray, figure_height: float) -> np.ndarray:
    """What the model reads of one mark's ink (bright on dark): its normalised image's
    orientation histograms and a 14×14 copy, and its height and width beside the figures'."""
    ys, xs = np.nonzero(ink > 40)
    height = (ys.max() - ys.min() + 1) if len(ys) else 0
    width = (xs.max() - xs.min() + 1) if len(xs) else 0
    img = normalised(ink)
    coarse = cv2.resize(img, (14, 14), interpolation=cv2.INTER_AREA).ravel()
    shape = np.array([height / figure_height, width / figure_height, width / max(1, height)], np.float32)
    return np.concatenate([orientation_histograms(img), coarse, shape]).astype(np.float32)


@dataclass(frozen=True)
class _Reader:
    """A model reading marks of one line, whose figures are `figure_height` tall."""

    model: FigureModel
    figure_height: float

    def read(self, ink: np.ndarray) -> tuple[int, float, int, float]:
        return self.model.ranked(typed_features(ink, self.figure_height))


def typed_model() -> FigureModel | None:
    """The shipped typed-figure model; None where the models package is not installed."""
    return shipped_model(MODEL_FILE)


@dataclass(frozen=True)
class TypedFigures:
    """The figures (and slashes) read, and the model's probability for the weakest of them."""

    text: str
    confidence: float


def marks(grey: np.ndarray, figure_height: float) -> tuple[list[tuple[np.ndarray, int, int]], float]:
    """The crop's marks as the model reads them: (ink, left x, height) each, left to right, at
    the reading scale, and the figure height at that scale. The training script cuts its
    rendered lines with this too, so the model learns the marks it will be shown."""
    if figure_height < _READ_HEIGHT:
        scale = _READ_HEIGHT / figure_height
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        figure_height = _READ_HEIGHT
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return figure_groups(ink, figure_height), figure_height


def read_typed_figures(grey: np.ndarray, figure_height: float) -> TypedFigures | None:
    """The figures in a crop holding one typed value (grey, ink dark), `figure_height` about
    the figures' height in its pixels; None where no model is installed or nothing is read."""
    model = typed_model()
    if model is None or grey.size == 0 or figure_height <= 0 or int(grey.min()) > 160:
        return None
    found, height = marks(grey, figure_height)
    found = _without_cut_edges(found)
    reader = _Reader(model, height)
    pitch = _pitch(found)
    read = []
    for ink, _x, h in found:
        count = int(round(ink.shape[1] / pitch)) if pitch else 1
        if count >= 2:
            # figures run together (a leader's dot between them, a blurred scan): a typeface's
            # figures share one width, so the mark holds as many as it is figures wide
            cuts = thinnest_cuts(ink, count, spread=4)
            read += [reader.read(ink[:, a:b]) for a, b in zip(cuts, cuts[1:]) if b > a]
        else:
            read += read_group(reader, ink, h)
    # Marks that are no figure are a label's end before the value and a leader after it; one
    # between figures is a figure the model doubted (a dot clinging to an 8): its best figure
    while read and read[0][0] == OTHER:
        read.pop(0)
    while read and read[-1][0] == OTHER:
        read.pop()
    kept = [(r[2], r[3], r[0], r[1]) if r[0] == OTHER else r for r in read]
    if not kept:
        return None
    return TypedFigures("".join(CLASSES[r[0]] for r in kept), min(r[1] for r in kept))


def _pitch(found: list[tuple[np.ndarray, int, int]]) -> float | None:
    """A figure's width on this line: the median width of its marks as wide as a figure
    (three or more of them), None where too few are."""
    widths = sorted(ink.shape[1] for ink, _x, h in found if 0.35 * h <= ink.shape[1] <= 0.9 * h)
    return float(np.median(widths)) if len(widths) >= 3 else None


def _without_cut_edges(found: list[tuple[np.ndarray, int, int]]) -> list[tuple[np.ndarray, int, int]]:
    """The marks without those at either end that are no whole figure: one touching the crop's
    left edge (the end of the label's last letter, "ố" of "Số:", cut by the crop) or one
    shorter than the line's figures (a typeface's figures are all one height)."""
    if not found:
        return found
    tall = float(np.median([h for _ink, _x, h in found]))
    out = list(found)
    while out and (out[0][1] == 0 or out[0][2] < 0.8 * tall):
        out.pop(0)
    while out and out[-1][2] < 0.8 * tall:
        out.pop()
    return out
