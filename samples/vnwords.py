"""Vietnamese numbers and dates in words, as written on civil-status papers.

>>> number_in_words(1998)
'một nghìn chín trăm chín mươi tám'
>>> number_in_words(2005)
'hai nghìn không trăm linh năm'
>>> date_in_words("05/03/1998")
'Ngày năm tháng ba năm một nghìn chín trăm chín mươi tám'
"""

from __future__ import annotations

import datetime as _dt

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_GROUPS = ("", "nghìn", "triệu", "tỷ")


def _two(n: int) -> str:
    """0..99 without a hundreds part: 5 -> năm, 15 -> mười lăm, 21 -> hai mươi mốt."""
    tens, units = divmod(n, 10)
    if tens == 0:
        return DIGITS[units]
    head = "mười" if tens == 1 else DIGITS[tens] + " mươi"
    if units == 0:
        return head
    if units == 5:
        return head + " lăm"
    if units == 1 and tens >= 2:
        return head + " mốt"
    if units == 4 and tens >= 2:
        return head + " tư"
    return head + " " + DIGITS[units]


def _three(n: int, inner: bool, linh: str) -> str:
    """0..999; `inner` when a higher group precedes (so 5 -> không trăm linh năm)."""
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds or inner:
        parts.append(DIGITS[hundreds] + " trăm")
    if rest:
        if rest < 10 and parts:
            parts.append(linh + " " + DIGITS[rest])
        else:
            parts.append(_two(rest))
    return " ".join(parts)


def number_in_words(n: int, *, thousand: str = "nghìn", linh: str = "linh") -> str:
    """A non-negative integer in Vietnamese words (northern usage by default;
    `thousand="ngàn", linh="lẻ"` gives the southern forms)."""
    if n < 0:
        raise ValueError("negative number")
    if n == 0:
        return DIGITS[0]
    groups = []
    while n:
        n, g = divmod(n, 1000)
        groups.append(g)
    if len(groups) > len(_GROUPS):
        raise ValueError("number too large")
    words = []
    names = (_GROUPS[0], thousand) + _GROUPS[2:]
    for i in range(len(groups) - 1, -1, -1):
        g = groups[i]
        if g == 0:
            continue
        inner = i < len(groups) - 1
        w = _three(g, inner, linh)
        words.append(w + (" " + names[i] if names[i] else ""))
    return " ".join(words)


def month_in_words(m: int) -> str:
    if not 1 <= m <= 12:
        raise ValueError(f"bad month {m}")
    return "tư" if m == 4 else _two(m)


def day_in_words(d: int) -> str:
    if not 1 <= d <= 31:
        raise ValueError(f"bad day {d}")
    return _two(d)


def year_in_words(y: int, **kw) -> str:
    return number_in_words(y, **kw)


def _as_date(d) -> _dt.date:
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, str):
        day, month, year = (int(p) for p in d.strip().split("/"))
        return _dt.date(year, month, day)
    raise TypeError(f"expected date or 'dd/mm/yyyy', got {type(d).__name__}")


def date_in_words(d, *, capitalize: bool = True, **kw) -> str:
    """A date (datetime.date or 'dd/mm/yyyy') as written in words on a birth
    certificate: 05/03/1998 -> 'Ngày năm tháng ba năm một nghìn chín trăm chín mươi tám'."""
    d = _as_date(d)
    text = f"ngày {day_in_words(d.day)} tháng {month_in_words(d.month)} năm {year_in_words(d.year, **kw)}"
    return text[0].upper() + text[1:] if capitalize else text


def time_in_words(hour: int, minute: int) -> str:
    """'02 giờ 50 phút' style is numeric; this gives 'hai giờ năm mươi phút'."""
    return f"{_two(hour)} giờ {_two(minute)} phút"
