"""Realistic degradations of rendered pages.

Each degradation is a pure function `fn(img, rng, **params) -> img` over an
RGB uint8 array (H, W, 3): it never modifies its input and, given the same
generator state and parameters, always returns the same pixels. Parameters
come from `sample(name, level, rng)` with a severity level 0-3 (0 = none).

`apply(img, [(name, level), ...], seed)` runs a chain in the canonical order
(paper first, then ink and marks, then geometry, then capture) and returns
the image and the parameters actually used, for the ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw

from . import fonts

# ---------------------------------------------------------------------------
# helpers


def _rgb(img) -> np.ndarray:
    if isinstance(img, Image.Image):
        img = np.asarray(img.convert("RGB"))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img


def _clip(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0, 255).astype(np.uint8)


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], cells: int = 6) -> np.ndarray:
    """Low-frequency noise in [0, 1] of the given (h, w) shape."""
    h, w = shape
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    grid = rng.random((gh, gw)).astype(np.float32)
    field = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / (hi - lo + 1e-6)


def darkest(img: np.ndarray) -> np.ndarray:
    """Per-pixel minimum over the colour channels (H, W) uint8."""
    r, g, b = cv2.split(img)
    return cv2.min(cv2.min(r, g), b)


def background_colour(img: np.ndarray) -> tuple[int, int, int]:
    border = np.concatenate(
        [img[:8].reshape(-1, 3), img[-8:].reshape(-1, 3), img[:, :8].reshape(-1, 3), img[:, -8:].reshape(-1, 3)]
    )
    return tuple(int(v) for v in np.median(border, axis=0))


def multiply(img: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Multiply blend; `layer` float32 in [0, 1], shape (H, W) or (H, W, 3)."""
    layer = layer.astype(np.float32, copy=False)
    if layer.ndim == 2:
        layer = cv2.cvtColor(layer, cv2.COLOR_GRAY2RGB)
    return cv2.multiply(img, np.ascontiguousarray(layer), dtype=cv2.CV_8U)


def _channels(base: np.ndarray, coeffs) -> np.ndarray:
    """(H, W) float32 -> (H, W, 3) with per-channel affine maps 1 - k * base."""
    return cv2.merge([np.float32(1.0) - np.float32(k) * base for k in coeffs])


def ink_over(img: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Translucent ink of `colour` with coverage `alpha` (H, W) in [0, 1]."""
    c = np.array(colour, np.float32) / 255.0
    return multiply(img, _channels(alpha.astype(np.float32), 1.0 - c))


def _gauss(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)


def _add_noise(img: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Add (H, W) float noise to every channel, saturating."""
    n16 = n.astype(np.int16)
    out = img.astype(np.int16) + n16[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# geometry


def skew(img, rng, *, angle: float, fill=None):
    """Rotate the page content by `angle` degrees (counter-clockwise positive),
    enlarging the canvas so nothing is cut; corners get the paper colour."""
    img = _rgb(img)
    h, w = img.shape[:2]
    fill = fill or background_colour(img)
    a = math.radians(angle)
    nw = int(math.ceil(abs(w * math.cos(a)) + abs(h * math.sin(a))))
    nh = int(math.ceil(abs(h * math.cos(a)) + abs(w * math.sin(a))))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    return cv2.warpAffine(
        img,
        m,
        (nw, nh),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=tuple(int(v) for v in fill),
    )


def rotate(img, rng, *, degrees: int):
    """Turn the page by 90/180/270 degrees clockwise."""
    img = _rgb(img)
    k = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(img, k=-k))


def spine_curl(img, rng, *, side: str = "left", strength: float = 0.03, shade: float = 0.45):
    """A bound book near its spine: lines bend and squeeze toward the spine,
    and the paper darkens into the gutter."""
    img = _rgb(img)
    h, w = img.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    t = 1.0 - xs / w if side == "left" else xs / w  # 1 at the spine
    zone = np.clip((t - 0.55) / 0.45, 0, 1) ** 2  # curl only in the part nearest the spine
    # output (x, y) samples the flat page at (map_x, map_y): near the spine the
    # text is squeezed horizontally and lines converge toward the middle height
    yy = np.arange(h, dtype=np.float32)[:, None]
    k = (2.0 * strength * zone)[None, :]
    map_y = (yy + k * (yy - h / 2) + 0.3 * strength * h * zone[None, :]).astype(np.float32)
    squeeze = 0.12 * w * zone**1.5
    sgn = -1.0 if side == "left" else 1.0
    map_x = np.broadcast_to((xs + sgn * squeeze)[None, :], (h, w)).astype(np.float32)
    fill = background_colour(img)
    out = cv2.remap(img, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    gutter = 1.0 - shade * np.exp(-((1.0 - t) * w) / (0.05 * w)) - 0.15 * shade * zone
    return multiply(out, np.broadcast_to(gutter[None, :].astype(np.float32), (h, w)))


def photo(
    img,
    rng,
    *,
    margin: float = 0.12,
    jitter: float = 0.05,
    light: float = 0.35,
    vignette: float = 0.45,
    background=(62, 50, 40),
    warmth: float = 0.06,
):
    """A phone photo: the page warped in perspective onto a darker surface,
    with uneven light, vignetting and a slight colour cast."""
    img = _rgb(img)
    h, w = img.shape[:2]
    ow, oh = int(w * (1 + 2 * margin)), int(h * (1 + 2 * margin))
    mx, my = w * margin, h * margin
    base = np.float32([[mx, my], [mx + w, my], [mx + w, my + h], [mx, my + h]])
    dst = base + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32) * np.float32([w, h])
    k = rng.uniform(0.0, jitter) * w  # keystone: the far (top) edge appears narrower
    dst[0, 0] += k
    dst[1, 0] -= k
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(src, dst)
    # the surface, built at 1/4 resolution: colour, texture, grain, the page's soft shadow
    q = 4
    sh, sw = oh // q + 1, ow // q + 1
    bg = np.empty((sh, sw, 3), np.float32)
    bg[:] = np.array(background, np.float32)
    bg += (smooth_field(rng, (sh, sw), 14) * 30 - 15)[:, :, None] + _gauss(rng, (sh, sw), 5)[:, :, None]
    small_m = np.diag([1 / q, 1 / q, 1.0]) @ m @ np.diag([q, q, 1.0])  # quarter-res page -> quarter-res photo
    mask = cv2.warpPerspective(np.ones((h // q, w // q), np.float32), small_m, (sw, sh))
    shadow = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(1.0, w * 0.012 / q))
    shadow = np.roll(shadow, (max(1, int(h * 0.006 / q)), max(1, int(w * 0.006 / q))), axis=(0, 1))
    bg *= (1 - 0.5 * shadow)[:, :, None]
    out = cv2.resize(np.clip(bg, 0, 255).astype(np.uint8), (ow, oh), interpolation=cv2.INTER_LINEAR)
    cv2.warpPerspective(img, m, (ow, oh), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    # light: a linear gradient at a random angle, a vignette and a warm cast (at 1/8 resolution)
    lh, lw = oh // 8 + 1, ow // 8 + 1
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    g = (xx / lw - 0.5) * math.cos(ang) + (yy / lh - 0.5) * math.sin(ang)
    lightmap = 1.0 - light * (g - g.min()) / (g.max() - g.min() + 1e-6)
    r2 = (((xx - lw / 2) / (lw / 2)) ** 2 + ((yy - lh / 2) / (lh / 2)) ** 2) / 2
    lightmap = (lightmap * (1.0 - vignette * r2)).astype(np.float32)
    lightmap = cv2.resize(lightmap, (ow, oh), interpolation=cv2.INTER_LINEAR)
    cast = (1.0 + warmth, 1.0, 1.0 - warmth)
    out = multiply(out, cv2.merge([lightmap * np.float32(c) for c in cast]))
    out = cv2.GaussianBlur(out, (0, 0), sigmaX=0.7)
    n = cv2.resize(_gauss(rng, (oh // 2, ow // 2), 3.0), (ow, oh), interpolation=cv2.INTER_LINEAR)
    return _add_noise(out, n)


def borders(img, rng, *, top: int, bottom: int, left: int, right: int, shade: int = 25):
    """Black scanner borders around the page, with a ragged inner edge."""
    img = _rgb(img)
    h, w = img.shape[:2]
    H, W = h + top + bottom, w + left + right
    out = np.full((H, W, 3), shade, np.uint8)
    out[top : top + h, left : left + w] = img
    dmax = 8
    for side, size in (("top", top), ("bottom", bottom), ("left", left), ("right", right)):
        if size <= 0:
            continue
        n = W if side in ("top", "bottom") else H
        depth = (smooth_field(rng, (1, n), 40)[0] * 6 + rng.random(n) * 2).astype(int)
        ragged = np.arange(dmax)[:, None] < depth[None, :]  # (dmax, n)
        if side == "top":
            out[top : top + dmax][ragged] = shade
        elif side == "bottom":
            out[H - bottom - dmax : H - bottom][ragged[::-1]] = shade
        elif side == "left":
            out[:, left : left + dmax][ragged.T] = shade
        else:
            out[:, W - right - dmax : W - right][ragged.T[:, ::-1]] = shade
    # sensor noise in the dark margins only
    for sl in (np.s_[: top + dmax], np.s_[H - bottom - dmax :], np.s_[:, : left + dmax], np.s_[:, W - right - dmax :]):
        region = out[sl]
        if region.size:
            dark = region.max(axis=2) <= shade
            n = _gauss(rng, region.shape[:2], 4)
            region[dark] = np.clip(region[dark].astype(np.int16) + n[dark][:, None].astype(np.int16), 0, 255)
    return out


# ---------------------------------------------------------------------------
# capture


def noise(img, rng, *, sigma: float, speckle: float = 0.0):
    img = _rgb(img)
    h, w = img.shape[:2]
    n = _gauss(rng, (h, w), sigma)
    if speckle > 0:
        dots = rng.random((h, w), dtype=np.float32) < speckle
        n[dots] -= 160
    return _add_noise(img, n)


def blur(img, rng, *, sigma: float):
    return cv2.GaussianBlur(_rgb(img), (0, 0), sigmaX=sigma)


def low_dpi(img, rng, *, factor: float, keep_size: bool = True):
    """Scan at `factor` times the resolution (e.g. 0.5: 200 -> 100 dpi)."""
    img = _rgb(img)
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, int(w * factor)), max(1, int(h * factor))), interpolation=cv2.INTER_AREA)
    if not keep_size:
        return small
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def jpeg(img, rng, *, quality: int):
    img = _rgb(img)
    ok, buf = cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def photocopy(img, rng, *, contrast: float = 1.6, toner: float = 0.0005, streaks: int = 0):
    """A photocopy: grey, light tints washed out and dark ink pushed darker (the copier's
    steep tone curve), toner specks and faint vertical drum streaks."""
    grey = darkest(_rgb(img)).astype(np.float32) / 255.0
    grey = 1.0 / (1.0 + np.exp(-contrast * 6.0 * (grey - 0.55)))  # steep S-curve around mid-grey
    grey = (grey - grey.min()) / max(1e-6, float(grey.max() - grey.min()))
    out = grey * 255.0
    h, w = out.shape
    if toner > 0:
        dots = rng.random((h, w), dtype=np.float32) < toner
        out[cv2.dilate(dots.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0] *= 0.35
    for _ in range(int(streaks)):
        x = int(rng.integers(0, w))
        width = int(rng.integers(1, 4))
        out[:, x : x + width] *= float(rng.uniform(0.8, 0.93))
    out = _clip(out)
    return np.repeat(out[:, :, None], 3, axis=2)


# ---------------------------------------------------------------------------
# paper


def yellow(img, rng, *, tint: float = 0.12, unevenness: float = 0.08, blotches: int = 4, blotch_strength: float = 0.18):
    """Aged paper: a yellow-brown tint varying over the sheet, plus stains."""
    img = _rgb(img)
    h, w = img.shape[:2]
    sh, sw = max(8, h // 8), max(8, w // 8)
    field = smooth_field(rng, (sh, sw), 5)
    base = np.float32([1.0, 0.93, 0.74])  # yellowed paper
    layer = 1.0 - tint * (1.0 - base)[None, None, :] * (0.6 + 0.8 * field[:, :, None]) * 2.5
    layer -= unevenness * smooth_field(rng, (sh, sw), 9)[:, :, None]
    stain = np.zeros((sh, sw), np.float32)
    for _ in range(blotches):
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        ax, ay = rng.uniform(0.03, 0.15) * sw, rng.uniform(0.03, 0.15) * sh
        tmp = np.zeros_like(stain)
        cv2.ellipse(tmp, (int(cx), int(cy)), (int(ax), int(ay)), rng.uniform(0, 180), 0, 360, 1.0, -1)
        ring = tmp - cv2.erode(tmp, np.ones((3, 3), np.uint8), iterations=2)  # tide-mark edge
        stain += tmp * rng.uniform(0.4, 1.0) + ring * 0.8
    stain = cv2.GaussianBlur(stain, (0, 0), sigmaX=2.0)
    brown = np.float32([0.78, 0.62, 0.40])
    layer -= blotch_strength * stain[:, :, None] * (1.0 - brown)[None, None, :] * 2
    # foxing: small brown dots
    n_dots = int(rng.integers(5, 30))
    for _ in range(n_dots):
        x, y = int(rng.uniform(0, sw)), int(rng.uniform(0, sh))
        cv2.circle(layer, (x, y), int(rng.integers(1, 3)), tuple(float(v) for v in 1.0 - 0.25 * (1 - brown)), -1)
    layer = cv2.resize(np.clip(layer, 0.3, 1.0), (w, h), interpolation=cv2.INTER_LINEAR)
    return multiply(img, layer)


def _guilloche(h: int, w: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Line art of interlaced waves and rosettes; 1.0 = ink, 0 = paper."""
    canvas = np.zeros((h, w), np.uint8)
    thick = max(1, int(round(scale)))
    # interlaced sine bands across the page
    xs = np.linspace(0, w, 600, dtype=np.float32)
    period = rng.uniform(0.08, 0.14) * w
    amp = rng.uniform(0.012, 0.025) * h
    step = int(rng.uniform(0.010, 0.016) * h)
    for y0 in range(-step, h + step, step):
        for phase in (0.0, math.pi):
            ys = y0 + amp * np.sin(2 * math.pi * xs / period + phase + y0 * 0.01)
            pts = np.stack([xs, ys], axis=1).astype(np.int32)
            cv2.polylines(canvas, [pts], False, 255, thick, cv2.LINE_AA)
    # rosettes (hypotrochoids) at the centre and in the corners
    centres = [(w / 2, h / 2, 0.33 * w)] + [
        (x, y, 0.12 * w)
        for x, y in ((0.15 * w, 0.12 * h), (0.85 * w, 0.12 * h), (0.15 * w, 0.88 * h), (0.85 * w, 0.88 * h))
    ]
    t = np.linspace(0, 2 * math.pi * 7, 4000, dtype=np.float32)
    for cx, cy, rad in centres:
        R, r = 1.0, rng.choice([2 / 7, 3 / 7, 5 / 11])
        for d in np.linspace(0.3, 0.9, 5):
            x = (R - r) * np.cos(t) + d * np.cos((R - r) / r * t)
            y = (R - r) * np.sin(t) - d * np.sin((R - r) / r * t)
            norm = R - r + d
            pts = np.stack([cx + rad * x / norm, cy + rad * y / norm], axis=1).astype(np.int32)
            cv2.polylines(canvas, [pts], False, 255, thick, cv2.LINE_AA)
    # a wavy frame
    for inset in (0.025, 0.032):
        ix, iy = inset * w, inset * w
        per = np.linspace(0, 1, 1200, dtype=np.float32)
        for edge in range(4):
            if edge in (0, 2):
                xs_ = ix + per * (w - 2 * ix)
                ys_ = (iy if edge == 0 else h - iy) + 0.006 * w * np.sin(per * 80 * math.pi)
            else:
                ys_ = iy + per * (h - 2 * iy)
                xs_ = (ix if edge == 3 else w - ix) + 0.006 * w * np.sin(per * 110 * math.pi)
            cv2.polylines(canvas, [np.stack([xs_, ys_], 1).astype(np.int32)], False, 255, thick + 1, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


SECURITY_COLOURS = {"green": ((150, 205, 160), (232, 245, 232)), "pink": ((230, 160, 185), (250, 236, 240))}


def security(img, rng, *, colour: str = "green", strength: float = 0.7):
    """Security paper: a tinted sheet with a guilloche pattern under the text."""
    img = _rgb(img)
    h, w = img.shape[:2]
    line_c, paper_c = SECURITY_COLOURS[colour]
    pat = _guilloche(h, w, rng, scale=max(1.0, w / 1654 * 1.5))
    paper = np.float32(paper_c) / 255.0
    line = np.float32(line_c) / 255.0
    k = strength * (paper - line) / paper
    layer = cv2.merge([np.float32(p) * (np.float32(1.0) - np.float32(kc) * pat) for p, kc in zip(paper, k)])
    return multiply(img, layer)


# ---------------------------------------------------------------------------
# ink and marks


def ink(img, rng, *, fade: float = 0.5, breaks: float = 0.08, ribbon: float = 0.3):
    """Typewriter ink: each glyph (connected stroke) struck with its own force,
    a ribbon drying out along the lines, and broken strokes."""
    img = _rgb(img)
    h, w = img.shape[:2]
    grey = darkest(img)
    dark = (grey < 150).astype(np.uint8)
    n, labels = cv2.connectedComponents(dark, connectivity=8)
    force = rng.uniform(1.0 - fade, 1.0, n).astype(np.float32)
    force[0] = 1.0
    strength = force[labels]
    rib = cv2.resize(smooth_field(rng, (max(2, h // 4), max(2, w // 4)), 12), (w, h))
    strength *= np.float32(1.0) - np.float32(ribbon) * rib
    holes = cv2.resize(rng.random((h // 3 + 1, w // 3 + 1), dtype=np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    strength[holes < breaks] *= np.float32(0.15)
    # out = paper - (paper - img) * strength, per channel
    paper = np.float32(background_colour(img))
    inv = cv2.subtract(np.ascontiguousarray(np.broadcast_to(paper.astype(np.uint8), img.shape)), img)
    faded = multiply(inv, strength)
    return cv2.subtract(np.ascontiguousarray(np.broadcast_to(paper.astype(np.uint8), img.shape)), faded)


def bleed_through(img, rng, *, strength: float = 0.18, other=None, shift=(0, 0), blur_sigma: float = 2.5):
    """Faint mirrored text of the other side of the sheet."""
    img = _rgb(img)
    h, w = img.shape[:2]
    src = _rgb(other) if other is not None else img
    src = cv2.resize(src, (w, h)) if src.shape[:2] != (h, w) else src
    back = cv2.flip(255 - darkest(src), 1)  # darkness, mirrored
    back = np.roll(back, tuple(int(v) for v in shift), axis=(0, 1))
    back = cv2.GaussianBlur(back, (0, 0), sigmaX=blur_sigma).astype(np.float32) * np.float32(1 / 255)
    tint = np.float32([0.55, 0.5, 0.45])
    layer = _channels(back, strength * (1.0 - tint) * 2.0)
    return multiply(img, np.clip(layer, 0, 1))


def _stamp_layer(radius: int, text: str, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Alpha (float32) of a round seal: two rings, text around, a star inside."""
    size = 2 * radius + 8
    im = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(im)
    c = size / 2
    ring = max(2, int(radius * 0.05))
    d.ellipse([c - radius, c - radius, c + radius, c + radius], outline=255, width=ring)
    inner = radius * 0.72
    d.ellipse([c - inner, c - inner, c + inner, c + inner], outline=255, width=max(1, ring // 2))
    # star
    sr = radius * 0.32
    pts = []
    for i in range(10):
        rr = sr if i % 2 == 0 else sr * 0.4
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((c + rr * math.cos(a), c + rr * math.sin(a)))
    d.polygon(pts, fill=255)
    # text around the ring
    face = fonts.Face("DejaVuSans" if "DejaVuSans" in fonts.available() else fonts.proportional_faces()[0])
    fsize = max(8, int(radius * 0.2))
    font = face.font(fsize, "bold")
    text = " ".join(text.split())
    widths = [font.getlength(ch) for ch in text]
    track = fsize * 0.08
    total = sum(widths) + track * len(text)
    r_text = (radius + inner) / 2 - fsize * 0.35
    span = total / r_text  # radians used
    if span > 2 * math.pi * 0.95:  # shrink to fit the ring
        shrink = 2 * math.pi * 0.95 / span
        font = face.font(max(6, int(fsize * shrink)), "bold")
        widths = [font.getlength(ch) for ch in text]
        track *= shrink
        total = sum(widths) + track * len(text)
        span = total / r_text
    a = -math.pi / 2 - span / 2  # centred at the top
    for ch, cw in zip(text, widths):
        a_mid = a + (cw / 2) / r_text
        glyph = Image.new("L", (int(fsize * 2), int(fsize * 2)), 0)
        ImageDraw.Draw(glyph).text((fsize, fsize), ch, font=font, fill=255, anchor="mm")
        rot = glyph.rotate(-math.degrees(a_mid + math.pi / 2), resample=Image.BICUBIC)
        x = c + r_text * math.cos(a_mid) - rot.width / 2
        y = c + r_text * math.sin(a_mid) - rot.height / 2
        im.paste(255, (int(x), int(y)), rot)
        a += (cw + track) / r_text
    alpha = np.asarray(im, np.float32) / 255.0
    # uneven inking: pressure gradient and speckled gaps
    g = smooth_field(rng, alpha.shape, 3)
    speck = cv2.GaussianBlur(rng.random(alpha.shape).astype(np.float32), (0, 0), 1.2)
    alpha *= (0.55 + 0.45 * g) * np.where(speck < 0.35, 0.3, 1.0)
    return cv2.GaussianBlur(alpha, (0, 0), 0.6)


def stamp(
    img,
    rng,
    *,
    center,
    radius: int,
    text: str = "ỦY BAN NHÂN DÂN *",
    colour=(205, 35, 45),
    rotation: float = 0.0,
    opacity: float = 0.85,
):
    """A red round seal pressed over the page (on top of the text)."""
    img = _rgb(img)
    h, w = img.shape[:2]
    alpha = _stamp_layer(int(radius), text, 1.0, rng)
    if rotation:
        m = cv2.getRotationMatrix2D((alpha.shape[1] / 2, alpha.shape[0] / 2), rotation, 1.0)
        alpha = cv2.warpAffine(alpha, m, (alpha.shape[1], alpha.shape[0]))
    full = np.zeros((h, w), np.float32)
    s = alpha.shape[0]
    x0, y0 = int(center[0] - s / 2), int(center[1] - s / 2)
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    if xa < xb and ya < yb:
        full[ya:yb, xa:xb] = alpha[ya - y0 : yb - y0, xa - x0 : xb - x0]
    return ink_over(img, np.clip(full * opacity, 0, 1), colour)


def signature(img, rng, *, center, width: float, colour=(30, 50, 165), thickness: int = 3):
    """Blue ball-pen signature strokes: a few loops and a flourish."""
    img = _rgb(img)
    h, w = img.shape[:2]
    canvas = np.zeros((h, w), np.uint8)
    cx, cy = center
    n = 400
    t = np.linspace(0, 1, n)
    loops = rng.integers(3, 7)
    x = cx - width / 2 + width * t + width * 0.05 * np.sin(2 * math.pi * loops * t + rng.uniform(0, 6))
    y = cy + width * 0.12 * np.sin(2 * math.pi * loops * t * 1.0 + rng.uniform(0, 6)) * (0.6 + 0.4 * np.sin(3 * t))
    y += width * 0.05 * (t - 0.5)
    pts = np.stack([x, y], 1).astype(np.int32)
    cv2.polylines(canvas, [pts], False, 255, thickness, cv2.LINE_AA)
    # flourish underline
    t2 = np.linspace(0, 1, 120)
    fx = cx - width * 0.45 + width * 0.95 * t2
    fy = cy + width * 0.16 + width * 0.05 * np.sin(math.pi * t2) - width * 0.08 * t2
    cv2.polylines(canvas, [np.stack([fx, fy], 1).astype(np.int32)], False, 255, max(1, thickness - 1), cv2.LINE_AA)
    # initial capital stroke
    a = np.linspace(0, 2 * math.pi, 80)
    ix = cx - width * 0.42 + width * 0.06 * np.cos(a)
    iy = cy - width * 0.05 + width * 0.15 * np.sin(a)
    cv2.polylines(canvas, [np.stack([ix, iy], 1).astype(np.int32)], False, 255, thickness, cv2.LINE_AA)
    alpha = canvas.astype(np.float32) / 255.0 * 0.9
    return ink_over(img, alpha, colour)


# ---------------------------------------------------------------------------
# registry: parameter sampling per level, canonical order


@dataclass(frozen=True)
class Degradation:
    name: str
    fn: Callable
    sample: Callable  # (level, rng, hints) -> params


def _s_skew(level, rng, hints):
    lo, hi = {1: (0.5, 2.0), 2: (2.0, 5.0), 3: (5.0, 12.0)}[level]
    return {"angle": round(float(rng.uniform(lo, hi) * rng.choice([-1, 1])), 2)}


def _s_rotate(level, rng, hints):
    return {"degrees": int(rng.choice([90, 180, 270])) if level < 3 else 180}


def _s_noise(level, rng, hints):
    return {"sigma": [0, 6, 12, 20][level], "speckle": [0, 0.0, 0.0005, 0.002][level]}


def _s_blur(level, rng, hints):
    return {"sigma": [0, 0.8, 1.3, 2.0][level]}


def _s_low_dpi(level, rng, hints):
    return {"factor": [1.0, 0.75, 0.5, 0.375][level]}


def _s_jpeg(level, rng, hints):
    return {"quality": [95, 80, 50, 25][level]}


def _s_yellow(level, rng, hints):
    return {
        "tint": [0, 0.06, 0.12, 0.2][level],
        "unevenness": [0, 0.04, 0.08, 0.14][level],
        "blotches": int(rng.integers(0, [1, 3, 6, 10][level] + 1)),
        "blotch_strength": [0, 0.1, 0.2, 0.3][level],
    }


def _s_security(level, rng, hints):
    return {
        "colour": hints.get("security_colour") or str(rng.choice(["green", "pink"])),
        "strength": [0, 0.5, 0.7, 0.9][level],
    }


def _s_ink(level, rng, hints):
    return {
        "fade": [0, 0.35, 0.55, 0.75][level],
        "breaks": [0, 0.04, 0.09, 0.16][level],
        "ribbon": [0, 0.15, 0.3, 0.45][level],
    }


def _s_bleed(level, rng, hints):
    return {"strength": [0, 0.1, 0.2, 0.32][level], "shift": (int(rng.integers(-40, 40)), int(rng.integers(-30, 30)))}


def _s_stamp(level, rng, hints):
    h, w = hints["size"]
    center = hints.get("stamp") or (w * 0.62, h * 0.8)
    radius = hints.get("stamp_radius") or int(w * 0.09)
    jitter = radius * 0.15
    return {
        "center": (
            round(float(center[0] + rng.uniform(-jitter, jitter)), 1),
            round(float(center[1] + rng.uniform(-jitter, jitter)), 1),
        ),
        "radius": int(radius),
        "text": hints.get("stamp_text") or "ỦY BAN NHÂN DÂN *",
        "rotation": round(float(rng.uniform(-40, 40)), 1),
        "opacity": [0, 0.6, 0.8, 0.95][level],
    }


def _s_signature(level, rng, hints):
    h, w = hints["size"]
    center = hints.get("signature") or (w * 0.7, h * 0.82)
    width = hints.get("signature_width") or w * 0.25
    return {
        "center": (
            round(float(center[0] + rng.uniform(-20, 20)), 1),
            round(float(center[1] + rng.uniform(-10, 10)), 1),
        ),
        "width": float(width) * [1, 0.8, 1.0, 1.25][level],
        "thickness": [1, 2, 3, 4][level],
    }


def _s_curl(level, rng, hints):
    return {
        "side": str(rng.choice(["left", "right"])),
        "strength": [0, 0.015, 0.03, 0.05][level],
        "shade": [0, 0.3, 0.45, 0.6][level],
    }


def _s_photo(level, rng, hints):
    return {
        "margin": [0, 0.08, 0.12, 0.16][level],
        "jitter": [0, 0.02, 0.045, 0.07][level],
        "light": [0, 0.2, 0.35, 0.5][level],
        "vignette": [0, 0.25, 0.45, 0.6][level],
        "background": _surface(rng),
    }


def _surface(rng) -> tuple[int, int, int]:
    """A desk or table colour: dark wood, grey laminate or a dark cloth."""
    b = float(rng.uniform(35, 110))
    hue = [(1.0, 0.8, 0.62), (1.0, 1.0, 1.0), (0.85, 0.9, 1.0), (1.0, 0.72, 0.5)][int(rng.integers(0, 4))]
    return tuple(int(b * c) for c in hue)


def _s_photocopy(level, rng, hints):
    return {
        "contrast": [1.0, 1.3, 1.6, 2.0][level],
        "toner": [0, 0.0002, 0.0006, 0.0015][level],
        "streaks": int(rng.integers(0, [1, 2, 4, 6][level])),
    }


def _s_borders(level, rng, hints):
    h, w = hints["size"]
    m = [0, 0.015, 0.03, 0.05][level]
    return {
        k: int(rng.uniform(0.2, 1.0) * m * (h if k in ("top", "bottom") else w))
        for k in ("top", "bottom", "left", "right")
    } | {"shade": int(rng.integers(10, 45))}


REGISTRY: dict[str, Degradation] = {
    d.name: d
    for d in [
        Degradation("ink", ink, _s_ink),
        Degradation("security", security, _s_security),
        Degradation("yellow", yellow, _s_yellow),
        Degradation("bleed", bleed_through, _s_bleed),
        Degradation("stamp", stamp, _s_stamp),
        Degradation("signature", signature, _s_signature),
        Degradation("curl", spine_curl, _s_curl),
        Degradation("skew", skew, _s_skew),
        Degradation("rotate", rotate, _s_rotate),
        Degradation("borders", borders, _s_borders),
        Degradation("photo", photo, _s_photo),
        Degradation("low_dpi", low_dpi, _s_low_dpi),
        Degradation("blur", blur, _s_blur),
        Degradation("noise", noise, _s_noise),
        Degradation("jpeg", jpeg, _s_jpeg),
        Degradation("photocopy", photocopy, _s_photocopy),  # last here: its seed index leaves the others' alone
    ]
}
ORDER = list(REGISTRY)  # each degradation's random stream is spawned at its index here
# the order they are applied in: a photocopy is made before it is scanned
APPLY_ORDER = [n for n in ORDER if n != "photocopy"]
APPLY_ORDER.insert(APPLY_ORDER.index("skew"), "photocopy")
ALIASES = {
    "bleed_through": "bleed",
    "spine_curl": "curl",
    "rotation": "rotate",
    "yellowed": "yellow",
    "typewriter_ink": "ink",
    "guilloche": "security",
    "scanner_borders": "borders",
}


def canonical(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in REGISTRY:
        raise ValueError(f"unknown degradation '{name}' (known: {', '.join(ORDER)})")
    return name


def sample(name: str, level: int, rng: np.random.Generator, hints: dict | None = None) -> dict:
    if not 0 <= level <= 3:
        raise ValueError("level must be 0..3")
    return REGISTRY[canonical(name)].sample(level, rng, hints or {})


def apply(img, chain, seed: int, hints: dict | None = None, *, skip=()) -> tuple[np.ndarray, dict]:
    """Apply [(name, level) or (name, level, overrides)] in canonical order.

    Returns the image and {name: params} (with 'level'). Names in `skip`
    are sampled and recorded but not applied (e.g. jpeg when the caller
    saves the file as JPEG at that quality)."""
    img = _rgb(img)
    hints = dict(hints or {})
    items = []
    for item in chain:
        name, level = canonical(item[0]), int(item[1])
        overrides = item[2] if len(item) > 2 else {}
        items.append((name, level, overrides))
    items.sort(key=lambda it: APPLY_ORDER.index(it[0]))
    used = {}
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(len(ORDER))
    for name, level, overrides in items:
        if level == 0:
            continue
        rng = np.random.default_rng(children[ORDER.index(name)])
        hints["size"] = img.shape[:2]
        params = sample(name, level, rng, hints)
        params.update(overrides)
        if name not in skip:
            img = REGISTRY[name].fn(img, rng, **params)
        rec = {k: v for k, v in params.items() if k != "other"}
        rec["level"] = level
        used[name] = rec
    return img, used
