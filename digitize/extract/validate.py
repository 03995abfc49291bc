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
from functools import lru_cache
from datetime import date

from .. import refdata
from ..text import clean_spaces, fold, levenshtein  # noqa: F401  (levenshtein re-exported)
from . import gazetteer, names
from .numwords import parse_date_words

# OCR slips inside digit strings: letters that look like digits.
_DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "l": "1",
        "I": "1",
        "|": "1",
        "i": "1",
        "Z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "g": "9",
        "q": "9",
        "§": "5",
        "?": "7",
        "ø": "0",
        "Ø": "0",
        "ð": "0",
    }
)

# The 54 ethnic groups by their official names (Danh mục các dân tộc Việt Nam, Quyết định
# 121-TCTK/PPCĐ), and the other names and spellings records use for them ("H'Mông", "Mèo" for
# Mông): digitize/refdata/ethnic_groups.tsv and ethnic_aliases.tsv.
ETHNIC_GROUPS = refdata.ethnic_groups()


def _ethnic_key(text: str) -> str:
    """Tone-, case-, apostrophe-, hyphen- and space-insensitive: "H'Mông", "Hmông" and "HMÔNG" are one."""
    return fold(text).replace("'", "").replace("’", "").replace(" ", "").replace("-", "")


_ETHNIC_BY_FOLD = {_ethnic_key(e): e for e in ETHNIC_GROUPS}
_ETHNIC_BY_FOLD.update({_ethnic_key(alias): name for alias, name in refdata.ethnic_aliases().items()})

SEXES = {"nam": "Nam", "nu": "Nữ"}
# Nationalities as records write them (digitize/refdata/nationalities.tsv; not a closed list).
NATIONALITIES = {fold(n): n for n in refdata.nationalities()}

# Common Vietnamese surnames (and those of the larger minority groups).
SURNAMES = frozenset(names.SURNAMES_BY_RANK)

# Validation factor of a name or place whose spelling was snapped to a known one: the
# snap is usually right, but the reader should be able to see it was made.
SNAPPED = 0.9
# a province one letter from the read name: the right one as a rule, but the letter is
# the recogniser's error, not a mark's, and two recognisers can make it alike ("Gà Mau"
# read by both): a guess a person confirms
RESPELLED_PROVINCE = 0.6
TYPED_ZERO_MISREADS = names.TYPED_ZERO_MISREADS
SNAPPED_IN_HIERARCHY = 0.97  # respelled where the units around it leave one reading
UNIT_NOT_FOUND = 0.85  # a unit the gazetteer does not have inside the unit named after it
SNAPPED_GIVEN = 0.6  # given names are an open set: a snapped one is always reviewed

_DATE_NUMERIC = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_NUCLEI = (
    "uyê uya uyu iêu yêu uôi ươi ươu oai oay oeo uây ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo "
    "ua uâ uê ui uô uơ ưa ưi ưu ươ uy yê a ă â e ê i y o ô ơ u ư"
).split()
_SYLLABLE = re.compile(
    r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(" + "|".join(_NUCLEI) + r")"
    r"(ch|ng|nh|[cmnpt])?$"
)


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value.translate(_DIGIT_LOOKALIKES))


def today() -> date:
    return date.today()


# ------------------------------------------------------------------ dates


def _repair_part(text: str, limit: int) -> list[int]:
    """Readings of a 2-digit day or month: as read, then with a misread leading 0 (9, 6, 8)."""
    value = int(text)
    out = [value] if 1 <= value <= limit else []
    if len(text) == 2 and text[0] in TYPED_ZERO_MISREADS and 1 <= int(text[1]) <= 9:
        out.append(int(text[1]))
    if len(text) == 2 and text[1] in TYPED_ZERO_MISREADS and 1 <= int(text[0]) * 10 <= limit:
        out.append(int(text[0]) * 10)  # "19" for a typed "10"
    return out


def repair_year(text: str) -> int | None:
    """A year out of range read with a typed 0 as 9, 8 or 6 ("2096", "2907"), or a 1 as 4 (a
    leader's dot merged into it: "4977"): the one year that a single such swap makes
    plausible, or None."""
    found = {int(text[:i] + "0" + text[i + 1 :]) for i in range(1, 4) if text[i] in TYPED_ZERO_MISREADS}
    found |= {int(text[:i] + "1" + text[i + 1 :]) for i in range(4) if text[i] == "4"}
    found = {y for y in found if 1850 <= y <= today().year}
    return found.pop() if len(found) == 1 else None


def normalize_date(value: str) -> tuple[str, float]:
    """'5/3/1998', '05-03-1998', 'ngày 05 tháng 03 năm 1998' -> ('05/03/1998', 1.0).
    A lone year gives 'yyyy'. A day or month that cannot be (95/02/1978) is read with
    its first digit as 0 when that makes a date, factor 0.4; otherwise the text, 0.2."""
    value = plain_slashes(value)
    text = value.translate(_DIGIT_LOOKALIKES) if re.search(r"\d", value) else value
    folded = fold(text)
    m = _DATE_NUMERIC.search(folded) or _DATE_WORDS.search(folded)
    if m:
        d_txt, m_txt, y_txt = m.groups()
        y = int(y_txt)
        exact = True
        if not 1850 <= y <= today().year and repair_year(y_txt):
            y = repair_year(y_txt) or y
            exact = False
        try:
            date(y, int(m_txt), int(d_txt))
            d, mth = int(d_txt), int(m_txt)
        except ValueError:
            exact = False
            d, mth = 0, 0
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
        rest = (folded[: m.start()] + folded[m.end() :]).strip(" .,;:-")
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


_NUMBER_WORDS = {
    "khong": "không",
    "mot": "một",
    "hai": "hai",
    "ba": "ba",
    "bon": "bốn",
    "tu": "tư",
    "nam": "năm",
    "lam": "lăm",
    "sau": "sáu",
    "bay": "bảy",
    "tam": "tám",
    "chin": "chín",
    "tram": "trăm",
    "nghin": "nghìn",
    "ngan": "ngàn",
    "linh": "linh",
    "le": "lẻ",
    "ngay": "ngày",
    "thang": "tháng",
}


def restore_date_words(value: str) -> str | None:
    """A date in words with its tone marks put back word by word ('môt' -> 'một'); the
    words of a date are a closed list. None when a word is not one of them."""
    tokens = value.replace(",", " ").replace(".", " ").split()
    out: list[str] = []
    prev = ""
    for i, tok in enumerate(tokens):
        key = fold(tok)
        if key == "muoi":
            word = "mươi" if prev in ("hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin") else "mười"
        elif key == "mot":
            word = "mốt" if prev == "muoi" and out and out[-1] == "mươi" else "một"
        elif key in _NUMBER_WORDS:
            word = _NUMBER_WORDS[key]
        else:
            return None
        if i == 0 and tok[:1].isupper():
            word = word[0].upper() + word[1:]
        out.append(word)
        prev = key
    return " ".join(out)


def normalize_date_words(value: str) -> tuple[str, float]:
    """Date in words as printed; factor 1.0 when it reads as a real date. Tone slips in
    the number words are put right (factor 0.97: the agreement with the date in
    figures then decides)."""
    value = clean_spaces(value).strip(" .,;:")
    # a neighbouring value read before it on the line ("Nữ Ngày bảy tháng …"): it starts at "Ngày"
    start = re.search(r"(?<![^\W\d_])ngay(?![^\W\d_])", _aligned(value).lower())
    if (
        start
        and 0 < start.start()
        and len(value[: start.start()].split()) <= 2
        and parse_date_words(value[start.start() :])
    ):
        value = value[start.start() :]
    if not parse_date_words(value):
        # its first word misread ("Nøày", "qgày" beside a leader's dots): "Ngày" is the only
        # word a date in words opens with
        first, _, rest = value.partition(" ")
        if not (rest and 3 <= len(first) <= 5 and levenshtein(fold(first).lower(), "ngay") <= 2):
            return value, 0.3
        if not parse_date_words("Ngày " + rest):
            return value, 0.3
        value, first_misread = "Ngày " + rest, True
    else:
        first_misread = False
    # it opens a sentence ("Ngày …"): a capital read small (a leader's dot beside the N)
    value = value[:1].upper() + value[1:]
    restored = restore_date_words(value)
    if restored is None:
        return value, 0.5
    return restored, 1.0 if restored == value and not first_misread else 0.97


def normalize_time(value: str) -> tuple[str, float]:
    """'21 giờ 30 phút' (hour and minute of death) as printed, words put right."""
    # letters that look like figures inside the figures ("2ð phút", "1O giờ")
    read = value
    value = re.sub(r"(?<=\d)[OoDQðøØ]|[OoDQðøØ](?=\d)", lambda m: m.group(0).translate(_DIGIT_LOOKALIKES), value)
    m = re.search(r"(\d{1,2})\s*g\w{0,2}\s*(\d{1,2})\s*p\w{0,3}", fold(value))
    if not m:
        return clean_spaces(value).strip(" ,;"), 0.2
    h, mi = m.group(1), m.group(2)
    factor = 1.0 if int(h) < 24 and int(mi) < 60 else 0.3
    if len(h) == 2 and int(h) >= 24 and h[0] in TYPED_ZERO_MISREADS:
        h, factor = "0" + h[1], 0.4  # "95 giờ": a typed 0 read as 9
    if len(mi) == 2 and int(mi) >= 60 and mi[0] in TYPED_ZERO_MISREADS:
        mi, factor = "0" + mi[1], 0.4  # "95 phút" likewise
    normalized = f"{h} giờ {mi} phút"
    if clean_spaces(read).strip(" ,;.") != normalized:
        factor *= 0.7
    return normalized, factor


# ------------------------------------------------------------------ numbers


def normalize_id(value: str) -> tuple[str, float]:
    """Số định danh cá nhân: 12 digits, province code one of the 63 GSO codes."""
    raw = re.sub(r"\s", "", value)
    digits = digits_only(value)
    codes = gazetteer.province_codes()
    if len(digits) == 11 and int(digits[:2]) in codes and digits[2] in "012345":
        # eleven figures whose first two make a province code and whose third a century/sex
        # digit: the leading typed 0 was lost (faint, or glued to a leader's dot). Put back,
        # reviewed; the record's sex and year check the rest.
        return "0" + digits, 0.4
    if len(digits) != 12:
        return (digits or clean_spaces(value)), 0.2
    letters_read = raw != digits
    if int(digits[:3]) in codes:
        factor = 1.0
    elif digits[0] in TYPED_ZERO_MISREADS and int(digits[1:3]) in codes:
        # province codes are 001-096: a first digit other than 0 is a typed zero misread
        digits, factor = "0" + digits[1:], 0.5  # put right, still reviewed
    else:
        factor = 0.3
    if letters_read:
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
    repaired = repair_year(digits) if len(digits) == 4 and re.fullmatch(r"\s*\d{4}\s*", value) else None
    if repaired:
        return str(repaired), 0.4  # a guess: a person confirms it
    return clean_spaces(value), 0.2


def plain_slashes(value: str) -> str:
    """The fraction and division slashes Tesseract reads for a typed "/" ("25⁄04⁄1995"),
    doubled where a speck sat beside it, as the one slash they are."""
    return re.sub(r"\s*/(\s*/)+", "/", value.replace("\u2044", "/").replace("\u2215", "/"))


def normalize_number(value: str) -> tuple[str, float]:
    """Registration number as printed, e.g. '123/2024', '15' or '35/TLKS-BS'; digits fixed up."""
    value = plain_slashes(strip_noise(value))
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
    """Quyển số: '03/1959' (a commune fills a few books a year: a big number is suspect)."""
    fixed, factor = normalize_number(value)
    m = re.fullmatch(r"(\d{1,3})/(\d{4})", fixed)
    if not m:
        return fixed, min(factor, 0.4)
    if len(m.group(1)) == 1:
        # books are numbered in two figures ("02/2000"): a lone figure lost a faint typed 0
        fixed, factor = f"0{fixed}", factor * 0.9
    elif int(m.group(1)) > 30 and len(m.group(1)) == 2 and m.group(1)[0] in TYPED_ZERO_MISREADS:
        fixed, factor = f"0{m.group(1)[1]}/{m.group(2)}", factor * 0.5  # "63/1995": a typed 0 read as 6
    elif int(m.group(1)) > 30:
        factor *= 0.6
    return fixed, factor if 1850 <= int(m.group(2)) <= today().year else 0.4


# ------------------------------------------------------------------ closed lists


def normalize_sex(value: str) -> tuple[str, float]:
    """'Nam' or 'Nữ'. Only two words can be written here, so a reading one letter away
    from one of them and further from the other ("Nan", "[tam") is that one, for review."""
    value = strip_noise(value)
    key = fold(value)
    if key in SEXES:
        return SEXES[key], 1.0 if value == SEXES[key] else 0.8
    near = sorted((levenshtein(key, k), k) for k in SEXES)
    if len(key) >= 2 and near[0][0] == 1 and near[1][0] > 1:
        return SEXES[near[0][1]], 0.5
    return value, 0.2


def normalize_ethnicity(value: str) -> tuple[str, float]:
    value = strip_noise(value)
    key = _ethnic_key(value)
    if key.startswith("dantoc"):
        key = key[len("dantoc") :]
    if key in _ETHNIC_BY_FOLD:
        name = _ETHNIC_BY_FOLD[key]
        return name, 1.0 if value == name else 0.8
    close = [e for k, e in _ETHNIC_BY_FOLD.items() if len(k) >= 4 and levenshtein(k, key) == 1]
    if len(set(close)) == 1:
        return close[0], 0.4
    # one group's name among specks and stray letters ("K „Kinh": the first letter read twice,
    # once glued to the label's colon): that name, as a guess
    words = [w.strip(EDGE_NOISE + "„‚") for w in value.split()]
    named = {_ETHNIC_BY_FOLD[k] for k in map(_ethnic_key, words) if k in _ETHNIC_BY_FOLD}
    if len(named) == 1 and all(len(_letters(w)) <= 1 or _ethnic_key(w) in _ETHNIC_BY_FOLD for w in words):
        return named.pop(), 0.4
    return value, 0.2


def normalize_nationality(value: str) -> tuple[str, float]:
    value = strip_noise(value)
    key = fold(value)
    if key in NATIONALITIES:
        name = NATIONALITIES[key]
        if value == name:
            return name, 1.0
        # marks put right: safe on a long name, a guess on a name of a letter or two, where
        # the marks are most of what was read ("Ÿ", a speck over a Y, is not "Ý")
        return name, 0.8 if len(key) >= 3 else 0.4
    close = [n for k, n in NATIONALITIES.items() if len(k) >= 5 and levenshtein(k, key) == 1]
    if len(set(close)) == 1:
        return close[0], 0.4
    # specks and a letter read as a symbol inside it ("V/i@t Nam", "Việt., Nam"): by letters
    letters = _letters(value)
    close = [n for k, n in NATIONALITIES.items() if len(k) >= 5 and levenshtein(_letters(k), letters) <= 1]
    if len(set(close)) == 1:
        return close[0], 0.4
    # two letters lost or misread in a long name ("V+Êt NA"), where no other name is within
    # four: a guess, as reviewed as a value left as read
    distances = sorted((levenshtein(_letters(k), letters), n) for k, n in NATIONALITIES.items() if len(k) >= 7)
    if len(letters) >= 5 and distances and distances[0][0] <= 2:
        others = [d for d, n in distances if n != distances[0][1]]
        if not others or others[0] >= 4:
            return distances[0][1], 0.3
    return value, 0.3


# ------------------------------------------------------------------ names and text


def tone_marks(word: str) -> int:
    return sum(1 for c in unicodedata.normalize("NFD", word) if c in _TONES)


def strip_tones(word: str) -> str:
    """Lower case without the five tone marks, keeping vowel qualities (ă â ê ô ơ ư) and đ."""
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", word.lower()) if c not in _TONES)
    )


def is_syllable(word: str) -> bool:
    """A plausible Vietnamese syllable: onset, vowel nucleus, coda; at most one tone
    mark; a syllable closed by p, t, c or ch takes only the sắc or nặng tone."""
    marks = [c for c in unicodedata.normalize("NFD", word) if c in _TONES]
    if len(marks) > 1:
        return False
    m = _SYLLABLE.match(strip_tones(word))
    if not m:
        return False
    if m.group(3) in ("p", "t", "c", "ch") and (not marks or marks[0] not in ("\u0301", "\u0323")):
        return False
    return True


# Names' words of one letter: the given name Ý, and the particles before Êđê, Jrai, Ba Na
# and Xơ Đăng names ("Y Moan", "A Sang"). Any other letter alone is no word of a name.
_ONE_LETTER_NAME_WORDS = frozenset("YÝA")


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
        elif len(core) == 1 and core.upper() not in _ONE_LETTER_NAME_WORDS:
            factor *= 0.6  # a stroke of a neighbouring letter read on its own ("ĐỖ Ì THANH")
    if len(words) >= 5 and any(w.title() in SURNAMES and w.title() not in ("Văn", "Thị") for w in words[3:]):
        factor *= 0.5  # two names run together: "Hồ Đình Trường Nguyễn Minh Hiếu" (a lost row rule)
    if words[0].replace("'", "").title() not in SURNAMES and words[0].title() not in SURNAMES:
        # a name starts with its surname: without a known one, the surname was likely lost to
        # the next cell or misread ("Xuân Hải" for Lê Xuân Hải); rarer surnames are worth a look
        factor *= 0.6
    return factor


# Marks a name, a number or a place never starts or ends with: ruling remnants ("|84"),
# speckle read as quotes or dots ("“Kinh", "Nhung.").
EDGE_NOISE = " .,:;-_—|\\!¡'\"“”‘’`°*~^ˆ˜´¨‹›«»"
_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def strip_noise(value: str) -> str:
    """The value without edge noise; a bracket is noise at an edge where it is not closed
    ("(Nguyễn", "[Lê": a cell border) but kept where it is ("Bệnh viện (cơ sở 2)")."""
    value = clean_spaces(value)
    while True:
        stripped = value.strip(EDGE_NOISE)
        if stripped[:1] in _BRACKETS and _BRACKETS[stripped[0]] not in stripped:
            stripped = stripped[1:]
        if stripped[-1:] in _BRACKETS.values() and not any(
            o in stripped for o, c in _BRACKETS.items() if c == stripped[-1]
        ):
            stripped = stripped[:-1]
        if stripped == value:
            return clean_spaces(value)
        value = stripped


# Letters whose capital is the small letter drawn larger: in a name written in upper and
# lower case, "văn" is "Văn" misread.
_SAME_SHAPE_CAPITALS = set("cosvwxz")


def capitalise_name(value: str) -> tuple[str, bool]:
    """Each word of a name capitalised, as names are written; also whether a word was
    lower case other than by a same-shape letter (then the reading is doubtful)."""
    if value == value.upper():
        return value, False
    parts = value.split(" ")
    if len(parts) >= 3 and sum(w == w.upper() for w in parts) == len(parts) - 1:
        # one word of a name written in capitals came out in small letters ("Hồ QUỐC LAN"):
        # the capitals of a letter with marks are small shapes to the recogniser
        return value.upper(), True
    doubtful = False
    words = []
    for w in value.split(" "):
        if w[:1].islower():
            doubtful = doubtful or fold(w[0]) not in _SAME_SHAPE_CAPITALS
            w = w[0].upper() + w[1:]
        words.append(w)
    return " ".join(words), doubtful


def _same_case_as_most(value: str) -> tuple[str, bool]:
    """A name typed in capitals with words read in mixed case ("vŨ qUốc YẾN", "võ wĂN HẢI":
    a small letter's glyph is the capital's, smaller): those words in capitals too; and
    whether that was a guess. Where most words came out small and one in capitals ("Võ
    Ngọc PHÚC": a value typed off its line, whose letters' height the recogniser then
    misjudges) the name was in capitals as well, as a rule (a name is written in capitals
    or in title case, not both), but which is not for the reading to settle."""
    words = value.split(" ")
    capitals = [w for w in words if _in_capitals(w)]
    if len(words) < 2 or not capitals:
        return value, False
    if len(capitals) < max(2, len(words) - 1) and all(_h_prefixed(w) for w in capitals):
        return value, False  # "Mlô HMai": an Êđê woman's H' with its apostrophe lost, title case
    return " ".join(w.upper() for w in words), len(capitals) < max(2, len(words) - 1)


def _h_prefixed(word: str) -> bool:
    """An Êđê or Jrai woman's name in title case after its H' ("HMai", "H'Mai")."""
    rest = word[1:].lstrip("'’")
    return word[:1] == "H" and len(rest) >= 2 and rest[0].isupper() and rest[1:].islower()


def _in_capitals(word: str) -> bool:
    """A word typed in capitals, also where its first letter came out small ("vŨ", "qUốc")."""
    parts = [[c for c in part if c.isalpha()] for part in re.split(r"['’]", word)]  # "H'Mai" is mixed case
    if sum(len(p) for p in parts) < 2:
        return False  # "Ê", a word of one letter, is a capital in any name
    return word == word.upper() or any(c.isupper() for p in parts for c in p[1:])


def normalize_name(value: str) -> tuple[str, float]:
    """Names are letters and spaces; digits or punctuation inside are OCR noise. A
    syllable one mark away from a known name syllable is taken to be it."""
    value = strip_noise(value)
    if not value:
        return value, 0.0
    # Stops, commas and quotes at a word's edge inside a name are specks (a leader's dot
    # left between the typed words: "HOÀNG. THANH. HƯƠNG"); the apostrophe of "H'Mai" is
    # inside its word and stays. A question mark is a speck the recogniser could not read
    # ("? VŨ CÔNG SƠN"): no name has one.
    inner = " ".join(w for w in (t.strip(EDGE_NOISE + "?¿") for t in value.split()) if any(c.isalpha() for c in w))
    specks = inner != value
    value = inner
    spaced = split_glued(value)  # "NguyễnMinhTuấn"
    glued = spaced != value
    harmonised, case_guessed = _same_case_as_most(spaced)
    joined = join_broken(harmonised)  # "PH AM HỮU HÒA"
    broken = joined != harmonised
    value, doubtful = capitalise_name(joined)
    doubtful = doubtful or case_guessed or broken
    # Êđê and Jrai women's names "H'Mai", "H'Hen": the apostrophe is faint and often lost
    if value != value.upper():
        value = re.sub(
            r"(?<!\S)H ?(?=([^\W\d_])([^\W\d_]))",
            lambda m: "H'" if m.group(1).isupper() and m.group(2).islower() else m.group(0),
            value,
        )
    snapped, changed = names.snap_name(value)
    factor = name_factor(snapped) * {"": 1.0, "surname": SNAPPED, "given": SNAPPED_GIVEN}[changed]
    return snapped, factor * (0.5 if doubtful else 1.0) * (0.9 if glued or harmonised != spaced else 1.0) * (
        0.7 if specks else 1.0
    )


_ROMAN = re.compile(r"(X{0,3})(IX|IV|V?I{0,3})")  # I to XXXIX: quarters, terms, parts, congresses
_ROMAN_LOOKALIKE = re.compile(r"[IVXHl]*[HlI][IVXHl]*")  # with the glyphs a serifed I is read as


def text_factor(value: str) -> float:
    """Free text: penalise OCR debris (stray symbols, glued words, broken syllables)."""
    if len(value) < 2:
        return 0.4
    factor = 1.0
    if re.search(r"[@#$%^&*_=+<>{}\[\]|\\§~\"“”]|[—–]{1}\s*$|\.\.", value):
        factor *= 0.5
    if value.count("(") != value.count(")"):
        factor *= 0.5  # a bracket never closed or opened: a misread comma or a speck
    bad = 0
    for w in re.findall(r"[^\W\d_]+", value):
        if len(w) >= 2 and _ROMAN_LOOKALIKE.fullmatch(w) and not _ROMAN.fullmatch(w):
            bad += 1  # a Roman numeral misread ("quý HI" for quý III: serifs joined into an H)
            continue
        if w.isupper() and len(w) <= 5:
            continue  # abbreviations: BVĐK, UBND, VT
        if not is_syllable(w):
            bad += 1
    factor *= 0.6**bad
    return factor


def normalize_text(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" ;")
    return value, text_factor(value)


# Causes of death as registrars write them most often (general knowledge, not a closed list:
# anything else is kept as read; digitize/refdata/causes_of_death.tsv).
CAUSES_OF_DEATH = refdata.causes_of_death()
_CAUSES = {clean_spaces(fold(c)): c for c in CAUSES_OF_DEATH}


def normalize_cause(value: str) -> tuple[str, float]:
    """A cause of death; one of the common ones read with a mark slipped ("Đột quy",
    "Ủng thư gan") is put right."""
    value, factor = normalize_text(value)
    known = _CAUSES.get(clean_spaces(fold(value.strip(" ."))))
    if known and known != value:
        return known, factor * SNAPPED
    return value, factor


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


_PHRASES = {
    fold(p): p
    for p in (
        "Bệnh viện",
        "Trạm y tế",
        "Trung tâm Y tế",
        "Ủy ban nhân dân",
        "Đa khoa",
        "Phụ sản",
        "Sản Nhi",
        "Trung ương",
        "Hữu nghị",
    )
}
_PHRASE_RE = re.compile(
    r"(?<![^\W\d_])(" + "|".join(sorted((re.escape(k) for k in _PHRASES), key=len, reverse=True)) + r")(?![^\W\d_])"
)
_OPENING_PHRASES = {fold(p): p for p in ("Bệnh viện", "Trạm y tế", "Trung tâm Y tế", "Nhà hộ sinh")}
_UNIT_INSIDE = re.compile(r"(?<=[^\W\d_]) (tinh|thanh pho|huyen|quan|thi xa|phuong|xa|thi tran) (?=\w)")


def fix_phrases(value: str) -> tuple[str, bool]:
    """Put right tone slips in the stock phrases of place names ('Bệnh viên' -> 'Bệnh viện'),
    and 'tính Quảng Nam' -> 'tỉnh Quảng Nam' before a known province."""
    folded = fold(value)
    out = value
    for m in _PHRASE_RE.finditer(folded):
        canon = _PHRASES[m.group(1)]
        if value[m.start() : m.end()] not in (canon, canon.lower()):
            out = out[: m.start()] + canon + out[m.end() :]
    # a place that opens with a stock phrase read with one letter wrong ("Trọn y tế", "Trạ\" y tế")
    for key, canon in _OPENING_PHRASES.items():
        read = folded[: len(key)]
        first_read, first_key = read.split(" ")[0], key.split(" ")[0]
        if (
            read != key
            and len(out) > len(key)
            and out[len(key)] == " "
            and levenshtein(first_read, first_key) <= (2 if len(first_key) >= 4 else 1)
            and read.split(" ")[1:] == key.split(" ")[1:]
        ):
            out = canon + out[len(key) :]
            break
    for m in re.finditer(r"(?<![a-z])tinh ([^,]+)$|(?<![a-z])tinh ([^,]+),", folded):
        name = value[m.start() + 5 : m.end()].rstrip(",")
        if value[m.start() : m.start() + 4] != "tỉnh" and gazetteer.province_name(name):
            out = out[: m.start()] + "tỉnh" + out[m.start() + 4 :]
    return out, out != value


def _aligned(text: str) -> str:
    from .labels import fold_aligned

    return fold_aligned(text)


def fix_commas(value: str) -> tuple[str, bool]:
    """'quận Lê Chân thành phố Hải Phòng' -> 'quận Lê Chân, thành phố Hải Phòng': a unit word
    inside an address part that itself starts with a unit word begins a new part."""
    parts = value.split(", ")
    out = []
    changed = False
    for part in parts:
        while True:
            folded = _aligned(part)
            # the part's leading unit word, perhaps after the body it names ("Ủy ban nhân dân xã")
            body = len("uy ban nhan dan ") if folded.lower().startswith("uy ban nhan dan ") else 0
            unit = max((len(u) for u in gazetteer.UNIT_WORDS if folded[body:].startswith(u + " ")), default=0)
            lead = body + unit if unit else 0
            # look for a second unit after the leading one ("thị xã Sa Pa" is one unit)
            m = _UNIT_INSIDE.search(folded, lead) if lead else None
            if not m or not (part[m.end()].isupper() or part[m.end()].isdigit()) or m.start() <= lead:
                break  # (nothing between the two unit words: "xã Tịnh Đông" is one unit named Tịnh Đông)
            out.append(part[: m.start()])
            part = part[m.start() + 1 :]
            changed = True
        out.append(part)
    return ", ".join(out), changed


def split_glued(value: str) -> str:
    """'VũNinh' -> 'Vũ Ninh': two capitalised syllables read without the space between."""
    words = []
    for word in value.split(" "):
        cuts = [i for i in range(1, len(word)) if word[i].isupper() and word[i - 1].islower()]
        pieces = [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)])]
        if cuts and word[0].isupper() and all(is_syllable(p) for p in pieces):
            word = " ".join(pieces)  # "NguyễnMinhTuấn" -> "Nguyễn Minh Tuấn"
        words.append(word)
    return " ".join(words)


def join_broken(value: str) -> str:
    """'PH AM' -> 'PHAM': a name word the recogniser broke in two at a gap (a worn letter, a
    leader's dot between them), joined where a piece is no syllable and the two together are
    a known name syllable by their letters (`names.snap_name` then gives it its marks)."""
    words = value.split(" ")
    out: list[str] = []
    for word in words:
        if out and _one_case(out[-1], word) and not (is_syllable(out[-1]) and is_syllable(word)):
            joined = out[-1] + word
            if names.is_name_syllable(joined):
                out[-1] = joined
                continue
        out.append(word)
    return " ".join(out)


def _one_case(first: str, second: str) -> bool:
    """Both in capitals, or the first capitalised and the second in small letters."""
    letters = first + second
    return letters.isalpha() and (letters.isupper() or (first[:1].isupper() and second.islower()))


def tidy_separators(value: str) -> str:
    """'Diễn Kỷ,huyện' -> 'Diễn Kỷ, huyện'; 'thị, xã' and 'huyện. Duy' -> no mark after a unit word;
    'VũNinh' -> 'Vũ Ninh'; 'thành. phố' -> 'thành phố'."""
    value = split_glued(value)
    # a stop after a small letter is a speck: no sentence ends inside an address ("thành. phố",
    # "Long. Xuyên", "Duy.Xuyên", "phường.Lê"; but "TP.Huế", "TP. Huế" are abbreviations)
    value = re.sub(r"(?<=[a-zà-ỹđ])\. ?(?=[^\W\d_])", " ", value)
    value = re.sub(r"(?<!\S)[.,](?=[^\W\d_])", "", value)  # ".Lâm Đồng": no word starts with a stop
    value = re.sub(r",(?=[^\W\d_])", ", ", value)
    value = re.sub(r",\s*\.|\.\s*,", ",", value)  # "Nạm Phước,. huyện"
    value = re.sub(
        r"(?<![^\W\d_])(thị|xã|huyện|quận|tỉnh|phường|thành phố|thị trấn)[.,](?= [^\W\d_])",
        r"\1",
        value,
        flags=re.IGNORECASE,
    )
    return value


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", fold(text).lower())


# The unit words a province's name follows, by their letters ("thanh pho": the five cities
# under the centre, and Huế from 2025).
_PROVINCE_UNITS = {"tinh": "tỉnh", "thanhpho": "thành phố"}


def _province_at_end(words: list[str]) -> tuple[int, str] | None:
    """(how many of the last words, the province's printed name) where the words end in a
    province's name: exactly, or with a letter or two misread where one province alone is
    that near ("Quảng Nóấi", "Lâm hồng", "Bà nh Định")."""
    provinces = _province_letters()
    for n in (3, 2, 1):  # the name exactly (letters only: "Că Má U" is Cà Mau split by specks)
        if len(words) >= n and _letters(" ".join(words[-n:])) in provinces:
            return n, provinces[_letters(" ".join(words[-n:]))]
    best: tuple[int, int, str] | None = None
    for n in (1, 2, 3):
        letters = _letters(" ".join(words[-n:])) if len(words) >= n else ""
        if len(letters) < 5:
            continue
        near = sorted((levenshtein(letters, k), k) for k in provinces)
        limit = 1 if len(letters) < 9 else 2
        # one province nearer than any other ("Quảng Ngã": Quảng Ngãi 1, Quảng Nam 2)
        if near[0][0] <= limit and near[1][0] > near[0][0] and (best is None or near[0][0] < best[0]):
            best = (near[0][0], n, provinces[near[0][1]])
    return (best[1], best[2]) if best else None


@lru_cache(maxsize=1)
def _province_letters() -> dict[str, str]:
    return {_letters(p): p for p in gazetteer.province_names()}


def restore_province(value: str) -> tuple[str, bool]:
    """An address's last part put back together where a leader's dots and specks broke it:
    "+ inh- Thái: - Bình", "t i nh- Quảng: Ngãi", "tiỉnh Cà Mau" -> "tỉnh Thái Bình", ...

    The part must end in a province's name (the hierarchy's top, which has one spelling)
    and the letters just before it must be a province's unit word with a letter or two
    misread; what stands before those (a body: "Ủy ban nhân dân", "Bệnh viện Đa khoa") is
    kept. Marks inside the part other than the words' letters are specks: nothing else in
    a province's part is punctuation."""
    head, sep, last = value.rpartition(",")
    part = _rebuilt_province_part(last)
    if part is None and sep:
        # a comma inside a broken unit word or inside the province's name is a speck too
        # ("ti, nh Quảng Ngãi", "tỉnh Thái, Bình"): joined, the part ends in a province
        before, comma, piece = head.rpartition(",")
        part = _rebuilt_province_part(piece + " " + last)
        if part is not None:
            head, sep = before, comma
    if part is None:
        return value, False
    if sep:
        # a comma inside the body's name is a speck too ("Ủy, ban nhân dân tỉnh Cà Mau"): the
        # piece before it is the start of the body the part was rebuilt with
        before, comma, piece = head.rpartition(",")
        letters = _letters(piece)
        if letters and any(part.startswith(b) and _letters(b).startswith(letters) for b in _BODIES.values()):
            head, sep = before, comma
    rebuilt = head + sep + (" " if sep else "") + part
    return rebuilt, rebuilt != value


def _rebuilt_province_part(part: str) -> str | None:
    """The part as body + unit word + province, or None where it does not end so."""
    words = re.sub(r"[^\w\s]|_", " ", part).split()
    found = _province_at_end(words)
    if not found:
        return None
    n, province = found
    before = words[:-n]
    # the unit word, maybe broken into pieces ("t i nh"): the nearest reading of the last
    # one to three pieces, the longer on a tie
    readings = []
    for k in (1, 2, 3):
        if len(before) >= k:
            letters = _letters("".join(before[-k:]))
            unit = min(_PROVINCE_UNITS, key=lambda u: levenshtein(letters, u))
            distance = levenshtein(letters, unit)
            if letters and distance <= (1 if len(letters) <= 2 else 2) and distance < len(unit) - 1:
                readings.append((distance, -k, unit))
    if not readings and len(before) == 1 and re.match(r"\s*[^\w\s]", part):
        # the unit word's start read as marks and only its end as letters ("‡nh- Cà Mau",
        # "¿.‡nh- hái Bình": the t and the ỉ under a leader's dots): the end of a unit word
        letters = _letters(before[0])
        ends = [u for u in _PROVINCE_UNITS if len(letters) >= 2 and u.endswith(letters)]
        if len(ends) == 1:
            readings.append((len(ends[0]) - len(letters), -1, ends[0]))
    if not readings:
        return None
    _, k, unit = min(readings)
    tail = _PROVINCE_UNITS[unit] + " " + province
    body = _near_body(" ".join(before[:k]))
    read = part.strip()
    if read == tail or read.endswith(" " + tail):  # the province read right
        printed = read[: -len(tail)].strip()
        # a known body misread ("Ủy han nhân dân") is put right; any other is left as read
        return body + " " + tail if body and printed != body else read
    return " ".join(x for x in (body or " ".join(before[:k]), tail) if x)


# Bodies named before a province's unit word in a place of registration or birth.
_BODIES = {_letters(b): b for b in ("Ủy ban nhân dân", "Bệnh viện Đa khoa", "Bệnh viện Sản Nhi", "Sở Tư pháp")}


def _near_body(body: str) -> str:
    """The body's printed name where its letters are within a quarter of a known one's
    ("jv pan nhân dân" -> "Ủy ban nhân dân"); "" where none is."""
    letters = _letters(body)
    if len(letters) < 8:
        return ""
    near = sorted((levenshtein(letters, k), k) for k in _BODIES)
    return _BODIES[near[0][1]] if near[0][0] <= len(near[0][1]) // 4 else ""


def normalize_place(value: str) -> tuple[str, float]:
    value = tidy_separators(strip_noise(value))
    read = value
    value, restored = restore_province(value)
    fixed, changed = fix_unit_words(value)
    fixed, changed2 = fix_phrases(fixed)
    fixed, changed3 = fix_commas(fixed)
    hierarchy = names.read_place(fixed)
    respelled = hierarchy.respelled_province
    if restored:
        # the province's own letters changed, not only its marks and specks ("Gà Mau")
        province = _province_at_end(re.sub(r"[^\w\s]|_", " ", value).split())
        respelled = respelled or (province is not None and _letters(province[1]) not in _letters(read))
    fixed, changed4 = names.snap_place(fixed, hierarchy)
    factor = text_factor(fixed) * gazetteer.check_address(fixed)
    # read again only where snapping changed it (a respelled province makes a change)
    reading = names.read_place(fixed) if changed4 else hierarchy
    # a province put right by a letter ("tỉnh Gà Mau") is found now, but only as respelled
    verified = reading.units > 0 and reading.verified == reading.units and not respelled
    if reading.verified < reading.units:
        factor *= UNIT_NOT_FOUND  # "Phường 19" in a district that has none: a misread digit or letter
    if changed or changed2 or changed3 or restored:
        factor *= 0.7
    if changed4:
        factor *= SNAPPED_IN_HIERARCHY if verified else SNAPPED
    if respelled:
        factor *= RESPELLED_PROVINCE
    if not respelled:
        fixed, named = _facility_place(fixed)
        # several units spelled with these letters: which one is for a person to say (a
        # factor at base.FAILED_CHECK or below sends the value to review)
        factor *= {"": 1.0, "spelled": SNAPPED, "doubt": 0.6}[named]
    return fixed, factor


# Facilities named after the commune or district they serve; a hospital may bear a person's or
# any other name ("Bệnh viện Từ Dũ", not the commune Tử Du).
_NAMED_AFTER_PLACES = ("tram y te", "nha ho sinh", "trung tam y te")


def _facility_place(value: str) -> tuple[str, str]:
    """A facility named after its place ("Nhà hộ sinh Phổ Minh", "Trạm y tế Bình Châu"): the
    place's name checked against the units' names. Where its letters are a unit's and its
    marks or case are not, it is put right ("spelled") if one unit is spelled so, and doubted
    ("doubt") if several are; "" where nothing was checked or it is right."""
    words = value.split(" ")
    if not fold(value).lower().startswith(_NAMED_AFTER_PLACES):
        return value, ""
    for size in (3, 2):
        if len(words) <= size + 1:
            continue
        tail = " ".join(words[-size:])
        known = gazetteer.spellings(tail)
        if tail in known:
            return value, ""
        if not known:
            continue
        if len(known) > 1:
            return value, "doubt"
        return " ".join(words[:-size] + [next(iter(known))]), "spelled"
    return value, ""


def normalize_relation(value: str) -> tuple[str, float]:
    value = clean_spaces(value).strip(" .,;:")
    known = {
        fold(r): r
        for r in (
            "Vợ",
            "Chồng",
            "Con",
            "Con trai",
            "Con gái",
            "Con rể",
            "Con dâu",
            "Cháu",
            "Cháu nội",
            "Cháu ngoại",
            "Anh",
            "Chị",
            "Em",
            "Anh trai",
            "Em trai",
            "Chị gái",
            "Em gái",
            "Bố",
            "Mẹ",
            "Cha",
            "Ông",
            "Bà",
            "Anh ruột",
            "Em ruột",
            "Chị ruột",
        )
    }
    name = known.get(fold(value))
    if name:
        return name, 1.0 if value == name else 0.5
    return value, text_factor(value) * 0.7
