"""Reading order: recogniser lines -> visual rows, top to bottom, left to right.

The CONTRACT reads a page as a person does: a table row, or a header with a
left and a right block on the same baseline, is one line. Recognisers segment
such rows into several lines (one per cell or block), so lines whose vertical
extents mostly overlap are merged into one row, ordered by x."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..types import Box, Line, Word


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


@dataclass(frozen=True)
class Table:
    box: Box
    row_edges: tuple[int, ...]  # y of horizontal rules inside the table
    col_edges: tuple[int, ...]  # x of vertical rules inside the table


def join_collinear(segments: Sequence[Box], vertical: bool, tolerance: int = 4) -> list[Box]:
    """One box per ruling line: faded or broken ink leaves a rule as several pieces on
    the same line (same y for a horizontal rule, same x for a vertical one); pieces
    within `tolerance` pixels across are one rule, whatever the gaps along it."""
    across = (0, 2) if vertical else (1, 3)
    lines: list[list[Box]] = []
    for seg in sorted(segments, key=lambda r: r[across[0]] + r[across[1]]):
        centre = (seg[across[0]] + seg[across[1]]) / 2
        if lines:
            last = lines[-1]
            last_centre = sum((r[across[0]] + r[across[1]]) / 2 for r in last) / len(last)
            if abs(centre - last_centre) <= tolerance:
                last.append(seg)
                continue
        lines.append([seg])
    return [
        (min(r[0] for r in group), min(r[1] for r in group), max(r[2] for r in group), max(r[3] for r in group))
        for group in lines
    ]


def _covered(segments: Sequence[Box], lo: int, hi: int, axis: int) -> float:
    """Length of [lo, hi] that the segments cover along `axis` (0: x, 1: y)."""
    spans = sorted((max(lo, r[axis]), min(hi, r[axis + 2])) for r in segments)
    total, reach = 0, lo
    for a, b in spans:
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def find_tables(rules: Sequence[Box]) -> list[Table]:
    """Tables from ruling lines: vertical rules that overlap in height form one
    table; the horizontal rules across it split it into rows."""
    pieces_v = [r for r in rules if (r[3] - r[1]) > 5 * (r[2] - r[0])]
    pieces_h = [r for r in rules if (r[2] - r[0]) > 5 * (r[3] - r[1])]
    # a broken rule counts by how much of its line it covers, not by its extent
    verticals = sorted(join_collinear(pieces_v, vertical=True), key=lambda r: r[1])
    horizontal_lines = join_collinear(pieces_h, vertical=False)
    horizontals = []
    for line in horizontal_lines:
        members = [r for r in pieces_h if r[0] >= line[0] and r[2] <= line[2] and line[1] <= r[1] <= line[3]]
        horizontals.append((line, members))
    groups: list[list[Box]] = []
    for v in verticals:
        for group in groups:
            top, bottom = min(g[1] for g in group), max(g[3] for g in group)
            if min(bottom, v[3]) - max(top, v[1]) > 0.5 * (v[3] - v[1]):
                group.append(v)
                break
        else:
            groups.append([v])
    tables = []
    for group in groups:
        if len(group) < 2:
            continue
        x0, x1 = min(g[0] for g in group), max(g[2] for g in group)
        y0, y1 = min(g[1] for g in group), max(g[3] for g in group)
        width = x1 - x0
        rows = sorted(
            {
                (h[1] + h[3]) // 2
                for h, members in horizontals
                if y0 - 10 <= (h[1] + h[3]) // 2 <= y1 + 10 and _covered(members, x0, x1, 0) > 0.5 * width
            }
        )
        cols = sorted({(g[0] + g[2]) // 2 for g in group})
        tables.append(Table(box=(x0, y0, x1, y1), row_edges=tuple(rows), col_edges=tuple(cols)))
    return tables


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _table_rows(table: Table, words: list[tuple[Word, int]]) -> list[Line]:
    """One line per table row: cells left to right, each cell's wrapped lines kept together."""
    cells: dict[tuple[int, int], list[tuple[Word, int]]] = defaultdict(list)
    for word, line_no in words:
        cx, cy = _centre(word.box)
        cells[(bisect.bisect(table.row_edges, cy), bisect.bisect(table.col_edges, cx))].append((word, line_no))
    by_band: dict[int, dict[int, list[tuple[Word, int]]]] = defaultdict(dict)
    for (band, col), members in cells.items():
        by_band[band][col] = members
    edges = [table.box[1], *table.row_edges, table.box[3]]
    heights = sorted(b - a for a, b in zip(edges, edges[1:]) if b - a > 10)
    usual = heights[len(heights) // 2] if heights else 0
    lines = []
    for band in sorted(by_band):
        columns = by_band[band]
        # A band without row rules inside holds several rows: read it as plain rows. So does a
        # band much taller than the table's usual row whose columns mostly hold the same number
        # of lines: entries whose rules faded. (Not the band above the first rule, a header; nor
        # a row whose cells wrap onto different numbers of lines: an address beside a name.)
        plain = {col: _rows_plain(members) for col, members in columns.items()}
        counts = [len(rows) for rows in plain.values()]
        tall = 0 < band < len(edges) - 1 and usual and edges[band + 1] - edges[band] > 1.6 * usual
        stacked = tall and max(counts) > 1 and counts.count(max(counts)) >= max(3, len(counts) // 2)
        if max(counts) > 1 and (len(table.row_edges) <= 2 or stacked):
            lines.extend(_rows_plain([w for m in columns.values() for w in m]))
            continue
        ordered = [w for col in sorted(columns) for row in plain[col] for w in row.words]
        if ordered:
            lines.append(Line(words=tuple(ordered)))
    return lines


def assemble_rows(words: Iterable[tuple[Word, int]], rules: Sequence[Box] = ()) -> list[Line]:
    """Lines in reading order; inside ruled tables, one line per table row; a stretch of
    the page set in two columns gives its whole left column, then its right one."""
    words = list(words)
    tables = find_tables(rules) if rules else []
    if not tables:
        return _rows_in_columns(words)
    outside: list[tuple[Word, int]] = []
    inside: dict[int, list[tuple[Word, int]]] = defaultdict(list)
    for word, line_no in words:
        cx, cy = _centre(word.box)
        for i, table in enumerate(tables):
            x0, y0, x1, y1 = table.box
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                inside[i].append((word, line_no))
                break
        else:
            outside.append((word, line_no))
    lines = _rows_in_columns(outside)
    for i, members in inside.items():
        lines.extend(_table_rows(tables[i], members))
    lines.sort(key=lambda ln: ln.box[1])
    return lines


def _rows_plain(words: Iterable[tuple[Word, int]]) -> list[Line]:
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
        row_words = sorted((w for ln in row for w in ln.words), key=lambda w: w.box[0])
        merged.append(Line(words=tuple(row_words)))
    return merged


def _overlaps_horizontally(row: list[Line], line: Line) -> bool:
    """Whether the line shares columns with the row: lines stacked in one column overlap
    over most of the narrower one; a speck read as "-" at a block's edge does not count."""
    x0, _, x1, _ = line.box
    return any(min(x1, ln.box[2]) - max(x0, ln.box[0]) > 0.25 * min(x1 - x0, ln.box[2] - ln.box[0]) for ln in row)


# Two columns of running text. A recogniser's lines do not cross the gutter, but lines of
# the two columns share baselines, so merging lines into visual rows would interleave them.
# A stretch is read as two columns where a vertical gap with no line across it has, on each
# side, at least this many lines that fill their column (running text, not a table's cells
# or a header's two short blocks, both of which stay rows).
_COLUMN_MIN_LINES = 6
_COLUMN_FILL = 0.6  # a column's median line spans at least this share of the column's width
_COLUMN_MIN_WIDTH = 0.22  # each column at least this share of the text's width


def _rows_in_columns(words: list[tuple[Word, int]]) -> list[Line]:
    lines = group_lines(words)
    section = _column_section(lines)
    if section is None:
        return _rows_plain(words)
    top, bottom, gutter = section
    by_line: dict[int, list[tuple[Word, int]]] = defaultdict(list)
    for word, line_no in words:
        by_line[line_no].append((word, line_no))
    above: list[tuple[Word, int]] = []
    left: list[tuple[Word, int]] = []
    right: list[tuple[Word, int]] = []
    below: list[tuple[Word, int]] = []
    for members in by_line.values():
        box = Line(tuple(w for w, _ in members)).box
        cy = (box[1] + box[3]) / 2
        if cy < top:
            above.extend(members)
        elif cy > bottom:
            below.extend(members)
        elif box[2] <= gutter:
            left.extend(members)
        else:
            right.extend(members)
    # above and below may hold further sections (a page of two column stretches)
    return _rows_in_columns(above) + _rows_plain(left) + _rows_plain(right) + _rows_in_columns(below)


def _column_section(lines: list[Line]) -> tuple[float, float, float] | None:
    """(top, bottom, gutter x) of the largest stretch of the page set in two columns, or None."""
    if len(lines) < 2 * _COLUMN_MIN_LINES:
        return None
    lines = sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3]) / 2)
    text_x0 = min(ln.box[0] for ln in lines)
    text_x1 = max(ln.box[2] for ln in lines)
    width = max(1, text_x1 - text_x0)
    candidates = sorted(
        {
            ln.box[0]
            for ln in lines
            if text_x0 + _COLUMN_MIN_WIDTH * width < ln.box[0] < text_x1 - _COLUMN_MIN_WIDTH * width
        }
    )
    best: tuple[int, tuple[float, float, float]] | None = None
    for start in candidates:
        # the gutter: just left of a line start, right of every left-column line near it
        run: list[Line] = []
        runs: list[list[Line]] = []
        for ln in lines:
            if ln.box[0] < start < ln.box[2]:  # a line across the gap ends the stretch
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(ln)
        if run:
            runs.append(run)
        for members in (block for r in runs for block in _blocks(r)):
            left = [ln for ln in members if ln.box[2] <= start]
            right = [ln for ln in members if ln.box[0] >= start]
            if len(left) < _COLUMN_MIN_LINES or len(right) < _COLUMN_MIN_LINES:
                continue
            # each column's own edges (a speck at the page's edge does not widen it)
            left_edge = _median([ln.box[0] for ln in left])
            right_edge = _median([ln.box[2] for ln in right])
            if min(start - left_edge, right_edge - start) < _COLUMN_MIN_WIDTH * width:
                continue
            if not (_fills(left, left_edge, start) and _fills(right, start, right_edge)):
                continue
            l_top, l_bottom = min(ln.box[1] for ln in left), max(ln.box[3] for ln in left)
            r_top, r_bottom = min(ln.box[1] for ln in right), max(ln.box[3] for ln in right)
            shared = min(l_bottom, r_bottom) - max(l_top, r_top)
            if shared < 0.5 * min(l_bottom - l_top, r_bottom - r_top):
                continue  # one block above the other, not side by side
            top = min(ln.box[1] for ln in members)
            bottom = max(ln.box[3] for ln in members)
            gutter = max(ln.box[2] for ln in left)
            score = len(members)
            if best is None or score > best[0]:
                best = (score, (top - 1, bottom + 1, (gutter + start) / 2))
    return best[1] if best else None


def _blocks(lines: list[Line]) -> list[list[Line]]:
    """Lines (sorted by centre) split where a blank band taller than a line separates them:
    the columns of a body end there, and the closing block below them is not their continuation."""
    if not lines:
        return []
    height = _median([ln.box[3] - ln.box[1] for ln in lines])
    blocks: list[list[Line]] = [[lines[0]]]
    reach = lines[0].box[3]
    for ln in lines[1:]:
        if ln.box[1] - reach > height:
            blocks.append([])
        blocks[-1].append(ln)
        reach = max(reach, ln.box[3])
    return blocks


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _fills(lines: list[Line], x0: float, x1: float) -> bool:
    return _median([ln.box[2] - ln.box[0] for ln in lines]) >= _COLUMN_FILL * (x1 - x0)
