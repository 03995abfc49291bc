"""QR codes on a page: found and decoded offline, beside the OCR.

    read_codes(image) -> (Code, ...)      # every QR code readable on a page image

An ID card's QR code (cccd) holds the holder's data exactly; a photocopy of the
card scanned at 300 dpi gives it about 3 pixels per module, at 200 dpi about 2,
where a decoder's finder-pattern search fails before the code's error
correction is even tried. Three decoders are wrapped here, each a plain
function `image -> [Code]` (`DECODERS`); `benchmarks/bench_qr.py` measures them
side by side. zxing-cpp read best there, and fastest, by far; `read_codes` runs
it on the page as it is, then, on each place where it saw a code it could not
read or where three finder patterns sit together, the crop enlarged and
sharpened, read by each decoder in turn. A decoder that is not installed is
left out (zxing-cpp is a dependency; OpenCV is always there; pyzbar needs
libzbar0 and is only measured)."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable

import cv2
import numpy as np

from .types import Box, Code

log = logging.getLogger(__name__)

Decoder = Callable[[np.ndarray], list[Code]]

# A crop around a code seen but not read is enlarged this many times and read again:
# zxing-cpp's detector wants about 3 px per module at least.
ENLARGE = (2.0, 3.0, 4.0)
# Margin around a seen code, in its own widths, when it is cut out (its quiet zone and
# the error of a guessed position).
MARGIN = 0.35


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _box(points) -> Box:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return (int(min(xs)), int(min(ys)), int(round(max(xs))), int(round(max(ys))))


# ------------------------------------------------------------------ decoders


def zxing_available() -> bool:
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return False
    return True


def _zxing_results(grey: np.ndarray, errors: bool = False) -> list:
    import zxingcpp

    formats = zxingcpp.BarcodeFormat.QRCode
    # (the stubs leave out the binding's implicit BarcodeFormat -> BarcodeFormats conversion)
    return zxingcpp.read_barcodes(
        grey,
        formats=formats,  # type: ignore[arg-type]
        try_rotate=True,
        try_downscale=True,
        try_invert=False,
        return_errors=errors,
    )


def _zxing_box(result) -> Box:
    p = result.position
    return _box([(q.x, q.y) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)])


def decode_zxing(image: np.ndarray) -> list[Code]:
    """zxing-cpp (the C++ port of ZXing): QR codes at any rotation."""
    out = []
    for r in _zxing_results(_grey(image)):
        if r.valid and r.text:
            out.append(Code(_nfc(r.text), _zxing_box(r), "zxing"))
    return out


def decode_opencv(image: np.ndarray) -> list[Code]:
    """OpenCV's QRCodeDetector (the plain one: the WeChat detector is not in this build)."""
    grey = _grey(image)
    detector = cv2.QRCodeDetector()
    out = []
    try:
        ok, texts, points, _ = detector.detectAndDecodeMulti(grey)
    except cv2.error:
        ok, texts, points = False, (), None
    if ok and points is not None:
        for text, quad in zip(texts, points):
            if text:
                out.append(Code(_nfc(_utf8(text)), _box(quad), "opencv"))
    if not out:  # the multi-code search misses some single codes the single one reads
        try:
            text, quad, _ = detector.detectAndDecode(grey)
        except cv2.error:
            text, quad = "", None
        if text and quad is not None:
            out.append(Code(_nfc(_utf8(text)), _box(quad.reshape(-1, 2)), "opencv"))
    return out


def _utf8(text: str) -> str:
    """OpenCV hands back a byte-mode segment's bytes as Latin-1 letters where it did not
    take them for UTF-8: put them back together."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def zbar_available() -> bool:
    try:
        from pyzbar import pyzbar  # noqa: F401
    except (ImportError, OSError):  # OSError: the package is there, libzbar0 is not
        return False
    return True


def decode_zbar(image: np.ndarray) -> list[Code]:
    """ZBar through pyzbar (needs the libzbar0 Debian package)."""
    from pyzbar import pyzbar

    out = []
    for r in pyzbar.decode(_grey(image), symbols=[pyzbar.ZBarSymbol.QRCODE]):
        try:
            text = r.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        x, y, w, h = r.rect
        out.append(Code(_nfc(text), (x, y, x + w, y + h), "zbar"))
    return out


DECODERS: dict[str, Decoder] = {"zxing": decode_zxing, "opencv": decode_opencv, "zbar": decode_zbar}


def available_decoders() -> list[str]:
    names = ["opencv"]
    if zxing_available():
        names.insert(0, "zxing")
    if zbar_available():
        names.append("zbar")
    return names


# ------------------------------------------------------------------ finding codes not read


def seen_by_zxing(grey: np.ndarray) -> tuple[list[Code], list[Box]]:
    """One zxing-cpp pass: the codes it read, and the places of those it saw but could not
    decode (too few pixels per module, blur, a damaged corner)."""
    read, seen = [], []
    for r in _zxing_results(grey, errors=True):
        if r.valid and r.text:
            read.append(Code(_nfc(r.text), _zxing_box(r), "zxing"))
        elif not r.valid:
            seen.append(_zxing_box(r))
    return read, seen


def _finder_clusters(grey: np.ndarray) -> list[Box]:
    """Boxes around groups of three finder-like squares (dark ring, light ring, dark core),
    found by contour nesting on a thresholded page: works at sizes where detectors give up."""
    h, w = grey.shape
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 10)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hierarchy = hierarchy[0]
    squares = []
    for i, cnt in enumerate(contours):
        x, y, cw, ch = cv2.boundingRect(cnt)
        if not 9 <= cw <= 120 or not 0.7 <= cw / max(ch, 1) <= 1.4:
            continue
        child = hierarchy[i][2]
        if child < 0:  # a finder pattern is a ring with something inside
            continue
        depth, k = 0, child
        while k >= 0 and depth < 3:
            depth += 1
            k = hierarchy[k][2]
        if depth >= 2 and cv2.contourArea(cnt) > 0.6 * cw * ch:
            squares.append((x, y, cw, ch))
    out: list[Box] = []
    for i, a in enumerate(squares):
        near = [
            b
            for b in squares
            if b is not a and abs(b[2] - a[2]) <= 0.35 * a[2] and max(abs(b[0] - a[0]), abs(b[1] - a[1])) <= 12 * a[2]
        ]
        if len(near) >= 2:
            group = [a] + near
            x0 = min(g[0] for g in group)
            y0 = min(g[1] for g in group)
            x1 = max(g[0] + g[2] for g in group)
            y1 = max(g[1] + g[3] for g in group)
            side = max(x1 - x0, y1 - y0)
            out.append((max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)))
    return out


def _distinct(boxes: list[Box]) -> list[Box]:
    out: list[Box] = []
    for b in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        if not any(_overlap(b, o) > 0.5 for o in out):
            out.append(b)
    return out[:6]


def _overlap(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])) or 1
    return ix * iy / small


def _enlarged_reads(grey: np.ndarray, box: Box, decoders: list[Decoder]) -> list[Code]:
    """Read one candidate place: cut out with a margin, enlarged (as it is, then sharpened),
    each decoder in turn. A crop is small: this costs milliseconds."""
    h, w = grey.shape
    side = max(box[2] - box[0], box[3] - box[1])
    m = int(side * MARGIN) + 8
    x0, y0 = max(0, box[0] - m), max(0, box[1] - m)
    x1, y1 = min(w, box[2] + m), min(h, box[3] + m)
    crop = grey[y0:y1, x0:x1]
    if crop.size == 0 or min(crop.shape) < 16:
        return []
    for factor in ENLARGE:
        big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        soft = cv2.GaussianBlur(big, (0, 0), factor * 0.8)
        sharp = cv2.addWeighted(big, 2.5, soft, -1.5, 0)  # unsharp mask: module edges back
        for variant in (big, sharp):
            for decode in decoders:
                found = decode(variant)
                if found:
                    return [
                        Code(
                            c.text,
                            (
                                x0 + int(c.box[0] / factor),
                                y0 + int(c.box[1] / factor),
                                x0 + int(round(c.box[2] / factor)),
                                y0 + int(round(c.box[3] / factor)),
                            ),
                            c.decoder + "+enlarged",
                        )
                        for c in found
                    ]
    return []


# ------------------------------------------------------------------ the chain


def read_codes(image: np.ndarray, decoders: list[str] | None = None, *, deep: bool = True) -> tuple[Code, ...]:
    """Every QR code read on a page image (BGR or grey), each with its box in the image's
    pixels. The page is searched whole by zxing-cpp only (some 20 ms at 300 dpi; OpenCV's
    search of a whole page takes 10-40 times as long and reads less); the other decoders
    read the places where a code was seen but not read, enlarged. `deep`: also look for
    three finder-like squares the decoders missed and read there — for a page known to be
    an ID card: on a ruled registry page such squares abound and the search costs seconds.
    Never raises on a page: a decoder that fails is logged and skipped (a code is extra
    evidence)."""
    names = [n for n in (decoders or available_decoders()) if n in DECODERS]
    chain = [DECODERS[n] for n in names]
    grey = _grey(image)
    try:
        if "zxing" in names:
            found, seen = seen_by_zxing(grey)
        elif chain:  # no zxing-cpp: the first decoder searches the page
            found, seen = chain[0](grey), []
        else:
            return ()
        if found:
            return tuple(found)
        for box in _distinct(seen + (_finder_clusters(grey) if deep else [])):
            found = _enlarged_reads(grey, box, chain)
            if found:
                return tuple(found)
    except Exception as exc:  # noqa: BLE001
        log.warning("QR decoding failed: %s", exc)
    return ()
