"""Cleanup: PageImage -> CleanPage.

Each stage is a small pure function over numpy images. The display image (what
the PDF shows) is the page's own colour image, rotated upright and deskewed; the
OCR input is a flattened, colour-filtered, binarised and upscaled grey image.
Stages can be switched off and their images saved for debugging."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import time

import cv2
import numpy as np

from ..types import CleanPage, PageImage
from .colour import paper_colour, pen_marks, suppress_colour, to_bgr, to_grey
from .geometry import (
    dewarp,
    estimate_curl,
    estimate_orientation,
    estimate_skew,
    find_sheet,
    rectify_sheet,
    rotate_fine,
    rotate_quarter,
    sheet_dpi,
    trim_dark_borders,
)
from .ink import (
    FAINT_LETTERS,
    faint_ink_mask,
    faint_letters,
    flatten_background,
    ink_mask,
    noise_level,
    remove_leader_dots,
)
from .tables import remove_rules

OCR_TARGET_DPI = 300.0
# Gaussian sigma (pixels at 300 dpi) before thresholding an upscaled page. Measured on
# a generated dev slice: blurred+noisy pages 6.3% -> 0.3% CER; 1.0 and more start to
# cost on clean forms (Tesseract drops lines).
DENOISE_SIGMA = 0.7
SPECKLE_NOISE = 12.0  # pixel noise (grey levels) of the flattened paper above which a page is despeckled;
# chosen on the dev slice: 8 and 12 both help blur+noise (4.5 % -> 3.8 % CER), 12 leaves lighter
# noise alone (at 4 and 8 it cost noise+skew pages 0.1 points)
# Page confidence under which the grey (unthresholded) input is read as well. Measured on
# 22 dev pages: blurred+noisy pages read at 0.76-0.92 and their grey input better (8.6 -> 1.5 %
# CER on one); well-read pages are at 0.94-0.96, where the grey input is no better.
GREY_REREADING_BELOW = 0.93


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
        return 255 - ink if options.binarise else grey_with_erasures(grey, mask, ink, scale)

    ink, rules, ink_stages = clean_ink(mask, ocr_dpi, scale, options)
    ocr_input = recogniser_input(ink)
    stages.extend(ink_stages)
    clock.mark("upscale_binarise_leaders_rules")
    debug.save("3-ocr", ocr_input)
    # Second readings, each tried when the first reading's confidence is below its bar;
    # the better-read one is kept.
    alternates: list[tuple[float, CleanPage]] = []

    def alternate(ocr_input: np.ndarray, rules, stage: str) -> CleanPage:
        return CleanPage(
            number=page.number,
            display=colour,
            ocr_input=ocr_input,
            dpi=dpi,
            ocr_scale=scale,
            rotation=rotation,
            skew=skew,
            stages=tuple(stages) + (stage,),
            rules=rules,
            timings=tuple(clock.laps),
            pen_marks=marks,
        )

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
        alternates.append((GREY_REREADING_BELOW, alternate(grey_with_erasures(grey, mask, ink, scale), rules, "grey")))
    clock.mark("alternates")

    return CleanPage(
        number=page.number,
        display=colour,
        ocr_input=ocr_input,
        dpi=dpi,
        ocr_scale=scale,
        rotation=rotation,
        skew=skew,
        stages=tuple(stages),
        rules=rules,
        timings=tuple(clock.laps),
        alternates=tuple(alternates),
        pen_marks=marks,
    )


def clean_ink(
    ink: np.ndarray, ocr_dpi: float, scale: float, options: CleanupOptions
) -> tuple[np.ndarray, tuple[tuple[int, int, int, int], ...], list[str]]:
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


def grey_with_erasures(grey: np.ndarray, mask: np.ndarray, ink: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The grey levels kept (blurred and noisy print reads better unthresholded), with
    only what the stages took out of the page's ink `mask` (leaders, rules) erased, grey
    rim and all: the rim widens with the page's upscaling, and a dot's rim left behind
    reads as a ring ("o")."""
    reach = max(1, int(round(scale)))
    erased = cv2.dilate(cv2.subtract(mask, ink), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    return cv2.max(grey, cv2.threshold(erased, 0, 255, cv2.THRESH_BINARY)[1])  # erased: white


def with_rotation(page: CleanPage, extra: int) -> CleanPage:
    """The same page turned a further `extra` degrees clockwise (used when OCR finds it upside down)."""
    if extra % 360 == 0:
        return page
    return CleanPage(
        number=page.number,
        display=rotate_quarter(page.display, extra),
        ocr_input=rotate_quarter(page.ocr_input, extra),
        dpi=page.dpi,
        ocr_scale=page.ocr_scale,
        rotation=(page.rotation + extra) % 360,
        skew=page.skew,
        stages=page.stages + ("flip",),
        rules=_rotate_boxes(page.rules, extra, page.display.shape[1], page.display.shape[0]),
        timings=page.timings,
        alternates=tuple((bar, with_rotation(alt, extra)) for bar, alt in page.alternates),
        pen_marks=tuple(_rotate_boxes(page.pen_marks, extra, page.display.shape[1], page.display.shape[0])),
    )


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
