"""Cutting table rows into cells by the x positions of their words.

The OCR gives a table row as one line whose words carry boxes. Column edges
come from the header row where there is one (header words such as "Họ và tên",
"Ngày sinh" name the columns) and from the empty vertical gutters that run
through every row: a column edge lies in a gap no word of any row crosses."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import levenshtein
from ..types import Line, Word
from .labels import fold_aligned


@dataclass(frozen=True)
class Column:
    key: str  # field name
    x0: float  # header text extent (or estimate)
    x1: float


def find_header(line: Line, headers: list[tuple[str, str]]) -> list[Column]:
    """Columns named in a header line: `headers` is [(field, folded regex)], the more
    specific patterns first ("họ tên mẹ" before "họ tên"). Returns the columns found
    with their header words' x extent, left to right."""
    text = line.text
    folded = fold_aligned(text)
    offsets = []
    pos = 0
    for w in line.words:
        offsets.append((pos, pos + len(w.text), w))
        pos += len(w.text) + 1
    taken = [False] * (len(folded) + 1)
    found: list[Column] = []
    seen: set[str] = set()
    for key, pattern in headers:
        if key in seen:
            continue
        for m in re.compile(r"(?<![a-z0-9])(" + pattern + r")(?![a-z0-9])").finditer(folded):
            if any(taken[m.start() : m.end()]):
                continue
            words = [w for a, b, w in offsets if b > m.start() and a < m.end()]
            if not words:
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            found.append(Column(key, min(w.box[0] for w in words), max(w.box[2] for w in words)))
            seen.add(key)
            break
    # A heading read a letter off ("Quấc tịch"): its plain words, seven letters or more (in a
    # shorter one a letter off is another word), matched one letter added, dropped or misread,
    # where no heading was found.
    for key, pattern in headers:
        if key in seen:
            continue
        for literal in (a for a in pattern.split("|") if _PLAIN_HEADING.fullmatch(a) and len(a) >= 7):
            span = _near_heading(folded, literal, taken)
            words = [w for a, b, w in offsets if span and b > span[0] and a < span[1]]
            if span and words:
                for i in range(*span):
                    taken[i] = True
                found.append(Column(key, min(w.box[0] for w in words), max(w.box[2] for w in words)))
                seen.add(key)
                break
    found.sort(key=lambda c: c.x0)
    return found


_PLAIN_HEADING = re.compile(r"[a-z]+(?: [a-z]+)+")


def _near_heading(folded: str, literal: str, taken: list[bool]) -> tuple[int, int] | None:
    """(start, end) of the first stretch of `folded`, from a word's start to a word's end and
    not yet taken, one letter from `literal`."""
    n = len(literal)
    for start in range(len(folded)):
        if (start and folded[start - 1].isalnum()) or not folded[start].isalpha():
            continue
        for size in (n, n - 1, n + 1):
            end = start + size
            if end > len(folded) or (end < len(folded) and folded[end].isalnum()) or any(taken[start:end]):
                continue
            if levenshtein(folded[start:end], literal) == 1:
                return start, end
    return None


def coverage_gaps(rows: list[Line], lo: float, hi: float, max_word: float | None = None) -> list[tuple[float, float]]:
    """Intervals in [lo, hi] that no word of any row covers (words wider than
    `max_word` are ignored: a stray rule read as a long word)."""
    if max_word is None:
        xs = [x for row in rows for w in row.words for x in (w.box[0], w.box[2])]
        max_word = 0.3 * (max(xs) - min(xs)) if xs else float("inf")
    spans = sorted(
        (w.box[0], w.box[2])
        for row in rows
        for w in row.words
        if w.box[2] > lo and w.box[0] < hi and (w.box[2] - w.box[0]) < max_word
    )
    gaps: list[tuple[float, float]] = []
    x = lo
    for a, b in spans:
        if a > x:
            gaps.append((x, a))
        x = max(x, b)
    if x < hi:
        gaps.append((x, hi))
    return gaps


def edges_between(columns: list[Column], rows: list[Line]) -> list[float]:
    """One edge between each pair of neighbouring header columns: the middle of the
    widest gutter between the two headers' text, else the middle of the headers' gap."""
    edges = []
    for left, right in zip(columns, columns[1:]):
        lo, hi = left.x1, right.x0
        if hi <= lo:
            edges.append((lo + hi) / 2)
            continue
        # a gutter may start a little left of the header's end when the header is wider than its data
        span_lo = (left.x0 + left.x1) / 2
        gaps = [g for g in coverage_gaps(rows, span_lo, hi) if g[1] - g[0] > 2]
        aligned = _aligned_start(rows, lo, hi)
        if gaps:
            best = max(gaps, key=lambda g: (g[1] - g[0]) + (0.5 * (g[1] - g[0]) if g[0] >= lo else 0))
            if aligned is not None and best[1] < aligned - 10:
                # the right column's cells start at one x in most rows, and the widest gutter lies
                # well left of it, inside the left column's text ("Gia | Định"): the start decides
                edges.append(aligned - 4)
            else:
                edges.append((best[0] + best[1]) / 2)
        else:
            edges.append(aligned - 4 if aligned is not None else (lo + hi) / 2)
    return edges


def _aligned_start(rows: list[Line], lo: float, hi: float, share: float = 0.7) -> float | None:
    """The x in (lo, hi) at which most rows (`share`) have a word start: the left edge of a
    left-aligned column's cells."""
    filled = [row for row in rows if any(lo < w.box[0] < hi for w in row.words)]
    starts = sorted(w.box[0] for row in filled for w in row.words if lo < w.box[0] < hi)
    best, support = None, 0
    for x in starts:
        rows_here = sum(1 for row in filled if any(abs(w.box[0] - x) <= 6 for w in row.words))
        if rows_here > support:
            best, support = x, rows_here
    return float(best) if best is not None and len(filled) >= 3 and support >= share * len(filled) else None


def gutters(rows: list[Line], lo: float, hi: float, min_width: float) -> list[float]:
    """Column edges from alignment alone (no header): middles of gutters at least
    `min_width` wide that run through all rows."""
    inner = [g for g in coverage_gaps(rows, lo, hi) if g[0] > lo and g[1] < hi and g[1] - g[0] >= min_width]
    return [(a + b) / 2 for a, b in inner]


def split_row(line: Line, edges: list[float]) -> list[list[Word]]:
    """The row's words per column (len(edges) + 1 columns), in reading order within a cell."""
    cells: list[list[Word]] = [[] for _ in range(len(edges) + 1)]
    for w in line.words:
        i = sum(1 for e in edges if _text_centre(w) > e)
        cells[i].append(w)
    return cells


# Marks that a ruling or speck adds to a word's ends ("_Lê", "|84"): they stretch its box
# over the cell border, so the word's place is where its letters are.
_BORDER_MARKS = "_|[]()¡!'‘’`.,:;-—"


def _text_centre(word: Word) -> float:
    """x of the middle of the word's letters, the box shrunk by its edge marks' share of it."""
    text = word.text
    lead = len(text) - len(text.lstrip(_BORDER_MARKS))
    trail = len(text) - len(text.rstrip(_BORDER_MARKS))
    x0: float = word.box[0]
    x1: float = word.box[2]
    if 0 < lead + trail < len(text):
        per_char = (x1 - x0) / len(text)
        x0, x1 = x0 + lead * per_char, x1 - trail * per_char
    return (x0 + x1) / 2
