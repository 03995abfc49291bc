"""Render cleaned pages and their OCR text as one searchable PDF/A-2b.

Each page shows the colour `CleanPage.display` image (JPEG) under an
invisible text layer (text render mode 3) placed word by word from the
`OcrPage`, so that selecting, copying and `pdftotext` give the recognised
Vietnamese text. The text uses DejaVu Sans, subset to the characters the
document uses and embedded as a Type0/CIDFontType2 font (Identity-H) with
`W` widths, a `CIDToGIDMap` and a `ToUnicode` CMap.

The output is a pure function of the inputs: same pages, title, hash and
date give the same bytes (the file ID is derived from the content), so a
re-processed document is byte-identical before signing.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import pikepdf
from pikepdf import Array, Dictionary, Name, String

from . import __version__
from .types import CleanPage, Line, OcrPage, Word
from .clock import VN_TZ

__all__ = ["render_pdf", "check_pdfa", "picture_of", "Picture", "VN_TZ", "FONT_PATH", "JPEG_QUALITY", "warm_up"]

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
JPEG_QUALITY = 85
PRODUCER = "digitize"

_FALLBACK_CHARS = (0xFFFD, ord("?"))  # glyph shown for a character the font lacks


# ---------------------------------------------------------------- font ----


@dataclass(frozen=True)
class _Font:
    """The document's font subset and its CID encoding."""

    program: bytes  # TrueType subset
    base_name: str  # e.g. "ABCDEF+DejaVuSans"
    cids: dict[str, int]  # character -> CID (1..n); 0 is never used
    widths: tuple[int, ...]  # advance per CID in 1/1000 em, index = CID
    gids: tuple[int, ...]  # glyph id in `program` per CID, index = CID
    ascent: int
    descent: int  # negative
    cap_height: int
    bbox: tuple[int, int, int, int]

    def encode(self, text: str) -> bytes:
        return b"".join(self.cids[c].to_bytes(2, "big") for c in text)

    def advance(self, text: str) -> float:
        """Width of `text` at size 1, in text space units."""
        return sum(self.widths[self.cids[c]] for c in text) / 1000.0


@lru_cache(maxsize=4)
def _font_bytes(path: Path = FONT_PATH) -> bytes:
    return Path(path).read_bytes()


@lru_cache(maxsize=4)
def _font_cmap(path: Path = FONT_PATH) -> frozenset[int]:
    return _base_font(path)[1]


# What Vietnamese documents print: ASCII, Latin-1 and Latin Extended-A, ơ/ư, the combining
# marks, the letters with marks (U+1EA0..), general punctuation, ₫, №, and the fallback glyph.
_BASE_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x17F),
    (0x1A0, 0x1B0),
    (0x300, 0x323),
    (0x1EA0, 0x1EF9),
    (0x2010, 0x206F),
    (0x20AB, 0x20AB),
    (0x2116, 0x2116),
    (0xFFFD, 0xFFFD),
)


@lru_cache(maxsize=4)
def _base_font(path: Path = FONT_PATH) -> tuple[bytes, frozenset[int], frozenset[int]]:
    """(the font at `path` subset to the characters of `_BASE_RANGES`, the code points of the
    whole font, those of the subset). A page's subset is cut from this small font rather
    than the whole one (same glyphs, same order, a fraction of the time); it is built once
    and then read from the disk cache."""
    from . import diskcache

    def build() -> tuple[bytes, tuple[int, ...], tuple[int, ...]]:
        from fontTools.ttLib import TTFont

        covered = frozenset(TTFont(io.BytesIO(_font_bytes(path)), lazy=True).getBestCmap())
        base = sorted(cp for lo, hi in _BASE_RANGES for cp in range(lo, hi + 1) if cp in covered)
        return _subset(_font_bytes(path), base)[1], tuple(sorted(covered)), tuple(base)

    key = diskcache.fingerprint(Path(path), _fonttools_version(), _BASE_RANGES, _SUBSET_OPTIONS)
    name = "font-base-" + re.sub(r"[^A-Za-z0-9_.]", "_", Path(path).stem)
    program, covered, base = diskcache.cached(name, key, build)
    return program, frozenset(covered), frozenset(base)


@lru_cache(maxsize=1)
def _fonttools_version() -> str:
    try:
        from importlib.metadata import version

        return version("fonttools")
    except Exception:  # noqa: BLE001 - a key part only
        return "?"


_SUBSET_OPTIONS = (
    "layout_features=[] hinting=False notdef_outline glyph_names=False recalc_timestamp=False "
    "drop GSUB GPOS GDEF kern MATH FFTM gasp"
)


def _subset(program: bytes, unicodes: Sequence[int]) -> tuple[Any, bytes]:
    """`program` subset to `unicodes` (with the options of `_SUBSET_OPTIONS`): the TTFont, its bytes."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(program), recalcTimestamp=False, recalcBBoxes=False)
    opts = subset.Options()
    opts.layout_features = []
    opts.hinting = False
    opts.notdef_outline = True
    opts.glyph_names = False
    opts.recalc_timestamp = False
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "MATH", "FFTM", "gasp"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    return font, buf.getvalue()


def _build_font(chars: set[str], path: Path = FONT_PATH) -> _Font:
    """Subset the TrueType font at `path` (DejaVu Sans by default) to `chars`
    (+ space + fallback glyph)."""
    base_program, covered, in_base = _base_font(path)
    chars = set(chars) | {" "}
    fallback = next(cp for cp in _FALLBACK_CHARS if cp in covered)
    unicodes = sorted({ord(c) for c in chars if ord(c) in covered} | {fallback})

    source = base_program if in_base.issuperset(unicodes) else _font_bytes(path)
    font, program = _subset(source, unicodes)

    cmap = font.getBestCmap()
    order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]

    def scale(v: float) -> int:
        return int(round(v * 1000.0 / upem))

    # CIDs in code-point order: deterministic for a given set of characters
    ordered = sorted(chars)
    cids = {c: i + 1 for i, c in enumerate(ordered)}
    gids = [0]
    widths = [scale(hmtx[".notdef"][0])]
    for c in ordered:
        name = cmap.get(ord(c)) or cmap[fallback]
        gids.append(order[name])
        widths.append(scale(hmtx[name][0]))

    tag = "".join(chr(ord("A") + b % 26) for b in hashlib.sha256("".join(ordered).encode()).digest()[:6])
    ps_name = re.sub(r"[^A-Za-z0-9-]", "", str(font["name"].getDebugName(6) or Path(path).stem)) or "Font"
    head, hhea = font["head"], font["hhea"]
    cap = font["OS/2"].sCapHeight if getattr(font["OS/2"], "sCapHeight", 0) else int(hhea.ascent * 0.77)
    return _Font(
        program=program,
        base_name=f"{tag}+{ps_name}",
        cids=cids,
        widths=tuple(widths),
        gids=tuple(gids),
        ascent=scale(hhea.ascent),
        descent=scale(hhea.descent),
        cap_height=scale(cap),
        bbox=(scale(head.xMin), scale(head.yMin), scale(head.xMax), scale(head.yMax)),
    )


def _to_unicode_cmap(font: _Font) -> bytes:
    def utf16(c: str) -> str:
        return c.encode("utf-16-be").hex().upper()

    entries = sorted((cid, c) for c, cid in font.cids.items())
    chunks = []
    for i in range(0, len(entries), 100):  # at most 100 entries per bfchar block
        block = entries[i : i + 100]
        body = "\n".join(f"<{cid:04X}> <{utf16(c)}>" for cid, c in block)
        chunks.append(f"{len(block)} beginbfchar\n{body}\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n"
        "12 dict begin\n"
        "begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n"
        "/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(chunks) + "\nendcmap\n"
        "CMapName currentdict /CMap defineresource pop\n"
        "end\nend\n"
    ).encode("ascii")


def _flate(pdf: pikepdf.Pdf, data: bytes, **extra: object) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, zlib.compress(data, 6))
    stream.Filter = Name.FlateDecode
    for key, value in extra.items():
        stream[Name("/" + key)] = value
    return stream


def _font_object(pdf: pikepdf.Pdf, font: _Font) -> pikepdf.Object:
    w_array = Array([0, Array(list(font.widths))])  # [first-CID [w0 w1 ...]]
    cid_to_gid = b"".join(g.to_bytes(2, "big") for g in font.gids)
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name("/" + font.base_name),
        Flags=4,  # symbolic
        FontBBox=Array(list(font.bbox)),
        ItalicAngle=0,
        Ascent=font.ascent,
        Descent=font.descent,
        CapHeight=font.cap_height,
        StemV=80,
        FontFile2=pdf.make_indirect(_flate(pdf, font.program, Length1=len(font.program))),
    )
    cid_font = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name("/" + font.base_name),
        CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Identity"), Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=font.widths[font.cids[" "]],
        W=w_array,
        CIDToGIDMap=pdf.make_indirect(_flate(pdf, cid_to_gid)),
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name("/" + font.base_name),
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([pdf.make_indirect(cid_font)]),
            ToUnicode=pdf.make_indirect(_flate(pdf, _to_unicode_cmap(font))),
        )
    )


# ---------------------------------------------------------------- text ----


def _clean_word(text: str) -> str:
    """NFC, whitespace to single spaces, no control characters."""
    text = unicodedata.normalize("NFC", text)
    out = []
    for c in text:
        if c.isspace():
            out.append(" ")
        elif unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(c)
    return " ".join("".join(out).split())


def _num(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _text_layer(ocr: OcrPage, font: _Font, *, sx: float, sy: float, page_h: float) -> bytes:
    """Content-stream operators of the invisible text of one page.

    One BT/ET per line; each word is placed at its box with Tm and stretched
    with Tz to the box width; a space glyph, stretched over the gap to the
    next word, separates words so that extractors see real spaces."""
    em = (font.ascent - font.descent) / 1000.0  # ascender-to-descender height per unit size
    space_w = font.advance(" ")
    ops: list[str] = []
    for line in ocr.lines:
        words = [(w, _clean_word(w.text)) for w in line.words]
        words = [(w, t) for w, t in words if t]
        if not words:
            continue
        y0 = min(w.box[1] for w, _ in words)  # one size and baseline per line:
        y1 = max(w.box[3] for w, _ in words)  # extractors then keep the line together
        height = max((y1 - y0) * sy, 1.0)
        size = height / em
        baseline = page_h - y1 * sy - font.descent / 1000.0 * size
        ops.append(f"BT\n3 Tr\n/F0 {_num(size)} Tf")
        for i, (word, text) in enumerate(words):
            left = word.box[0] * sx
            right = max(word.box[2] * sx, left + 0.1)
            natural = font.advance(text) * size
            tz = 100.0 * (right - left) / natural if natural > 0 else 100.0
            ops.append(f"{_num(tz)} Tz 1 0 0 1 {_num(left)} {_num(baseline)} Tm <{font.encode(text).hex()}> Tj")
            if i + 1 < len(words):
                gap = words[i + 1][0].box[0] * sx - right
                gap = max(gap, 0.5)
                stz = 100.0 * gap / (space_w * size) if space_w > 0 else 100.0
                ops.append(f"{_num(stz)} Tz <{font.encode(' ').hex()}> Tj")
        ops.append("ET")
    return ("\n".join(ops) + "\n").encode("ascii") if ops else b""


# ---------------------------------------------------------------- image ---


@dataclass(frozen=True)
class Picture:
    """A page's display image as it goes into the PDF: JPEG bytes and their geometry.
    Made as soon as a page is read, so a long document holds kilobytes per page while
    its other pages are read, not a full raster each."""

    jpeg: bytes
    grey: bool
    width: int
    height: int


def picture_of(pixels: np.ndarray) -> Picture:
    jpeg, space, width, height = _jpeg(pixels)
    return Picture(jpeg, space == Name.DeviceGray, width, height)


def _jpeg(pixels: np.ndarray) -> tuple[bytes, Name, int, int]:
    import cv2
    from PIL import Image

    if pixels.dtype != np.uint8:
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        img = Image.fromarray(np.ascontiguousarray(pixels), "L")
        space = Name.DeviceGray
    elif pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGB  # alpha dropped
        img = Image.fromarray(cv2.cvtColor(pixels, code), "RGB")
        space = Name.DeviceRGB
    else:
        raise ValueError(f"unsupported page image shape {pixels.shape}")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buf.getvalue(), space, img.width, img.height


# ------------------------------------------------------------- metadata ---


def _vn_time(created: datetime) -> datetime:
    if created.tzinfo is None:
        created = created.replace(tzinfo=VN_TZ)
    return created.astimezone(VN_TZ).replace(microsecond=0)


def _pdf_date(t: datetime) -> str:
    off = t.utcoffset() or timedelta(0)
    sign = "-" if off < timedelta(0) else "+"
    minutes = abs(int(off.total_seconds())) // 60
    return t.strftime("D:%Y%m%d%H%M%S") + f"{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


_XML_NAME = re.compile(r"[^A-Za-z0-9_]")


def _meta_key(key: str) -> str:
    """An extra_meta key as an XMP property / PDF name: [A-Za-z_][A-Za-z0-9_]*."""
    k = _XML_NAME.sub("_", key)
    return k if k and not k[0].isdigit() else "_" + k


def _xml_text(value: str) -> str:
    # XML 1.0 forbids most control characters; drop them rather than fail
    value = "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)
    return _xml_escape(value)


def _xmp(*, title: str, created: str, document_id: str) -> bytes:
    """The XMP packet: only schemas PDF/A-2 predefines. digitize's own values
    (SourceSHA256, DigitizeResultId, ...) live in the document information
    dictionary only: a custom XMP schema needs a pdfaExtension declaration, which
    the maintained allowlist validator (pikepdf.pdfa) does not accept."""
    xml = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_xml_text(title)}</rdf:li></rdf:Alt></dc:title>
   <xmp:CreateDate>{created}</xmp:CreateDate>
   <xmp:ModifyDate>{created}</xmp:ModifyDate>
   <xmp:MetadataDate>{created}</xmp:MetadataDate>
   <xmp:CreatorTool>digitize {__version__}</xmp:CreatorTool>
   <pdf:Producer>{PRODUCER}</pdf:Producer>
   <xmpMM:DocumentID>{document_id}</xmpMM:DocumentID>
   <xmpMM:InstanceID>{document_id}</xmpMM:InstanceID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""
    padding = (" " * 99 + "\n") * 20  # room for in-place edits, as XMP recommends
    return (xml + padding + '<?xpacket end="w"?>').encode("utf-8")


@lru_cache(maxsize=1)
def _srgb_icc() -> bytes:
    """LittleCMS's sRGB profile, with the creation date in its header fixed
    (it is "now" otherwise, which would make every PDF differ) and the
    profile ID (MD5, ICC.1:2010 7.2.18) recomputed."""
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", 2000, 1, 1, 0, 0, 0)
    if any(icc[84:100]):
        scratch = bytearray(icc)
        scratch[44:48] = scratch[64:68] = bytes(4)
        scratch[84:100] = bytes(16)
        icc[84:100] = hashlib.md5(bytes(scratch)).digest()  # noqa: S324 - the ICC format's checksum
    return bytes(icc)


# ---------------------------------------------------------------- main ----


def render_pdf(
    pages: Sequence[tuple[CleanPage, OcrPage]],
    *,
    title: str,
    source_sha256: str,
    created: datetime,
    extra_meta: dict[str, str] | None = None,
    pictures: Sequence[Picture] | None = None,
) -> bytes:
    """One PDF/A-2b: per page the display image plus an invisible text layer.

    `pictures`: the pages' images already encoded (`picture_of`), one per page; then
    the CleanPages' `display` arrays are not used.

    `created` is written as +07:00 (a naive datetime is taken as Vietnam time).
    The source's SHA-256 and the `extra_meta` entries go into the document
    information dictionary (`/DigitizeSourceSHA256`, `/Digitize<Key>` with the
    first letter upper-cased; a key that already starts with "Digitize" is used
    as is), not into the XMP: see `_xmp`."""
    if not pages:
        raise ValueError("render_pdf needs at least one page")
    when = _vn_time(created)
    custom: dict[str, str] = {"SourceSHA256": source_sha256}
    for key, value in (extra_meta or {}).items():
        custom.setdefault(_meta_key(str(key)), str(value))

    chars: set[str] = set()
    for _, ocr in pages:
        for line in ocr.lines:
            for word in line.words:
                chars.update(_clean_word(word.text))
    font = _build_font(chars)

    pdf = pikepdf.new()
    font_ref = _font_object(pdf, font)
    content_hash = hashlib.sha256()
    if pictures is not None and len(pictures) != len(pages):
        raise ValueError("render_pdf needs one picture per page")
    for number, (clean, ocr) in enumerate(pages):
        if pictures is not None:
            picture = pictures[number]
            jpeg, w_px, h_px = picture.jpeg, picture.width, picture.height
            space = Name.DeviceGray if picture.grey else Name.DeviceRGB
        else:
            jpeg, space, w_px, h_px = _jpeg(clean.display)
        content_hash.update(jpeg)
        dpi = clean.dpi if clean.dpi and clean.dpi > 0 else 300.0
        page_w, page_h = w_px * 72.0 / dpi, h_px * 72.0 / dpi
        # OCR boxes are in display pixels; rescale if the OCR page says otherwise
        sx = 72.0 / dpi * (w_px / ocr.width if ocr.width > 0 else 1.0)
        sy = 72.0 / dpi * (h_px / ocr.height if ocr.height > 0 else 1.0)
        image = pikepdf.Stream(pdf, jpeg)
        image.Type = Name.XObject
        image.Subtype = Name.Image
        image.Width, image.Height = w_px, h_px
        image.ColorSpace = space
        image.BitsPerComponent = 8
        image.Filter = Name.DCTDecode
        text = _text_layer(ocr, font, sx=sx, sy=sy, page_h=page_h)
        content_hash.update(text)
        content = f"q {_num(page_w)} 0 0 {_num(page_h)} 0 0 cm /Im0 Do Q\n".encode("ascii") + text
        page = Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, Decimal(_num(page_w)), Decimal(_num(page_h))]),
            Resources=Dictionary(
                XObject=Dictionary(Im0=pdf.make_indirect(image)),
                Font=Dictionary(F0=font_ref),
            ),
            Contents=pdf.make_indirect(_flate(pdf, content)),
        )
        pdf.pages.append(pikepdf.Page(page))

    document_id = "uuid:" + _uuid_from(content_hash, title, source_sha256, when.isoformat(), sorted(custom.items()))
    xmp = pikepdf.Stream(
        pdf,
        _xmp(title=title, created=when.isoformat(), document_id=document_id),
    )
    xmp.Type = Name.Metadata
    xmp.Subtype = Name.XML
    icc = _flate(pdf, _srgb_icc(), N=3)
    pdf.Root.Metadata = pdf.make_indirect(xmp)
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                OutputConditionIdentifier=String("sRGB IEC61966-2.1"),
                RegistryName=String("http://www.color.org"),
                Info=String("sRGB IEC61966-2.1"),
                DestOutputProfile=pdf.make_indirect(icc),
            )
        ]
    )
    pdf.Root.Lang = String("vi")
    pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)

    date = _pdf_date(when)
    info = Dictionary(
        Title=String(title),
        Producer=String(PRODUCER),
        Creator=String(f"digitize {__version__}"),
        CreationDate=String(date),
        ModDate=String(date),
    )
    for key, value in custom.items():
        name = key if key.startswith("Digitize") else "Digitize" + key[:1].upper() + key[1:]
        info[Name("/" + name)] = String(value)
    pdf.trailer.Info = pdf.make_indirect(info)

    out = io.BytesIO()
    pdf.save(
        out,
        min_version="1.7",
        deterministic_id=True,
        compress_streams=False,  # streams above are compressed already; XMP must stay unfiltered
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        fix_metadata_version=False,
    )
    return out.getvalue()


def _uuid_from(h: "hashlib._Hash", *parts: object) -> str:
    h = h.copy()
    h.update(repr(parts).encode("utf-8"))
    d = bytearray(h.digest()[:16])
    d[6] = (d[6] & 0x0F) | 0x50  # name-based (SHA), RFC 4122 variant
    d[8] = (d[8] & 0x3F) | 0x80
    x = d.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


# ------------------------------------------------------------- PDF/A check ---


def warm_up() -> None:
    """A one-word page rendered and checked, so that a long-lived worker's first result does
    not wait for the font subsetter's and the PDF/A validator's first use (~0.2 s)."""
    blank = np.full((32, 32, 3), 255, np.uint8)
    page = CleanPage(1, blank, blank[:, :, 0], 300.0, 1.0, 0, 0.0)
    ocr = OcrPage(number=1, lines=(Line((Word("Việt", (2, 2, 30, 20), 1.0),)),), width=32, height=32, dpi=300)
    check_pdfa(render_pdf([(page, ocr)], title="", source_sha256="0" * 64, created=datetime.now(VN_TZ)))


def check_pdfa(data: bytes, flavour: str = "2b") -> None:
    """Validate `data` as PDF/A (default 2b) with pikepdf's allowlist validator
    (pikepdf.pdfa, the one OCRmyPDF uses). Raises `PdfaInvalid` naming the
    first findings: a rendered file that fails is a bug, never shipped."""
    from .errors import PdfaInvalid

    try:
        from pikepdf import pdfa
    except ImportError as exc:  # pikepdf[pdfa]'s extras missing: say so, do not skip silently
        raise PdfaInvalid(f"PDF/A-{flavour} validator unavailable: {exc}") from None
    report = pdfa.validate_written(io.BytesIO(data), flavour)
    if not report.passed:
        findings = [f"{f.rule} at {f.where}: {f.message}" for f in report.findings]
        more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
        raise PdfaInvalid(f"not PDF/A-{flavour}: " + "; ".join(findings[:3]) + more)
