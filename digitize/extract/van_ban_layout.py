"""Where things are on an administrative document's page (Nghị định 30/2020/NĐ-CP, Phụ lục I):
the landmarks that `van_ban`'s fields are read off, each found once per page (`Layout`).

Issuing body top left, national motto top right; "Số: …" under the body with the place and
date on its right; the kind of document ("QUYẾT ĐỊNH") and its subject centred below, or for
a Công văn the subject "V/v …" under the number; at the foot "Nơi nhận:" on the left and the
signer's title, signature and name on the right."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from .. import refdata
from ..text import clean_spaces, fold, levenshtein
from ..types import Line, OcrPage, Word
from .common import min_conf, person_name, words_text
from .labels import word_runs

# Kinds of document by folded name (Nghị định 30/2020/NĐ-CP, Phụ lục III; the list, with the
# official abbreviations, is digitize/refdata/document_kinds.tsv).
KINDS = {fold(k): k for k in refdata.document_kinds()}
# the motto's first words, one letter of "CỘNG" allowed to be misread ("CỘNS HÒA XÃ HỘI")
_MOTTO = re.compile(r"cong hoa|doc lap|c\w{2,3} h[o0]a xa h[o0]i")
# (figures written by hand into the blank may read as anything but figures, the slash with
# them: "Số: †+ /QĐ-UBND", "Số: .„ớ„ QĐ-UBND")
# (the notation's first letter may come out as another glyph: "/&H-UBND" for /KH-UBND)
_SO = re.compile(r"^\s*s[o0]\s*[:;.]\s*(?=\d|\S{0,8}\s*/\s*\S?[a-z]|\S{0,8}\s*[a-z]{1,6}-[a-z])")
# (a speck may follow a figure: "tháng 7? năm")
_NOTATION = re.compile(r"^/?[A-ZĐ][A-ZĐa-z]{0,5}(-[A-ZĐ0-9]+)+[.,;]?$")
_DATE = re.compile(r"ng[a-z]{1,3}\s*(\d{1,2})[^\w\s]?\s*th[a-z]{2,4}\s*(\d{1,2})[^\w\s]?\s*n[a-z]{1,2}\s*(\d{4})")
# The same line with the day or month not read as figures (written in pen: "ngày @3 tháng 01",
# "ngày  tháng 6" where the pen's colour was taken out): its printed words and year.
_BLANK = r"(\S{0,6}(?:\s\S{1,6})?)\s*"
_DATE_FRAME = re.compile(rf"ng[a-z]{{1,3}}{_BLANK}th[a-z]{{2,4}}{_BLANK}n[a-z]{{1,2}}\s*(\d{{4}})")
# The dash before each recipient, or that dash read as a spacing accent ("ˆ Phòng Tư pháp")
ITEM_DASH = re.compile(r"^(?:[-–—•+ˆ˜¨´`]\s*)+")
TITLE_WORDS = re.compile(r"^(tm|kt|q|tl|tuq)\.?\s|chu tich|giam doc|truong|pho|thu truong|chanh")


def _left_of_motto(line: Line, width: int) -> list[Word]:
    """Words of the issuing body's block: those left of the motto on a header line."""
    words = list(line.words)
    for i in range(len(words)):
        rest = fold(" ".join(w.text for w in words[i : i + 4]))
        if _MOTTO.match(rest):
            return words[:i]
    # no motto on this line: the left block is what lies left of the page's middle (a line
    # holding the body's second row alone, "TỈNH QUẢNG NGÃI", is all left block), less the
    # motto's first words where they reach past the middle ("UBND TỈNH NGHỆ AN CỘNG")
    return _without_motto([w for w in words if (w.box[0] + w.box[2]) / 2 < 0.5 * width])


def _junk(word: Word) -> bool:
    return not re.search(r"[^\W_]", word.text)


def _body(header: list[list[Word]]) -> tuple[str, float] | None:
    lines = [[w for w in ws if not _junk(w)] for ws in header]
    # a row of the body's name holds a word; one letter alone is a speck at the page's edge
    lines = [ws for ws in lines if sum(len(w.text) for w in ws) >= 2]
    if not lines:
        return None
    texts = [words_text(ws) for ws in lines]
    # "UBND TỈNH X" above "SỞ TƯ PHÁP" is kept: Nghị định 30 (Phụ lục I, II.2) names both lines
    # the issuing body's name, the body and the one directly above it.
    words = [w for ws in lines for w in ws]
    return clean_spaces(" ".join(texts)), min_conf(words)


_MOTTO_WORDS = ("cong", "hoa", "xa", "hoi", "chu", "nghia", "viet", "nam")


def _without_motto(words: list[Word]) -> list[Word]:
    """Words without a trailing start of the national motto: the motto is set beside the
    issuing body, never in it. Specks (no letter) are not words here."""
    words = [w for w in words if not _junk(w)]
    folded = [fold(w.text).strip(" .,:") for w in words]
    for start in range(len(words)):
        tail = folded[start:]
        if tail and tail == list(_MOTTO_WORDS[: len(tail)]):
            return words[:start]
    return words


def _kind(text: str) -> str | None:
    key = clean_spaces(fold(text)).strip(" :.")
    if key in KINDS:
        return KINDS[key]
    close = [k for k in KINDS if abs(len(k) - len(key)) <= 2 and levenshtein(k, key) <= 2]
    return KINDS[close[0]] if len(close) == 1 else None


def number_line(page: OcrPage) -> int | None:
    """Index of the header's "Số: …/…" line, or None (a page that starts no document)."""
    lines = page.lines
    found = next(
        (i for i, ln in enumerate(lines[:12]) if _SO.match(fold(ln.text)) and ln.box[1] < 0.35 * page.height), None
    )
    if found is None:  # "Số:" may sit after the body's name on the same row
        found = next(
            (
                i
                for i, ln in enumerate(lines[:12])
                if re.search(r"(?<![a-z])s[o0]\s*:\s*\d", fold(ln.text))
                and "/" in ln.text
                and ln.box[1] < 0.35 * page.height
            ),
            None,
        )
    if found is None:
        # the number misread beyond its shape ("Số: Si 2e TDCCSGTVT"): still the header's number
        # line where it opens with "Số:" under the motto or beside the place and date, else the
        # whole record (body, kind, subject) is lost with it
        motto = next((i for i, ln in enumerate(lines[:8]) if _MOTTO.search(fold(ln.text))), None)
        found = next(
            (
                i
                for i, ln in enumerate(lines[:12])
                if re.match(r"^\s*s[o0]\s*:", fold(ln.text))
                and ln.box[1] < 0.35 * page.height
                and ((motto is not None and motto < i <= motto + 3) or _DATE_FRAME.search(fold(ln.text)))
            ),
            None,
        )
    return found


def header_band(page: OcrPage) -> int | None:
    """How far down (display pixels) a page's header runs where it starts a document: to two
    lines' height under the "Số:" line or the date line below it; None on any other page."""
    found = number_line(page)
    if found is None:
        return None
    lines = page.lines[found : found + 3]
    height = max(ln.box[3] - ln.box[1] for ln in lines)
    return min(page.height, max(ln.box[3] for ln in lines) + 2 * height)


def _subject_above_rule(page: OcrPage, kind_line: int) -> list[Line] | None:
    """The subject's lines where the short centred rule that Nghị định 30 draws under the
    subject was found: every line between the kind and that rule that overlaps the rule's
    span (a stamp in the margin beside it is not part of the subject). None without a rule."""
    lines = page.lines
    kind = lines[kind_line]
    height = max(1, kind.box[3] - kind.box[1])
    middle = page.width / 2
    rules = [
        r
        for r in page.rules
        if (r[2] - r[0]) > 5 * (r[3] - r[1])
        and (r[2] - r[0]) < 0.5 * page.width
        and abs((r[0] + r[2]) / 2 - middle) < 0.08 * page.width
        and kind.box[3] <= r[1] < kind.box[3] + 8 * height
    ]
    if not rules:
        return None
    rule = min(rules, key=lambda r: r[1])
    # a line of the subject overlaps the rule's span (a last short word may sit off the page's middle)
    out = [
        _runs_over(ln, rule, height)
        for ln in lines[kind_line + 1 :]
        if (ln.box[1] + ln.box[3]) / 2 < rule[1]
        and ln.box[0] < rule[2]
        and ln.box[2] > rule[0]
        and ln.box[1] >= kind.box[1]
    ]
    return out or None


def _runs_over(line: Line, rule: tuple[int, int, int, int], height: int) -> Line:
    """The line without runs of words that stand apart from the rule's span across a column
    gap: a stamp's handwriting in the margin read into the subject's row ("A154 trên địa bàn")."""
    runs = word_runs(line.words, height)
    kept = [w for run in runs if run[0].box[0] < rule[2] and run[-1].box[2] > rule[0] for w in run]
    return Line(tuple(kept)) if kept and len(kept) < len(line.words) else line


def _closing_line(page: OcrPage) -> int | None:
    lines = page.lines
    return next((i for i in range(len(lines) - 1, -1, -1) if fold(lines[i].text).startswith("noi nhan")), None)


def _centred(line: Line, width: int, tolerance: float = 0.06) -> bool:
    x0, _, x1, _ = line.box
    return abs((x0 + x1) / 2 - width / 2) < tolerance * width


# ------------------------------------------------------------------ landmarks
# Several fields are read off one landmark of the layout, so each landmark is found once and
# shared: the "Số:" line gives the number, bounds the header above it (the issuing body) and
# holds the place and date on its right; the kind line ("QUYẾT ĐỊNH", or "V/v" for a Công văn)
# heads the subject; the "Nơi nhận:" block holds the recipients on the left and the signer's
# title and name on the right.


@dataclass(frozen=True)
class NumberLine:
    """The header's "Số: 47/QĐ-UBND" line."""

    index: int  # in page.lines
    tokens: list[Word]  # the number's words after "Số:" (figures and notation may be apart)
    rest: list[Word]  # the words right of the number: the place and date, where on the same line
    label: Word | None = None  # the "Số:" word (with figures glued to it, where they are)


@dataclass(frozen=True)
class IssueDate:
    """The "ngày 17 tháng 01 năm 2025" of the place-and-date line."""

    day: int  # 0: not read as figures (written by hand, perhaps)
    month: int  # 0: likewise
    year: int
    printed: bool  # read exactly as the printed words, nothing misread between the figures
    words: list[Word]  # the date's words
    place_words: list[Word]  # the words before it on its line ("Quảng Ngãi,")


@dataclass(frozen=True)
class Heading:
    """The kind of document and the lines of its subject (trích yếu)."""

    kind: str | None
    subject: list[Line]


@dataclass(frozen=True)
class ClosingBlock:
    """The foot of the last page: "Nơi nhận:" and its items on the left, the signer's title,
    signature and name on the right."""

    items: list[list[Word]]  # one list per recipient (a dash starts each, a wrapped one goes on)
    titles: list[tuple[str, float]]  # the right column's capitalised lines ("TM. ỦY BAN …", "CHỦ TỊCH")
    name: tuple[str, float] | None  # the last line read as a person's name: the signer's


class Layout:
    """One page's landmarks, each found on first use: a field whose landmark is missing is not
    looked for (no "Số:" line, no header, no date beside it)."""

    def __init__(self, page: OcrPage) -> None:
        self.page = page

    @cached_property
    def number(self) -> NumberLine | None:
        return _find_number(self.page)

    @cached_property
    def header(self) -> tuple[str, float] | None:
        """The issuing body's block, (text, OCR confidence): the header's left column above the
        "Số:" line. Only a page with a number has one: the top lines of any other page are not
        a header."""
        if self.number is None:
            return None
        return _body([_left_of_motto(ln, self.page.width) for ln in self.page.lines[: self.number.index]])

    @cached_property
    def issue_date(self) -> IssueDate | None:
        return _find_issue_date(self.page, self.number) if self.number is not None else None

    @cached_property
    def heading(self) -> Heading:
        # the kind and subject follow the number (a page without one: from its top)
        return _find_heading(self.page, self.number.index + 1 if self.number is not None else 0)

    @cached_property
    def closing(self) -> ClosingBlock | None:
        return _find_closing(self.page)


def _find_number(page: OcrPage) -> NumberLine | None:
    so_line = number_line(page)
    if so_line is None:
        return None
    words = list(page.lines[so_line].words)
    folded_words = [fold(w.text) for w in words]
    k = next((i for i, f in enumerate(folded_words) if re.match(r"s[o0]\s*[:;.]?$", f) or re.match(r"s[o0]\s*:", f)), 0)
    first = k + 1 if re.fullmatch(r"s[o0]\s*[:;.]?", folded_words[k]) else k
    tokens: list[Word] = []
    for w in words[first:]:
        if (
            not tokens
            or tokens[-1].text.endswith(("/", "-"))
            or w.text.startswith(("/", "-"))
            or (len(tokens) == 1 and "/" not in tokens[0].text and _NOTATION.match(w.text))
        ):
            # (the notation after figures written by hand, its slash lost: "Số: 47 QĐ-UBND")
            tokens.append(w)
        else:
            break
    return NumberLine(so_line, tokens, words[first + len(tokens) :], words[k])


def _date_in(words: list[Word]) -> IssueDate | None:
    """The date among `words`, with the words before it (the place)."""
    if not words:
        return None
    text = " ".join(w.text for w in words)
    folded = fold(text)
    m = _DATE.search(folded)
    if m:
        d, mth, y = (int(g) for g in m.groups())
        printed = bool(re.fullmatch(r"ngay \d{1,2} thang \d{1,2} nam \d{4}", folded[m.start() : m.end()]))
    else:
        m = _DATE_FRAME.search(folded)
        if not m:
            return None
        d, mth = (int(g.strip(" ,.")) if re.fullmatch(r"\s*\d{1,2}[,.]?\s*", g) else 0 for g in m.groups()[:2])
        y, printed = int(m.group(3)), False
    # words of the date, and the place before it
    offsets = []
    pos = 0
    for w in words:
        offsets.append((pos, pos + len(w.text), w))
        pos += len(w.text) + 1
    date_words = [w for a, b, w in offsets if b > m.start() and a < m.end()]
    place_words = [w for a, b, w in offsets if b <= m.start()]
    return IssueDate(d, mth, y, printed, date_words, place_words)


def _find_issue_date(page: OcrPage, number: NumberLine) -> IssueDate | None:
    """The date right of the number, or on one of the two lines below it (the place and date
    set lower than the number, or wrapped)."""
    found = _date_in(number.rest)
    if found is None:
        for ln in page.lines[number.index + 1 : number.index + 3]:
            found = _date_in(list(ln.words))
            if found is not None:
                break
    return found


def _find_heading(page: OcrPage, after: int) -> Heading:
    lines = page.lines
    # a Công văn has no kind line: its subject "V/v …" stands under the number
    vv = next(
        (i for i in range(after, min(after + 4, len(lines))) if re.match(r"^\s*v\s*/\s*v\b", fold(lines[i].text))), None
    )
    if vv is not None:
        return Heading("Công văn", _vv_subject(page, vv))
    for i in range(after, min(after + 5, len(lines))):
        kind = _kind(lines[i].text)
        if kind:
            return Heading(kind, _subject_under_kind(page, i))
    # neither: a letter addressed "Kính gửi: …" is a Công văn whose subject was not read
    if any(fold(ln.text).strip().startswith("kinh gui") for ln in lines[after : after + 8]):
        return Heading("Công văn", [])
    return Heading(None, [])


def _vv_subject(page: OcrPage, vv: int) -> list[Line]:
    """The "V/v …" line and its wrapped lines: centred under it and narrow, until "Kính gửi"."""
    lines = page.lines
    subject_lines = [lines[vv]]
    cx = (lines[vv].box[0] + lines[vv].box[2]) / 2
    for ln in lines[vv + 1 : vv + 5]:
        lcx = (ln.box[0] + ln.box[2]) / 2
        f = fold(ln.text).strip()
        if (
            f.startswith(("kinh gui", "can cu"))
            or abs(lcx - cx) > 0.08 * page.width
            or ln.box[2] - ln.box[0] > 0.55 * page.width
        ):
            break
        subject_lines.append(ln)
    return subject_lines


def _subject_under_kind(page: OcrPage, kind_line: int) -> list[Line]:
    """The subject under the kind: the lines above the short rule where one was drawn, else
    the centred lines in lower case that follow."""
    lines = page.lines
    ruled = _subject_above_rule(page, kind_line)
    if ruled is not None:
        return ruled
    full = max(ln.box[2] - ln.box[0] for ln in lines)
    subject_lines: list[Line] = []
    for ln in lines[kind_line + 1 : kind_line + 5]:
        text = ln.text
        letters = [c for c in text if c.isalpha()]
        f = fold(text).strip()
        # a wrapped tail may be figures alone ("2024 - 2026"); a rule under the subject is not
        figures = not letters and re.fullmatch(r"[\d\s\-–/.,]+", text.strip()) and re.search(r"\d", text)
        if (
            (not letters and not figures)
            or (letters and all(c.isupper() for c in letters))
            or f.startswith(("can cu", "kinh gui"))
            or not _centred(ln, page.width, 0.08)
        ):
            break
        # a line as wide as the body's justified lines is the body, not a wrapped subject
        if subject_lines and ln.box[2] - ln.box[0] > 0.85 * full:
            break
        subject_lines.append(ln)
    return subject_lines


def _find_closing(page: OcrPage) -> ClosingBlock | None:
    """The closing block from its "Nơi nhận:" line down, split into its two columns where the
    right column starts on that line (the signer's title beside the label)."""
    nn = _closing_line(page)
    if nn is None:
        return None
    lines = page.lines
    first = lines[nn]
    label_end = next((i for i, w in enumerate(first.words) if fold(w.text).startswith("nhan")), 0) + 1
    right = [w for w in first.words[label_end:] if w.box[0] > page.width * 0.4]
    split = min((w.box[0] for w in right), default=page.width * 0.5) - page.width * 0.02
    items: list[list[Word]] = []
    titles: list[tuple[str, float]] = []
    name: tuple[str, float] | None = None
    for ln in lines[nn:]:
        # a run of words (no column gap inside) stays in one column: the signer's name is
        # centred under the title and may start left of a short title ("Hồ Thanh Hương"
        # under "CHỦ TỊCH")
        left = [
            w
            for run in word_runs(ln.words, ln.box[3] - ln.box[1])
            if all(w.box[2] <= split + page.width * 0.02 and w.box[0] < split for w in run)
            for w in run
        ]
        if ln is first:
            left = [w for w in left if w not in first.words[:label_end]]
        rightw = [w for w in ln.words if w not in left and not (ln is first and w in first.words[:label_end])]
        if left:
            text = words_text(left)
            if ITEM_DASH.match(text) or not items:
                items.append(list(left))
            else:
                items[-1].extend(left)
        if rightw:
            text = words_text([w for w in rightw if not _junk(w)])
            letters = [c for c in text if c.isalpha()]
            if not letters:
                continue
            if (
                all(c.isupper() for c in letters)
                and TITLE_WORDS.search(fold(text))
                or all(c.isupper() for c in letters)
                and len(text.split()) <= 6
                and not name
            ):
                titles.append((text, min_conf(rightw)))
            elif re.search(r"\(|\bky\b", fold(text)):
                continue  # "(Ký, ghi rõ họ tên)", "Đã ký"
            else:
                name = person_name([w for w in rightw if not _junk(w)]) or name
    return ClosingBlock(items, titles, name)
