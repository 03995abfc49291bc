"""Field normalisation and checks. Each check returns the normalised value and a
validation factor in 0..1 (1 = passes every check we know, lower = suspicious)."""

from __future__ import annotations

import re
from datetime import date

from ..text import clean_spaces, fold

# OCR slips inside digit strings: letters that look like digits.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                                   "Z": "2", "S": "5", "s": "5", "B": "8", "g": "9", "q": "9"})

ETHNIC_GROUPS = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Dao", "Gia Rai", "Ê Đê", "Ba Na", "Xơ Đăng",
    "Sán Chay", "Cơ Ho", "Chăm", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ", "Xtiêng", "Khơ Mú", "Bru Vân Kiều",
    "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ Triêng", "Co", "Chơ Ro", "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí",
    "Kháng", "Phù Lá", "La Hủ", "La Ha", "Pà Thẻn", "Lự", "Ngái", "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y",
    "Cống", "Si La", "Pu Péo", "Rơ Măm", "Brâu", "Ơ Đu",
)
_ETHNIC_BY_FOLD = {fold(e).replace("'", "").replace(" ", ""): e for e in ETHNIC_GROUPS}
_ETHNIC_BY_FOLD["mong"] = "H'Mông"
_ETHNIC_BY_FOLD["hmong"] = "H'Mông"

SEXES = {"nam": "Nam", "nu": "Nữ"}
NATIONALITIES = {"viet nam": "Việt Nam"}

_DATE_NUMERIC = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value.translate(_DIGIT_LOOKALIKES))


def normalize_date(value: str) -> tuple[str, float]:
    """'5/3/1998', '05-03-1998', 'ngày 05 tháng 03 năm 1998' -> ('05/03/1998', 1.0).
    A lone year gives 'yyyy'. Unparseable or impossible dates keep the text, factor 0.3."""
    text = value.translate(_DIGIT_LOOKALIKES) if re.search(r"\d", value) else value
    folded = fold(text)
    m = _DATE_NUMERIC.search(folded) or _DATE_WORDS.search(folded)
    if m:
        d, mth, y = (int(g) for g in m.groups())
        try:
            date(y, mth, d)
        except ValueError:
            return value, 0.3
        factor = 1.0 if 1850 <= y <= date.today().year else 0.5
        return f"{d:02d}/{mth:02d}/{y:04d}", factor
    year = re.fullmatch(r"\s*(\d{4})\s*", text)
    if year:
        y = int(year.group(1))
        return year.group(1), 1.0 if 1850 <= y <= date.today().year else 0.5
    return value, 0.3


def parse_date(value: str) -> date | None:
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value)
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def normalize_id(value: str) -> tuple[str, float]:
    """Số định danh cá nhân: 12 digits, province 001-096, century/sex digit."""
    digits = digits_only(value)
    if len(digits) != 12:
        return (digits or value), 0.2
    province = int(digits[:3])
    return digits, 1.0 if 1 <= province <= 96 else 0.4


def id_consistency(so_dinh_danh: str, sex: str | None, birth_year: int | None) -> float:
    """1.0 when the id's century/sex digit and year digits agree with the record."""
    if len(so_dinh_danh) != 12 or not so_dinh_danh.isdigit():
        return 0.2
    code = int(so_dinh_danh[3])
    factor = 1.0
    if sex in ("Nam", "Nữ"):
        if (code % 2 == 1) != (sex == "Nữ"):
            factor *= 0.4
    if birth_year is not None:
        century = 1900 + 100 * (code // 2)
        if century + int(so_dinh_danh[4:6]) != birth_year:
            factor *= 0.4
    return factor


def normalize_sex(value: str) -> tuple[str, float]:
    key = fold(value).strip(" .")
    if key in SEXES:
        return SEXES[key], 1.0
    return value, 0.3


def normalize_ethnicity(value: str) -> tuple[str, float]:
    key = fold(value).replace("'", "").replace(" ", "").replace("-", "")
    if key.startswith("dantoc"):
        key = key[len("dantoc"):]
    if key in _ETHNIC_BY_FOLD:
        return _ETHNIC_BY_FOLD[key], 1.0
    return value, 0.4


def normalize_nationality(value: str) -> tuple[str, float]:
    key = clean_spaces(fold(value))
    if key in NATIONALITIES:
        return NATIONALITIES[key], 1.0
    # Foreign nationalities exist; accept a capitalised word or two, with less certainty.
    return value, 0.8 if re.fullmatch(r"[A-ZÀ-Ỹ][\w ]{2,40}", value) else 0.4


def normalize_name(value: str) -> tuple[str, float]:
    """Names are letters and spaces; digits or punctuation inside are OCR noise."""
    value = clean_spaces(value.strip(" .,:;-"))
    if not value:
        return value, 0.0
    if re.search(r"[0-9@#$%^&*_=+<>{}\[\]|\\/]", value):
        return value, 0.4
    return value, 1.0


def normalize_year(value: str) -> tuple[str, float]:
    digits = digits_only(value)
    if len(digits) == 4 and 1850 <= int(digits) <= date.today().year:
        return digits, 1.0
    return value, 0.3


def normalize_text(value: str) -> tuple[str, float]:
    value = clean_spaces(value)
    return value, 1.0 if len(value) >= 2 else 0.5


def normalize_number(value: str) -> tuple[str, float]:
    """Registration number as printed, e.g. '123/2024' or '15'; digits fixed up."""
    value = clean_spaces(value).strip(" .")
    fixed = value.translate(_DIGIT_LOOKALIKES) if re.fullmatch(r"[\dOoIlSB/ .\-]+", value) else value
    fixed = fixed.replace(" ", "")
    return fixed, 1.0 if re.fullmatch(r"\d+(/\d+)?([/\-][\w.\-]+)*", fixed) else 0.5
