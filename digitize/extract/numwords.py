"""Vietnamese numbers and dates written in words, read back into numbers.

    parse_number("một nghìn chín trăm năm mươi bảy") -> 1957
    parse_date_words("Ngày tám tháng bảy năm một nghìn chín trăm năm mươi bảy") -> date(1957, 7, 8)

Matching is on tone-folded words, so an OCR slip in a tone mark ("mưoi",
"nghin") still reads; "mười" (ten) and "mươi" (tens) fold alike and are told
apart by position. Northern and southern forms are both read
(nghìn/ngàn, linh/lẻ, tư/bốn, lăm/năm, mốt/một)."""

from __future__ import annotations

import re
from datetime import date

from ..text import fold

DIGITS = {"khong": 0, "mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5,
          "sau": 6, "bay": 7, "tam": 8, "chin": 9}
_TENS = "muoi"
_HUNDRED = "tram"
_THOUSAND = ("nghin", "ngan")
_SKIP = ("linh", "le")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+", fold(text))


def parse_number(words: str | list[str]) -> int | None:
    """An integer 0..999999 in words; None when the words are not a well-formed number."""
    tokens = _tokens(words) if isinstance(words, str) else list(words)
    if not tokens:
        return None
    total = 0
    chunk = 0  # below one thousand
    pending: int | None = None  # a digit word not yet placed
    seen_tens = False
    for i, tok in enumerate(tokens):
        if tok in DIGITS:
            if pending is not None:
                return None  # two digit words in a row
            pending = DIGITS[tok]
        elif tok == _TENS:
            if seen_tens:
                return None
            if pending is None:
                chunk += 10  # "mười"
            else:
                if pending < 2:
                    return None
                chunk += pending * 10  # "hai mươi"
            pending = None
            seen_tens = True
        elif tok == _HUNDRED:
            if pending is None or chunk:
                return None
            chunk += pending * 100
            pending = None
        elif tok in _SKIP:
            if pending is not None:
                return None
        elif tok in _THOUSAND:
            if total:
                return None
            chunk += pending or 0
            if chunk == 0:
                return None
            total = chunk * 1000
            chunk, pending, seen_tens = 0, None, False
        else:
            return None
    chunk += pending or 0
    return total + chunk


def parse_date_words(text: str) -> date | None:
    """'Ngày năm tháng ba năm một nghìn chín trăm chín mươi tám' -> date(1998, 3, 5)."""
    tokens = _tokens(text)
    if tokens and tokens[0] == "ngay":
        tokens = tokens[1:]
    if "thang" not in tokens:
        return None
    cut = tokens.index("thang")
    day = parse_number(tokens[:cut])
    rest = tokens[cut + 1:]
    # the month may itself be "năm" (five): try each split at a "năm" that leaves a year
    for k in range(1, min(3, len(rest) - 1) + 1):
        if rest[k] != "nam":
            continue
        month = parse_number(rest[:k])
        year = parse_number(rest[k + 1:])
        if day and month and year:
            try:
                return date(year, month, day)
            except ValueError:
                continue
    return None
