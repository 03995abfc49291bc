"""Field extraction: classify a page, then run the extractor for its type.

    classify(page) -> "khai_sinh" | "ket_hon" | "khai_tu" | "so_ho_tich" | "cccd" | "van_ban"
    extract(page, doc_type="auto") -> [Record]           # one page
    extract_pages(pages, doc_type="auto") -> [Record]    # a file: carries a registry
                                                         # book's columns across a spread

The title decides where it can be read (tone-insensitive, a few OCR slips
allowed); where the title is lost (red ink on security paper, a torn top) the
labels and the table shape decide. An ID card (cccd) is known by its QR code
(`OcrPage.codes`), its title or its bilingual labels. A page that is none of
these (a page of prose) gives no record."""

from __future__ import annotations

import re

from ..text import fold, levenshtein
from ..types import InputSignature, OcrPage, Record
from .base import FIELDS, REVIEW_THRESHOLD, Extractor
from .cccd import CccdExtractor, looks_like_card
from .ket_hon import KetHonExtractor
from .khai_sinh import KhaiSinhExtractor
from .khai_tu import KhaiTuExtractor
from .so_ho_tich import KINDS as BOOK_KINDS
from .so_ho_tich import SoHoTichExtractor, book_kind
from .van_ban import VanBanExtractor

__all__ = ["DOC_TYPES", "FIELDS", "REVIEW_THRESHOLD", "classify", "extract", "extract_pages", "warm_up"]

DOC_TYPES = ("khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban", "cccd")

# Titles, folded; matched against whole short lines with a small edit distance.
_TITLES = (
    ("so_ho_tich", ("so dang ky khai sinh", "so dang ky ket hon", "so dang ky khai tu", "so ho tich")),
    ("khai_sinh", ("giay khai sinh", "trich luc khai sinh", "ban sao giay khai sinh", "giay chung sinh")),
    ("ket_hon", ("giay chung nhan ket hon", "trich luc ket hon", "giay chung nhan dang ky ket hon")),
    ("khai_tu", ("trich luc khai tu", "giay chung tu", "giay bao tu", "trich luc dang ky khai tu")),
)
_TITLE_RE = [
    (doc_type, re.compile(r"(?<![a-z])(" + "|".join(t.replace(" ", r"\s*") for t in titles) + r")(?![a-z])"))
    for doc_type, titles in _TITLES
]

# Labels that only one kind of certificate prints.
_LABELS = {
    "khai_sinh": re.compile(r"nguoi di khai sinh|ghi bang chu|noi dang ky khai sinh|que quan|ten (nguoi )?(me|cha)"),
    "ket_hon": re.compile(r"ten (ben )?(chong|vo)\b|noi dang ky ket hon|thong tin chong vo|^thong tin\s+chong"),
    "khai_tu": re.compile(
        r"chet vao|noi chet|nguyen nhan chet|nguoi di khai tu|quan he voi nguoi chet|"
        r"noi dang ky khai tu|cu tru cuoi cung"
    ),
}
_TABLE_HEAD = re.compile(r"ho (va )?ten.*ngay sinh|so tt|stt\b")
_ROW = re.compile(r"^\d{1,5}\s+\D+\s\d{1,2}/\d{1,2}/\d{4}")


def _title_of(line: str) -> str | None:
    folded = re.sub(r"[^a-z0-9 ]", " ", fold(line))
    folded = re.sub(r"\s+", " ", folded).strip()
    if not folded:
        return None
    letters = [c for c in line if c.isalpha()]
    upper = len(letters) >= 6 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)
    for doc_type, regex in _TITLE_RE:
        m = regex.search(folded)
        # a title is a line of its own, in capitals: not "Sổ hộ tịch" inside a sentence
        if m and (upper or len(m.group(0)) >= 0.7 * len(folded)):
            return doc_type
    # OCR slips: a short line close to a title ("giay khai sinh" read "giav khai smh")
    if len(folded) <= 40:
        for doc_type, titles in _TITLES:
            for title in titles:
                if abs(len(folded) - len(title)) <= 3 and levenshtein(folded, title) <= max(2, len(title) // 8):
                    return doc_type
    return None


def classify(page: OcrPage) -> str:
    """Document type from the title lines, else from the labels and the layout."""
    if looks_like_card(page):  # an ID card's QR code or title: before the other titles
        return "cccd"
    texts = [line.text for line in page.lines]
    for text in texts[:14]:
        found = _title_of(text)
        if found:
            return found
    folded = [fold(t) for t in texts]
    scores = {k: sum(1 for f in folded if regex.search(f)) for k, regex in _LABELS.items()}
    rows = sum(1 for t in texts if _ROW.match(t))
    if rows >= 3 or (rows >= 2 and any(_TABLE_HEAD.search(f) for f in folded[:10])):
        return "so_ho_tich"
    best = max(scores, key=lambda k: scores[k])
    if scores[best] >= 2:
        return best
    return "van_ban"


_VAN_BAN = VanBanExtractor()
_EXTRACTORS: dict[str, Extractor] = {
    "khai_sinh": KhaiSinhExtractor(),
    "ket_hon": KetHonExtractor(),
    "khai_tu": KhaiTuExtractor(),
    "van_ban": _VAN_BAN,
    "cccd": CccdExtractor(),
}
_BOOK = SoHoTichExtractor()


def extract(page: OcrPage, doc_type: str = "auto") -> list[Record]:
    return extract_pages([page], doc_type)


def extract_pages(
    pages: list[OcrPage], doc_type: str = "auto", signatures: tuple[InputSignature, ...] = ()
) -> list[Record]:
    """Records of a file's pages in page order. A registry-book page without a header
    row (the right-hand page of a spread) uses the columns of the page before it.
    `signatures` are the input PDF's own (evidence: a document is not issued after it was signed)."""
    records: list[Record] = []
    columns = None
    kind = None
    for index, page in enumerate(pages):
        page_type = classify(page) if doc_type == "auto" else doc_type
        if page_type == "so_ho_tich":
            kind = book_kind(page) or kind
            found, columns = _BOOK.extract_with_columns(page, kind, columns)
            records.extend(r for r in found if r.fields)
            continue
        if doc_type in BOOK_KINDS.values() and page_type == doc_type and _looks_like_table(page):
            found, columns = _BOOK.extract_with_columns(page, doc_type, columns)
            records.extend(r for r in found if r.fields)
            continue
        if page_type == "van_ban":
            records.extend(
                r for r in _VAN_BAN.extract(page, signatures=signatures, following=pages[index + 1 :]) if r.fields
            )
            continue
        extractor = _EXTRACTORS.get(page_type)
        if extractor is None:
            continue
        records.extend(r for r in extractor.extract(page) if r.fields)
    return records


def _looks_like_table(page: OcrPage) -> bool:
    return sum(1 for line in page.lines if _ROW.match(line.text)) >= 3


def warm_up() -> None:
    """Load the gazetteer's unit hierarchy (about a second) now, in a worker's start-up,
    rather than inside the first page a person is waiting for."""
    from . import gazetteer

    gazetteer.unit_tree()
    gazetteer.units_by_level()
