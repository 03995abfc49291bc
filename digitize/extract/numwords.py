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

from ..text import fold, levenshtein

DIGITS = {
    "khong": 0,
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "lam": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
}
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
    rest = tokens[cut + 1 :]
    # the month may itself be "năm" (five): try each split at a "năm" that leaves a year
    for k in range(1, min(3, len(rest) - 1) + 1):
        if rest[k] != "nam":
            continue
        month = parse_number(rest[:k])
        year = parse_number(rest[k + 1 :])
        if day and month and year:
            try:
                return date(year, month, day)
            except ValueError:
                continue
    return None


# ------------------------------------------------------------------ numbers written out

_WORD = {0: "không", 1: "một", 2: "hai", 3: "ba", 4: "bốn", 5: "năm", 6: "sáu", 7: "bảy", 8: "tám", 9: "chín"}
Lattice = list[tuple[str, ...]]  # each position: the ways it may be printed, the usual first


def _below_thousand(n: int, whole: bool) -> Lattice:
    """0 < n < 1000 as said; `whole`: after a thousand, where "không trăm" and "linh" are said."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    out: Lattice = []
    if hundreds or whole:
        out += [(_WORD[hundreds],), ("trăm",)]
    if tens == 0:
        if units and out:
            out.append(("linh", "lẻ"))
    elif tens == 1:
        out.append(("mười",))
    else:
        out += [(_WORD[tens],), ("mươi",)]
    if units:
        if units == 1 and tens >= 2:
            out.append(("mốt", "một"))
        elif units == 5 and tens >= 1:
            out.append(("lăm", "năm"))
        elif units == 4 and tens >= 2:
            out.append(("bốn", "tư"))
        else:
            out.append((_WORD[units],))
    return out


def number_lattice(n: int) -> Lattice:
    """1 <= n <= 9999 in words, each position with its printed variants ("nghìn"/"ngàn")."""
    thousands, rest = divmod(n, 1000)
    out: Lattice = []
    if thousands:
        out += [(_WORD[thousands],), ("nghìn", "ngàn")]
    if rest:
        out += _below_thousand(rest, whole=bool(thousands))
    return out


def date_lattice(day: date) -> Lattice:
    """The date as a certificate writes it in words: "Ngày … tháng … năm …"."""
    return [
        ("Ngày",),
        *number_lattice(day.day),
        ("tháng",),
        *number_lattice(day.month),
        ("năm",),
        *number_lattice(day.year),
    ]


def words_of_date(read: str, day: date, slack: int = 2) -> str | None:
    """The date's words, spelled as `read` spells its variants, where `read` is that date
    in words with at most `slack` letters wrong in any word (tone marks aside: "tăm" for
    lăm, "nghàr" for nghìn); None where a word is further off or the count differs."""
    words = _tokens(read)
    if "ngay" in words[1:3]:
        words = words[words.index("ngay") :]  # a neighbouring value read before it ("Nữ Ngày …")
    lattice = date_lattice(day)
    if len(words) != len(lattice):
        return None
    out = []
    for word, variants in zip(words, lattice):
        # the nearest variant; on a tie the usual one ("nghàn": nghìn, not ngàn)
        distance, _, best = min((levenshtein(word, fold(v)), i, v) for i, v in enumerate(variants))
        if distance > slack or distance >= len(fold(best)):
            return None
        out.append(best)
    return " ".join(out)
