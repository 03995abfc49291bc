"""Vietnamese post-correction: only words that are not syllables change, and only
where one real syllable is clearly the nearest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from digitize.ocr.vietnamese import HUNSPELL_DIC, correct_page, correct_word, lexicon
from digitize.types import Line, OcrPage, Word

# scripts/setup.sh installs hunspell-vi; the form-wording tests below do not need it
needs_hunspell = pytest.mark.skipif(not HUNSPELL_DIC.is_file(), reason="hunspell-vi word list not installed")


@pytest.fixture(scope="module")
def lex():
    return lexicon()


@pytest.mark.parametrize(
    "read, printed",
    [
        ("Viẹt", "Việt"),  # a mark that no syllable takes there
        ("HƯỲNH", "HUỲNH"),  # capitals keep their case
        ("Chiểềng", "Chiềng"),  # one vowel read twice
        ("ÌTrạm", "Trạm"),  # a cell border glued to the word
        ("(Viẹt),", "(Việt),"),  # punctuation around the word stays
    ],
)
@needs_hunspell
def test_misread_words_put_right(lex, read, printed):
    assert correct_word(read, lex) == printed


@pytest.mark.parametrize(
    "word",
    [
        "Nguyễn",
        "tang",
        "Ủng",  # real syllables are never touched, even when wrong in context
        "UBND",
        "BVĐK",  # abbreviations
        "Krông",
        "Mlô",
        "Khmer",  # minority-language names follow their own spelling
        "Nguyen",  # Nguyên or Nguyễn: a name is not guessed at
        "môt",  # một or mốt: equally near, left as read
        "12/03/2006",
        "0anh",
    ],
)
@needs_hunspell
def test_words_left_alone(lex, word):
    assert correct_word(word, lex) == word


@needs_hunspell
def test_page_words_keep_boxes_and_lose_some_confidence():
    page = OcrPage(
        number=1,
        lines=(Line(words=(Word("Viẹt", (0, 0, 40, 10), 0.8), Word("Nam", (50, 0, 90, 10), 0.9))),),
        width=100,
        height=20,
        dpi=300,
    )
    fixed = correct_page(page)
    assert fixed.text == "Việt Nam"
    assert fixed.lines[0].words[0].box == (0, 0, 40, 10) and fixed.lines[0].words[0].confidence < 0.8
    assert fixed.lines[0].words[1] == page.lines[0].words[1]


def _line(text):
    return [Word(text=t, box=(i * 50, 0, i * 50 + 40, 20), confidence=0.95) for i, t in enumerate(text.split(" "))]


@pytest.mark.parametrize(
    "read, printed",
    [
        ("Độc Lập - Tự do - Hạnh phúc", "Độc lập - Tự do - Hạnh phúc"),
        ("Đã chết vào Lúc: 07 giờ", "Đã chết vào lúc: 07 giờ"),
        ("Cán cứ Luật Hộ tịch", "Căn cứ Luật Hộ tịch"),
        ("Nơi đăng ký: Ủy ban nhân dân thi trấn La Hà", "Nơi đăng ký: Ủy ban nhân dân thị trấn La Hà"),
        ("ỦY BẠN NHÂN DÂN XÃ TÂN AN", "ỦY BAN NHÂN DÂN XÃ TÂN AN"),  # capitals stay capitals
        ("(Ký ghi rõ họ tên)", "(Ký, ghi rõ họ tên)"),  # the wording's comma
        ("(Ký, ghi rõ họ, chữ đệm, tên,", "(Ký, ghi rõ họ, chữ đệm, tên,"),  # mid-sentence: no capital
    ],
)
def test_form_wording_put_right(read, printed):
    from digitize.ocr.vietnamese import correct_phrases

    assert " ".join(w.text for w in correct_phrases(_line(read))) == printed


def test_form_wording_leaves_names_and_other_letters_alone():
    from digitize.ocr.vietnamese import correct_phrases

    for text in ("Huyền Trang", "huyên", "Căn nhà số 5", "Nơi ở hiện nay"):
        assert " ".join(w.text for w in correct_phrases(_line(text))) == text


@pytest.mark.parametrize(
    "read, printed",
    [
        ("để nghị cung cấp thông tin", "đề nghị cung cấp thông tin"),
        ("Lịch tiếp nhân hồ sơ", "Lịch tiếp nhận hồ sơ"),
        ("số hóa đữ liệu hộ tịch", "số hóa dữ liệu hộ tịch"),
        ("SỞ TỰ PHÁP", "SỞ TƯ PHÁP"),  # the vocabulary's marks, in the case printed
        ("Kế Hoạch", "Kế Hoạch"),
        ("Thái Thị Hạnh", "Thái Thị Hạnh"),  # a name, not "thi hành"
        ("ĐINH DANH", "ĐINH DANH"),  # not "định danh"
        ("số hóa dữ Liệu", "số hóa dữ liệu"),  # a capital inside a term in a sentence is misread
    ],
)
def test_administrative_vocabulary_marks_put_right(read, printed):
    from digitize.ocr.vietnamese import correct_phrases

    assert " ".join(w.text for w in correct_phrases(_line(read))) == printed


def test_administrative_vocabulary_leaves_other_phrases_alone():
    from digitize.ocr.vietnamese import correct_phrases

    # these letters also spell common phrases, so those terms are not in the vocabulary
    for text in ("có quan hệ", "cùng cấp", "cộng tác viên", "từ pháp luật"):
        assert " ".join(w.text for w in correct_phrases(_line(text))) == text


def test_near_second_reading_kept_where_both_are_syllables():
    """The LSTM's second reading with other marks: a doubt where both readings are syllables
    (no spelling check can settle "tuyến"/"tuyển"), the reading itself where the first is none."""
    from digitize.extract.common import min_conf

    # ("xem tuyến": no word either way, so the line's context cannot settle it; see
    # test_context_settles_a_mark_slip for "thi tuyến sinh")
    words = (
        Word("xem", (0, 0, 40, 20), 0.96),
        Word("tuyến", (50, 0, 120, 20), 0.95, alternative="tuyển", alternative_confidence=0.7),
        Word("buỗi", (130, 0, 190, 20), 0.91, alternative="buổi", alternative_confidence=0.21),
        Word("sinh", (200, 0, 250, 20), 0.97, alternative="sính", alternative_confidence=0.02),
    )
    page = correct_page(OcrPage(1, (Line(words),), 300, 40, 300.0))
    out = page.lines[0].words
    assert out[1].text == "tuyến" and out[1].alternative == "tuyển"  # kept as a doubt
    assert out[2].text == "buổi" and not out[2].alternative  # the second reading is the syllable
    assert min_conf([out[0], out[3]]) > 0.9  # an unlikely alternative is no doubt
    assert min_conf(out[:2]) <= 0.5  # a value holding the doubtful word is not auto-accepted


def _line(text: str, confidence: float = 0.8, **alternatives: str) -> tuple[Word, ...]:
    return tuple(
        Word(
            t,
            (60 * i, 0, 60 * i + 50, 20),
            confidence,
            alternative=alternatives.get(f"w{i}", ""),
            alternative_confidence=0.3 if f"w{i}" in alternatives else 0.0,
        )
        for i, t in enumerate(text.split())
    )


def _read(words: tuple[Word, ...]) -> tuple[Word, ...]:
    return correct_page(OcrPage(1, (Line(words),), 600, 40, 300.0)).lines[0].words


def test_context_settles_a_mark_slip():
    """A syllable read with a mark slipped that makes no word with its neighbours, where the
    syllable one mark away does ("thành phó" is no word, "thành phố" is), is put right, and
    its confidence lowered as other corrections' are."""
    out = _read(_line("thi tuyến sinh vào thành phó"))
    assert " ".join(w.text for w in out) == "thi tuyển sinh vào thành phố"
    assert out[1].confidence < 0.8
    # the recogniser's own second reading is preferred among the syllables one mark away
    out = _read(_line("công tác phòng chồng dịch", 0.95, w3="chống"))
    assert " ".join(w.text for w in out) == "công tác phòng chống dịch"


def test_context_changes_nothing_that_makes_a_word_or_a_name():
    # each reading makes a word with a neighbour: kept
    assert " ".join(w.text for w in _read(_line("đào tạo và phòng chống"))) == "đào tạo và phòng chống"
    # a name's syllables are not words' ("NGUYỄN VĂN" is a name though "nguyên văn" is a word)
    words = _line("Họ tên: NGUYỄN VĂN TÂM", 0.8, w2="NGUYÊN")
    assert [w.text for w in _read(words)][2] == "NGUYỄN"
    # two changes for one word do not pay ("di dời" is not in the word list, "đi đời" is)
    assert [w.text for w in _read(_line("việc di dời dân", 0.95, w1="đi", w2="đời"))][1:3] == ["di", "dời"]
    # punctuation ends the chain: no word is made across a comma
    assert [w.text for w in _read(_line("phòng thi, cán bộ"))][1] == "thi,"


def test_context_puts_right_a_confident_reading_that_is_no_syllable():
    """A reading that is no syllable is wrong however confident the recogniser: one word
    settles it. A confident syllable is not changed even where the other one makes a word on
    each side ("dân tỉnh yêu cầu" would become "dân tình yêu"); it is doubted instead."""
    assert [w.text for w in _read(_line("sửa chữa, nầng cấp đường", 0.95))][2] == "nâng"
    out = _read(_line("nhân dân tỉnh yêu cầu", 0.97))
    assert out[2].text == "tỉnh"


def test_context_runs_on_across_a_wrapped_line():
    """A line that wraps onto the next, which begins in lower case under it, is one chain
    with it ("phố" ending a line, "thông" beginning the next); lines in capitals are not."""
    first = _line("trung học phố", 0.95, w2="phổ")  # the recogniser's second reading
    assert _read(first)[-1].text == "phố"  # alone, nothing settles it
    second = tuple(Word(w.text, (w.box[0], 30, w.box[2], 50), w.confidence) for w in _line("thông năm học", 0.95))
    page = correct_page(OcrPage(1, (Line(first), Line(second)), 600, 60, 300.0))
    assert page.lines[0].words[-1].text == "phổ"
    header = tuple(Word(w.text, (w.box[0], 30, w.box[2], 50), 0.95) for w in _line("TỈNH CÀ MAU", 0.95))
    page = correct_page(OcrPage(1, (Line(_line("VIỆT NAM", 0.95)), Line(header)), 600, 60, 300.0))
    assert page.lines[1].words[0].text == "TỈNH" and not page.lines[1].words[0].alternative


def test_context_settles_the_recognisers_doubt_where_only_its_reading_makes_a_word():
    """The recogniser's near other reading ("Đảo" beside "Đào") stops sending the value to
    review where the reading makes a word with a neighbour and the other makes none;
    where neither does, the doubt stays."""
    from digitize.extract.labels import word_confidence

    def doubted(text: str, at: int, other: str) -> tuple[Word, ...]:
        words = list(_line(text, 0.96))
        words[at] = replace(words[at], alternative=other, alternative_confidence=0.7)
        return tuple(words)

    assert word_confidence(doubted("xem tuyến buổi", 1, "tuyển")[1]) <= 0.5  # a doubt as read
    out = _read(doubted("Bộ Giáo dục và Đào tạo", 4, "Đảo"))
    assert out[4].text == "Đào" and out[4].alternative == "Đảo" and word_confidence(out[4]) > 0.9
    out = _read(doubted("xem tuyến buổi", 1, "tuyển"))  # neither makes a word: still a doubt
    assert out[1].text == "tuyến" and word_confidence(out[1]) <= 0.5


def test_context_doubts_a_confident_reading_it_cannot_settle():
    """A confident reading that makes no word where one mark away would ("nhà đột nát": "dột
    nát" is the word) is not changed on so little, but carries that syllable as its near
    alternative, so a value holding it goes to review."""
    from digitize.extract.labels import word_confidence

    out = _read(_line("xóa nhà tạm, nhà đột nát", 0.97))
    assert out[4].text == "đột" and out[4].alternative == "dột"
    assert word_confidence(out[4]) <= 0.5


def test_a_years_name_is_put_right_with_the_letter_tesseract_cannot_write():
    """The sexagenary cycle's names are a closed list (refdata/year_names.tsv): read with the
    letters right and a mark slipped, or with "y" for the "ỵ" Tesseract's vie model cannot
    output, they are put right where printed capitalised."""
    assert " ".join(w.text for w in _read(_line("Tết Nhâm Dằn năm 2022", 0.95))) == "Tết Nhâm Dần năm 2022"
    assert " ".join(w.text for w in _read(_line("năm Ất Ty", 0.95))) == "năm Ất Tỵ"
    assert " ".join(w.text for w in _read(_line("NĂM ẤT TY", 0.95))) == "NĂM ẤT TỴ"
    assert " ".join(w.text for w in _read(_line("nham dan", 0.95))) == "nham dan"
    # glued to the next word by a dash, as a real letter printed it ("Nhâm Dần-năm 2022")
    assert " ".join(w.text for w in _read(_line("Tết Nhâm Dằn-năm 2022", 0.95))) == "Tết Nhâm Dần-năm 2022"


@pytest.mark.parametrize(
    "read, fixed",
    [
        (["-", "Lưu:", "VL"], ["-", "Lưu:", "VT."]),
        (["-", "Lưu:", "V'E"], ["-", "Lưu:", "VT."]),
        (["-", "Lưu:", "VTL"], ["-", "Lưu:", "VT."]),
        (["-", "Lưu:", "VL,", "VP."], ["-", "Lưu:", "VT,", "VP."]),
        (["-", "Lưu:", "VT,", "VP."], ["-", "Lưu:", "VT,", "VP."]),
        (["-", "Lưu:", "VP,", "TCCB."], ["-", "Lưu:", "VP,", "TCCB."]),  # another office: kept
        (["Văn", "VL", "là"], ["Văn", "VL", "là"]),
    ],
)
def test_the_records_offices_mark_after_luu_is_restored(read, fixed):
    """Nghị định 30's "Lưu: VT, …" closes every document; "VT." is read "VL" on clean print."""
    from digitize.ocr.vietnamese import restore_archive_mark

    words = [Word(t, (10 * i, 0, 10 * i + 8, 10), 0.9) for i, t in enumerate(read)]
    assert [w.text for w in restore_archive_mark(words)] == fixed
