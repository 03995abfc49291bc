"""Field normalisation and checks. Each check returns the normalised value and a
validation factor in 0..1 (1 = passes every check we know, lower = suspicious).

Values are kept as printed; the only repairs are the ones a reader makes
without thinking: digit look-alikes inside numbers and dates, tone-mark slips
in words from a closed list (sex, ethnic group, nationality, unit words of an
address). A repaired value always carries a factor below 1, so that it is
sent to review."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from ..text import clean_spaces, fold, levenshtein  # noqa: F401  (levenshtein re-exported)
from . import gazetteer
from .numwords import parse_date_words

# OCR slips inside digit strings: letters that look like digits.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                                   "Z": "2", "S": "5", "s": "5", "B": "8", "g": "9", "q": "9", "§": "5", "?": "7"})

# The 54 ethnic groups (Danh mục các dân tộc Việt Nam, Quyết định 121-TCTK/PPCĐ).
ETHNIC_GROUPS = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Dao", "Gia Rai", "Ê Đê", "Ba Na", "Xơ Đăng",
    "Sán Chay", "Cơ Ho", "Chăm", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ", "Xtiêng", "Khơ Mú", "Bru Vân Kiều",
    "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ Triêng", "Co", "Chơ Ro", "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí",
    "Kháng", "Phù Lá", "La Hủ", "La Ha", "Pà Thẻn", "Lự", "Ngái", "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y",
    "Cống", "Si La", "Pu Péo", "Rơ Măm", "Brâu", "Ơ Đu",
)
_ETHNIC_BY_FOLD = {fold(e).replace("'", "").replace(" ", ""): e for e in ETHNIC_GROUPS}
_ETHNIC_BY_FOLD.update({"mong": "H'Mông", "hmong": "H'Mông", "khome": "Khmer", "kho me": "Khmer", "ede": "Ê Đê",
                        "jrai": "Gia Rai", "bana": "Ba Na"})

SEXES = {"nam": "Nam", "nu": "Nữ"}
NATIONALITIES = {fold(n): n for n in (
    "Việt Nam", "Trung Quốc", "Lào", "Campuchia", "Thái Lan", "Hàn Quốc", "Nhật Bản", "Đài Loan", "Hoa Kỳ", "Mỹ",
    "Pháp", "Đức", "Anh", "Nga", "Úc", "Ca-na-đa", "Canada", "Singapore", "Malaysia", "Philippines", "Indonesia",
    "Ấn Độ", "Ba Lan", "Séc", "Cuba", "Hà Lan", "Thụy Điển", "Na Uy", "Đan Mạch", "Bỉ", "Thụy Sĩ", "Ý", "Tây Ban Nha",
    "New Zealand", "Myanmar", "Brunei", "Mông Cổ", "Triều Tiên", "Hồng Kông")}

# Common Vietnamese surnames (and those of the larger minority groups).
SURNAMES = frozenset(s for s in (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Trương Lương Mai Tô Cao Châu "
    "Thái Đào Đoàn Hà Hầu Kiều Khúc Kim Lâm Lục Lưu Mạc Nghiêm Ông Quách Tạ Tăng Thạch Thân Tiêu Trịnh Triệu "
    "Từ Văn Vương Vi Âu Bạch Bế Cù Cung Diệp Doãn Đàm Đồng Giang Giáp Hứa Kha La Lạc Lã Lò Mã Mẫn Nông Ninh "
    "Phí Phó Phùng Quan Quang Sầm Sơn Tạ Tôn Tống Trang Trình Ứng Viên Vòng Xa Cầm Lường Quàng Vì Tòng Giàng Vàng "
    "Sùng Thào Mùa Niê Ayun Mlô Êban Byă Bàn Danh Chu Hoàng Chế Chung Công Cổ Đậu Đường Hàn Hồng Lai Lại Liêu "
    "Luân Mạch Nhữ Phương Tạ Thi Thiều Tiết Trà Trầm Tường Uông Vưu Yên Khổng Khương Khuất Lăng Lều Mẫn Tào").split())

_DATE_NUMERIC = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_NUCLEI = ("uyê uya uyu iêu yêu uôi ươi ươu oai oay oeo uây ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo "
           "ua uâ uê ui uô uơ ưa ưi ưu ươ uy yê a ă â e ê i y o ô ơ u ư").split()
_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(" + "|".join(_NUCLEI) + r")"
    r"(ch|ng|nh|[cmnpt])?$")


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value.translate(_DIGIT_LOOKALIKES))


def today() -> date:
    return date.today()


# ------------------------------------------------------------------ dates

def _repair_part(text: str, limit: int) -> list[int]:
    """Readings of a 2-digit day or month: as read, then with a misread leading 0 (9, 6, 8)."""
    value = int(text)
    out = [value] if 1 <= value <= limit else []
    if len(text) == 2 and text[0] in "689" and 1 <= int(text[1]) <= 9:
        out.append(int(text[1]))
    return out


def normalize_date(value: str) -> tuple[str, float]:
    """'5/3/1998', '05-03-1998', 'ngày 05 tháng 03 năm 1998' -> ('05/03/1998', 1.0).
    A lone year gives 'yyyy'. A day or month that cannot be (95/02/1978) is read with
    its first digit as 0 when that makes a date, factor 0.4; otherwise the text, 0.2."""
    text = value.translate(_DIGIT_LOOKALIKES) if re.search(r"\d", value) else value
    folded = fold(text)
    m = _DATE_NUMERIC.search(folded) or _DATE_WORDS.search(folded)
    if m:
        d_txt, m_txt, y_txt = m.groups()
        y = int(y_txt)
        exact = True
        try:
            date(y, int(m_txt), int(d_txt))
            d, mth = int(d_txt), int(m_txt)
        except ValueError:
            exact = False
            for d in _repair_part(d_txt, 31):
                for mth in _repair_part(m_txt, 12):
                    try:
                        date(y, mth, d)
                        break
                    except ValueError:
                        continue
                else:
                    continue
                break
            else:
                return clean_spaces(value), 0.2
        factor = 1.0 if 1850 <= y <= today().year else 0.4
        if not exact:
            factor *= 0.4
        if len(d_txt) != 2 or len(m_txt) != 2:
            factor *= 0.9
        # extra characters around the date are noise the reader should see
        rest = (folded[:m.start()] + folded[m.end():]).strip(" .,;:-")
        if rest and not _DATE_WORDS.search(folded):
            factor *= 0.6
        return f"{d:02d}/{mth:02d}/{y:04d}", factor
    year = re.fullmatch(r"\s*(\d{4})\s*", text)
    if year:
        y = int(year.group(1))
        return year.group(1), 1.0 if 1850 <= y <= today().year else 0.4
    return clean_spaces(value), 0.2


def parse_date(value: str) -> date | None:
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", value or "")
    if not m:
        return None
    try:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


def normalize_date_words(value: str) -> tuple[str, float]:
    """Date in words as printed; factor 1.0 when it reads as a real date."""
    value = clean_spaces(value).strip(" .,;:")
    if value and value[0].islower() and fold(value).startswith("ngay"):
        pass  # printed lower case on some forms: keep as printed
    return value, 1.0 if parse_date_words(value) else 0.3


def normalize_time(value: str) -> tuple[str, float]:
    """'21 giờ 30 phút' (hour and minute of death) as printed, words put right."""
    text = value.translate(_DIGIT_LOOKALIKES)
    m = re.search(r"(\d{1,2})\s*g\w{0,2}\s*(\d{1,2})\s*p\w{0,3}", fold(text))
    if not m:
        return clean_spaces(value).strip(" ,;"), 0.2
    h, mi = m.group(1), m.group(2)
    factor = 1.0 if int(h) < 24 and int(mi) < 60 else 0.3
    normalized = f"{h} giờ {mi} phút"
    if clean_spaces(value).strip(" ,;.") != normalized:
        factor *= 0.7
    return normalized, factor


# ------------------------------------------------------------------ numbers

def normalize_id(value: str) -> tuple[str, float]:
    """Số định danh cá nhân: 12 digits, province code one of the 63 GSO codes."""
    raw = re.sub(r"\s", "", value)
    digits = digits_only(value)
    if len(digits) != 12:
        return (digits or clean_spaces(value)), 0.2
    factor = 1.0 if int(digits[:3]) in gazetteer.province_codes() else 0.3
    if raw != digits:
        factor *= 0.5  # letters read as digits
    return digits, factor


def id_consistency(so_dinh_danh: str, sex: str | None, birth_year: int | None) -> float:
    """1.0 when the id's century/sex digit and year digits agree with the record."""
    if len(so_dinh_danh) != 12 or not so_dinh_danh.isdigit():
        return 0.2
    code = int(so_dinh_danh[3])
    factor = 1.0
    if sex in ("Nam", "Nữ"):
        if (code % 2 == 1) != (sex == "Nữ"):
            factor *= 0.3
    if birth_year is not None:
        century = 1900 + 100 * (code // 2)
        if century + int(so_dinh_danh[4:6]) != birth_year:
            factor *= 0.3
    return factor


def normalize_year(value: str) -> tuple[str, float]:
    digits = digits_only(value)
    if len(digits) == 4 and 1850 <= int(digits) <= today().year:
        return digits, 1.0 if re.fullmatch(r"\s*\d{4}\s*", value) else 0.5
    return clean_spaces(value), 0.2


def normalize_number(value: str) -> tuple[str, float]:
    """Registration number as printed, e.g. '123/2024', '15' or '35/TLKS-BS'; digits fixed up."""
    value = clean_spaces(value).strip(" .,:;")
    fixed = value.translate(_DIGIT_LOOKALIKES) if re.fullmatch(r"[\dOoIlSB/ .\-]+", value) else value
    fixed = re.sub(r"\s*([/\-])\s*", r"\1", fixed).replace(" ", "")
    if re.fullmatch(r"\d{1,6}", fixed):
        factor = 1.0
    elif re.fullmatch(r"\d{1,6}/\d{4}", fixed):
        factor = 1.0
    elif re.fullmatch(r"\d{1,6}(/\d{4})?/[A-ZĐ]+(-[A-ZĐ]+)*", fixed):
        factor = 1.0
    else:
        factor = 0.4
    if fixed != value.replace(" ", ""):
        factor *= 0.6
    return fixed, factor


def normalize_book(value: str) -> tuple[str, float]:
    """Quyển số: '03/1959'."""
    fixed, factor = normalize_number(value)
    m = re.fullmatch(r"(\d{1,3})/(\d{4})", fixed)
    if not m:
        return fixed, min(factor, 0.4)
    return fixed, factor if 1850 <= int(m.group(2)) <= today().year else 0.4


# ------------------------------------------------------------------ closed lists

def normalize_sex(value: str) -> tuple[str, float]:
    key = fold(value).strip(" .,;:")
    if key in SEXES:
        return SEXES[key], 1.0 if clean_spaces(value).strip(" .,;:") == SEXES[key] else 0.8
    return clean_spaces(value), 0.2


def normalize_ethnicity(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" .,;:")
    key = fold(value).replace("'", "").replace("’", "").replace(" ", "").replace("-", "")
    if key.startswith("dantoc"):
        key = key[len("dantoc"):]
    if key in _ETHNIC_BY_FOLD:
        name = _ETHNIC_BY_FOLD[key]
        return name, 1.0 if value == name else 0.8
    close = [e for k, e in _ETHNIC_BY_FOLD.items() if len(k) >= 4 and levenshtein(k, key) == 1]
    if len(set(close)) == 1:
        return close[0], 0.4
    return value, 0.2


def normalize_nationality(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" .,;:")
    key = fold(value)
    if key in NATIONALITIES:
        name = NATIONALITIES[key]
        return name, 1.0 if value == name else 0.8
    close = [n for k, n in NATIONALITIES.items() if len(k) >= 5 and levenshtein(k, key) == 1]
    if len(set(close)) == 1:
        return close[0], 0.4
    return value, 0.3


# ------------------------------------------------------------------ names and text

def tone_marks(word: str) -> int:
    return sum(1 for c in unicodedata.normalize("NFD", word) if c in _TONES)


def strip_tones(word: str) -> str:
    """Lower case without the five tone marks, keeping vowel qualities (ă â ê ô ơ ư) and đ."""
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", word.lower())
                                                if c not in _TONES))


def is_syllable(word: str) -> bool:
    """A plausible Vietnamese syllable: onset, vowel nucleus, coda; at most one tone mark."""
    if tone_marks(word) > 1:
        return False
    return bool(_SYLLABLE.match(strip_tones(word)))


def name_factor(value: str) -> float:
    """How much a person's name looks like one: letters only, syllables, consistent case,
    a known surname."""
    words = value.split()
    if not 2 <= len(words) <= 7:
        return 0.5 if len(words) == 1 else 0.4
    if re.search(r"[0-9@#$%^&*_=+<>{}\[\]|\\/§~\"]", value):
        return 0.2
    factor = 1.0
    upper = value == value.upper()
    for w in words:
        core = w.replace("'", "").replace("’", "")
        if not core.isalpha():
            factor *= 0.4
            continue
        if not upper and not (core[0].isupper() and (core[1:] == core[1:].lower())):
            factor *= 0.5  # "KimLoan", "nguyễn"
        if not is_syllable(core) and not is_syllable(w.split("'")[-1]):
            factor *= 0.6
    if words[0].replace("'", "").title() not in SURNAMES and words[0].title() not in SURNAMES:
        factor *= 0.85
    return factor


def normalize_name(value: str) -> tuple[str, float]:
    """Names are letters and spaces; digits or punctuation inside are OCR noise."""
    value = clean_spaces(value.strip(" .,:;-_—"))
    if not value:
        return value, 0.0
    return value, name_factor(value)


def text_factor(value: str) -> float:
    """Free text: penalise OCR debris (stray symbols, glued words, broken syllables)."""
    if len(value) < 2:
        return 0.4
    factor = 1.0
    if re.search(r"[@#$%^&*_=+<>{}\[\]|\\§~\"“”]|[—–]{1}\s*$|\.\.", value):
        factor *= 0.5
    bad = 0
    for w in re.findall(r"[^\W\d_]+", value):
        if w.isupper() and len(w) <= 5:
            continue  # abbreviations: BVĐK, UBND, VT
        if not is_syllable(w):
            bad += 1
    factor *= 0.6 ** bad
    return factor


def normalize_text(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" ;")
    return value, text_factor(value)


def fix_unit_words(value: str) -> tuple[str, bool]:
    """Put right tone slips in the unit words of an address ('huyên' -> 'huyện')."""
    changed = False
    parts = value.split(", ")
    out = []
    for part in parts:
        words = part.split(" ")
        for n in (3, 2, 1):
            if len(words) > n:
                head = " ".join(words[:n])
                canon = gazetteer.UNIT_WORDS.get(fold(head))
                if canon and head != canon and head.lower() != canon and head != canon.capitalize():
                    words = canon.split(" ") + words[n:]
                    changed = True
                if canon:
                    break
        out.append(" ".join(words))
    return ", ".join(out), changed


def normalize_place(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" ;")
    fixed, changed = fix_unit_words(value)
    factor = text_factor(fixed) * gazetteer.check_address(fixed)
    if changed:
        factor *= 0.7
    return fixed, factor


def normalize_relation(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" .,;:")
    known = {fold(r): r for r in ("Vợ", "Chồng", "Con", "Con trai", "Con gái", "Con rể", "Con dâu", "Cháu",
                                  "Cháu nội", "Cháu ngoại", "Anh", "Chị", "Em", "Anh trai", "Em trai", "Chị gái",
                                  "Em gái", "Bố", "Mẹ", "Cha", "Ông", "Bà", "Anh ruột", "Em ruột", "Chị ruột")}
    name = known.get(fold(value))
    if name:
        return name, 1.0 if value == name else 0.5
    return value, text_factor(value) * 0.7
