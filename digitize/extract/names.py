"""Snapping OCR slips in people's and places' names to names that exist.

Tesseract's typical errors on names are tone and vowel marks: "Hằng" read as
"Hãng", "Lê" as "Lễ", "Trần" as "Trấn", "Nguyễn" as "NGUYÊN" on a faded line.
Each of those readings is itself a valid Vietnamese syllable, so syllable
validity cannot catch them; what can is that names are drawn from a small,
well-known stock. A name syllable that is not in the stock but has the same
letters (tone and vowel marks aside) as one that is, is taken to be that one.

The lexicons are general knowledge of Vietnamese naming (the common surnames,
middle names and given names, most common first; kept with their sources in
`digitize.refdata`), not the sample generator's lists; places come from the
gazetteer (provinces and communes/wards, both periods). A snapped field carries
a lower validation factor, so a reader sees it when the threshold asks for it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from .. import diskcache, refdata
from ..text import TONE_PLACEMENT, fold, levenshtein, nfc, tone_variant
from . import gazetteer

# Surnames, most common first, and middle and given name syllables, roughly most common
# first: the lists and their sources are in digitize/refdata (surnames.tsv, given_names.tsv).
SURNAMES_BY_RANK = refdata.surnames()
GIVEN_BY_RANK = refdata.given_names()

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def _key(word: str) -> str:
    return fold(word).lower().replace("’", "'")


@lru_cache(maxsize=1)
def _name_stock() -> tuple[dict[str, list[str]], dict[str, list[str]], frozenset[str]]:
    """(folded -> surnames by rank, folded -> given syllables by rank, every known syllable)."""
    surnames: dict[str, list[str]] = {}
    given: dict[str, list[str]] = {}
    for table, stock in ((surnames, SURNAMES_BY_RANK), (given, GIVEN_BY_RANK)):
        for name in stock:
            name = nfc(name)
            table.setdefault(_key(name), [])
            if name not in table[_key(name)]:
                table[_key(name)].append(name)
    known = frozenset(n for names in list(surnames.values()) + list(given.values()) for n in names)
    return surnames, given, known


def is_name_syllable(word: str) -> bool:
    """Whether `word`, by its letters (marks aside), is a known surname or given-name syllable."""
    surnames, given, _ = _name_stock()
    return _key(word) in surnames or _key(word) in given


def _same_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].islower():
        return word.lower()
    return word


def snap_name(value: str) -> tuple[str, str]:
    """A person's name with each syllable that is not a known name syllable replaced by
    the known one with the same letters (the first word against surnames first). Digits
    that stand for letters in a name ("0anh") are read as those letters.

    Also says what was changed: "" (nothing), "surname" or "given". Surnames are a
    nearly closed set; given names are not ("Mỷ", "Liều" are names outside any stock),
    so a snapped given name is a guess the reader must confirm."""
    surnames, given, known = _name_stock()
    words = value.split(" ")
    out = []
    changed = ""
    for i, word in enumerate(words):
        fixed = re.sub(r"(?<![\d])0(?=[^\W\d_])", "O", word) if not word.isdigit() else word
        title = fixed[:1].upper() + fixed[1:].lower()
        lead = i == 0 and len(words) >= 2
        if not fixed[:1].isupper() or len(fixed) < 2:
            # names are written capitalised; a one-letter word ("Y" of Êđê names) carries no evidence
            candidates = []
        elif lead and _WORD.fullmatch(fixed) and title not in surnames.get(_key(fixed), [title]):
            # a name starts with a surname: "NGUYÊN THU HOA" is Nguyễn, not the given name Nguyên
            candidates = surnames[_key(fixed)]
        elif _WORD.fullmatch(fixed) and title not in known and tone_variant(title) not in known:
            # after the surname come middle and given names only (minority names such as
            # "Mùa Mí Chứ" are not in the stock: they must not turn into surnames)
            table = surnames if i == 0 else given
            candidates = table.get(_key(fixed), [])
        else:
            candidates = []
        if not candidates and fixed[:1].isupper() and len(fixed) >= 2:
            table = surnames if lead else given
            if not _is_syllable(fixed):
                # a letter drawn like another: no syllable at all ("MAT", "WĂN", "PẶNG")
                candidates = _lookalike_names(fixed, table)
            elif fixed.isupper() and _title(fixed) not in known:
                # in capitals a syllable no one in the stock is named, that one lookalike letter
                # makes a name spelled exactly, marks and all ("XẾN": YẾN); minority names
                # outside the stock ("LỬ", "PẤNG") have no such twin and stay
                candidates = _lookalike_names(fixed, table, spelled_exactly=True)
        if i == 1 and len(words) >= 3 and _key(fixed) == "thi" and fixed.lower() != "thị":
            # the middle name Thị with its dot lost: "Thi" is a given name, hardly a middle one
            candidates = ["Thị"]
        elif i == 1 and len(words) >= 3 and not candidates and _middle_misread(fixed):
            # no syllable, a letter from Thị or Văn, by far the commonest middle names
            # ("THTI": the dot below read as a T; "TH": the I lost to a leader's dot)
            candidates = [_middle_misread(fixed)]
        if candidates:
            fixed = _same_case(fixed, candidates[0])
        if fixed != word:
            changed = "given" if i > 0 or changed == "given" else "surname"
        out.append(fixed)
    return " ".join(out), changed


# Capitals a typewriter's or a worn print's glyph is read as, each way: a stem with serifs
# (I, T, 1, L), a V doubled (W), a bar lost or gained (Đ, P, D; O, Q, D, Đ), a bowl split
# (B, Đ), a tail (C, G).
_LOOKALIKES: dict[str, str] = {}
for _group in ("IT1L", "VW", "XY", "ĐPD", "BĐ", "OQ0DĐ", "CG"):
    for _c in _group:
        _LOOKALIKES[_c] = _LOOKALIKES.get(_c, "") + _group.replace(_c, "")


def _middle_misread(word: str) -> str:
    """ "Thị" or "Văn" where `word` is no syllable and one letter from one of them."""
    if _is_syllable(word) or not word.isalpha():
        return ""
    near = [m for m in ("Thị", "Văn") if levenshtein(_key(word), _key(m)) == 1]
    return near[0] if len(near) == 1 else ""


def _title(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


def _is_syllable(word: str) -> bool:
    from .validate import is_syllable

    return is_syllable(word)


def _lookalike_names(word: str, table: dict[str, list[str]], spelled_exactly: bool = False) -> list[str]:
    """The one known name (of `table`) that `word` becomes with one letter read as its
    lookalike, or a first letter that is the second's lookalike dropped ("PĐẶNG"); [] where
    none or several do. Only for words that are no syllable: "Êban" (an Êđê name) is kept."""
    upper = word.upper()
    # one glyph read twice, as itself and as its lookalike ("PĐẶNG")
    base0 = unicodedata.normalize("NFD", upper[1:2])[:1]
    variants = {upper[1:]} if len(upper) > 3 and base0 and upper[0] in _LOOKALIKES.get(base0, "") else set()
    for i, c in enumerate(upper):
        base = unicodedata.normalize("NFD", c)
        letter, marks = base[0], base[1:]
        for other in _LOOKALIKES.get(letter, ""):
            variants.add(upper[:i] + unicodedata.normalize("NFC", other + marks) + upper[i + 1 :])
    # by letters: the misread letter took its marks with it ("THỊ" read "THT"), so a name
    # spelled exactly wins, else the most common one with those letters
    keys = {_key(v) for v in variants if _key(v) in table}
    if len(keys) != 1:
        return []
    names = table[keys.pop()]
    exact = [n for n in names if n.upper() in variants]
    if spelled_exactly:
        return exact[:1]
    return [exact[0] if exact else names[0]]


@lru_cache(maxsize=1)
def _place_stock() -> dict[str, list[str]]:
    """folded place name -> names as printed (provinces, districts and communes/wards, both periods).
    Built once from the gazetteer, then read from the disk cache."""
    key = diskcache.fingerprint(Path(__file__), gazetteer._data_key())
    return diskcache.cached("place-stock", key, _build_place_stock)


def _build_place_stock() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in list(gazetteer.province_names()) + list(gazetteer.ward_names()) + list(gazetteer.unit_names()):
        key = _key(name)
        if name not in out.setdefault(key, []):
            out[key].append(name)
    return out


def _marks_distance(a: str, b: str) -> int:
    """Edit distance over decomposed letters: a tone or vowel mark apart counts one."""
    return levenshtein(unicodedata.normalize("NFD", a.lower()), unicodedata.normalize("NFD", b.lower()))


def _snap_place_name(name: str) -> str:
    stock = _place_stock()
    candidates = stock.get(_key(name))
    if not candidates or name in candidates or _tone_variant_words(name) in candidates:
        return name
    # Only a name with a syllable no place name has is a misreading for sure: "Ân Nghĩa"
    # (a commune before 2025, absent from the current list) must not become "An Nghĩa".
    syllables = gazetteer.place_syllables()
    if all(w.lower() in syllables or tone_variant(w).lower() in syllables for w in name.split(" ")):
        return name
    ranked = sorted(candidates, key=lambda c: _marks_distance(c, name))
    if len(ranked) > 1 and _marks_distance(ranked[0], name) == _marks_distance(ranked[1], name):
        return name  # two real places equally near: not ours to choose
    return ranked[0]


def _tone_variant_words(name: str) -> str:
    return " ".join(tone_variant(w) for w in name.split(" "))


_UNIT = re.compile(r"^((?:tinh|thanh pho|huyen|quan|thi xa|thi tran|phuong|xa|dac khu|tp\.?)\s+)(.+)$")
# a unit inside a longer part: "Trạm y tế xã Tịnh Đông", "Bệnh viện Đa khoa tỉnh Bình Định"
_UNIT_WITHIN = re.compile(r"(?:^|(?<= ))(" + gazetteer.UNIT_WORD_PATTERN + r") (?=\S)")
_TAIL_WORDS = (3, 2)
TYPED_ZERO_MISREADS = "689"  # what a typewriter's 0 is read as
# what Tesseract's `vie` reads a typed figure as where a leader's dot touches it
DOT_MISREADS = {"0": TYPED_ZERO_MISREADS, "1": "4"}


def misread_as(read: str, printed: str, misreads: dict[str, str]) -> bool:
    """Whether `read` is `printed` with some figures read as their `misreads` and no other change."""
    return (
        len(read) == len(printed)
        and read != printed
        and all(a == b or a in misreads.get(b, "") for a, b in zip(read, printed))
    )


def zeros_misread(read: str, printed: str) -> bool:
    """Whether `read` is `printed` with typed zeros read as 9, 8 or 6 ("2993" for 2003)."""
    return misread_as(read, printed, {"0": TYPED_ZERO_MISREADS})


_LETTER_LOOKALIKES = str.maketrans({"1": "i", "0": "o"})


def _near_key(key: str, keys, limit: int = 1) -> str | None:
    """`key` if known, else the one known key `limit` letters from it, if only one is."""
    if key in keys:
        return key
    near = [k for k in keys if abs(len(k) - len(key)) <= limit and levenshtein(k, key) <= limit]
    return near[0] if len(near) == 1 else None


@dataclass(frozen=True)
class PlaceReading:
    """An address as read against the gazetteer: its value with unit names respelled
    where the hierarchy leaves one reading, how many units it names, and how many of
    those were found, each inside the unit named after it."""

    value: str
    changed: bool
    units: int
    verified: int
    respelled_province: bool = False  # a province's name put right by a letter, not by its marks


def _split_unit(part: str) -> tuple[str, str, tuple[int, ...]] | None:
    """(text before the unit's name, the name, the levels it can be) of an address
    part; None for a part that names no unit ("số 74 đường Quang Trung", "thôn Hạ")."""
    from .labels import fold_aligned

    folded = fold_aligned(part).lower()
    m = _UNIT.match(folded)
    if m and len(m.group(1)) < len(part):
        return part[: len(m.group(1))], part[len(m.group(1)) :], gazetteer.UNIT_LEVELS[m.group(1).strip()]
    inside = [m for m in _UNIT_WITHIN.finditer(folded) if part[m.end() : m.end() + 1].isupper()]
    if inside:
        m = inside[0]  # "xã Tinh Đông": the first unit word; "Tinh" is the name's
        return part[: m.end()], part[m.end() :], gazetteer.UNIT_LEVELS[m.group(1)]
    words = part.split(" ")
    below_commune = any(fold(" ".join(words[:n])) in gazetteer.UNIT_WORDS for n in (1, 2, 3))
    if (
        part[:1].isupper()
        and not below_commune
        and len(words) <= 4
        and all(w[:1].isupper() or w.isdigit() for w in words)
    ):
        return "", part, (1, 2, 3)  # a bare name in a registry cell: "Hoằng Quỳ, Hoằng Hóa"
    return None  # a street, a hamlet ("Số 12 Lê Lợi", "Thôn Hạ") or no name at all


def _candidates(scope: list[gazetteer.Unit], levels: tuple[int, ...]) -> dict[str, list[gazetteer.Unit]]:
    """Units of the given levels inside the scope, by folded name; a commune may be
    named straight under its province (units after 2025 have no districts)."""
    out: dict[str, list[gazetteer.Unit]] = {}
    for unit in scope:
        for key, children in unit.children.items():
            for child in children:
                if child.level in levels:
                    out.setdefault(key, []).append(child)
                if 3 in levels and child.level == 2 and unit.level == 1:
                    for grand_key, grand in child.children.items():
                        out.setdefault(grand_key, []).extend(grand)
    return out


def _spellings(units: list[gazetteer.Unit]) -> list[str]:
    """Distinct spellings, each with its other tone placement (new placement first)."""
    out: list[str] = []
    for unit in units:
        for form in sorted(
            {unit.name, _tone_variant_words(unit.name)}, key=lambda f: any(o in f.lower() for o in TONE_PLACEMENT)
        ):
            if form not in out:
                out.append(form)
    return out


def _match_unit(name: str, candidates: dict[str, list[gazetteer.Unit]], fuzzy: bool) -> tuple[str, list] | None:
    """(the name as the gazetteer spells it, the units) for a unit name read by OCR;
    the name itself where the spelling is ambiguous; None when no unit has it."""
    key = gazetteer._key(name)
    units = candidates.get(key)
    if not units and fuzzy and len(key) >= 5 and not any(c.isdigit() for c in key):
        # one letter misread ("Hải Châu T"): only where a single unit is that near
        near_key = _near_key(key, candidates)
        units = candidates[near_key] if near_key else None
    if not units and fuzzy and any(c.isdigit() for c in key):
        # a numbered ward with a typed 0 misread ("Phường 19" where the district has 10, not 19)
        near = [k for k in candidates if zeros_misread(key, k)]
        units = candidates[near[0]] if len(near) == 1 else None
    if not units:
        return None
    spellings = _spellings(units)
    if name in spellings:
        return name, units
    ranked = sorted(spellings, key=lambda s: _marks_distance(s, name))
    best = ranked[0]
    rivals = [
        s
        for s in ranked[1:]
        if _marks_distance(s, name) == _marks_distance(best, name) and _tone_variant_words(s) != best
    ]
    if rivals:
        return name, units  # two real units equally near: the place is right, the spelling not ours to choose
    # unit names are printed in title case or, in headings, in capitals
    return (best.upper() if name.isupper() and len(name) > 1 else best), units


def _unit_word_spelled(head: str) -> str:
    """The text before a unit's name with its closing unit word spelled right ("thi trấn")."""
    words = head.rstrip().split(" ")
    for n in (3, 2, 1):
        if len(words) >= n:
            said = " ".join(words[-n:])
            canon = gazetteer.UNIT_WORDS.get(fold(said))
            if canon:
                if said[:1].isupper():
                    canon = canon.upper() if said.isupper() and len(said) > 1 else canon.capitalize()
                return " ".join(words[:-n] + [canon]) + head[len(head.rstrip()) :]
    return head


def read_place(value: str) -> PlaceReading:
    """Resolve an address right to left against the unit hierarchy: each unit found
    narrows the next one down ("xã Tinh Đông" inside huyện Sơn Tịnh can only be Tịnh
    Đông). A unit word misread into the name ("tỉnh Bắc, Sơn Tịnh" for Tịnh Bắc) is
    tried as a bare name too."""
    parts = value.split(", ")
    scope: list[gazetteer.Unit] = [gazetteer.unit_tree()]
    units = verified = 0
    changed = respelled = False
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        split = _split_unit(part)
        if split is None:
            continue
        units += 1
        readings = [split]
        if split[0]:
            readings.append(("", part, (2, 3)))  # the unit word may be part of the name
        for head, name, levels in readings:
            rooted = scope[0].level == 0
            candidates = _candidates(scope, levels if not rooted else tuple(lv for lv in levels if lv == 1))
            found = _match_unit(name, candidates, fuzzy=not rooted)
            if found is None and rooted:
                # no province to go by: a district or commune name that only one unit has
                for level in (2, 3):
                    if level in levels:
                        exact = gazetteer.units_by_level()[level].get(gazetteer._key(name))
                        if exact and len({u.name for u in exact}) == 1:  # one spelling, if several units
                            found = _match_unit(name, {gazetteer._key(name): exact}, fuzzy=False)
                            break
            respelled_province = False
            if found is None and rooted and 1 in levels:
                # a province one letter off ("tỉnh Gà Mau"), where a single one is that near:
                # respelled, and not counted as found (nothing above it vouches for it)
                found = _match_unit(name, candidates, fuzzy=True)
                respelled_province = found is not None
            if found is not None:
                spelled, scope = found
                verified += 0 if respelled_province else 1
                respelled = respelled or respelled_province
                head = _unit_word_spelled(head)  # "Ủy ban nhân dân thi trấn Núi Đèo": a thị trấn
                if head + spelled != part:
                    parts[index] = head + spelled
                    changed = True
                break
    return PlaceReading(", ".join(parts), changed, units, verified, respelled)


def snap_place(value: str, hierarchy: PlaceReading | None = None) -> tuple[str, bool]:
    """An address or place with each unit's name ("xã Duy Trụng", "tỉnh Quảng Nạm", or a
    bare "Ninh Kiểu" in a table cell) replaced by the gazetteer's spelling when the
    letters agree and the marks do not: first through the hierarchy (`read_place`, or its
    reading of `value` where the caller has it), then, for a part the hierarchy left alone,
    against every unit name."""
    read = value
    value = (hierarchy or read_place(value)).value
    parts = value.split(", ")
    out = []
    for part in parts:
        m = _UNIT.match(fold(part).lower())
        if m and len(m.group(1)) < len(part):
            head, name = part[: len(m.group(1))], part[len(m.group(1)) :]
            out.append(head + _snap_place_name(name))
            continue
        snapped = _snap_place_name(part)
        if snapped == part:
            # "Trạm y tế Tân Ạn": a commune's health station bears the commune's name, in the
            # last two or three words (a hospital's need not: "Bệnh viện Từ Dũ" is no "Tử Du")
            words = part.split(" ")
            for n in _TAIL_WORDS:
                if len(words) > n and _key(" ".join(words[:-n])) == "tram y te":
                    tail = " ".join(words[-n:])
                    fixed = _snap_place_name(tail)
                    if fixed != tail:
                        snapped = " ".join(words[:-n] + [fixed])
                        break
        out.append(snapped)
    result = ", ".join(out)
    return result, result != read


@dataclass(frozen=True)
class LocalUnits:
    """The commune and district a registry book belongs to, as the gazetteer spells
    them, and the folded names of every commune of that district."""

    commune: str
    district: str
    communes_of_district: frozenset[str]


def local_units(commune: str, district: str) -> LocalUnits | None:
    """Resolve a book heading's commune and district ("Hải Châu T", "Hải Châu") to the
    gazetteer's units: the district by its name (one letter may be misread where one
    district alone is that near), the commune among that district's. None where either
    is not found or is ambiguous."""
    districts = gazetteer.units_by_level()[2]
    d_key = _near_key(gazetteer._key(district), districts)
    if d_key is None:
        return None
    for unit in districts[d_key]:
        c_key = _near_key(gazetteer._key(commune), unit.children)
        if c_key is not None and len({u.name for u in unit.children[c_key]}) == 1:
            # spelled in the new tone placement ("Thủy", not the gazetteer's "Thuỷ"), as books now print
            return LocalUnits(_spellings(unit.children[c_key])[0], _spellings([unit])[0], frozenset(unit.children))
    return None


# What may stand before a place's name in a registry cell
_NAME_LEADS = {"tram y te", "benh vien", "xa", "phuong", "thi tran", "huyen", "quan", "thi xa", "thanh pho", "tinh"}


def _whole_name_at(words: list[str], start: int, size: int) -> bool:
    """Whether words[start:start + size] can be a whole place name: it begins the cell, a
    comma-separated part or follows a stock lead ("Trạm y tế"), and ends the cell or a part."""
    before = words[:start]
    begins = (
        not before
        or before[-1].endswith((",", ";"))
        or any(_key(" ".join(before[-n:])) in _NAME_LEADS for n in (1, 2, 3) if len(before) >= n)
    )
    end = start + size
    return begins and (end == len(words) or words[end - 1].endswith((",", ";")))


def snap_to_local(value: str, local: LocalUnits) -> tuple[str, bool]:
    """A registry cell's place with the book's own commune or district put right where a
    letter or a mark of it was misread ("Trạm y tế Hải Châu T", "Phú Hồ, Huế" in the
    book of phường Phú Hội) or a speck split it ("Duy, Sơn"). A name that is itself
    another commune of the book's district is a different place and is left as read."""
    words = value.split(" ")
    for name in (local.commune, local.district):
        size = len(name.split(" "))
        want = gazetteer._key(name)
        limit = 2 if len(want) >= 8 else 1
        for i in range(len(words) - size + 1):
            window = words[i : i + size]
            if not _whole_name_at(words, i, size):
                continue  # "Bình" of Hưng Bình is no misread Vinh
            said = " ".join(window)
            tail = cast(re.Match[str], re.search(r"[^\w]*$", said)).group(0)  # always matches (maybe "")
            core = said[: len(said) - len(tail)]
            key = gazetteer._key(re.sub(r"[^\w ]", "", core))
            if core == name or not key:
                continue
            if _tone_variant_words(core) == name:
                continue  # the other tone placement ("Thuỷ"): both are printed
            same_letters = key == want
            # a letter or two misread, each word at most one ("Hải Châu 1T": a 1 for an I)
            pairs = list(zip(key.translate(_LETTER_LOOKALIKES).split(" "), want.split(" ")))
            one_off = (
                key not in local.communes_of_district
                and levenshtein(key, want) <= limit
                and len(pairs) == size
                and all(levenshtein(a, b) <= 1 for a, b in pairs)
            )
            if same_letters or one_off:
                words[i : i + size] = (name + tail).split(" ")
    out = " ".join(words)
    return out, out != value
