"""Ingest: bytes in, `SourceFile` + `PageImage`s out.

The kind of file is sniffed from its content, never from its name. Scanned
PDFs give their page images at native resolution up to 330 dpi; born-digital
PDFs are rasterised (pdftoppm) at 300 dpi.

A small hostile file must not cost a worker gigabytes or minutes (issue #14),
so every input is bounded before it is decoded: pixels per page from the
header (`max_pixels`); the raster cleanup will work on per page
(`max_page_bytes`, after a page over 330 dpi, or larger than 12.5 x 17.5 in,
is reduced to 300 dpi while it is decoded); decoded bytes over the whole input
(`max_decoded_bytes`, pages being decoded one at a time as they are read); and
every PDF stream a page uses is inflated in bounded steps (`max_stream_bytes`)
before anything decodes it whole."""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import struct
import subprocess
import tempfile
import warnings
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image, ImageSequence

from .config import Settings
from .errors import CorruptInput, EmptyInput, EncryptedInput, TooLarge, UnsupportedInput
from .types import PageImage, SourceFile

DEFAULT_DPI = 200.0  # assumed when the file says nothing (phone photos, bare PNGs)
RASTER_DPI = 300
WORK_DPI = 300.0  # cleanup upscales a page under this to it (preprocess.OCR_TARGET_DPI)
MAX_WORK_DPI = 330.0  # above this a page is reduced to WORK_DPI as it is decoded: OCR gains nothing from more
# The largest sheet taken, in inches: A3 (11.7 x 16.5, a register or a book's spread) with a scanner's margin.
# An image larger than this at the resolution it states (or the 200 dpi assumed) was taken at a higher
# resolution than that, and is read as such: a blank 8000x8000 PNG is a 640 dpi sheet reduced to 3750x3750,
# not a 40-inch sheet that cleanup upscales to 12000x12000. A page's work is so bounded by the sheet at
# 330 dpi (24 MP), whatever its header says.
MAX_SHEET_INCHES = (12.5, 17.5)
GREY_MODES = ("1", "L", "I;16", "I", "F")
# EXIF orientation -> the turn that shows the picture upright (as PIL.ImageOps.exif_transpose)
EXIF_TURNS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# PDF /Rotate (clockwise) -> the same turn of the page image
PDF_TURNS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class PageStream:
    """The pages of one input, decoded one at a time as `pages` is read."""

    count: int
    pages: Iterator[PageImage]


@dataclass(frozen=True)
class DecodePlan:
    """How one page is decoded: the raster handed to cleanup and the resolution it stands for."""

    width: int
    height: int
    dpi: float
    channels: int  # 1 grey, 3 BGR

    @property
    def work_bytes(self) -> int:
        # Cleanup upscales a page under 300 dpi to 300 dpi: that raster is the page's real cost.
        scale = max(1.0, WORK_DPI / self.dpi)
        return int(self.width * scale) * int(self.height * scale) * self.channels


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "image/tiff"
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:2] == b"BM":
        return "image/bmp"
    return None


def describe(name: str, data: bytes, settings: Settings) -> SourceFile:
    """Check size and kind; raise a typed InputError for what we cannot take."""
    if not data:
        raise EmptyInput("empty file (0 bytes)")
    if len(data) > settings.max_bytes:
        raise TooLarge(f"file is {len(data)} bytes, limit is {settings.max_bytes}")
    media_type = sniff(data[:1024])
    if media_type is None:
        raise UnsupportedInput("not an image or PDF (unrecognised content)")
    return SourceFile(name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), media_type=media_type)


def open_pages(source: SourceFile, data: bytes, settings: Settings) -> PageStream:
    """The input's page count, checked now, and its pages, decoded as they are read and
    held to `max_decoded_bytes` in all; a refusal met on the way is raised from the loop."""
    if source.media_type == "application/pdf":
        count, pages = _pdf_preflight(data, settings), _pdf_pages(data, settings)
    else:
        count, pages = _image_frame_count(data, settings), _image_pages(data, settings)
    return PageStream(count=count, pages=_within_budget(pages, settings.max_decoded_bytes))


def load_pages(source: SourceFile, data: bytes, settings: Settings) -> list[PageImage]:
    """Every page at once: for small inputs and tools; the pipeline reads `open_pages`."""
    pages = list(open_pages(source, data, settings).pages)
    if not pages:
        raise CorruptInput("no pages found")
    return pages


def _within_budget(pages: Iterator[PageImage], limit: int) -> Iterator[PageImage]:
    # Counted after each page is decoded: a page is bounded on its own (max_page_bytes),
    # so at most one page's work is spent past the budget.
    spent = 0
    for page in pages:
        spent += page.pixels.nbytes
        if spent > limit:
            raise TooLarge(f"pages 1-{page.number} decode to {spent} bytes, over the limit of {limit} per input")
        yield page


def _check_pixels(width: int, height: int, settings: Settings) -> None:
    if width <= 0 or height <= 0:
        raise CorruptInput("image has no pixels")
    if width * height > settings.max_pixels:
        raise TooLarge(f"page of {width}x{height} pixels exceeds the limit of {settings.max_pixels} pixels")


def plan_page(width: int, height: int, dpi: float, grey: bool, settings: Settings) -> DecodePlan:
    """The size a page of `width` x `height` pixels at `dpi` is decoded to. Its resolution
    is raised where the page would be larger than the largest sheet; above 330 dpi, or
    over `max_page_bytes` above 300 dpi, it is reduced to 300 dpi; refused when still over."""
    dpi = max(dpi, min(width, height) / MAX_SHEET_INCHES[0], max(width, height) / MAX_SHEET_INCHES[1])
    channels = 1 if grey else 3
    plan = _scaled(width, height, dpi, dpi if dpi <= MAX_WORK_DPI else WORK_DPI, channels)
    if plan.work_bytes > settings.max_page_bytes and plan.dpi > WORK_DPI:
        plan = _scaled(width, height, dpi, WORK_DPI, channels)
    if plan.work_bytes > settings.max_page_bytes:
        raise TooLarge(
            f"page of {width}x{height} pixels at {dpi:.0f} dpi needs {plan.work_bytes} bytes to read, "
            f"over the limit of {settings.max_page_bytes} per page"
        )
    return plan


def _scaled(width: int, height: int, dpi: float, target_dpi: float, channels: int) -> DecodePlan:
    factor = min(1.0, target_dpi / dpi)
    return DecodePlan(
        width=max(1, round(width * factor)), height=max(1, round(height * factor)), dpi=dpi * factor, channels=channels
    )


def _decode(image: Image.Image, plan: DecodePlan, turn: Image.Transpose | None = None) -> np.ndarray:
    """The image as a grey or BGR uint8 array of the planned size. It is reduced while it
    is decoded (a JPEG decodes straight to 1/2, 1/4 or 1/8 of its size) and before numpy
    widens it, so a large page never exists at full size in three copies."""
    mode = "L" if plan.channels == 1 else "RGB"
    size = (plan.width, plan.height)
    if image.size != size:
        image.draft(mode, size)  # JPEG only; a no-op for other formats
    if image.mode != mode:
        image = image.convert(mode)
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if turn is not None:
        image = image.transpose(turn)
    array = np.asarray(image)
    return array.copy() if mode == "L" else np.ascontiguousarray(array[:, :, ::-1])


def _dpi_of(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    # Some writers put 1 or 72 meaning "unknown"; a scan below 70 dpi is not plausible.
    return value if 70 <= value <= 1200 else DEFAULT_DPI


# Pillow's parsers fail on hostile headers with all of these (found by the fuzz test: a TIFF
# without ImageWidth gives TypeError "Missing dimensions").
_PILLOW_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    Image.DecompressionBombError,
    EOFError,
    TypeError,
    KeyError,
    IndexError,
    struct.error,
    ZeroDivisionError,
)


def _image_error(exc: Exception) -> CorruptInput:
    return CorruptInput(f"cannot decode image: {' '.join(str(exc).split()) or type(exc).__name__}")


def _image_frame_count(data: bytes, settings: Settings) -> int:
    Image.MAX_IMAGE_PIXELS = None  # Pillow's bomb guard is replaced by ours (typed, with a clear message)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                n_frames = int(getattr(image, "n_frames", 1))
    except _PILLOW_ERRORS as exc:
        raise _image_error(exc) from None
    if n_frames > settings.max_pages:
        raise TooLarge(f"{n_frames} pages exceed the limit of {settings.max_pages}")
    return n_frames


def _image_pages(data: bytes, settings: Settings) -> Iterator[PageImage]:
    Image.MAX_IMAGE_PIXELS = None  # Pillow's bomb guard is replaced by ours (typed, with a clear message)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            n_frames = getattr(image, "n_frames", 1)
            if n_frames > settings.max_pages:
                raise TooLarge(f"{n_frames} pages exceed the limit of {settings.max_pages}")
            for number, frame in enumerate(ImageSequence.Iterator(image), 1):
                _check_pixels(frame.width, frame.height, settings)
                plan = plan_page(frame.width, frame.height, _dpi_of(frame), frame.mode in GREY_MODES, settings)
                turn = EXIF_TURNS.get(frame.getexif().get(0x0112, 1)) if number == 1 else None
                yield PageImage(number=number, pixels=_decode(frame, plan, turn), dpi=plan.dpi)
    except (TooLarge, CorruptInput):
        raise
    except _PILLOW_ERRORS as exc:
        raise _image_error(exc) from None


# ------------------------------------------------------------------ PDF


def _open_pdf(data: bytes):
    import pikepdf

    try:
        return pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise EncryptedInput("PDF is encrypted (password required)") from None
    except pikepdf.PdfError as exc:
        raise CorruptInput(f"cannot read PDF: {exc}") from None


def _checked_page_count(pdf, settings: Settings) -> int:
    import pikepdf

    # A PDF encrypted with an owner password only (printing or copying restricted, an
    # empty user password) opens for reading like any other: many signed official
    # documents are published that way. One that needs a password was refused on opening.
    try:
        n_pages = len(pdf.pages)
    except pikepdf.PdfError as exc:
        raise CorruptInput(f"cannot read PDF page tree: {exc}") from None
    if n_pages == 0:
        raise CorruptInput("PDF has no pages")
    if n_pages > settings.max_pages:
        raise TooLarge(f"{n_pages} pages exceed the limit of {settings.max_pages}")
    return n_pages


def _pdf_preflight(data: bytes, settings: Settings) -> int:
    """The PDF's page count, checked; and a refusal now, before any page is read, when
    its pages' sizes (from the page and image dictionaries alone) already add up to more
    than `max_decoded_bytes`: a small file that draws one large image on every page of
    thousands costs nothing."""
    with _open_pdf(data) as pdf:
        count = _checked_page_count(pdf, settings)
        total = 0
        for number, page in enumerate(pdf.pages, 1):
            total += _page_estimate(page, settings)
            if total > settings.max_decoded_bytes:
                raise TooLarge(
                    f"PDF pages would decode to more than {settings.max_decoded_bytes} bytes, the limit "
                    f"per input (reached at page {number} of {count})"
                )
        return count


def _page_estimate(page, settings: Settings) -> int:
    """Bytes the page will decode to, as `_pdf_pages` reads it (0 where it cannot tell)."""
    try:
        box = page.mediabox
        width_in, height_in = float(box[2] - box[0]) / 72.0, float(box[3] - box[1]) / 72.0
        images = list(page.get_images(recursive=False).values())
        if len(images) == 1:  # a scan: its image, as `_scanned_page_image` decodes it
            width, height = _number(images[0].get("/Width")), _number(images[0].get("/Height"))
            dpi = max(70.0, min(1200.0, width / width_in if width_in > 0 else DEFAULT_DPI))
            plan = plan_page(width, height, dpi, _is_grey(images[0]), settings)
        else:  # drawn by pdftoppm, in colour
            plan = plan_page(round(width_in * RASTER_DPI), round(height_in * RASTER_DPI), RASTER_DPI, False, settings)
        return plan.width * plan.height * plan.channels
    except TooLarge:
        raise
    except Exception:  # an odd page: `_pdf_pages` refuses it, or counts it when it is read
        return 0


def _is_grey(image) -> bool:
    import pikepdf

    space = image.get("/ColorSpace")
    if (
        bool(image.get("/ImageMask"))
        or _number(image.get("/BitsPerComponent")) == 1
        or space in ("/DeviceGray", "/G", "/CalGray")
    ):
        return True
    if isinstance(space, pikepdf.Array) and len(space) > 1:
        if space[0] == "/CalGray":
            return True
        if space[0] == "/ICCBased" and isinstance(space[1], pikepdf.Stream):
            return _number(space[1].get("/N")) == 1
    return False


def _pdf_pages(data: bytes, settings: Settings) -> Iterator[PageImage]:
    with _open_pdf(data) as pdf:
        _checked_page_count(pdf, settings)
        checked: set[tuple[int, int]] = set()  # streams shared by pages are inflated once
        for number, page in enumerate(pdf.pages, 1):
            check_page_streams(page, number, checked, settings)
            scanned = _scanned_page_image(page, settings)
            if scanned is not None:
                yield PageImage(number=number, pixels=scanned[0], dpi=scanned[1])
            else:
                yield _rasterise(data, number, page, settings)


def _scanned_page_image(page, settings: Settings) -> tuple[np.ndarray, float] | None:
    """The page's single full-page image at native resolution (reduced above 330 dpi), if
    the page is a scan (one image covering the page, no text)."""
    import pikepdf
    from pikepdf import PdfImage

    try:
        images = list(page.get_images(recursive=False).values())
        if len(images) != 1:
            return None
        contents = page.obj.get("/Contents")
        text_ops = b""
        if contents is not None:
            text_ops = (
                page.obj.Contents.read_bytes()
                if isinstance(contents, pikepdf.Stream)
                else b"".join(c.read_bytes() for c in contents)
            )
        if b"Tj" in text_ops or b"TJ" in text_ops:
            return None  # has text (born-digital or already OCRed): rasterise instead
        image = PdfImage(images[0])
        _check_pixels(image.width, image.height, settings)
        box = page.mediabox
        width_in = float(box[2] - box[0]) / 72.0
        dpi = max(70.0, min(1200.0, image.width / width_in if width_in > 0 else DEFAULT_DPI))
        pil = image.as_pil_image()
        plan = plan_page(pil.width, pil.height, dpi, pil.mode in GREY_MODES, settings)
        turn = PDF_TURNS.get(int(page.obj.get("/Rotate") or 0) % 360)
        return _decode(pil, plan, turn), plan.dpi
    except TooLarge:
        raise
    except Exception:  # unusual image encodings: fall back to rasterising
        return None


def _rasterise(data: bytes, number: int, page, settings: Settings) -> PageImage:
    box = page.mediabox
    width_px = float(box[2] - box[0]) / 72.0 * RASTER_DPI
    height_px = float(box[3] - box[1]) / 72.0 * RASTER_DPI
    _check_pixels(int(width_px), int(height_px), settings)
    # A page larger than the largest sheet is drawn smaller, and read as that sheet at 300 dpi.
    plan = plan_page(round(width_px), round(height_px), RASTER_DPI, False, settings)
    resolution = RASTER_DPI * plan.width / round(width_px)
    if shutil.which("pdftoppm") is None:
        raise UnsupportedInput("born-digital PDF needs poppler's pdftoppm to rasterise")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        proc = subprocess.run(
            [
                "pdftoppm",
                "-r",
                f"{resolution:.3f}",
                "-f",
                str(number),
                "-l",
                str(number),
                "-png",
                str(path),
                str(Path(tmp) / "p"),
            ],
            capture_output=True,
            timeout=120,
        )
        outputs = sorted(Path(tmp).glob("p*.png"))
        if proc.returncode != 0 or not outputs:
            raise CorruptInput(f"cannot rasterise PDF page {number}")
        with Image.open(outputs[0]) as image:
            drawn = replace(plan, width=image.width, height=image.height)  # as pdftoppm rounded it
            return PageImage(number=number, pixels=_decode(image, drawn), dpi=plan.dpi)


# ------------------------------------------------------------------ PDF streams

MAX_OBJECTS_PER_PAGE = 200_000  # objects a page may reach (fonts, forms, annotations); real pages use hundreds
_SKIPPED_KEYS = {"/Parent", "/P"}  # links up to the page tree, which reaches every other page
_FLATE = {"/FlateDecode", "/Fl"}
_LZW = {"/LZWDecode", "/LZW"}
_RUN_LENGTH = {"/RunLengthDecode", "/RL"}
_HEX = {"/ASCIIHexDecode", "/AHx"}
_BASE85 = {"/ASCII85Decode", "/A85"}
_IN_CHUNK = 1 << 16
_OUT_CHUNK = 1 << 20


def check_page_streams(page, number: int, checked: set[tuple[int, int]], settings: Settings) -> None:
    """Inflate every stream the page draws with (contents, images, forms, patterns, fonts,
    annotation appearances) in bounded steps, before qpdf, Pillow or pdftoppm decode any of
    it whole: a stream decoding past its cap is refused. An image may decode to its own
    raster (width x height, at most 4 components, pixels under `max_pixels`), anything else
    to `max_stream_bytes`. `checked`: streams already done (pages share resources)."""
    import pikepdf

    root = page.obj
    stack, seen_here = [root], 0
    items: Iterable[tuple[str | int, pikepdf.Object]]
    try:
        while stack:
            obj = stack.pop()
            if obj.is_indirect:
                if obj.objgen in checked:
                    continue
                checked.add(obj.objgen)
                seen_here += 1
                if seen_here > MAX_OBJECTS_PER_PAGE:
                    raise TooLarge(f"PDF page {number} refers to more than {MAX_OBJECTS_PER_PAGE} objects")
            if isinstance(obj, pikepdf.Stream):
                _check_stream(obj, number, settings)
                items = obj.stream_dict.items()
            elif isinstance(obj, pikepdf.Dictionary):
                if obj.get("/Type") in ("/Page", "/Pages") and obj.objgen != root.objgen:
                    continue  # another page (a link's destination): checked when it is read
                items = obj.items()
            elif isinstance(obj, pikepdf.Array):
                items = enumerate(obj)
            else:
                continue
            stack.extend(
                value
                for key, value in items
                if key not in _SKIPPED_KEYS and isinstance(value, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream))
            )
    except pikepdf.PdfError as exc:
        raise CorruptInput(f"cannot read PDF page {number}: {' '.join(str(exc).split())}") from None


def _check_stream(stream, number: int, settings: Settings) -> None:
    import pikepdf

    cap, what = settings.max_stream_bytes, "a stream"
    if stream.get("/Subtype") == "/Image":
        width, height = _number(stream.get("/Width")), _number(stream.get("/Height"))
        if width * height > settings.max_pixels:
            raise TooLarge(
                f"PDF page {number}: an image of {width}x{height} pixels exceeds the limit of "
                f"{settings.max_pixels} pixels"
            )
        bits = _number(stream.get("/BitsPerComponent")) or 8
        cap, what = (width * max(4, _components(stream)) * bits + 7) // 8 * height + height + _IN_CHUNK, "an image"
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
    if not any(name in _FLATE | _LZW | _RUN_LENGTH for name in names):
        return  # stored, or an image codec whose output is bounded by the image's size
    try:
        size = decoded_size(stream.read_raw_bytes(), names, cap, _early_change(stream))
    except ValueError:  # hex or base-85 text that is not: what it hides cannot be measured
        raise CorruptInput(f"PDF page {number}: a stream's ASCII encoding is malformed") from None
    if size > cap:
        raise TooLarge(f"PDF page {number}: {what} inflates past {cap} bytes (compression bomb)")


def _number(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0


def _components(image) -> int:
    import pikepdf

    space = image.get("/ColorSpace")
    if (
        isinstance(space, pikepdf.Array)
        and len(space) > 1
        and space[0] == "/DeviceN"
        and isinstance(space[1], pikepdf.Array)
    ):
        return len(space[1])
    return 0


def _early_change(stream) -> int:
    import pikepdf

    parms = stream.get("/DecodeParms")
    if isinstance(parms, pikepdf.Array):
        parms = next((p for p in parms if isinstance(p, pikepdf.Dictionary) and "/EarlyChange" in p), None)
    if isinstance(parms, pikepdf.Dictionary) and "/EarlyChange" in parms:
        return 0 if _number(parms.EarlyChange) == 0 else 1
    return 1


def decoded_size(data: bytes, filters: list[str], cap: int, early_change: int = 1) -> int:
    """Bytes `data` decodes to through `filters`, counted up to the first image codec, or
    a number over `cap` as soon as it passes it. Memory stays under about `cap` (a filter
    followed by another keeps its output); corrupt data counts as far as it decodes, as
    qpdf and poppler decode it."""
    size = len(data)
    for index, name in enumerate(filters):
        keep = index + 1 < len(filters)  # the next filter needs this one's output
        if name in _FLATE:
            size, data = _inflate(data, cap, keep)
        elif name in _LZW:
            size, data = _unlzw(data, cap, keep, early_change)
        elif name in _RUN_LENGTH:
            size, data = _unrun_length(data, cap, keep)
        elif name in _HEX:
            data = _unhex(data)
            size = len(data)
        elif name in _BASE85:
            data = _unbase85(data)
            size = len(data)
        elif name == "/Crypt":
            continue  # qpdf hands over a stream's data decrypted
        else:
            break  # an image codec: its output is bounded by the image's size
        if size > cap:
            break
    return size


def _inflate(data: bytes, cap: int, keep: bool) -> tuple[int, bytes]:
    # Small steps in and out: an error loses at most one step's output, and a bomb is
    # stopped one step past the cap, never inflated whole.
    inflater, out, size = zlib.decompressobj(), bytearray(), 0
    for start in range(0, len(data), _IN_CHUNK):
        pending = data[start : start + _IN_CHUNK]
        while pending:
            try:
                piece = inflater.decompress(pending, _OUT_CHUNK)
            except zlib.error:
                return size, bytes(out)
            size += len(piece)
            if size > cap:
                return size, b""
            if keep:
                out += piece
            if inflater.eof:
                return size, bytes(out)
            pending = inflater.unconsumed_tail
    return size, bytes(out)


def _unlzw(data: bytes, cap: int, keep: bool, early_change: int) -> tuple[int, bytes]:
    """PDF's LZW, as qpdf's Pl_LZWDecoder reads it (9-12 bit codes, 256 clears, 257 ends)."""
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    out: list[bytes] = []
    size, width, bits, n_bits = 0, 9, 0, 0
    previous: bytes | None = None
    for byte in data:
        bits, n_bits = (bits << 8) | byte, n_bits + 8
        if n_bits < width:
            continue
        n_bits -= width
        code, bits = bits >> n_bits, bits & ((1 << n_bits) - 1)
        if code == 256:
            del table[258:]
            width, previous = 9, None
            continue
        if code == 257:
            break
        if code < len(table):
            entry = table[code]
        elif code == len(table) and previous is not None:
            entry = previous + previous[:1]
        else:
            break  # a code not yet defined: qpdf stops with an error here
        if previous is not None:
            if len(table) == 4096:
                break  # table full without a clear: qpdf stops here too
            table.append(previous + entry[:1])
            if len(table) - 1 + early_change in (511, 1023, 2047):
                width += 1
        previous = entry
        size += len(entry)
        if size > cap:
            return size, b""
        if keep:
            out.append(entry)
    return size, b"".join(out)


def _unrun_length(data: bytes, cap: int, keep: bool) -> tuple[int, bytes]:
    out: list[bytes] = []
    size, at = 0, 0
    while at < len(data) and data[at] != 128:
        length = data[at]
        piece = data[at + 1 : at + 2 + length] if length < 128 else data[at + 1 : at + 2] * (257 - length)
        at += length + 2 if length < 128 else 2
        size += len(piece)
        if size > cap:
            return size, b""
        if keep:
            out.append(piece)
    return size, b"".join(out)


def _unhex(data: bytes) -> bytes:
    digits = b"".join(data.split(b">", 1)[0].split())
    return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("latin-1"))


def _unbase85(data: bytes) -> bytes:
    body = b"".join(data.split(b"~>", 1)[0].split())
    return base64.a85decode(body.removeprefix(b"<~"))
