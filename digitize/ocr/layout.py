"""Reading order: recogniser lines -> visual rows, top to bottom, left to right.

The CONTRACT reads a page as a person does: a table row, or a header with a
left and a right block on the same baseline, is one line. Recognisers segment
such rows into several lines (one per cell or block), so lines whose vertical
extents mostly overlap are merged into one row, ordered by x."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from ..types import Line, Word


def group_lines(words: Iterable[tuple[Word, int]]) -> list[Line]:
    by_line: dict[int, list[Word]] = defaultdict(list)
    for word, line_no in words:
        by_line[line_no].append(word)
    return [Line(words=tuple(sorted(ws, key=lambda w: w.box[0]))) for _, ws in sorted(by_line.items()) if ws]


def _core(line: Line) -> tuple[float, float]:
    """Vertical extent of the line's x-height core: the median word's box, shrunk so
    that accents and descenders do not make neighbouring rows overlap."""
    tops = sorted(w.box[1] for w in line.words)
    bottoms = sorted(w.box[3] for w in line.words)
    top, bottom = tops[len(tops) // 2], bottoms[len(bottoms) // 2]
    pad = (bottom - top) * 0.2
    return top + pad, bottom - pad


def assemble_rows(words: Iterable[tuple[Word, int]]) -> list[Line]:
    lines = group_lines(words)
    lines.sort(key=lambda ln: (_core(ln)[0] + _core(ln)[1]) / 2)
    rows: list[list[Line]] = []
    extents: list[tuple[float, float]] = []
    for line in lines:
        top, bottom = _core(line)
        placed = False
        # Only the last few rows can overlap a line that starts lower down.
        for i in range(len(rows) - 1, max(-1, len(rows) - 4), -1):
            r_top, r_bottom = extents[i]
            overlap = min(bottom, r_bottom) - max(top, r_top)
            if overlap > 0.5 * min(bottom - top, r_bottom - r_top) and not _overlaps_horizontally(rows[i], line):
                rows[i].append(line)
                extents[i] = (min(top, r_top), max(bottom, r_bottom))
                placed = True
                break
        if not placed:
            rows.append([line])
            extents.append((top, bottom))
    merged = []
    for row in rows:
        words = sorted((w for ln in row for w in ln.words), key=lambda w: w.box[0])
        merged.append(Line(words=tuple(words)))
    return merged


def _overlaps_horizontally(row: list[Line], line: Line) -> bool:
    x0, _, x1, _ = line.box
    return any(min(x1, ln.box[2]) - max(x0, ln.box[0]) > 0 for ln in row)
