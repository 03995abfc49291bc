"""Pages of a registry book (Sổ đăng ký khai sinh / kết hôn / khai tử): a ruled
table, one entry per row, the entry number (số thứ tự) in the first column.

Each row comes from the OCR as one line (cells joined by spaces); the cells are
cut by the words' x positions against the header row's columns, or, on a page
without a header (the right-hand page of a spread), against the empty gutters
that run down the table. A cell that wraps onto its own line is joined back to
its entry. Entries are checked against each other: numbers go up by one and
registration dates do not go back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Protocol

from .. import refdata
from ..text import fold
from ..types import Line, OcrPage, Record, Word
from . import names
from . import validate as v
from .base import FIELDS, Value, build_record, collect
from .common import min_conf, words_text
from .labels import RawField, fold_aligned
from ..ocr.layout import find_tables
from .table import Column, edges_between, find_header, gutters, split_row

BOOK_TITLE = re.compile(r"so dang k[yi] (khai sinh|ket hon|khai tu)")
KINDS = {"khai sinh": "khai_sinh", "ket hon": "ket_hon", "khai tu": "khai_tu"}

# Header words per book kind, the more specific first.
HEADERS: dict[str, list[tuple[str, str]]] = {
    "khai_sinh": [
        ("so", r"so tt|stt|so thu tu|so dk|so"),
        ("ho_ten_me", r"ho,? ?(va )?ten (nguoi )?me|me"),
        ("ho_ten_cha", r"ho,? ?(va )?ten (nguoi )?cha|cha"),
        ("nguoi_di_khai", r"nguoi di khai( sinh)?"),
        ("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten( tre)?"),
        ("ngay_dang_ky", r"ngay,? ?(thang,? ?nam )?(dk|dang ky)|ngay ghi so"),
        ("ngay_sinh", r"ngay,? ?(thang,? ?nam )?sinh"),
        ("gioi_tinh", r"gioi tinh|gioi"),
        ("dan_toc", r"dan toc"),
        ("quoc_tich", r"quoc tich"),
        ("noi_sinh", r"noi sinh"),
        ("que_quan", r"que quan"),
        ("noi_cu_tru", r"noi cu tru|cho o"),
        ("so_dinh_danh", r"so dinh danh"),
        ("ghi_chu", r"ghi chu"),
    ],
    "ket_hon": [
        ("so", r"so tt|stt|so thu tu|so"),
        ("ngay_sinh_chong", r"ngay sinh (cua )?chong|ngay sinh \\(chong\\)"),
        ("ngay_sinh_vo", r"ngay sinh (cua )?vo|ngay sinh \\(vo\\)"),
        ("ho_ten_chong", r"ho,? ?(va )?ten chong|chong"),
        ("ho_ten_vo", r"ho,? ?(va )?ten vo|vo"),
        ("noi_cu_tru_chong", r"noi cu tru (cua )?chong"),
        ("noi_cu_tru_vo", r"noi cu tru (cua )?vo"),
        ("ngay_dang_ky", r"ngay,? ?(thang,? ?nam )?(dk|dang ky)"),
        ("ghi_chu", r"ghi chu"),
    ],
    "khai_tu": [
        ("so", r"so tt|stt|so thu tu|so"),
        ("nguoi_khai", r"nguoi (di )?khai( tu)?"),
        ("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten( nguoi chet)?"),
        ("ngay_dang_ky", r"ngay,? ?(thang,? ?nam )?(dk|dang ky)"),
        ("ngay_chet", r"ngay,? ?(gio )?chet|ngay mat"),
        ("ngay_sinh", r"ngay,? ?(thang,? ?nam )?sinh|nam sinh"),
        ("gioi_tinh", r"gioi tinh"),
        ("dan_toc", r"dan toc"),
        ("noi_chet", r"noi chet"),
        ("nguyen_nhan_chet", r"nguyen nhan( chet)?"),
        ("noi_cu_tru", r"noi cu tru"),
        ("quan_he", r"quan he"),
        ("ghi_chu", r"ghi chu"),
    ],
}
# Column order of the standard books, for a page without a header row (digitize/refdata/
# registry_columns.tsv); lists, as callers have always had them.
DEFAULT_ORDER = {kind: list(fields) for kind, fields in refdata.registry_columns().items()}
REQUIRED = {
    "khai_sinh": ("so", "ho_ten", "ngay_sinh", "gioi_tinh", "ngay_dang_ky"),
    "ket_hon": ("so", "ho_ten_chong", "ho_ten_vo", "ngay_dang_ky"),
    "khai_tu": ("so", "ho_ten", "ngay_chet", "ngay_dang_ky"),
}

_NUMBER = re.compile(r"^\d{1,5}[.,]?$")
_DATE = re.compile(r"\d{1,3}\s*[/.\-]\s*\d{1,3}\s*[/.\-]\s*\d{2,4}")
_FOOTER = re.compile(r"^(nguoi (ghi|lap|ky)|can bo|cong chuc|xac nhan|tm\.|chu tich|trang \d)")


def book_kind(page: OcrPage) -> str | None:
    for line in page.lines[:12]:
        m = BOOK_TITLE.search(fold(line.text))
        if m:
            return KINDS[m.group(1)]
    return None


def _is_entry_start(line: Line) -> bool:
    # the number may carry a speck or a bit of the cell's border before it (".84", "¡91", "'87")
    return bool(line.words) and bool(_NUMBER.match(line.words[0].text.lstrip(_NUMBER_NOISE).translate(_LOOKALIKE)))


_NUMBER_NOISE = ".,'’‘`¡!:;([{ÌÍìí"


_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1", "S": "5", "s": "5", "B": "8"})


def header_line(page: OcrPage, kind: str) -> tuple[int, list[Column]] | None:
    best: tuple[int, list[Column]] | None = None
    for i, line in enumerate(page.lines[:25]):
        if _is_entry_start(line) and _DATE.search(line.text):
            break  # data rows begin: no header on this page
        cols = find_header(line, HEADERS[kind])
        # a wrapped header cell ("Giới" / "tính") may come as the next line
        if i + 1 < len(page.lines) and not _is_entry_start(page.lines[i + 1]) and len(cols) >= 3:
            merged = Line(words=tuple(sorted(line.words + page.lines[i + 1].words, key=lambda w: w.box[0])))
            more = find_header(merged, HEADERS[kind])
            if len(more) > len(cols) and not _DATE.search(page.lines[i + 1].text):
                cols = more
                i += 1
        if len(cols) >= 3 and (best is None or len(cols) > len(best[1])):
            best = (i, cols)
    return best


def _rows(lines: tuple[Line, ...], under_header: bool = False) -> list[Line]:
    """Table lines: from the first entry on, up to a footer. Under a header row, a line
    holding a date starts the table too: the first entry, its number unreadable, would
    otherwise be lost without a trace (no heading holds a date)."""
    out: list[Line] = []
    started = False
    for line in lines:
        folded = fold_aligned(line.text).strip()
        if _FOOTER.match(folded) and started:
            break
        if not started and not _is_entry_start(line) and not (under_header and _DATE.search(line.text)):
            continue
        started = True
        if len(line.words) == 1 and re.fullmatch(r"[—_\-–=.]+", line.words[0].text):
            continue  # a ruling read as dashes
        line = Line(words=tuple(w for w in line.words if not re.fullmatch(r"[—_–=|]+|-{2,}", w.text)))
        if line.words:
            out.append(line)
    return out


def _columns_without_header(rows: list[Line], kind: str, width: int) -> tuple[list[str], list[float]]:
    lo = min(w.box[0] for r in rows for w in r.words)
    hi = max(w.box[2] for r in rows for w in r.words)
    edges = gutters(rows, lo, hi, min_width=width * 0.012)
    order = DEFAULT_ORDER[kind]
    if len(edges) + 1 == len(order):
        return order, edges
    # Name columns by content where the count differs from the standard book.
    cells = [split_row(r, edges) for r in rows if _is_entry_start(r)]
    keys: list[str] = []
    texts = ["", "", ""]
    for c in range(len(edges) + 1):
        texts = [words_text(cell[c]) for cell in cells if cell[c]]
        if c == 0 and all(_NUMBER.match(t) for t in texts):
            keys.append("so")
        elif texts and sum(1 for t in texts if _DATE.search(t)) > len(texts) / 2:
            keys.append("ngay_sinh" if "ngay_sinh" not in keys else "ngay_dang_ky")
        elif texts and all(fold(t) in ("nam", "nu") for t in texts):
            keys.append("gioi_tinh")
        elif texts and sum(1 for t in texts if v.normalize_ethnicity(t)[1] >= 0.8) > len(texts) / 2:
            keys.append("dan_toc")
        else:
            keys.append(
                next(
                    (
                        k
                        for k in order
                        if k not in keys and k not in ("so", "ngay_sinh", "ngay_dang_ky", "gioi_tinh", "dan_toc")
                    ),
                    "ghi_chu",
                )
            )
    return keys, edges


def entries(
    page: OcrPage, kind: str, columns: list[Column] | None = None
) -> tuple[list[list[RawField]], list[Column] | None]:
    """Raw fields of each entry on the page, in page order; and the columns used."""
    head = header_line(page, kind)
    start = 0
    if head:
        start, columns = head[0] + 1, head[1]
    rows = _rows(page.lines[start:], under_header=head is not None)
    if not rows:
        return [], columns
    grid, ruled_rows = _grid_edges(page, rows)
    if grid and (head or not columns or len(grid) - 1 == len(DEFAULT_ORDER[kind])):
        keys, edges = _grid_keys(grid, head[1] if head else [], kind)
        cols = [Column(k, a, b) for k, a, b in zip(keys, grid, grid[1:]) if k]
    elif columns:
        keys = [c.key for c in columns]
        cols = list(columns)
        if "so" not in keys:
            # the number column's header was not read: it lies left of the first header
            first = min(c.x0 for c in cols)
            numbers = [r.words[0] for r in rows if _is_entry_start(r) and r.words[0].box[2] < first]
            if numbers:
                cols.insert(0, Column("so", min(w.box[0] for w in numbers), max(w.box[2] for w in numbers)))
        keys = [c.key for c in cols]
        edges = edges_between(cols, rows)
    else:
        keys, edges = _columns_without_header(rows, kind, page.width)
        cols = None
    out: list[list[RawField]] = []
    current: dict[str, list[Word]] | None = None
    current_line = 0
    for line_no, row in enumerate(rows):
        cells = split_row(row, edges)
        # in a table ruled between entries each row is an entry, even when its number was misread
        if _is_entry_start(row) or current is None or (ruled_rows and any(cells)):
            if current is not None:
                out.append(_fields(current, current_line))
            current = {k: [] for k in keys}
            current_line = line_no
        for key, cell in zip(keys, cells):
            current[key].extend(cell)
    if current is not None:
        out.append(_fields(current, current_line))
    return out, (cols if cols else columns)


def _fields(cells: dict[str, list[Word]], line: int) -> list[RawField]:
    return [
        RawField(key, words_text(words), min_conf(words), line, boxes=tuple(w.box for w in words))
        for key, words in cells.items()
        if words and key
    ]


def _grid_edges(page: OcrPage, rows: list[Line]) -> tuple[list[float] | None, bool]:
    """x of the vertical rules (outer borders included) of the ruled table that holds
    the entry rows, or None when the page has no such table; and whether rules separate
    the rows. Ruled columns are where the clerk wrote, so they cut cells better than gaps
    between words do."""
    if not page.rules or not rows:
        return None, False
    words = [w for r in rows for w in r.words]
    best, held = None, 0
    for table in find_tables(page.rules):
        x0, y0, x1, y1 = table.box
        inside = sum(
            1 for w in words if x0 <= (w.box[0] + w.box[2]) / 2 <= x1 and y0 <= (w.box[1] + w.box[3]) / 2 <= y1
        )
        if len(table.col_edges) >= 4 and inside > held:
            best, held = table, inside
    if best is None or held < 0.6 * len(words):
        return None, False
    return [float(x) for x in best.col_edges], len(best.row_edges) > 3


def _grid_keys(grid: list[float], header: list[Column], kind: str) -> tuple[list[str], list[float]]:
    """Field name of each ruled column (from the header words inside it; where a header
    was misread, from the standard column order when the column count is the standard
    one) and the cutting edges between the columns. Columns without a name give ''."""
    n = len(grid) - 1
    keys = [""] * n
    for col in header:
        centre = (col.x0 + col.x1) / 2
        i = sum(1 for x in grid[1:-1] if centre > x)
        if not keys[i]:
            keys[i] = col.key
    order = DEFAULT_ORDER[kind]
    if n == len(order) and all(k in ("", order[i]) for i, k in enumerate(keys)):
        keys = list(order)
    elif not header and n == len(order):
        keys = list(order)
    elif not keys[0] and "so" not in keys:
        keys[0] = "so"
    return keys, grid[1:-1]


def check_sequence(records: list[dict[str, Value]]) -> None:
    """Entry numbers go up by one down the page; registration dates do not go back.

    The run of numbers most entries agree with (number - position) fixes what each
    entry's number should be: a number that differs from it only by typed zeros misread
    is put right, one that is simply unreadable is filled in, both kept for review."""
    numbers = [int(r["so"].value) if "so" in r and r["so"].value.isdigit() else None for r in records]
    offsets = [n - i for i, n in enumerate(numbers) if n is not None]
    base = max(set(offsets), key=offsets.count) if offsets else None
    if base is not None and offsets.count(base) < max(2, len(offsets) / 2):
        base = None
    for i, r in enumerate(records):
        expected = str(base + i) if base is not None and base + i > 0 else None
        if "so" not in r:
            continue
        if expected is not None and r["so"].value != expected:
            read = r["so"].value
            # a digit lost at the cell's edge ("14" for 149) is a misreading too
            lost_digit = (
                read.isdigit()
                and len(read) == len(expected) - 1
                and (expected.startswith(read) or expected.endswith(read))
            )
            # the cell's left rule read as a 1 before it ("1256" for 256, or 250 misread as 256)
            rule_read = (
                len(read) == len(expected) + 1
                and read[0] == "1"
                and (read[1:] == expected or names.zeros_misread(read[1:], expected))
            )
            # between two entries that fit the run, the number can only be the one between them
            between = (
                base is not None
                and 0 < i < len(records) - 1
                and numbers[i - 1] == base + i - 1
                and numbers[i + 1] == base + i + 1
            )
            if (
                names.zeros_misread(read, expected)
                or lost_digit
                or rule_read
                or (numbers[i] is None and len(read) <= 4)
            ):
                r["so"] = Value(expected, r["so"].ocr, 0.5)
            elif between:
                r["so"] = Value(expected, r["so"].ocr, 0.3)
            else:
                r["so"].factor *= 0.3
            continue
        number = numbers[i]
        if number is None:
            continue
        prev_ok = i > 0 and (prev := numbers[i - 1]) is not None and number == prev + 1
        next_ok = i + 1 < len(records) and (nxt := numbers[i + 1]) is not None and nxt == number + 1
        if prev_ok or next_ok:
            r["so"].confirmed = True
        elif len(records) > 1:
            r["so"].factor *= 0.6
    dates = [v.parse_date(r["ngay_dang_ky"].value) if "ngay_dang_ky" in r else None for r in records]
    for i, r in enumerate(records):
        day = dates[i]
        if day is None:
            continue
        before = [d for d in dates[:i] if d]
        after = [d for d in dates[i + 1 :] if d]
        if (before and day < before[-1]) or (after and day > after[0]):
            r["ngay_dang_ky"].factor *= 0.5


class _TextLine(Protocol):
    @property
    def text(self) -> str: ...


class Heading(Protocol):
    """What the heading readers use of a page: its lines' text (a page read, or text alone)."""

    @property
    def lines(self) -> Sequence[_TextLine]: ...


_BOOK_YEAR = re.compile(r"^nam\s*[:.]?\s*(\d{4})$")


def book_year(page: Heading) -> int | None:
    """The year in the book's heading ("Năm 1987"): every entry was registered in it."""
    for line in page.lines[:8]:
        m = _BOOK_YEAR.match(fold(line.text).strip(" .,"))
        if m and 1850 <= int(m.group(1)) <= v.today().year:
            return int(m.group(1))
    return None


_BOOK_COMMUNE = re.compile(r"^(?:ubnd|uy ban nhan dan)\s+(?:xa|phuong|thi tran)\s+(.+?)(?:\s+trang\s*\S*)?$")
_BOOK_DISTRICT = re.compile(r"^(?:huyen|quan|thi xa|thanh pho)\s+(.+)$")


def book_units(page: Heading) -> names.LocalUnits | None:
    """The commune and district whose book this is, from its heading ("UBND XÃ NGHI PHÚ",
    "THÀNH PHỐ VINH"): most entries were born or live there."""
    heading = [line.text for line in page.lines[:4]]
    for i in range(len(heading) - 1):
        commune = _BOOK_COMMUNE.match(fold_aligned(heading[i]).lower().strip(" .,"))
        district = _BOOK_DISTRICT.match(fold_aligned(heading[i + 1]).lower().strip(" .,"))
        if commune and district:
            return names.local_units(
                heading[i][commune.start(1) : commune.end(1)], heading[i + 1][district.start(1) : district.end(1)]
            )
    return None


def check_local_places(records: list[dict[str, Value]], local: names.LocalUnits | None) -> None:
    """Places in the entries that name the book's own commune or district with a letter
    or a mark misread are put right ("Trạm y tế Hải Châu T" in the book of Hải Châu I)."""
    if local is None:
        return
    for r in records:
        for name in ("noi_sinh", "noi_cu_tru", "que_quan", "noi_chet"):
            if name in r:
                fixed, changed = names.snap_to_local(r[name].value, local)
                if changed:
                    r[name] = Value(fixed, r[name].ocr, r[name].factor)


# Days from the event to its registration past which an entry is worth a second look:
# births are registered within 60 days, deaths within 15 (Luật Hộ tịch); late ones happen.
LATE_REGISTRATION_DAYS = {"khai_sinh": 2 * 365, "khai_tu": 365}


def check_book_year(records: list[dict[str, Value]], kind: str, year: int | None) -> None:
    """Registration dates lie in the book's year: one whose year differs from it only by
    typed zeros misread ("2993" in the book of 2003) is put right, for review. An event
    long before its registration in a book of the time is more likely misread than late."""
    event = {"khai_sinh": "ngay_sinh", "khai_tu": "ngay_chet"}.get(kind)
    for r in records:
        registered = v.parse_date(r["ngay_dang_ky"].value) if "ngay_dang_ky" in r else None
        if (
            registered
            and year
            and registered.year != year
            and names.zeros_misread(str(registered.year), str(year))
            and not (registered.month == 2 and registered.day == 29)
        ):
            registered = registered.replace(year=year)
            r["ngay_dang_ky"] = Value(registered.strftime("%d/%m/%Y"), r["ngay_dang_ky"].ocr, 0.5)
        happened = v.parse_date(r[event].value) if event and event in r else None
        # an unreadable registration date still lies in the book's year
        registered = registered or (date(year, 12, 31) if year else None)
        if event and happened and registered and (registered - happened).days > LATE_REGISTRATION_DAYS[kind]:
            r[event].factor *= 0.6


class SoHoTichExtractor:
    doc_type = "so_ho_tich"

    def extract(self, page: OcrPage, kind: str | None = None, columns: list[Column] | None = None) -> list[Record]:
        return self.extract_with_columns(page, kind, columns)[0]

    def extract_with_columns(
        self, page: OcrPage, kind: str | None = None, columns: list[Column] | None = None
    ) -> tuple[list[Record], list[Column] | None]:
        kind = kind or book_kind(page) or "khai_sinh"
        raw_entries, used = entries(page, kind, columns)
        values = [collect(raw, FIELDS[kind], page.number) for raw in raw_entries]
        values = [val for val in values if val]
        check_sequence(values)
        check_book_year(values, kind, book_year(page))
        check_local_places(values, book_units(page))
        required = [k for k in REQUIRED[kind] if used is None or k in {c.key for c in used}]
        return [build_record(kind, page, val, required=required) for val in values], used
