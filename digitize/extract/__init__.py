"""Field extraction: classify a page, then run the extractor for its type."""

from __future__ import annotations

import re

from ..text import fold
from ..types import OcrPage, Record
from .khai_sinh import KhaiSinhExtractor

DOC_TYPES = ("khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban")

_TITLES = (
    ("so_ho_tich", re.compile(r"so dang ky (khai sinh|ket hon|khai tu)")),
    ("khai_sinh", re.compile(r"(giay|trich luc) khai sinh")),
    ("ket_hon", re.compile(r"(giay chung nhan|trich luc) ket hon")),
    ("khai_tu", re.compile(r"(giay bao tu|trich luc khai tu|giay chung tu|khai tu)")),
)


def classify(page: OcrPage) -> str:
    """Document type from the page's title lines (the first ~12 lines)."""
    head = fold(" ".join(line.text for line in page.lines[:12]))
    for doc_type, pattern in _TITLES:
        if pattern.search(head):
            return doc_type
    return "van_ban"


_EXTRACTORS = {"khai_sinh": KhaiSinhExtractor()}


def extract(page: OcrPage, doc_type: str = "auto") -> list[Record]:
    kind = classify(page) if doc_type == "auto" else doc_type
    extractor = _EXTRACTORS.get(kind)
    if extractor is None:
        return []
    return [r for r in extractor.extract(page) if r.fields]
