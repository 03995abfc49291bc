"""Train the typed-figure model (`typed_figures.npz`, read by `digitize.ocr.typed_figures`).

    .venv/bin/python -m models.train_typed_figures [--fonts /tmp/typed-figure-fonts]

Data: figure fields (dates, book numbers, years, entry numbers, 12-figure personal numbers)
rendered line by line in upright typefaces from Debian's `fonts-freefont-ttf` (GNU FreeFont:
GPL-3+ with the font exception) and `fonts-urw-base35` (URW base 35: AGPL-3 with the font
exception), fetched with `apt-get download` and unpacked, not installed, plus the DejaVu faces
of the machine (Bitstream Vera licence). The Liberation faces, which `benchmarks/ood_pages`
types its certificates in, are left out on purpose: that slice measures the model on a face
it never saw. NimbusMonoPS (a Courier) is held out of the fit to check it.

Each line is printed over a dotted leader at a random height (a form filled in on a
typewriter: the dots under, through or beside the figures), with a label's end before it
sometimes ("sinh:"), then blurred, coarsened, speckled and JPEG-compressed at random, and cut
into marks as the reader cuts them (`ocr.typed_figures.marks`), dots and all: a dot clinging
to a figure is part of what the model learns to see past. A mark is labelled with
the character whose advance holds its centre; a mark as wide as two characters (figures run
together) is left out, and a mark under no figure or slash is "not a figure".

Numpy only, like the pen-figure model; seeds fixed; about a minute on two cores."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitize.ocr.typed_figures import CLASSES, MODEL_FILE, OTHER, marks, typed_features

from .train_pen_figures import train

FONT_PACKAGES = ("fonts-freefont-ttf", "fonts-urw-base35")
HELD_OUT_FONT = "NimbusMonoPS"
LINES = 9000


def font_files(folder: Path) -> list[Path]:
    """Upright text faces: the packages' (fetched into `folder` once) and the machine's DejaVu."""
    if not list(folder.rglob("FreeMono.ttf")):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            got = subprocess.run(["apt-get", "download", *FONT_PACKAGES], cwd=tmp, capture_output=True)
            debs = list(Path(tmp).glob("*.deb"))
            if got.returncode != 0 or len(debs) != len(FONT_PACKAGES):
                raise SystemExit("train_typed_figures: cannot fetch the font packages (run 'apt-get update' first)")
            for deb in debs:
                subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], check=True)
    found = [*folder.rglob("*.ttf"), *folder.rglob("*.otf"), *Path("/usr/share/fonts/truetype/dejavu").glob("*.ttf")]
    skip = ("Italic", "Oblique", "Ita", "Symbol", "Z003", "D050000L", "Math", "ExtraLight", "Liberation")
    return sorted(f for f in found if not any(s in f.name for s in skip))


def _figures(rng: np.random.Generator, n: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, n))


def field_text(rng: np.random.Generator) -> str:
    kind = rng.integers(0, 6)
    if kind == 0:
        return f"{_figures(rng, 2)}/{_figures(rng, 2)}/{rng.choice(['19', '20'])}{_figures(rng, 2)}"
    if kind == 1:
        return f"{_figures(rng, 2)}/{rng.choice(['19', '20'])}{_figures(rng, 2)}"
    if kind == 2:
        return f"{rng.choice(['19', '20'])}{_figures(rng, 2)}"
    if kind == 3:
        return _figures(rng, int(rng.integers(1, 5)))
    if kind == 4:
        return _figures(rng, 12)
    return _figures(rng, int(rng.integers(3, 9)))


_LABEL_ENDS = ("sinh:", "số:", "tên:", "ký:", "h:", "n:", ":", "ngày", "năm:")


def render(
    text: str, font_path: Path, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[float, float, str]], float]:
    """A grey line image of `text` over a dotted leader, each character's span and the
    figures' height, all in its pixels."""
    height = float(rng.uniform(11, 42))
    size = max(8, int(round(height / 0.72)))
    font = ImageFont.truetype(str(font_path), size)
    prefix = str(rng.choice(_LABEL_ENDS)) + " " if rng.random() < 0.35 else ""
    line = prefix + text
    width = int(font.getlength(line) + 3 * size)
    canvas = Image.new("L", (width, int(3 * size)), 255)
    draw = ImageDraw.Draw(canvas)
    ink = int(rng.integers(0, 90))
    x, top = float(size), float(size * 0.9)
    spans = []
    for ch in line:
        advance = font.getlength(ch)
        draw.text((x, top), ch, font=font, fill=ink)
        spans.append((x, x + advance, ch))
        x += advance
    bbox = font.getbbox("0")
    baseline = top + bbox[3]
    digit_height = bbox[3] - bbox[1]
    if rng.random() < 0.85:  # the leader's dots, from under the feet to the figures' middle
        y = baseline + rng.uniform(-0.55, 0.25) * digit_height
        step = rng.uniform(0.3, 0.75) * size
        r = max(0.6, rng.uniform(0.04, 0.09) * size)
        dx = rng.uniform(0, step)
        while dx < width:
            draw.ellipse((dx - r, y - r, dx + r, y + r), fill=ink)
            dx += step
    img = np.asarray(canvas, np.float32)
    angle = rng.uniform(-1.2, 1.2)
    matrix = cv2.getRotationMatrix2D((img.shape[1] / 2, img.shape[0] / 2), angle, 1.0)
    img = cv2.warpAffine(img, matrix, (img.shape[1], img.shape[0]), borderValue=255)
    if rng.random() < 0.6:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.9) * max(1.0, digit_height / 20))
    if rng.random() < 0.3:  # a coarse scan
        f = rng.uniform(0.5, 0.8)
        small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    paper = rng.uniform(190, 255)
    img = img / 255.0 * (paper - ink) + ink
    img += rng.normal(0, rng.uniform(0, 12), img.shape)
    grey = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, jpeg = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        grey = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
    # the value's crop as the pipeline cuts it: the word's box and a little around it
    start = spans[len(prefix) - 2][0] if prefix else spans[0][0]
    x0 = max(0, int(start - 0.2 * digit_height))
    y0, y1 = max(0, int(top + bbox[1] - 0.4 * digit_height)), int(baseline + 0.4 * digit_height)
    crop = grey[y0:y1, x0 : int(x + 0.6 * size)]
    return crop, [(a - x0, b - x0, ch) for a, b, ch in spans], float(digit_height)


def samples(fonts: list[Path], lines: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for i in range(lines):
        crop, spans, height = render(field_text(rng), fonts[i % len(fonts)], rng)
        told = height * rng.uniform(0.85, 1.15)  # the reader is told the height roughly
        found, read_height = marks(crop, told)
        scale = read_height / told  # (marks enlarges a crop whose figures are small)
        for ink, left, _h in found:
            centre = (left + ink.shape[1] / 2) / scale
            under = [s for s in spans if s[0] <= centre < s[1]]
            if not under:
                label = OTHER
            else:
                a, b, ch = under[0]
                if ink.shape[1] / scale > 1.5 * (b - a) and ch in CLASSES:
                    continue  # two figures run together: not one mark's reading
                label = CLASSES.index(ch) if ch in CLASSES else OTHER
            rows.append(typed_features(ink, read_height))
            labels.append(label)
    return np.array(rows), np.array(labels)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fonts", type=Path, default=Path(tempfile.gettempdir()) / "typed-figure-fonts")
    ap.add_argument("--lines", type=int, default=LINES)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name(MODEL_FILE))
    args = ap.parse_args(argv)
    fonts = font_files(args.fonts)
    fitted = [f for f in fonts if HELD_OUT_FONT not in f.name]
    held = [f for f in fonts if HELD_OUT_FONT in f.name]
    print(f"{len(fitted)} faces to fit, {len(held)} held out", file=sys.stderr)
    x, y = samples(fitted, args.lines, np.random.default_rng(0))
    x_test, y_test = samples(held, max(300, args.lines // 20), np.random.default_rng(1))
    print(f"{len(y)} marks to fit ({(y == OTHER).mean():.1%} not figures)", file=sys.stderr)
    model = train(x, y, x_test, y_test, classes=len(CLASSES) + 1, what=f"marks in {HELD_OUT_FONT} (held out)")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **model.arrays())
    args.out.write_bytes(buffer.getvalue())
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
