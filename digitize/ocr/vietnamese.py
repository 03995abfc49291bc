"""Vietnamese post-correction of recognised words.

Vietnamese is written in a closed set of syllables, so a recognised word that is
not a syllable is certainly misread. Where the letters (tone and vowel marks
aside) are those of exactly one nearest real syllable, that syllable is what was
printed: "Viẹt" -> "Việt", "tháúng" -> "tháng", "HƯỲNH" -> "HUỲNH". A word that is
a valid syllable is never touched here (choosing between two real syllables
needs context this stage does not have), nor are digits, abbreviations in
capitals ("UBND", "BVĐK") or words of minority languages that follow their own
spelling ("Krông", "Mlô").

The lexicon is Debian's hunspell-vi word list (syllables in the old tone
placement, "hoà"; the new placement "hòa" is derived), plus the name lists of
`digitize.refdata` and the place names of the gazetteer. Without the word list the
stage changes nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from .. import diskcache, refdata
from .. import text as text_module
from ..extract import gazetteer
from ..text import fold, levenshtein, nfc, tone_variant, with_case
from ..types import Line, OcrPage, Word
from .context import decode_line, in_lexicon, linked_lines

HUNSPELL_DIC = Path("/usr/share/hunspell/vi_VN.dic")

_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_LETTERS = re.compile(r"^([^\w]*)([^\W\d_]+)([^\w]*)$")
# A ruling or a cell border read as a letter glued to the word after it: "INguyễn", "ÌTrạm".
_REMNANT_CHARS = "IÌÍl|!"
CORRECTED = 0.9  # a corrected word's confidence is scaled by this: it was misread once


_VOWELS = "aăâeêioôơuưyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"


@lru_cache(maxsize=2)
def lexicon(dic: str = str(HUNSPELL_DIC)) -> dict[str, tuple[str, ...]]:
    """folded syllable -> the real syllables (lower case, NFC) with those letters.
    Built once from the word list and the stocks, then read from the disk cache."""
    path = Path(dic)
    if not path.is_file():
        return {}
    # everything the lexicon is built from: the word list, the name lists (and the loader that
    # normalises them), the code that folds and respells words, the gazetteer's data
    key = diskcache.fingerprint(
        path,
        Path(__file__),
        refdata.path("surnames"),
        refdata.path("given_names"),
        Path(refdata.__file__),
        Path(text_module.__file__),
        gazetteer._data_key(),
    )
    return diskcache.cached("lexicon", key, lambda: _build_lexicon(path))


def _build_lexicon(path: Path) -> dict[str, tuple[str, ...]]:
    words: set[str] = set()
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            word = nfc(line.split("/")[0].strip()).lower()
            if word and " " not in word and word.isalpha():
                words.add(word)
                words.add(tone_variant(word))  # the list has "hoà"; most print now has "hòa"
    if not words:
        return {}
    for name in refdata.surnames() + refdata.given_names():
        words.add(nfc(name).lower())
    words.update(gazetteer.place_syllables())
    out: dict[str, list[str]] = {}
    for word in words:
        out.setdefault(fold(word), []).append(word)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _distance(a: str, b: str) -> int:
    """Edit distance over decomposed characters: one mark added, dropped or swapped is one."""
    return levenshtein(unicodedata.normalize("NFD", a.lower()), unicodedata.normalize("NFD", b.lower()))


def _is_abbreviation(core: str) -> bool:
    return core.isupper() and len(core) <= 6 and not any(c in _TONES for c in unicodedata.normalize("NFD", core))


def correct_word(text: str, lex: dict[str, tuple[str, ...]]) -> str:
    """The word as printed, where it is not a syllable and one real syllable is nearest."""
    from ..extract.validate import is_syllable

    m = _LETTERS.match(text)
    if not m or not lex:
        return text
    lead, core, tail = m.groups()
    remnant = len(core) > 2 and core[0] in _REMNANT_CHARS and core[1].isupper() and core[2].islower()
    stripped = core[1:] if remnant else core
    if stripped != core and (stripped.lower() in lex.get(fold(stripped), ()) or is_syllable(stripped)):
        return lead + stripped + tail
    low = core.lower()
    if _is_abbreviation(core) or low in lex.get(fold(core), ()):
        return text
    if is_syllable(core):
        # spelled like a syllable but not in the list: a lower-case word one mark away from
        # exactly one real syllable ("huẹ") is that one; a capitalised one may be a name
        if core[:1].isupper():
            return text
        near = [c for c in lex.get(fold(core), ()) if _distance(c, low) == 1]
        return lead + near[0] + tail if len(near) == 1 else text
    candidates = list(lex.get(fold(core), ()))
    if not candidates:
        # one vowel read twice with different marks ("Chiểềng"): drop either copy
        doubled = {i for i in range(len(low) - 1) if fold(low[i]) == fold(low[i + 1]) and low[i] in _VOWELS}
        dropped = {low[:j] + low[j + 1 :] for i in doubled for j in (i, i + 1)} if len(low) > 2 else set()
        found = [d for d in dropped if d in lex.get(fold(d), ())]
        return lead + with_case(core, found[0]) + tail if len(found) == 1 else text
    ranked = sorted(candidates, key=lambda c: _distance(c, low))
    # Two syllables equally near: not ours to choose. A word read with no marks at all
    # ("Nguyen") lost them: its letters say nothing about which marks (Nguyên? Nguyễn?).
    if len(ranked) > 1 and (_distance(ranked[1], low) == _distance(ranked[0], low) or fold(low) == low):
        return text
    if _distance(ranked[0], low) > 2:
        return text
    return lead + with_case(core, ranked[0]) + tail


# Fixed wording of the state's forms and documents (the national motto, the labels of the
# civil-status forms, Nghị định 30/2020 phrases). A run of words with these letters is this
# phrase: only marks and case can be misread ("Độc Lập", "vào Lúc", "Cán cứ", "thi trấn").
# Single words are left out: alone, the same letters are often a name ("huyên", "Huyền").
FORM_PHRASES = (
    "Độc lập - Tự do - Hạnh phúc",
    "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "Ủy ban nhân dân",
    "Căn cứ",
    "Đã chết vào lúc",
    "Nơi đăng ký",
    "Ngày, tháng, năm đăng ký",
    "Họ, chữ đệm, tên",
    "Ngày, tháng, năm sinh",
    "Giới tính",
    "Dân tộc",
    "Quốc tịch",
    "Nơi sinh",
    "Quê quán",
    "Nơi cư trú",
    "Số định danh cá nhân",
    "Nơi chết",
    "Nguyên nhân chết",
    "Quyển số",
    "Nơi nhận",
    "Như trên",
    "đơn vị",
    "Đảng ủy",
    "Huyện ủy",
    "Tỉnh ủy",
    "thị trấn",
    "Ghi chú",
    "người đi khai sinh",
    "người đi khai tử",
    "Giấy khai sinh",
    "Trích lục khai tử",
    "Giấy chứng nhận kết hôn",
    "chứng nhận",
    "Người ký",
    "chức vụ và đóng dấu",
    "Ký, ghi rõ họ tên",
    "Ký, ghi rõ họ, chữ đệm, tên",
)


# Administrative vocabulary of the documents in a dossier (Nghị định 30/2020 subjects and
# recipients): two- and three-syllable terms whose letters, read with other marks, make no
# other phrase. Checked against 96,000 words of real Vietnamese text (VLSP 2013, shipped in
# underthesea): terms whose letters also spell a common phrase there ("cơ quan" / "có quan",
# "cung cấp" / "cùng cấp", "công tác" / "cộng tác") or a name ("Nguyên đán" / Nguyễn Đan) are
# left out, and runs in capitals or title case, where names are, get only the bodies' names.
ADMINISTRATIVE_TERMS = (
    "đề nghị",
    "tiếp nhận",
    "dữ liệu",
    "hộ tịch",
    "số hóa",
    "hôn nhân",
    "thông tin",
    "triển khai",
    "kế hoạch",
    "đăng ký",
    "khai sinh",
    "khai tử",
    "kết hôn",
    "hướng dẫn",
    "thực hiện",
    "quy định",
    "phê duyệt",
    "giai đoạn",
    "ban hành",
    "tổ chức",
    "đơn vị",
    "chính quyền",
    "địa phương",
    "trách nhiệm",
    "hiệu lực",
    "thi hành",
    "văn bản",
    "hồ sơ",
    "tình trạng",
    "cải cách",
    "hành chính",
    "thủ tục",
    "chứng thực",
    "lý lịch",
    "quốc tịch",
    "cư trú",
    "căn cước",
    "định danh",
    "cá nhân",
    "kết luận",
    "cuộc họp",
    "tổ công tác",
    "lưu trữ",
    "chuyển đổi số",
    "điện tử",
    "dịch vụ công",
    "trực tuyến",
    "giải quyết",
    "tăng cường",
    "kiểm tra",
    "rà soát",
    "báo cáo",
    "kết quả",
    "tình hình",
    "về việc",
    "liên quan",
    "phối hợp",
    "chỉ đạo",
    "thời gian",
    "Sở Tư pháp",
    "Phòng Tư pháp",
    "Sở Nội vụ",
    "Phòng Nội vụ",
)

_LONGEST_PHRASE = max(len(p.split(" ")) for p in FORM_PHRASES + ADMINISTRATIVE_TERMS)


# Nghị định 30/2020, Phụ lục I (II.10.b): every document's recipients end with the archive
# copies, "Lưu: VT, <drafting unit>, <copies>", VT being the records office (văn thư). Set
# small at the foot of the page, "VT." is read "VL", "V'E" or "VTL" on clean print
# (`ood_pages` seed 2: 6 of 8 clean pages), the most frequent error there.
_ARCHIVE_MARK = re.compile(r"V[TLIEÍ1'’.]{1,2}")


def restore_archive_mark(words: list[Word]) -> list[Word]:
    """The records office's "VT" put right where it follows "Lưu:" read as V and a glyph or
    two drawn like a T or a stop ("VL", "V'E", "VTL")."""
    for i, w in enumerate(words[:-1]):
        if fold(_core(w.text)[1]) != "luu" or not w.text.endswith(":"):
            continue
        mark = words[i + 1]
        text = mark.text.rstrip(",;")
        if text not in ("VT", "VT.") and _ARCHIVE_MARK.fullmatch(text):
            # last in the line it ends the list, with the stop the misread glyphs stood for
            fixed = "VT" + (mark.text[len(text) :] if i + 2 < len(words) else ".")
            words = (
                words[: i + 1]
                + [Word(text=fixed, box=mark.box, confidence=mark.confidence * CORRECTED)]
                + words[i + 2 :]
            )
    return words


def _core(text: str) -> tuple[str, str, str]:
    """(leading punctuation, letters, trailing punctuation) of a word; letters '' for a dash."""
    m = _LETTERS.match(text)
    return (m.group(1), m.group(2), m.group(3)) if m else (text, "", "")


_HYPHENED = re.compile(r"^([^\w]*)([^\W\d_]+)([-–][\w-]*)$")


def _phrase_core(text: str) -> tuple[str, str, str]:
    """`_core`, where a word glued to the next by a hyphen or dash ("Dằn-năm" in "Tết Nguyên
    đán Nhâm Dần-năm 2022") counts as its first part, the rest trailing: a phrase may end there."""
    core = _core(text)
    if core[1]:
        return core
    m = _HYPHENED.match(text)
    return (m.group(1), m.group(2), m.group(3)) if m else core


_Phrase = tuple[tuple[tuple[str, str], ...], bool]


def year_names() -> tuple[str, ...]:
    """The sixty names of the sexagenary cycle ("Nhâm Dần", "Ất Tỵ"), printed capitalised."""
    return tuple(row[0] for row in refdata.rows("year_names"))


@lru_cache(maxsize=1)
def _year_name_words() -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(name.split(" ")) for name in year_names())


@lru_cache(maxsize=1)
def _phrase_table() -> dict[str, list[_Phrase]]:
    """First folded word -> phrases, longest first: each word as (letters, trailing
    punctuation) ("Ngày," is ("Ngày", ",")), and whether the phrase's case is fixed too
    (the forms' wording) or only its marks (the vocabulary, printed in any case)."""
    table: dict[str, list[_Phrase]] = {}
    for phrases, fixed_case in ((FORM_PHRASES, True), (ADMINISTRATIVE_TERMS, False), (year_names(), False)):
        for phrase in phrases:
            words = tuple(_core(w)[1:] for w in phrase.split(" "))
            table.setdefault(fold(words[0][0]), []).append((words, fixed_case))
    for entries in table.values():
        entries.sort(key=lambda entry: len(entry[0]), reverse=True)
    return table


def correct_phrases(words: list[Word]) -> list[Word]:
    """Words of the forms' fixed wording with their marks and case put right, and of the
    administrative vocabulary with their marks put right."""
    table = _phrase_table()
    out = list(words)
    i = 0
    while i < len(out):
        letters_read = [fold(_phrase_core(w.text)[1]) for w in out[i : i + _LONGEST_PHRASE]]
        found = next(
            (
                (phrase, fixed_case)
                for phrase, fixed_case in table.get(letters_read[0], ())
                if len(phrase) <= len(letters_read)
                and all(read == fold(p) for read, (p, _) in zip(letters_read, phrase))
            ),
            None,
        )
        if found is None:
            i += 1
            continue
        match, fixed_case = found
        shouting = all(
            _phrase_core(w.text)[1].isupper() for w in out[i : i + len(match)] if len(_phrase_core(w.text)[1]) > 1
        )
        titled = all(_phrase_core(w.text)[1][:1].isupper() for w in out[i : i + len(match)])
        if not fixed_case and (shouting or titled) and not match[0][0][:1].isupper():
            # a run in capitals or title case is likely a name ("THỊ HẠNH", "Đinh Danh"): only
            # the bodies' names ("SỞ TỰ PHÁP") are put right there, the vocabulary in sentences
            i += 1
            continue
        if not (shouting or titled) and tuple(p for p, _ in match) in _year_name_words():
            i += 1  # a year's name is printed capitalised; these letters in lower case are words
            continue
        for k, (canonical, punctuation) in enumerate(match):
            w = out[i + k]
            lead, letters, trail = _phrase_core(w.text)
            if not fixed_case:
                # printed in capitals, in title case, or as a sentence (where a capital inside
                # the term is a misread: "dữ Liệu")
                want = with_case(letters, canonical.lower()) if shouting or titled or k == 0 else canonical
            else:
                want = canonical.upper() if shouting else canonical
                if k == 0 and not shouting:  # the phrase may start a sentence or sit inside one
                    want = (want[:1].upper() if letters[:1].isupper() else want[:1].lower()) + want[1:]
            if not trail and k < len(match) - 1 and punctuation:
                trail = punctuation  # "(Ký ghi rõ" -> "(Ký, ghi rõ": the comma is part of the wording
            if letters and lead + want + trail != w.text:
                out[i + k] = Word(text=lead + want + trail, box=w.box, confidence=w.confidence * CORRECTED)
        i += len(match)
    return out


def _both_syllables(word: str, alternative: str, lex: dict[str, tuple[str, ...]]) -> bool:
    """Whether the word as read and its near alternative are both Vietnamese syllables: only
    then is the alternative a doubt no spelling check can settle ("buỗi"/"buổi" is settled by
    the list: "buỗi" is no syllable; "tuyến"/"tuyển" is not)."""
    return _syllable(word, lex) and _syllable(alternative, lex)


def _syllable(word: str, lex: dict[str, tuple[str, ...]]) -> bool:
    """Whether the word (punctuation around it aside) is a Vietnamese syllable in the list."""
    core = re.sub(r"^\W+|\W+$", "", word).lower()
    return bool(core) and core.isalpha() and in_lexicon(core, lex)


def correct_page(page: OcrPage, dic: Path = HUNSPELL_DIC) -> OcrPage:
    """The page with its misread words put right: the forms' fixed wording (see
    `correct_phrases`), then non-syllables (see `correct_word`), then syllables that make no
    word with their neighbours where one mark changed would (see `context.decode_line`)."""
    lex = lexicon(str(dic))
    lines: list[tuple[Word, ...]] = []
    for line in page.lines:
        words = restore_archive_mark(correct_phrases(list(line.words)))
        fixed_words = []
        for w in words:
            if w.alternative and lex and not _syllable(w.text, lex) and _syllable(w.alternative, lex):
                # the recogniser's own second reading is a syllable where its first is none
                w = Word(text=w.alternative, box=w.box, confidence=w.confidence * CORRECTED)
            fixed = correct_word(w.text, lex) if lex else w.text
            if fixed != w.text:
                w = Word(text=fixed, box=w.box, confidence=w.confidence * CORRECTED)
            elif w.alternative and not _both_syllables(w.text, w.alternative, lex):
                w = replace(w, alternative="", alternative_confidence=0.0)
            fixed_words.append(w)
        lines.append(tuple(fixed_words))
    if lex:
        for run in linked_lines(lines):
            words = decode_line([w for i in run for w in lines[i]], lex)
            for i in run:
                lines[i], words = tuple(words[: len(lines[i])]), words[len(lines[i]) :]
    changed = any(new != old.words for new, old in zip(lines, page.lines))
    return replace(page, lines=tuple(Line(words=w) for w in lines)) if changed else page
