"""A dossier scanned in one go, split into its documents.

    split_dossier(pages) -> [DocumentSpan]     # a pure function over OCR'd pages

At a one-stop shop a citizen's whole dossier (a declaration form, a photocopy of the ID
card, an old birth certificate, a letter ...) is scanned as one input. Where one document
ends and the next begins is read from each page:

* a first page: the national motto ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") or a document
  title near its top (a heading, not a title's words in a sentence of running text), an
  issuing body's number ("Số: 12/UBND-VP") in its head, a page number 1 ("Trang 1/3",
  "- 1 -"), or an ID card (its QR code, title or labels);
* a following page: a page number above 1, or none of the above (a letter's second page);
  the back of an ID card (its identifying marks, machine-readable zone) follows its front;
* a blank page (the back of a one-sided sheet, whatever speckle the recogniser took for
  text on it) belongs to the document before it (or, at the very start, to the one after it).

Each document is typed from its first page: khai_sinh, ket_hon, khai_tu, so_ho_tich,
cccd, to_khai (a declaration form: "TỜ KHAI ..."), van_ban (an administrative document) or
other. Nothing here changes how an input is processed (`process_bytes`); the spans are the
CONTRACT's `documents` (`DocumentSpan.to_dict`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .extract import classify
from .extract.cccd import looks_like_card
from .text import fold, levenshtein
from .types import OcrPage

DOCUMENT_TYPES = ("khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban", "cccd", "to_khai", "other")

# A page with fewer letters of text than this is blank (a back, a separator sheet): speckle
# and a stray page number are all such pages hold. What the recogniser makes of speckle on an
# empty sheet is not text: a word counts when it is mostly letters and sits in its line's row
# at a height that print can have (`_text_letters`).
BLANK_LETTERS = 12
MIN_TEXT_HEIGHT_IN = 0.045  # a word's box, inches: below the smallest print (6 pt lower case)
HEAD_LINES = 14  # where titles, mottos and numbers are looked for
MOTTO = "cong hoa xa hoi chu nghia viet nam"

_TO_KHAI = re.compile(r"^\s*(to khai|phieu (de nghi|yeu cau|khai bao))\b")
_SO_KY_HIEU = re.compile(r"^s[o0]\s*:?\s*\d+\s*/\s*\d{0,4}\s*/?\s*[a-z]")  # "Số: 12/UBND-VP", "Số: 05/2024/QĐ-UBND"
_VAN_BAN_TITLES = re.compile(
    r"^(quyet dinh|cong van|thong bao|to trinh|chi thi|ke hoach|bao cao|giay moi|"
    r"giay xac nhan|bien ban|nghi quyet|huong dan)\b"
)
_PAGE_NUMBER = (
    re.compile(r"^[\s\-–—.]*(\d{1,3})[\s\-–—.]*$"),  # "- 2 -", "2"
    re.compile(r"^trang\s*(\d{1,3})(\s*/\s*\d{1,3})?\b"),  # "Trang 2", "Trang 2/5"
    re.compile(r"^(\d{1,3})\s*/\s*(\d{1,3})$"),
)  # "2/5"
_CARD_BACK = re.compile(
    r"dac diem nhan dang|personal identification:|^idvnm|ngay,? thang,? nam cap|"
    r"cuc canh sat|bo cong an"
)


@dataclass(frozen=True)
class PageSignals:
    """What one page says about where it belongs."""

    number: int
    blank: bool
    kind: str  # the page's own type (DOCUMENT_TYPES)
    motto: bool = False
    title: bool = False  # a document title, a letter's number or an ID card
    page_number: int | None = None  # as printed on the page
    card_back: bool = False

    @property
    def starts(self) -> bool:
        if self.page_number is not None and self.page_number > 1:
            return False
        return self.motto or self.title or self.page_number == 1


@dataclass(frozen=True)
class DocumentSpan:
    """One document of a dossier: its type and its pages (1-based, in order)."""

    index: int
    doc_type: str
    pages: tuple[int, ...]
    blank_pages: tuple[int, ...] = ()  # of `pages`, those left blank
    reasons: tuple[str, ...] = field(default=(), compare=False)  # why it starts where it does

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "doc_type": self.doc_type, "pages": list(self.pages)}


def _folded_lines(page: OcrPage) -> list[str]:
    return [re.sub(r"\s+", " ", fold(line.text)).strip() for line in page.lines]


def page_number(lines: list[str]) -> int | None:
    """The page number printed at the head or foot of a page, where there is one."""
    for text in lines[:2] + lines[-2:]:
        for regex in _PAGE_NUMBER:
            m = regex.match(text)
            if m and 0 < int(m.group(1)) < 500:
                return int(m.group(1))
    return None


def _is_motto(text: str) -> bool:
    letters = re.sub(r"[^a-z ]", "", text).strip()
    return MOTTO in letters or (abs(len(letters) - len(MOTTO)) <= 4 and levenshtein(letters, MOTTO) <= 4)


def _text_letters(page: OcrPage) -> int:
    """The letters of a page's words that read as print: a word of two letters or more, mostly
    letters, no lower than print can be and in its line's row. A blank sheet's speckle and
    paper grain, which the recogniser reads as scattered bits ("| xế : VỆ ..." strewn over
    the page as one line), do not count, so a blank back stays blank whichever way the cleanup
    turned it."""
    min_height = MIN_TEXT_HEIGHT_IN * (page.dpi or 200.0)
    count = 0
    for line in page.lines:
        words = [w for w in line.words if w.box[3] > w.box[1]]
        if not words:
            continue
        top = sorted(w.box[1] for w in words)[len(words) // 2]
        bottom = sorted(w.box[3] for w in words)[len(words) // 2]
        for w in words:
            letters = sum(ch.isalpha() for ch in w.text)
            height = w.box[3] - w.box[1]
            overlap = min(bottom, w.box[3]) - max(top, w.box[1])
            if (
                letters >= 2
                and 2 * letters >= len(w.text)
                and height >= min_height
                and 2 * overlap >= min(height, bottom - top)
            ):
                count += letters
    return count


def page_signals(page: OcrPage) -> PageSignals:
    lines = _folded_lines(page)
    if _text_letters(page) < BLANK_LETTERS and not page.codes:
        return PageSignals(page.number, True, "other", page_number=page_number(lines))
    head = lines[:HEAD_LINES]
    motto = any(_is_motto(t) for t in head)
    number = page_number(lines)
    front = looks_like_card(page)
    back = sum(1 for t in lines if _CARD_BACK.search(t)) >= 2
    if front or back:
        titled = any(t.startswith(("can cuoc", "citizen identity", "identity card")) for t in head) or bool(page.codes)
        back = back and not titled  # a copy of both sides on one page is a front
        return PageSignals(page.number, False, "cccd", motto, not back, number, back)
    if any(_TO_KHAI.match(t) for t in head):
        return PageSignals(page.number, False, "to_khai", motto, True, number)
    from .extract import _title_of  # the certificate titles, as the classifier reads them

    # A certificate's title in a sentence ("... ghi vào Sổ đăng ký khai sinh.", a report's
    # continuation page) neither types the page nor starts a document: only a heading does.
    prose = {i for i, line in enumerate(page.lines[:HEAD_LINES]) if _title_of(line.text) and not _heading(line.text)}
    kind = classify(
        replace(page, lines=tuple(line for i, line in enumerate(page.lines) if i not in prose)) if prose else page
    )
    if kind in ("khai_sinh", "ket_hon", "khai_tu", "so_ho_tich"):
        titled = any(_title_of(line.text) and i not in prose for i, line in enumerate(page.lines[:HEAD_LINES]))
        return PageSignals(page.number, False, kind, motto, titled, number)
    titled = any(_letter_number(line.text, t) or _van_ban_title(line.text, t) for line, t in zip(page.lines, head))
    kind = "van_ban" if titled or motto else "other"
    return PageSignals(page.number, False, kind, motto, titled, number)


def _heading(text: str, covered: float | None = None) -> bool:
    """Whether a line can be a heading rather than a line of running text: in capitals, or
    beginning with a capital, not ending a sentence and, where `covered` (the share of the
    line a title takes) is given, mostly that title. A paragraph that opens "Hướng dẫn các xã ..." or a sentence's last
    line "ghi vào Sổ đăng ký khai sinh." on a continuation page is not a title."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    if len(letters) >= 4 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters):
        return True
    return letters[0].isupper() and not text.rstrip().endswith((".", ",", ";")) and (covered is None or covered >= 0.6)


def _letter_number(text: str, folded: str) -> bool:
    """An issuing body's number heading a letter: "Số: 12/UBND-VP", capital S (a sentence's
    "... tại Nghị định | số 123/2015/NĐ-CP" wrapped to the start of a line is not one)."""
    first = next((ch for ch in text if ch.isalpha()), "")
    return bool(_SO_KY_HIEU.match(folded)) and first.isupper()


def _van_ban_title(text: str, folded: str) -> bool:
    """An administrative document's title ("QUYẾT ĐỊNH", "THÔNG BÁO"), as a heading."""
    m = _VAN_BAN_TITLES.match(folded)
    return m is not None and _heading(text, len(m.group(0)) / max(1, len(folded)))


def split_dossier(pages: Iterable[OcrPage]) -> list[DocumentSpan]:
    """The documents of a dossier's pages, in page order; every page in exactly one."""
    signals = [page_signals(p) for p in pages]
    groups: list[list[PageSignals]] = []
    reasons: list[tuple[str, ...]] = []
    leading_blanks: list[PageSignals] = []
    for s in signals:
        if s.blank:
            if groups:
                groups[-1].append(s)
            else:
                leading_blanks.append(s)
            continue
        why = _starts(s, groups[-1] if groups else None)
        if why:
            groups.append(leading_blanks + [s])
            reasons.append(why)
            leading_blanks = []
        else:
            groups[-1].append(s)
    if leading_blanks:  # nothing but blank pages
        groups.append(leading_blanks)
        reasons.append(("blank",))
    out = []
    for i, (group, why) in enumerate(zip(groups, reasons)):
        first = next((s for s in group if not s.blank), None)
        out.append(
            DocumentSpan(
                index=i,
                doc_type=first.kind if first else "other",
                pages=tuple(s.number for s in group),
                blank_pages=tuple(s.number for s in group if s.blank),
                reasons=why,
            )
        )
    return out


def _starts(page: PageSignals, current: list[PageSignals] | None) -> tuple[str, ...]:
    """Why `page` begins a document (empty: it goes on with `current`)."""
    if current is None:
        return ("first page",)
    last = next((s for s in reversed(current) if not s.blank), current[-1])
    opened = next((s for s in current if not s.blank), current[0])
    if page.kind == "cccd":
        if opened.kind == "cccd" and page.card_back and not any(s.card_back for s in current):
            return ()  # the card's back after its front
        return ("id card",)
    if opened.kind == "cccd":
        return ("after an id card",)
    if page.page_number is not None and page.page_number > 1:
        if last.page_number is None or page.page_number == last.page_number + 1:
            return ()
    why = tuple(r for r, on in (("motto", page.motto), ("title", page.title), ("page 1", page.page_number == 1)) if on)
    if page.starts:
        return why
    if page.kind in ("khai_sinh", "ket_hon", "khai_tu") and page.kind != opened.kind:
        return ("labels of another certificate",)
    return ()


def split_at(pages: Iterable[OcrPage], starts: Iterable[int]) -> list[DocumentSpan]:
    """The documents of a dossier whose split a person corrected: `starts` are the first
    pages (1-based) of its documents. Each document is typed from its first page that is not
    blank, as `split_dossier` types them; raises ValueError for starts that are not a split
    of these pages (the first page first, increasing, within the dossier)."""
    signals = [page_signals(p) for p in pages]
    firsts = list(starts)
    numbers = [s.number for s in signals]
    if (
        not firsts
        or firsts[0] != numbers[0]
        or any(b <= a for a, b in zip(firsts, firsts[1:]))
        or not set(firsts) <= set(numbers)
    ):
        raise ValueError("starts: the first page of each document, the dossier's first page first, increasing")
    out = []
    for i, first in enumerate(firsts):
        last = firsts[i + 1] if i + 1 < len(firsts) else numbers[-1] + 1
        group = [s for s in signals if first <= s.number < last]
        opened = next((s for s in group if not s.blank), None)
        out.append(
            DocumentSpan(
                index=i,
                doc_type=opened.kind if opened else "other",
                pages=tuple(s.number for s in group),
                blank_pages=tuple(s.number for s in group if s.blank),
                reasons=("corrected",),
            )
        )
    return out
