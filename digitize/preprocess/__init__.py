"""Cleanup: PageImage -> CleanPage.

One module per concern, each stage a small pure function over numpy images:

- `geometry`: the sheet found and rectified, orientation, deskew, a bound book's curl
- `colour`: paper colour, coloured marks removed, red printed text kept, pen-stroke boxes
- `ink`: ink masks (faint ink too), background flattening, paper noise, dotted leaders
- `tables`: ruling lines found and erased
- `cleanup`: `CleanupOptions` and `clean_page`, which runs the stages in order (with the
  stage clock and debug images), `clean_ink`, `with_rotation`

Every name is re-exported here, so `from digitize import preprocess as P; P.find_sheet`
and `from digitize.preprocess import clean_page` work as they did when this was one module."""

from __future__ import annotations

from .cleanup import (
    DENOISE_SIGMA,
    GREY_REREADING_BELOW,
    OCR_TARGET_DPI,
    SPECKLE_NOISE,
    CleanupOptions,
    clean_ink,
    clean_page,
    grey_with_erasures,
    with_rotation,
)
from .cleanup import _rotate_boxes as _rotate_boxes  # private, used by tests/test_cleanup.py
from .colour import paper_colour, pen_marks, red_text_lines, suppress_colour, to_bgr, to_grey
from .geometry import (
    A4_ASPECT,
    A4_WIDTH_IN,
    CURL_MIN_GAIN,
    MAX_SKEW,
    SHEET_INSET,
    dewarp,
    estimate_curl,
    estimate_orientation,
    estimate_skew,
    find_sheet,
    rectify_sheet,
    refine_sheet_corners,
    rotate_fine,
    rotate_quarter,
    sheet_dpi,
    trim_dark_borders,
)
from .ink import (
    FAINT_LETTERS,
    FAINT_MARGIN,
    FAINT_PROBE_MARGIN,
    faint_ink_mask,
    faint_letters,
    figures_without_dots,
    leader_through_figures,
    flatten_background,
    ink_mask,
    noise_level,
    remove_leader_dots,
)
from .tables import find_rules, remove_rules

__all__ = [
    # cleanup
    "DENOISE_SIGMA",
    "GREY_REREADING_BELOW",
    "OCR_TARGET_DPI",
    "SPECKLE_NOISE",
    "CleanupOptions",
    "clean_ink",
    "clean_page",
    "grey_with_erasures",
    "with_rotation",
    # colour
    "paper_colour",
    "pen_marks",
    "red_text_lines",
    "suppress_colour",
    "to_bgr",
    "to_grey",
    # geometry
    "A4_ASPECT",
    "A4_WIDTH_IN",
    "CURL_MIN_GAIN",
    "MAX_SKEW",
    "SHEET_INSET",
    "dewarp",
    "estimate_curl",
    "estimate_orientation",
    "estimate_skew",
    "find_sheet",
    "rectify_sheet",
    "refine_sheet_corners",
    "rotate_fine",
    "rotate_quarter",
    "sheet_dpi",
    "trim_dark_borders",
    # ink
    "FAINT_LETTERS",
    "FAINT_MARGIN",
    "FAINT_PROBE_MARGIN",
    "faint_ink_mask",
    "faint_letters",
    "figures_without_dots",
    "leader_through_figures",
    "flatten_background",
    "ink_mask",
    "noise_level",
    "remove_leader_dots",
    # tables
    "find_rules",
    "remove_rules",
]
