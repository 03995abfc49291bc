"""Fonts with full Vietnamese coverage, and a monospace "typewriter" face.

Only faces whose files carry a glyph for every Vietnamese letter are offered
(`available()`); the check reads the font's character map, so a newer
Liberation release (2.1+, which has Vietnamese) is picked up automatically
while older ones (no precomposed Vietnamese) are skipped.
"""

from __future__ import annotations

import functools
import os
import unicodedata

from PIL import ImageDraw, ImageFont

_DIRS = ["/usr/share/fonts/truetype", "/usr/share/fonts/TTF", "/usr/local/share/fonts", os.path.expanduser("~/.fonts")]

# face name -> style -> candidate file names
FACES: dict[str, dict[str, str]] = {
    "LiberationSerif": {
        "regular": "LiberationSerif-Regular.ttf",
        "bold": "LiberationSerif-Bold.ttf",
        "italic": "LiberationSerif-Italic.ttf",
        "bolditalic": "LiberationSerif-BoldItalic.ttf",
    },
    "LiberationSans": {
        "regular": "LiberationSans-Regular.ttf",
        "bold": "LiberationSans-Bold.ttf",
        "italic": "LiberationSans-Italic.ttf",
        "bolditalic": "LiberationSans-BoldItalic.ttf",
    },
    "NotoSerif": {
        "regular": "NotoSerif-Regular.ttf",
        "bold": "NotoSerif-Bold.ttf",
        "italic": "NotoSerif-Italic.ttf",
        "bolditalic": "NotoSerif-BoldItalic.ttf",
    },
    "NotoSans": {
        "regular": "NotoSans-Regular.ttf",
        "bold": "NotoSans-Bold.ttf",
        "italic": "NotoSans-Italic.ttf",
        "bolditalic": "NotoSans-BoldItalic.ttf",
    },
    "DejaVuSerif": {
        "regular": "DejaVuSerif.ttf",
        "bold": "DejaVuSerif-Bold.ttf",
        "italic": "DejaVuSerif-Italic.ttf",
        "bolditalic": "DejaVuSerif-BoldItalic.ttf",
    },
    "DejaVuSerifCondensed": {
        "regular": "DejaVuSerifCondensed.ttf",
        "bold": "DejaVuSerifCondensed-Bold.ttf",
        "italic": "DejaVuSerifCondensed-Italic.ttf",
        "bolditalic": "DejaVuSerifCondensed-BoldItalic.ttf",
    },
    "DejaVuSans": {
        "regular": "DejaVuSans.ttf",
        "bold": "DejaVuSans-Bold.ttf",
        "italic": "DejaVuSans-Oblique.ttf",
        "bolditalic": "DejaVuSans-BoldOblique.ttf",
    },
    # monospace faces: drawn cell by cell, with a fallback face for missing letters
    "LiberationMono": {
        "regular": "LiberationMono-Regular.ttf",
        "bold": "LiberationMono-Bold.ttf",
        "italic": "LiberationMono-Italic.ttf",
        "bolditalic": "LiberationMono-BoldItalic.ttf",
    },
    "DejaVuSansMono": {
        "regular": "DejaVuSansMono.ttf",
        "bold": "DejaVuSansMono-Bold.ttf",
        "italic": "DejaVuSansMono-Oblique.ttf",
        "bolditalic": "DejaVuSansMono-BoldOblique.ttf",
    },
}
MONO = {"LiberationMono": "LiberationSans", "DejaVuSansMono": "DejaVuSans"}  # mono -> fallback face
PROPORTIONAL_PREFERENCE = [
    "LiberationSerif",
    "NotoSerif",
    "DejaVuSerif",
    "LiberationSans",
    "NotoSans",
    "DejaVuSans",
    "DejaVuSerifCondensed",
]
TYPEWRITER_PREFERENCE = ["LiberationMono", "DejaVuSansMono"]


def vietnamese_letters() -> str:
    vowels = "aăâeêioôơuưy"
    marks = ["", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"]
    out = {unicodedata.normalize("NFC", v + m) for v in vowels for m in marks}
    out |= {c.upper() for c in out}
    out |= set("đĐ")
    return "".join(sorted(out))


VIETNAMESE = vietnamese_letters()


@functools.lru_cache(maxsize=None)
def find_file(name: str) -> str | None:
    for d in _DIRS:
        if not os.path.isdir(d):
            continue
        for root, _dirs, files in os.walk(d):
            if name in files:
                return os.path.join(root, name)
    return None


@functools.lru_cache(maxsize=None)
def _cmap(path: str) -> frozenset[int] | None:
    try:
        from fontTools.ttLib import TTFont
    except ImportError:  # pragma: no cover - fontTools is optional
        return None
    font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap() or {})


@functools.lru_cache(maxsize=None)
def missing_letters(path: str) -> str:
    """Vietnamese letters with no glyph of their own in the font file."""
    cmap = _cmap(path)
    if cmap is not None:
        return "".join(c for c in VIETNAMESE if ord(c) not in cmap)
    # Without fontTools: compare against the .notdef rendering (basic layout, no decomposition).
    font = ImageFont.truetype(path, 24, layout_engine=ImageFont.Layout.BASIC)
    notdef = bytes(font.getmask("\U0010fffd"))
    return "".join(c for c in VIETNAMESE if bytes(font.getmask(c)) == notdef)


def covers_vietnamese(face: str, styles=("regular", "bold", "italic")) -> bool:
    for style in styles:
        path = find_file(FACES[face][style])
        if path is None or missing_letters(path):
            return False
    return True


@functools.lru_cache(maxsize=None)
def available() -> tuple[str, ...]:
    """Faces usable for Vietnamese text on this machine, in preference order."""
    out = [f for f in PROPORTIONAL_PREFERENCE if covers_vietnamese(f)]
    for mono in TYPEWRITER_PREFERENCE:
        paths = [find_file(FACES[mono][s]) for s in ("regular", "bold")]
        if all(paths) and covers_vietnamese(MONO[mono], ("regular", "bold")):
            out.append(mono)  # usable with per-letter fallback
    return tuple(out)


def proportional_faces() -> list[str]:
    return [f for f in available() if f not in MONO]


def typewriter_face() -> str:
    for f in TYPEWRITER_PREFERENCE:
        if f in available():
            # prefer a mono face that needs no fallback
            if not missing_letters(find_file(FACES[f]["regular"])):
                return f
    for f in TYPEWRITER_PREFERENCE:
        if f in available():
            return f
    raise RuntimeError("no monospace font with Vietnamese support")


class Face:
    """A typeface at any size; draws at a left-baseline anchor."""

    def __init__(self, name: str):
        if name not in FACES:
            raise ValueError(f"unknown font '{name}'")
        if name not in available():
            raise ValueError(f"font '{name}' lacks Vietnamese glyphs or is not installed")
        self.name = name
        self.mono = name in MONO
        self._fallback = MONO.get(name)

    @functools.lru_cache(maxsize=256)
    def font(self, size: int, style: str = "regular", fallback: bool = False) -> ImageFont.FreeTypeFont:
        face = self._fallback if fallback else self.name
        path = find_file(FACES[face][style]) or find_file(FACES[face]["regular"])
        return ImageFont.truetype(path, size)

    @functools.lru_cache(maxsize=64)
    def _missing(self, style: str) -> frozenset[str]:
        path = find_file(FACES[self.name][style]) or find_file(FACES[self.name]["regular"])
        return frozenset(missing_letters(path))

    def cell(self, size: int, style: str = "regular") -> float:
        return self.font(size, style).getlength("M")

    def length(self, text: str, size: int, style: str = "regular") -> float:
        if self.mono:
            return self.cell(size, style) * len(text)
        return self.font(size, style).getlength(text)

    def metrics(self, size: int, style: str = "regular") -> tuple[int, int]:
        """(ascent, descent) in pixels."""
        return self.font(size, style).getmetrics()

    def draw(
        self,
        draw: ImageDraw.ImageDraw,
        x: float,
        baseline: float,
        text: str,
        size: int,
        style: str = "regular",
        fill=(20, 20, 20),
    ) -> float:
        """Draw `text` with its left baseline at (x, baseline); returns the advance."""
        if not self.mono:
            draw.text((x, baseline), text, font=self.font(size, style), fill=fill, anchor="ls")
            return self.length(text, size, style)
        cell = self.cell(size, style)
        missing = self._missing(style)
        run_start, run = x, []

        def flush(start, chars):
            if chars:
                draw.text((start, baseline), "".join(chars), font=self.font(size, style), fill=fill, anchor="ls")

        for i, ch in enumerate(text):
            cx = x + i * cell
            if ch in missing:
                flush(run_start, run)
                run = []
                fb = self.font(size, style, fallback=True)
                w = fb.getlength(ch)
                draw.text((cx + (cell - w) / 2, baseline), ch, font=fb, fill=fill, anchor="ls")
                run_start = cx + cell
            else:
                if not run:
                    run_start = cx
                run.append(ch)
        flush(run_start, run)
        return cell * len(text)
