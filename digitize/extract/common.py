"""Helpers shared by the extractors: word spans of a line, the signature block."""

from __future__ import annotations

import re

from ..text import clean_spaces
from ..types import Line, OcrPage, Word
from . import validate as v
from .labels import RawField, fold_aligned, word_confidence

_SIGN_HEADING = re.compile(
    r"(nguoi ky|^tm\.?\s|^kt\.?\s|^q\.?\s|^tl\.?\s|^tuq\.?\s|chu tich$|giam doc$|truong phong$|"
    r"cong chuc tu phap|^nguoi cap|^thu truong)"
)
_GUIDANCE = re.compile(r"(\(|\)|\bky\b|ghi ro|chuc vu|dong dau|ho ten|chu dem)")


def words_text(words: list[Word] | tuple[Word, ...]) -> str:
    return clean_spaces(" ".join(w.text for w in words))


def min_conf(words: list[Word] | tuple[Word, ...]) -> float:
    return min((word_confidence(w) for w in words), default=0.0)


def right_words(line: Line, x0: float) -> list[Word]:
    return [w for w in line.words if (w.box[0] + w.box[2]) / 2 >= x0]


def signature_block(page: OcrPage, lines: tuple[Line, ...] | None = None, start: int = 0) -> tuple[int, float] | None:
    """(index of the first heading line, left x of the block) of the signing block at
    the foot of the page: 'NGƯỜI KÝ GIẤY KHAI SINH', 'TM. ỦY BAN NHÂN DÂN', 'GIÁM ĐỐC' ..."""
    lines = page.lines if lines is None else lines
    mid = page.width * 0.4
    for i in range(max(start, 0), len(lines)):
        right = right_words(lines[i], mid)
        if not right:
            continue
        folded = fold_aligned(words_text(right)).strip()
        if _SIGN_HEADING.search(folded) and words_text(right).upper() == words_text(right):
            return i, min(w.box[0] for w in right)
    return None


def signer_name(page: OcrPage, lines: tuple[Line, ...] | None = None, start: int = 0) -> RawField | None:
    """The signer's name: the last name-like line under the signing block's heading,
    in the block's column (a signature or seal between them is skipped)."""
    lines = page.lines if lines is None else lines
    block = signature_block(page, lines, start)
    if block is None:
        return None
    first, x0 = block
    left = x0 - page.width * 0.08
    best: RawField | None = None
    for i in range(first + 1, len(lines)):
        words = [w for w in lines[i].words if w.box[0] >= left]
        words = [w for w in words if re.search(r"[^\W\d_]", w.text)]
        if not words:
            continue
        text = words_text(words)
        folded = fold_aligned(text)
        if _GUIDANCE.search(folded) or text.upper() == text and len(text) > 3 and i < len(lines) - 1:
            continue  # guidance "(Ký, ghi rõ họ tên)" or a title line
        name = person_name(words)
        if name:
            best = RawField("nguoi_ky", name[0], name[1], i)
    return best


def person_name(words: list[Word]) -> tuple[str, float] | None:
    """(name, OCR confidence) when the words read as a person's name: two or more
    capitalised words, one of them perhaps misread. Speckle at the words' edges
    ("“Lê") is dropped; a misread word ("Ph¿m") is kept, so that the name stays whole
    and its check sends it to review rather than the surname being lost."""
    tokens = [(v.strip_noise(w.text), w) for w in words]
    tokens = [(t, w) for t, w in tokens if t]
    good = [t for t, _ in tokens if t[:1].isupper() and t.isalpha()]
    if len(tokens) >= 2 and len(good) >= 2 and len(good) >= len(tokens) - 1:
        return " ".join(t for t, _ in tokens), min_conf([w for _, w in tokens])
    return None


def title_lines(page: OcrPage, lines: tuple[Line, ...] | None = None, first: int = 0, count: int = 3) -> list[int]:
    """Indexes of the lines of the block after `first` (used for wrapped headings)."""
    lines = page.lines if lines is None else lines
    return list(range(first, min(len(lines), first + count)))
