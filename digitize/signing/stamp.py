"""The Nghị định 30/2020 electronic-copy stamp (Phụ lục I, bản sao điện tử).

A copy made in electronic form carries, at the top right of its first page and
without a signature image, three upright lines in Times New Roman 10 pt:

    SAO Y                                   (or SAO LỤC / TRÍCH SAO)
    <the name of the agency that made the copy>
    Thời gian ký: dd/mm/yyyy hh:mm:ss +07:00

Here they are the visible appearance of the signature field: real text in an
embedded font subset with a ToUnicode map, so `pdftotext` finds the three lines,
and the time is the signature's own signing time. The field is placed where it
covers no text of page 1: the words of the page's text layer (the OCR words the
renderer put there) are read, and the first free place is taken scanning from
the top-right corner down and to the left within the upper part of the page; if
there is none, the top-right margin is used anyway.

Font: Liberation Serif (metric-compatible with Times New Roman, Vietnamese
complete) when installed (`fonts-liberation2`) or configured
(DIGITIZE_STAMP_FONT); otherwise DejaVu Serif, the serif face every machine here
has (Debian's fonts-dejavu-core), which covers Vietnamese but is wider than
Times: a stamp line is then some 15 % longer.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import VN_TZ

__all__ = ["COPY_FORMS", "StampSpec", "stamp_lines", "stamp_font_path", "place_stamp", "word_boxes", "add_stamp_field"]

log = logging.getLogger(__name__)

COPY_FORMS = ("SAO Y", "SAO LỤC", "TRÍCH SAO")
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"),
    Path("/usr/share/fonts/truetype/msttcorefonts/Times_New_Roman.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"),
)
FONT_SIZE = 10.0
LEADING = 11.0  # baseline to baseline
PAD = 2.0  # inside the field, around the text
MARGIN = 6.0  # from the page's edges
STEP = 3.0  # search grid
SEARCH_DOWN = 0.35  # how far down the page the free place is looked for (share of its height)
SEARCH_LEFT = 0.45  # how far left (share of its width)


@dataclass(frozen=True)
class StampSpec:
    copy_form: str = "SAO Y"
    agency_name: str = ""
    font: Path | None = None  # None: the first of FONT_CANDIDATES that exists

    def __post_init__(self) -> None:
        if self.copy_form not in COPY_FORMS:
            raise ConfigError(f"copy form must be one of {', '.join(COPY_FORMS)}, not {self.copy_form!r}")


def stamp_lines(spec: StampSpec, when: datetime) -> tuple[str, str, str]:
    """The three lines; `when` is shown in Vietnam time (+07:00)."""
    if when.tzinfo is None:
        raise ValueError("signing time needs a time zone")
    t = when.astimezone(VN_TZ)
    return (spec.copy_form, spec.agency_name, f"Thời gian ký: {t:%d/%m/%Y %H:%M:%S} +07:00")


def stamp_font_path(spec: StampSpec) -> Path:
    if spec.font is not None:
        if not Path(spec.font).is_file():
            raise ConfigError(f"stamp font not found: {spec.font}")
        return Path(spec.font)
    for path in FONT_CANDIDATES:
        if path.is_file():
            return path
    raise ConfigError("no serif font for the copy stamp (install fonts-dejavu-core or set DIGITIZE_STAMP_FONT)")


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF user space (origin bottom left)


def word_boxes(pdf: bytes) -> tuple[Box, tuple[Box, ...]]:
    """Page 1's media box and the boxes of the text lines of its text layer."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer, LTTextLine

    boxes: list[Box] = []
    media: Box = (0.0, 0.0, 595.0, 842.0)
    for page in extract_pages(io.BytesIO(pdf), page_numbers=[0], laparams=LAParams(all_texts=False)):
        media = tuple(float(v) for v in page.bbox)  # type: ignore[assignment]

        def walk(item: Any) -> None:
            if isinstance(item, LTTextLine):
                if item.get_text().strip():
                    boxes.append(tuple(float(v) for v in item.bbox))  # type: ignore[arg-type]
                return
            if isinstance(item, LTTextContainer) or hasattr(item, "__iter__"):
                for child in item:
                    walk(child)

        walk(page)
        break
    return media, tuple(boxes)


def place_stamp(media: Box, words: tuple[Box, ...], width: float, height: float) -> tuple[Box, bool]:
    """Where the stamp goes: (box, covers_no_text). The first free place scanning
    from the top-right corner (rows from the top, each from the right)."""
    px0, py0, px1, py1 = media

    def free(box: Box) -> bool:
        x0, y0, x1, y1 = box
        return not any(x0 < w[2] + 1 and w[0] - 1 < x1 and y0 < w[3] + 1 and w[1] - 1 < y1 for w in words)

    right, top = px1 - MARGIN, py1 - MARGIN
    lowest = py1 - (py1 - py0) * SEARCH_DOWN
    leftmost = min(px1 - (px1 - px0) * SEARCH_LEFT - width, right - width)
    y = top
    while y - height >= lowest:
        x = right
        while x - width >= max(px0 + MARGIN, leftmost):
            box = (x - width, y - height, x, y)
            if free(box):
                return box, True
            x -= STEP
        y -= STEP
    return (right - width, top - height, right, top), False


def add_stamp_field(
    writer: Any, name: str, lines: tuple[str, ...], font_path: Path, media: Box, words: tuple[Box, ...]
) -> Box:
    """A signature field on page 1 whose appearance is the stamp; returns its box."""
    from pyhanko.pdf_utils import generic
    from pyhanko.sign import fields

    from ..render import _build_font, _to_unicode_cmap

    font = _build_font(set("".join(lines)), font_path)
    size = FONT_SIZE
    text_w = max(font.advance(line) for line in lines) * size
    avail = (media[2] - media[0]) - 2 * MARGIN - 2 * PAD
    if text_w > avail:  # a very long agency name on a narrow page: smaller, never clipped
        size *= avail / text_w
        text_w = avail
    width, height = text_w + 2 * PAD, LEADING * (size / FONT_SIZE) * len(lines) + 2 * PAD
    box, clear = place_stamp(media, words, width, height)
    if not clear:
        log.warning("no free place for the copy stamp on page 1; put in the top-right margin")

    # (pyHanko writes the box's numbers as given; its annotation says int)
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=name, box=box))  # type: ignore[arg-type]
    leading = LEADING * size / FONT_SIZE
    first = height - PAD - font.ascent / 1000.0 * size
    ops = [f"BT /F1 {size:.3f} Tf 0 g 0 Tr {PAD:.3f} {first:.3f} Td {leading:.3f} TL"]
    for i, line in enumerate(lines):
        ops.append(("" if i == 0 else "T* ") + f"<{font.encode(line).hex()}> Tj")
    ops.append("ET")
    content = ("\n".join(ops) + "\n").encode("ascii")

    pdf_name = generic.pdf_name
    program = generic.StreamObject(
        {pdf_name("/Length1"): generic.NumberObject(len(font.program))}, stream_data=font.program
    )
    program.compress()
    descriptor = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/FontDescriptor"),
            pdf_name("/FontName"): pdf_name("/" + font.base_name),
            pdf_name("/Flags"): generic.NumberObject(4),
            pdf_name("/FontBBox"): generic.ArrayObject([generic.NumberObject(v) for v in font.bbox]),
            pdf_name("/ItalicAngle"): generic.NumberObject(0),
            pdf_name("/Ascent"): generic.NumberObject(font.ascent),
            pdf_name("/Descent"): generic.NumberObject(font.descent),
            pdf_name("/CapHeight"): generic.NumberObject(font.cap_height),
            pdf_name("/StemV"): generic.NumberObject(80),
            pdf_name("/FontFile2"): writer.add_object(program),
        }
    )
    cid_to_gid = generic.StreamObject(stream_data=b"".join(g.to_bytes(2, "big") for g in font.gids))
    cid_to_gid.compress()
    to_unicode = generic.StreamObject(stream_data=_to_unicode_cmap(font))
    to_unicode.compress()
    cid_font = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
            pdf_name("/BaseFont"): pdf_name("/" + font.base_name),
            pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                {
                    pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                    pdf_name("/Ordering"): generic.TextStringObject("Identity"),
                    pdf_name("/Supplement"): generic.NumberObject(0),
                }
            ),
            pdf_name("/FontDescriptor"): writer.add_object(descriptor),
            pdf_name("/DW"): generic.NumberObject(font.widths[font.cids[" "]]),
            pdf_name("/W"): generic.ArrayObject(
                [generic.NumberObject(0), generic.ArrayObject([generic.NumberObject(w) for w in font.widths])]
            ),
            pdf_name("/CIDToGIDMap"): writer.add_object(cid_to_gid),
        }
    )
    type0 = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type0"),
            pdf_name("/BaseFont"): pdf_name("/" + font.base_name),
            pdf_name("/Encoding"): pdf_name("/Identity-H"),
            pdf_name("/DescendantFonts"): generic.ArrayObject([writer.add_object(cid_font)]),
            pdf_name("/ToUnicode"): writer.add_object(to_unicode),
        }
    )
    appearance = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                [
                    generic.FloatObject(0),
                    generic.FloatObject(0),
                    generic.FloatObject(round(width, 3)),
                    generic.FloatObject(round(height, 3)),
                ]
            ),
            pdf_name("/Resources"): generic.DictionaryObject(
                {
                    pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): writer.add_object(type0)}),
                }
            ),
        },
        stream_data=content,
    )
    appearance.compress()
    _field(writer, name)[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): writer.add_object(appearance)})
    return box


def _field(writer: Any, name: str) -> Any:
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") == name:
            return field
    from ..errors import SigningError

    raise SigningError("signature field was not created")


def now_vn() -> datetime:
    return datetime.now(VN_TZ).replace(microsecond=0)
