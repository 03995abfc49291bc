"""Ingest: bytes in, `SourceFile` + `PageImage`s out.

The kind of file is sniffed from its content, never from its name. Scanned
PDFs give their page images at native resolution; born-digital PDFs are
rasterised (pdftoppm) at 300 dpi."""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageSequence

from .config import Settings
from .errors import CorruptInput, EmptyInput, EncryptedInput, TooLarge, UnsupportedInput
from .types import PageImage, SourceFile

DEFAULT_DPI = 200.0  # assumed when the file says nothing (phone photos, bare PNGs)
RASTER_DPI = 300


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


def load_pages(source: SourceFile, data: bytes, settings: Settings) -> list[PageImage]:
    if source.media_type == "application/pdf":
        pages = list(_pdf_pages(data, settings))
    else:
        pages = list(_image_pages(data, settings))
    if not pages:
        raise CorruptInput("no pages found")
    return pages


def _check_pixels(width: int, height: int, settings: Settings) -> None:
    if width <= 0 or height <= 0:
        raise CorruptInput("image has no pixels")
    if width * height > settings.max_pixels:
        raise TooLarge(f"page of {width}x{height} pixels exceeds the limit of {settings.max_pixels} pixels")


def _to_array(image: Image.Image) -> np.ndarray:
    if image.mode in ("1", "L", "I;16", "I", "F"):
        grey = image.convert("L")
        return np.asarray(grey).copy()
    rgb = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])


def _dpi_of(image: Image.Image) -> float:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    # Some writers put 1 or 72 meaning "unknown"; a scan below 70 dpi is not plausible.
    return value if 70 <= value <= 1200 else DEFAULT_DPI


def _image_pages(data: bytes, settings: Settings) -> Iterator[PageImage]:
    # Pillow's own bomb guard is replaced by ours (a typed TooLarge with a clear message).
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            n_frames = getattr(image, "n_frames", 1)
            if n_frames > settings.max_pages:
                raise TooLarge(f"{n_frames} pages exceed the limit of {settings.max_pages}")
            for number, frame in enumerate(ImageSequence.Iterator(image), 1):
                _check_pixels(frame.width, frame.height, settings)
                from PIL import ImageOps

                upright = ImageOps.exif_transpose(frame) if number == 1 else frame
                yield PageImage(number=number, pixels=_to_array(upright), dpi=_dpi_of(frame))
    except (TooLarge, CorruptInput):
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, EOFError,
            # Pillow's parsers also fail on hostile headers with these (found by the fuzz
            # test: a TIFF without ImageWidth gives TypeError "Missing dimensions")
            TypeError, KeyError, IndexError, struct.error, ZeroDivisionError) as exc:
        raise CorruptInput(f"cannot decode image: {' '.join(str(exc).split()) or type(exc).__name__}") from None


def _pdf_pages(data: bytes, settings: Settings) -> Iterator[PageImage]:
    import pikepdf

    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise EncryptedInput("PDF is encrypted (password required)") from None
    except pikepdf.PdfError as exc:
        raise CorruptInput(f"cannot read PDF: {exc}") from None
    with pdf:
        # A PDF encrypted with an owner password only (printing or copying restricted, an
        # empty user password) opens for reading like any other: many signed official
        # documents are published that way. One that needs a password was refused above.
        try:
            n_pages = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise CorruptInput(f"cannot read PDF page tree: {exc}") from None
        if n_pages == 0:
            raise CorruptInput("PDF has no pages")
        if n_pages > settings.max_pages:
            raise TooLarge(f"{n_pages} pages exceed the limit of {settings.max_pages}")
        for number, page in enumerate(pdf.pages, 1):
            scanned = _scanned_page_image(page, settings)
            if scanned is not None:
                yield PageImage(number=number, pixels=scanned[0], dpi=scanned[1])
            else:
                yield _rasterise(data, number, page, settings)


def _scanned_page_image(page, settings: Settings) -> tuple[np.ndarray, float] | None:
    """The page's single full-page image at native resolution, if the page is a scan
    (one image covering the page, no text)."""
    import pikepdf
    from pikepdf import PdfImage

    try:
        images = list(page.get_images(recursive=False).values())
        if len(images) != 1:
            return None
        contents = page.obj.get("/Contents")
        text_ops = b""
        if contents is not None:
            text_ops = page.obj.Contents.read_bytes() if isinstance(contents, pikepdf.Stream) else b"".join(
                c.read_bytes() for c in contents)
        if b"Tj" in text_ops or b"TJ" in text_ops:
            return None  # has text (born-digital or already OCRed): rasterise instead
        image = PdfImage(images[0])
        _check_pixels(image.width, image.height, settings)
        pil = image.as_pil_image()
        box = page.mediabox
        width_in = float(box[2] - box[0]) / 72.0
        dpi = image.width / width_in if width_in > 0 else DEFAULT_DPI
        if (page.obj.get("/Rotate") or 0) % 360:
            pil = pil.rotate(-int(page.obj.Rotate), expand=True)
        return _to_array(pil), max(70.0, min(1200.0, dpi))
    except TooLarge:
        raise
    except Exception:  # unusual image encodings: fall back to rasterising
        return None


def _rasterise(data: bytes, number: int, page, settings: Settings) -> PageImage:
    box = page.mediabox
    width_px = float(box[2] - box[0]) / 72.0 * RASTER_DPI
    height_px = float(box[3] - box[1]) / 72.0 * RASTER_DPI
    _check_pixels(int(width_px), int(height_px), settings)
    if shutil.which("pdftoppm") is None:
        raise UnsupportedInput("born-digital PDF needs poppler's pdftoppm to rasterise")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        proc = subprocess.run(
            ["pdftoppm", "-r", str(RASTER_DPI), "-f", str(number), "-l", str(number), "-png", str(path),
             str(Path(tmp) / "p")],
            capture_output=True, timeout=120,
        )
        outputs = sorted(Path(tmp).glob("p*.png"))
        if proc.returncode != 0 or not outputs:
            raise CorruptInput(f"cannot rasterise PDF page {number}")
        with Image.open(outputs[0]) as image:
            return PageImage(number=number, pixels=_to_array(image), dpi=float(RASTER_DPI))
