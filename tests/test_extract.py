"""Field extraction: validators, classification, and real OCR of committed samples."""

from __future__ import annotations

import json
from datetime import date

import pytest

from digitize.extract import base, classify, extract, extract_pages
from digitize.extract import validate as v
from digitize.extract.base import Value, build_record
from digitize.extract.numwords import parse_date_words, parse_number
from digitize.types import Line, OcrPage, Word


def page_of(*rows: str | list[tuple[str, int]], width: int = 1654, height: int = 2339, conf: float = 0.97) -> OcrPage:
    """An OcrPage from text rows; a row given as [(cell text, x)] puts its cells at those x."""
    lines = []
    y = 100
    for row in rows:
        cells = [(row, 160)] if isinstance(row, str) else row
        words = []
        for text, x in cells:
            for token in text.split():
                w = 14 * len(token)
                words.append(Word(token, (x, y, x + w, y + 30), conf))
                x += w + 12
        lines.append(Line(tuple(words)))
        y += 55
    return OcrPage(number=1, lines=tuple(lines), width=width, height=height, dpi=200)


# ------------------------------------------------------------------ numbers and dates in words


@pytest.mark.parametrize(
    "words, number",
    [
        ("một nghìn chín trăm năm mươi bảy", 1957),
        ("hai nghìn không trăm linh năm", 2005),
        ("hai nghìn", 2000),
        ("mười lăm", 15),
        ("hai mươi mốt", 21),
        ("hai mươi tư", 24),
        ("ba mươi", 30),
        ("hai ngàn lẻ năm", 2005),
        ("một nghìn chín trăm chín mươi tám", 1998),
        ("mot nghin chin tram", 1900),
    ],
)
def test_parse_number(words, number):
    assert parse_number(words) == number


@pytest.mark.parametrize("words", ["hai hai", "mươi mươi", "trăm", "nghìn nghìn", "xin chào"])
def test_parse_number_rejects_nonsense(words):
    assert parse_number(words) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ngày tám tháng bảy năm một nghìn chín trăm năm mươi bảy", date(1957, 7, 8)),
        ("Ngày năm tháng năm năm hai nghìn không trăm linh năm", date(2005, 5, 5)),
        ("Ngày mười lăm tháng tư năm hai nghìn không trăm linh năm", date(2005, 4, 15)),
        ("Ngày ba mươi mốt tháng một năm hai nghìn", date(2000, 1, 31)),
        ("ngày hai mươi tư tháng mười hai năm một nghìn chín trăm sáu mươi tư", date(1964, 12, 24)),
        ("Ngay tam thang bay nam mot nghin chin tram nam muoi bay", date(1957, 7, 8)),  # tone marks lost
    ],
)
def test_parse_date_words(text, expected):
    assert parse_date_words(text) == expected


def test_parse_date_words_round_trip_with_generator():
    from samples.vnwords import date_in_words

    d = date(1900, 1, 1)
    while d.year < 2030:
        assert parse_date_words(date_in_words(d)) == d, d
        assert parse_date_words(date_in_words(d, thousand="ngàn", linh="lẻ")) == d, d
        d = date.fromordinal(d.toordinal() + 37)


def test_impossible_date_in_words():
    assert parse_date_words("Ngày ba mươi mốt tháng hai năm hai nghìn") is None


def test_date_words_tone_slips_are_put_right():
    value, factor = v.normalize_date_words("Ngày một tháng sáu năm môt nghìn chín trăm chín mươi chín")
    assert value == "Ngày một tháng sáu năm một nghìn chín trăm chín mươi chín" and factor < 1


def test_a_roman_numeral_misread_is_doubted():
    # serifed capitals joined: "quý III" read "quý HI" or "quý HII" passed as words before
    assert v.text_factor("quý HI năm 2020") < 1.0 and v.text_factor("quý HII năm 2024") < 1.0
    assert v.text_factor("quý III năm 2020") == 1.0 and v.text_factor("khóa XV, Hội nghị lần thứ IV") == 1.0
    assert v.text_factor("UBND tỉnh Quảng Ngãi") == 1.0


def test_date_words_whose_first_word_was_misread_open_with_ngay():
    value, factor = v.normalize_date_words("Nøày mười tám tháng mười một năm hai nghìn không trăm linh hai")
    assert value == "Ngày mười tám tháng mười một năm hai nghìn không trăm linh hai" and factor < 1.0
    assert v.normalize_date_words("Ngà mười tám")[1] < 0.9  # no date after it: left as read


def test_an_ethnic_group_among_stray_letters_is_a_guess():
    assert v.normalize_ethnicity("K „Kinh") == ("Kinh", 0.4)
    assert v.normalize_ethnicity("Kinh Quốc")[1] < 0.4  # another word: not for the name to settle


def test_date_words_open_with_a_capital():
    value, factor = v.normalize_date_words("ngày hai mươi tháng hai năm hai nghìn không trăm linh sáu")
    assert value == "Ngày hai mươi tháng hai năm hai nghìn không trăm linh sáu" and factor == 1.0


# ------------------------------------------------------------------ số định danh


@pytest.mark.parametrize(
    "number, sex, year, ok",
    [
        ("046157258462", "Nữ", 1957, True),
        ("046157258462", "Nam", 1957, False),  # 1 = female, 1900s
        ("046157258462", "Nữ", 1958, False),  # year digits 57
        ("001203012345", "Nam", 2003, True),  # 2 = male, 2000s
        ("001303012345", "Nữ", 2003, True),
        ("001303012345", "Nữ", 1903, False),
    ],
)
def test_id_consistency(number, sex, year, ok):
    assert (v.id_consistency(number, sex, year) == 1.0) is ok


def test_id_structure():
    assert v.normalize_id("046157258462") == ("046157258462", 1.0)
    assert v.normalize_id("003157258462")[1] < 0.5  # 003 is no province code
    assert v.normalize_id("097157258462")[1] < 0.5  # past 096
    assert v.normalize_id("04615725846")[1] < 0.5  # 11 digits
    value, factor = v.normalize_id("O46157258462")  # letter O read for 0
    assert value == "046157258462" and factor < 1


# a page whose words were read with confidence 0.97
WELL_READ_PAGE = OcrPage(
    number=1, lines=(Line(words=(Word("x", (0, 0, 10, 10), 0.97),)),), width=100, height=100, dpi=300
)


def test_id_against_record_lowers_confidence():
    values = {
        "so_dinh_danh": Value("046157258462", 0.99, 1.0),
        "gioi_tinh": Value("Nam", 0.99, 1.0),
        "ngay_sinh": Value("08/07/1957", 0.99, 1.0),
    }
    record = build_record("khai_sinh", WELL_READ_PAGE, values)
    assert record.confidence["so_dinh_danh"] < base.REVIEW_THRESHOLD
    assert "so_dinh_danh" in record.needs_review


# ------------------------------------------------------------------ dates and their order


def test_dates():
    assert v.normalize_date("8/7/1957") == ("08/07/1957", 0.9)
    assert v.normalize_date("08/07/1957") == ("08/07/1957", 1.0)
    assert v.normalize_date("31/02/1957")[1] < 0.5
    value, factor = v.normalize_date("95/02/1978")  # typewriter 0 read as 9
    assert value == "05/02/1978" and factor < 0.5
    assert v.normalize_date("1932") == ("1932", 1.0)


def test_registration_before_birth_is_flagged():
    rec = build_record(
        "khai_sinh",
        WELL_READ_PAGE,
        {"ngay_sinh": Value("08/07/1957", 0.99, 1.0), "ngay_dang_ky": Value("26/04/1956", 0.99, 1.0)},
    )
    assert "ngay_dang_ky" in rec.needs_review and "ngay_sinh" in rec.needs_review


def test_death_before_birth_and_registration_before_death():
    rec = build_record(
        "khai_tu",
        WELL_READ_PAGE,
        {
            "ngay_sinh": Value("14/05/1944", 0.99, 1.0),
            "ngay_chet": Value("10/11/1993", 0.99, 1.0),
            "ngay_dang_ky": Value("01/11/1993", 0.99, 1.0),
        },
    )
    assert "ngay_dang_ky" in rec.needs_review
    ok = build_record(
        "khai_tu",
        WELL_READ_PAGE,
        {
            "ngay_sinh": Value("14/05/1944", 0.99, 1.0),
            "ngay_chet": Value("10/11/1993", 0.99, 1.0),
            "ngay_dang_ky": Value("14/11/1993", 0.99, 1.0),
        },
    )
    assert ok.needs_review == ()


def test_date_in_words_must_agree_with_date():
    agree = build_record(
        "khai_sinh",
        WELL_READ_PAGE,
        {
            "ngay_sinh": Value("08/07/1957", 0.97, 1.0),
            "ngay_sinh_bang_chu": Value("Ngày tám tháng bảy năm một nghìn chín trăm năm mươi bảy", 0.97, 1.0),
        },
    )
    assert agree.needs_review == ()
    assert agree.confidence["ngay_sinh"] > 0.99  # two independent reads agree
    disagree = build_record(
        "khai_sinh",
        WELL_READ_PAGE,
        {
            "ngay_sinh": Value("08/07/1957", 0.97, 1.0),
            "ngay_sinh_bang_chu": Value("Ngày tám tháng tám năm một nghìn chín trăm năm mươi bảy", 0.97, 1.0),
        },
    )
    assert {"ngay_sinh", "ngay_sinh_bang_chu"} <= set(disagree.needs_review)


# ------------------------------------------------------------------ closed lists and text


def test_closed_lists():
    assert v.normalize_sex("Nữ") == ("Nữ", 1.0)
    assert v.normalize_sex("Nu")[0] == "Nữ"
    assert v.normalize_sex("Nừ")[0] == "Nữ"
    assert v.normalize_sex("Nam giới")[1] < 0.5
    assert v.normalize_ethnicity("Kinh") == ("Kinh", 1.0)
    # the official name (Danh mục các dân tộc Việt Nam) for each of the group's spellings
    assert v.normalize_ethnicity("Mông") == ("Mông", 1.0)
    assert [v.normalize_ethnicity(s)[0] for s in ("H'Mông", "Hmông", "HMông", "H’Mông", "Mèo")] == ["Mông"] * 5
    assert v.normalize_ethnicity("Ê-đê")[0] == "Ê Đê"
    assert v.normalize_ethnicity("Kjnh")[1] < 0.5
    assert len(v.ETHNIC_GROUPS) == 54
    assert v.normalize_nationality("Việt Nam") == ("Việt Nam", 1.0)
    assert v.normalize_nationality("Viet Nam")[0] == "Việt Nam"


def test_places():
    from digitize.extract import gazetteer

    assert gazetteer.is_province("Thừa Thiên Huế") and gazetteer.is_province("Huế")  # before and after 2025
    assert gazetteer.is_province("Quảng Nam") and gazetteer.is_province("Hồ Chí Minh")
    assert len(gazetteer.PROVINCES_2008) == 63 and len(gazetteer.PROVINCES_2025) == 34
    assert v.normalize_place("thôn 4, xã Phú Mỹ, huyện Phú Vang, tỉnh Thừa Thiên Huế")[1] == 1.0
    value, factor = v.normalize_place("xã Cò Nòi, huyên Mai Sơn, tỉnh Sơn La")
    assert value == "xã Cò Nòi, huyện Mai Sơn, tỉnh Sơn La" and factor < 1
    value, _ = v.normalize_place("phường Hàng Kênh, quận Lê Chân thành phố Hải Phòng")
    assert value == "phường Hàng Kênh, quận Lê Chân, thành phố Hải Phòng"
    assert v.normalize_place("Bệnh viện Phụ sản thành phố Cần Thơ")[0] == "Bệnh viện Phụ sản thành phố Cần Thơ"


def test_a_nationality_of_a_letter_or_two_read_with_other_marks_is_a_guess():
    assert v.normalize_nationality("Ý") == ("Ý", 1.0)
    assert v.normalize_nationality("Ÿ") == ("Ý", 0.4)
    assert v.normalize_nationality("Viet Nam") == ("Việt Nam", 0.8)
    assert v.normalize_nationality("V+Êt NA") == ("Việt Nam", 0.3)  # two letters lost: a guess, reviewed


def test_a_province_one_letter_off_is_put_right_as_a_guess():
    from digitize.extract.base import FAILED_CHECK

    for read, right in (
        ("tỉnh Gà Mau", "tỉnh Cà Mau"),
        ("Bệnh viện Đa khoa tỉnh Gà Mau", "Bệnh viện Đa khoa tỉnh Cà Mau"),
    ):
        value, factor = v.normalize_place(read)
        assert value == right and factor <= FAILED_CHECK
    # two provinces one letter apart ("Quảng Ninh", "Quảng Bình"): a reading between them is left
    assert v.normalize_place("tỉnh Quảng Ninh")[1] == 1.0


def test_a_middle_name_one_letter_from_thi_or_van_is_put_right_as_a_guess():
    assert v.normalize_name("TRẦN THTI MAI")[0] == "TRẦN THỊ MAI" and v.normalize_name("TRẦN THTI MAI")[1] < 1.0
    assert v.normalize_name("NGÔ TH YẾN")[0] == "NGÔ THỊ YẾN"
    assert v.normalize_name("LÊ THU HÀ") == ("LÊ THU HÀ", 1.0)  # a syllable: left as read


def test_names_snap_to_known_spellings():
    assert v.normalize_name("TRẤN KIM TRANG")[0] == "TRẦN KIM TRANG"
    assert v.normalize_name("Nguyễn Phương Hãng")[0] == "Nguyễn Phương Hằng"
    assert v.normalize_name("NGUYÊN THU HOA")[0] == "NGUYỄN THU HOA"  # a name starts with a surname
    assert v.normalize_name("Nguyễn Văn Nguyên")[0] == "Nguyễn Văn Nguyên"  # a given name stays
    assert v.normalize_name("Trần Mỹ Hồng 0anh")[0] == "Trần Mỹ Hồng Oanh"
    assert v.normalize_name("“Lê Gia Kiên")[0] == "Lê Gia Kiên"
    # names outside the stock (minority names) are left as read
    assert v.normalize_name("MÙA MÍ CHỨ") == ("MÙA MÍ CHỨ", 1.0)
    assert v.normalize_name("Niê Y Khuê")[0] == "Niê Y Khuê"  # one letter: no evidence to snap on
    assert v.normalize_name("Nguyễn Phương Hãng")[1] < base.REVIEW_THRESHOLD  # a snapped given name is reviewed
    value, factor = v.normalize_name("LỄ ĐỨC DŨNG")
    assert value == "LÊ ĐỨC DŨNG" and factor < 1.0  # snapped: the reader can see it


def test_places_snap_to_the_gazetteer():
    assert v.normalize_place("xóm 4, xã Duy Trung, tỉnh Quảng Nạm")[0] == "xóm 4, xã Duy Trung, tỉnh Quảng Nam"
    assert v.normalize_place("Tân An, Ninh Kiểu")[0] == "Tân An, Ninh Kiều"
    # every syllable is a real place syllable: an old commune, not a misreading
    assert v.normalize_place("xã Ân Nghĩa, huyện Lạc Sơn")[0] == "xã Ân Nghĩa, huyện Lạc Sơn"
    assert (
        v.normalize_place("tổ dân phố 11, phường Sa Pa, thị, xã Sa Pa")[0]
        == "tổ dân phố 11, phường Sa Pa, thị xã Sa Pa"
    )
    assert v.normalize_place("xóm 2, xã Diễn Kỷ,huyện Diễn Châu")[0] == "xóm 2, xã Diễn Kỷ, huyện Diễn Châu"


def test_places_resolved_through_the_unit_hierarchy():
    from digitize.extract.names import read_place

    # each unit narrows the next: inside huyện Sơn Tịnh, "Tinh Đông" can only be Tịnh Đông
    reading = read_place("xóm 4, xã Tinh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi")
    assert reading.value == "xóm 4, xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi"
    assert (reading.units, reading.verified, reading.changed) == (3, 3, True)
    assert (
        read_place("Trạm y tế xã Tinh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi").value
        == "Trạm y tế xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi"
    )
    assert read_place("Bệnh viện Đa khoa tỉnh Bình Đinh").value == "Bệnh viện Đa khoa tỉnh Bình Định"
    # a unit word misread into the name, and a bare registry cell
    assert read_place("tỉnh Bắc, Sơn Tịnh").value == "Tịnh Bắc, Sơn Tịnh"
    assert read_place("Hoằng Quỳ, Hoàng Hóa").value == "Hoằng Quỳ, Hoằng Hóa"
    # one misread letter where a single unit is that near
    assert read_place("Hải Châu T, Hải Châu").value == "Hải Châu I, Hải Châu"
    # capitals stay capitals; a right reading in the new tone placement is left alone
    assert read_place("XÃ CHIỂNG CHÂU, HUYỆN MAI CHÂU").value == "XÃ CHIỀNG CHÂU, HUYỆN MAI CHÂU"
    assert read_place("xã Hòa Tiến, huyện Hòa Vang, thành phố Đà Nẵng").changed is False
    # a ward the district does not have: not respelled, not verified, and its confidence drops
    reading = read_place("Phường 23, quận Gò Vấp, thành phố Hồ Chí Minh")
    assert reading.value.startswith("Phường 23") and reading.verified == reading.units - 1
    assert (
        v.normalize_place("Phường 23, quận Gò Vấp, thành phố Hồ Chí Minh")[1]
        < v.normalize_place("Phường 10, quận Gò Vấp, thành phố Hồ Chí Minh")[1]
    )
    # streets and hamlets are not units: nothing to verify, no doubt cast
    reading = read_place("Số 12 Lê Lợi, Thôn Hạ, xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi")
    assert (reading.units, reading.verified) == (3, 3)
    # "xã, Tịnh Đông": the stray comma goes; the name's first syllable is not a unit word
    assert (
        v.normalize_place("xóm 4, xã, Tinh Động, huyện Sơn Tịnh, tỉnh Quảng Ngãi")[0]
        == "xóm 4, xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi"
    )
    assert (
        v.normalize_place("thị trấn Nạm Phước,. huyện Duy Xuyên, tỉnh Quảng Nam")[0]
        == "thị trấn Nam Phước, huyện Duy Xuyên, tỉnh Quảng Nam"
    )
    # a respelling the hierarchy vouches for is marked, more lightly than a lone snap
    assert v.SNAPPED < v.normalize_place("xã Tinh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi")[1] < 1.0


def test_id_with_a_typed_zero_misread_first():
    assert v.normalize_id("989077788858") == ("089077788858", 0.5)  # put right, still reviewed
    assert v.normalize_id("089077788858") == ("089077788858", 1.0)
    assert v.normalize_id("999077788858")[0] == "999077788858"  # 99 is no province either: left alone


def test_issuing_body_cleaned():
    from digitize.extract.van_ban import issuing_body

    assert issuing_body("_ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ")[0] == "ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ"
    assert issuing_body("ỦY BAN NHÂN DÂN XÃ HÒA THẮNG Độc")[0] == "ỦY BAN NHÂN DÂN XÃ HÒA THẮNG"  # the motto's word
    assert issuing_body("ỦY BẠN NHÂN DÂN HUYỆN MỸ XUYÊN")[0] == "ỦY BAN NHÂN DÂN HUYỆN MỸ XUYÊN"
    assert issuing_body("SỞ TƯ PHÁP") == ("SỞ TƯ PHÁP", False)


def test_recipients_repaired():
    from digitize.extract.van_ban import recipient_phrases

    assert (
        recipient_phrases("SỞ Tư pháp; CT các PCT UBND huyện; TT Huyện Ủy; UBND tỉnh (b/C)")
        == "Sở Tư pháp; CT, các PCT UBND huyện; TT Huyện ủy; UBND tỉnh (b/c)"
    )
    assert recipient_phrases("Như trên; Lưu: VT, KT") == "Như trên; Lưu: VT, KT"


def test_typed_zeros_misread():
    assert v.normalize_date("11/11/2096")[0] == "11/11/2006"
    assert v.normalize_date("22/19/2006")[0] == "22/10/2006"
    assert v.normalize_date("22/19/2006")[1] < base.REVIEW_THRESHOLD
    assert v.normalize_time("95 giờ 45 phút")[0] == "05 giờ 45 phút"
    assert v.normalize_book("63/1995")[0] == "03/1995"
    assert v.normalize_number("|84") == ("84", 1.0)


def test_a_year_whose_1_a_leaders_dot_made_a_4_is_read_as_a_guess():
    assert v.normalize_year("4977") == ("1977", 0.4)
    date, factor = v.normalize_date("29/05/4993")
    assert date == "29/05/1993" and factor < base.REVIEW_THRESHOLD
    assert v.normalize_year("4444") == ("4444", 0.2)  # no single swap makes a year: left as read
    assert v.normalize_year("1068")[1] == 0.2  # not a dot's misread: left for a person


def test_registry_numbers_follow_the_page():
    from digitize.extract.so_ho_tich import check_sequence

    entries = [{"so": Value(n, 0.95, 1.0)} for n in ("100", "101", "192", "103", "°g", "105", "777")]
    check_sequence(entries)
    assert [e["so"].value for e in entries] == ["100", "101", "102", "103", "104", "105", "777"]
    lost = [{"so": Value(n, 0.95, 1.0)} for n in ("14", "150", "151", "52")]
    check_sequence(lost)
    assert [e["so"].value for e in lost] == ["149", "150", "151", "152"]  # a digit lost at the cell's edge
    assert entries[2]["so"].factor < 1 and entries[4]["so"].factor < 1  # put right, for review
    assert entries[6]["so"].factor <= 0.3  # does not fit, cannot be put right
    assert entries[0]["so"].confirmed


def test_ruled_columns_named_despite_a_misread_header():
    from digitize.extract.so_ho_tich import DEFAULT_ORDER, _grid_keys
    from digitize.extract.table import Column

    grid = [0, 50, 200, 280, 340, 390, 600, 760, 900, 1000]  # nine ruled columns
    order = DEFAULT_ORDER["khai_sinh"]
    header = [Column(k, grid[i] + 5, grid[i + 1] - 5) for i, k in enumerate(order) if k != "ho_ten_me"]
    keys, edges = _grid_keys(grid, header, "khai_sinh")  # "Họ tên nọ." was not recognised
    assert keys == order and edges == grid[1:-1]


def test_names():
    assert v.name_factor("TRẦN MỸ LOAN") == 1.0
    assert v.name_factor("Nguyễn Thùy 0anh") < 0.5
    assert v.name_factor("Nguyễn Minh KimLoan") < 0.5
    assert v.name_factor("VŨ THANH ĐAT") < 1.0  # a syllable closed by t takes sắc or nặng
    assert v.is_syllable("nghiêng") and not v.is_syllable("HƯỲNH")


# ------------------------------------------------------------------ classification


def test_classify_titles_with_slips():
    assert classify(page_of("ỦY BAN NHÂN DÂN", "GIẤY KHAI SINH", "Số: 1")) == "khai_sinh"
    assert classify(page_of("GIAY KHAI S1NH")) == "khai_sinh"
    assert classify(page_of("TRÍCH LỤC KHAI TỬ")) == "khai_tu"
    assert classify(page_of("GIẤY CHỨNG NHẬN KẾT HÔN")) == "ket_hon"
    assert classify(page_of("SỔ ĐĂNG KÝ KHAI SINH", "Năm 1978")) == "so_ho_tich"


def test_classify_without_title_uses_labels():
    page = page_of(
        "(BẢN SAO)",
        "Họ, chữ đệm, tên: AN",
        "ghi bằng chữ: Ngày một tháng một năm hai nghìn",
        "Họ, chữ đệm, tên người mẹ: BÌNH",
        "Họ, chữ đệm, tên người đi khai sinh: BÌNH",
    )
    assert classify(page) == "khai_sinh"


def test_prose_mentioning_a_book_is_not_a_book():
    page = page_of(
        "Nhiều Sổ hộ tịch lưu trữ từ những năm trước đã bị ố vàng, rách nát,",
        "đăng ký khai sinh, khai tử, kết hôn cho công dân theo Nghị định",
        "số 123/2015/NĐ-CP. Sổ đăng ký khai sinh được lưu trữ vĩnh viễn.",
    )
    assert classify(page) == "van_ban"
    assert extract(page) == []  # a page of prose gives no record


def test_ledger_without_header_row():
    """The right-hand page of a spread: no title, no header; columns from the gutters."""
    xs = [100, 220, 560, 760, 880, 1000, 1400, 1800, 2150]
    rows = [
        [
            "12",
            "Lê Văn An",
            "01/02/1990",
            "Nam",
            "Kinh",
            "Trạm y tế Hòa Nhơn",
            "Trần Thị Bình",
            "Lê Văn Cường",
            "05/02/1990",
        ],
        [
            "13",
            "Ngô Thị Hoa",
            "03/02/1990",
            "Nữ",
            "Kinh",
            "Hòa Nhơn, Hòa Vang",
            "Đỗ Thị Lan",
            "Ngô Văn Hùng",
            "09/02/1990",
        ],
        [
            "14",
            "Phạm Minh Đức",
            "07/02/1990",
            "Nam",
            "Kinh",
            "Bệnh viện Đà Nẵng",
            "Vũ Thị Mai",
            "Phạm Văn Sơn",
            "12/02/1990",
        ],
    ]
    page = page_of(*[list(zip(r, xs)) for r in rows], width=2339, height=1654)
    assert classify(page) == "so_ho_tich"
    records = extract(page)
    assert [r.fields["so"] for r in records] == ["12", "13", "14"]
    assert records[1].fields["ho_ten"] == "Ngô Thị Hoa" and records[1].fields["gioi_tinh"] == "Nữ"
    assert records[2].fields["noi_sinh"] == "Bệnh viện Đà Nẵng"
    assert records[0].fields["ngay_dang_ky"] == "05/02/1990"


def test_ledger_wrapped_cell_joins_its_entry():
    xs = [100, 220, 560, 760, 880, 1000, 1400, 1800, 2150]
    header = list(
        zip(
            [
                "Số TT",
                "Họ và tên",
                "Ngày sinh",
                "Giới tính",
                "Dân tộc",
                "Nơi sinh",
                "Họ tên mẹ",
                "Họ tên cha",
                "Ngày ĐK",
            ],
            xs,
        )
    )
    row1 = list(
        zip(
            [
                "7",
                "Lê Văn An",
                "01/02/1990",
                "Nam",
                "Kinh",
                "Bệnh viện Phụ sản -",
                "Trần Thị Bình",
                "Lê Văn Cường",
                "05/02/1990",
            ],
            xs,
        )
    )
    wrap = [("Nhi Đà Nẵng", 1000)]
    row2 = list(
        zip(
            [
                "8",
                "Ngô Thị Hoa",
                "03/02/1990",
                "Nữ",
                "Kinh",
                "Hòa Nhơn, Hòa Vang",
                "Đỗ Thị Lan",
                "Ngô Văn Hùng",
                "09/02/1990",
            ],
            xs,
        )
    )
    page = page_of("SỔ ĐĂNG KÝ KHAI SINH", header, row1, wrap, row2, width=2339, height=1654)
    records = extract(page)
    assert len(records) == 2
    assert records[0].fields["noi_sinh"] == "Bệnh viện Phụ sản - Nhi Đà Nẵng"
    assert records[1].fields["so"] == "8"


def test_a_first_entry_whose_number_is_unreadable_is_kept_and_reviewed():
    """Under the header row the first entry's number read as marks ("~~"): its row holds a
    date, so the table starts there; without it the entry was lost without a trace."""
    xs = [100, 220, 560, 760, 880, 1000, 1400, 1800, 2150]
    cells = ["Số TT", "Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Nơi sinh", "Họ tên mẹ", "Họ tên cha"]
    header = list(zip(cells + ["Ngày ĐK"], xs))
    first = ["~~", "Lê Văn An", "01/02/1990", "Nam", "Kinh", "Hòa Nhơn", "Trần Thị Bình", "Lê Văn Cường"]
    second = ["8", "Ngô Thị Hoa", "03/02/1990", "Nữ", "Kinh", "Hòa Nhơn", "Đỗ Thị Lan", "Ngô Văn Hùng"]
    rows = [list(zip(first + ["05/02/1990"], xs)), list(zip(second + ["09/02/1990"], xs))]
    records = extract(page_of("SỔ ĐĂNG KÝ KHAI SINH", header, *rows, width=2339, height=1654))
    assert [r.fields.get("ho_ten") for r in records] == ["Lê Văn An", "Ngô Thị Hoa"]
    assert "so" in records[0].needs_review


# ------------------------------------------------------------------ real OCR on committed samples

COMMITTED = ["khai_sinh_clean", "ket_hon_clean", "khai_tu_clean", "so_ho_tich_typewriter", "van_ban_cong_van"]

# Where the OCR itself misreads (not the extractor), the field may differ from the
# ground truth but must then be in needs_review, or absent and listed as required.
KNOWN_OCR_MISSES = {
    ("khai_tu_clean", "nguoi_ky"),  # the signature covers the name: no text read
    ("so_ho_tich_typewriter", "gioi_tinh"),  # some "Nữ" cells not read at all
    ("so_ho_tich_typewriter", "ho_ten"),  # "0anh"
    ("so_ho_tich_typewriter", "ho_ten_me"),  # "ũ Thu Uyên"
    ("so_ho_tich_typewriter", "noi_sinh"),  # "Nhỉ"
    ("so_ho_tich_typewriter", "ngay_sinh"),  # typewriter 0 read as 9
    ("so_ho_tich_typewriter", "ngay_dang_ky"),
    ("van_ban_cong_van", "noi_nhan"),  # "VI" for "VT,"
}


@pytest.fixture(scope="module")
def ocr_pages(tmp_path_factory, samples_dir):
    """Real cleanup + OCR of the committed samples, once per module."""
    import os

    from digitize import ingest
    from digitize.config import load_settings
    from digitize.ocr import make_ocr_engine
    from digitize.pipeline import Engines, recognise_page
    from digitize.preprocess import CleanupOptions

    home = tmp_path_factory.mktemp("ocr-home")
    settings = load_settings(env={**os.environ, "DIGITIZE_HOME": str(home)})
    engines = Engines(
        settings=settings,
        ocr=make_ocr_engine(settings),
        signer=None,
        storage=None,
        index=None,
        cleanup=CleanupOptions(),
    )
    out = {}
    for name in COMMITTED:
        gt = json.loads((samples_dir / f"{name}.gt.json").read_text(encoding="utf-8"))
        data = (samples_dir / gt["file"]).read_bytes()
        source = ingest.describe(gt["file"], data, settings)
        out[name] = (gt, [recognise_page(p, engines)[1] for p in ingest.load_pages(source, data, settings)])
    return out


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_sample_fields(ocr_pages, name):
    gt, pages = ocr_pages[name]
    records = extract_pages(pages)
    want = gt["records"]
    assert len(records) == len(want), [r.fields for r in records]
    assert {classify(p) for p in pages} == {gt["doc_type"]}
    for expected, got in zip(want, records):
        assert got.doc_type == expected["doc_type"]
        for field, value in expected["fields"].items():
            if got.fields.get(field) == value:
                continue
            assert (name, field) in KNOWN_OCR_MISSES, (field, value, got.fields.get(field))
            assert field in got.needs_review, (field, value, got.fields.get(field), got.confidence.get(field))
        extra = set(got.fields) - set(expected["fields"])
        assert not extra, extra


def test_committed_certificates_are_exact_where_ocr_is(ocr_pages):
    """The clean certificates read completely: every field right and auto-accepted."""
    for name in ("khai_sinh_clean", "ket_hon_clean"):
        gt, pages = ocr_pages[name]
        record = extract_pages(pages)[0]
        assert record.fields == gt["records"][0]["fields"]


# ------------------------------------------------------------------ slips measured on the dev slices (session 4)


def test_sex_read_one_letter_off():
    assert v.normalize_sex("Nan") == ("Nam", 0.5)  # put right, for review
    assert v.normalize_sex("[tam")[0] == "Nam"
    assert v.normalize_sex("Nữ") == ("Nữ", 1.0)
    assert v.normalize_sex("Na")[1] <= 0.2  # as near to Nữ as to Nam: not ours to choose
    assert v.normalize_sex("N")[1] <= 0.2


def test_edge_noise_and_unclosed_brackets():
    assert v.strip_noise("(Nguyễn Bích Ngọc Hoa") == "Nguyễn Bích Ngọc Hoa"
    assert v.strip_noise("[Lê Thanh Phúc") == "Lê Thanh Phúc"
    assert v.strip_noise("¡Trần Thị Quỳnh") == "Trần Thị Quỳnh"
    assert v.strip_noise("Bệnh viện (cơ sở 2)") == "Bệnh viện (cơ sở 2)"


def test_names_capitalised():
    # v, c, o, s, x, z have capitals of the same shape: "văn" in a mixed-case name is Văn misread
    assert v.normalize_name("Lý văn việt") == ("Lý Văn Việt", 1.0)
    name, factor = v.normalize_name("nguyễn Văn An")
    assert name == "Nguyễn Văn An" and factor < 1.0  # an n is not misread for an N: doubtful
    assert v.normalize_name("LÝ VĂN VIỆT")[0] == "LÝ VĂN VIỆT"
    # Êđê women's names: the faint apostrophe of H' lost, or read as a space
    assert v.normalize_name("Đỗ H Mai")[0] == "Đỗ H'Mai"
    assert v.normalize_name("Mlô HMai")[0] == "Mlô H'Mai"
    assert v.normalize_name("Hoàng Hải")[0] == "Hoàng Hải"


def test_time_and_book_with_lookalikes():
    assert v.normalize_time("61 giờ 2ð phút")[0] == "01 giờ 20 phút"
    assert v.normalize_time("02 giờ 95 phút")[0] == "02 giờ 05 phút"
    assert v.normalize_time("1O giờ 05 phút") == ("10 giờ 05 phút", 0.7)
    assert v.normalize_book("2/2000") == ("02/2000", 0.9)  # books are numbered in two figures


def test_addresses_tidied():
    assert v.normalize_place("Trạm y tế VũNinh")[0] == "Trạm y tế Vũ Ninh"
    assert v.normalize_place("Trọn y tế Tân An")[0] == "Trạm y tế Tân An"
    assert (
        v.normalize_place("tổ dân phố 1, thị trấn Nam Phước. huyện Duy.Xuyên")[0]
        == "tổ dân phố 1, thị trấn Nam Phước, huyện Duy Xuyên"
    )
    assert (
        v.normalize_place("Ủy ban nhân dân phường.Lê Hồng Phong, thành phố Quảng Ngãi, tỉnh Quảng Ngãi")[0]
        == "Ủy ban nhân dân phường Lê Hồng Phong, thành phố Quảng Ngãi, tỉnh Quảng Ngãi"
    )
    assert v.normalize_place("Hoằng Quỳ, Hoằng Hóa")[0] == "Hoằng Quỳ, Hoằng Hóa"
    assert v.normalize_place("TP.Huế")[0] == "TP.Huế"


def test_numbered_ward_with_a_typed_zero():
    value, factor = v.normalize_place("Phường 19, quận Gò Vấp, thành phố Hồ Chí Minh")
    assert value == "Phường 10, quận Gò Vấp, thành phố Hồ Chí Minh"  # Gò Vấp has a Phường 10, no 19
    assert factor < 1.0
    assert v.normalize_place("Phường 16, quận Gò Vấp, thành phố Hồ Chí Minh")[0].startswith("Phường 16")


def test_van_ban_signer_title_and_notation():
    from digitize.extract.van_ban import _title, notation_kind

    assert _title("CHỦ TTCH") == "CHỦ TỊCH"
    assert _title("PHÓ CHỦ TTCH") == "PHÓ CHỦ TỊCH"
    assert _title("NGƯỜI KÝ") is None
    assert notation_kind("1255/2024/QĐĐ-UBND") == "1255/2024/QĐ-UBND"
    assert notation_kind("507/UBND-KGVX") == "507/UBND-KGVX"
    assert notation_kind("1539/TIr-SGTVT") == "1539/TTr-SGTVT"  # one letter misread, one kind that near
    assert notation_kind("12/QT-UBND") == "12/QT-UBND"  # two letters: QĐ, CT, TC are all that near
    assert v.normalize_name("Đồ Công Toàn")[0] == "Đỗ Công Toàn"  # no surname Đồ


def test_van_ban_motto_with_a_misread_letter_is_not_the_body():
    page = page_of(
        [("ỦY BAN NHÂN DÂN", 160), ("CỘNS HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 820)],
        [("TỈNH LẠNG SƠN", 200), ("Độc lập - Tự do - Hạnh phúc", 900)],
        [("Số: 2508/QĐ-UBND", 160), ("Lạng Sơn, ngày 16 tháng 6? năm 2018", 820)],
        [("QUYẾT ĐỊNH", 700)],
    )
    record = extract(page, "van_ban")[0]
    assert record.fields["co_quan_ban_hanh"] == "ỦY BAN NHÂN DÂN TỈNH LẠNG SƠN"
    assert record.fields["ngay_ban_hanh"] == "16/06/2018"  # a speck after a figure


def test_registry_entry_number_with_a_speck_and_book_year():
    from digitize.extract.so_ho_tich import SoHoTichExtractor

    header = [("Số TT", 100), ("Họ và tên", 300), ("Ngày sinh", 580), ("Giới tính", 760), ("Ngày ĐK", 2100)]
    rows = [
        [(".84", 100), ("Lý văn việt", 300), ("26/12/2002", 580), ("Nam", 760), ("05/01/2003", 2100)],
        [("85", 100), ("Phạm Thị Tuyết", 300), ("17/01/2003", 580), ("Nữ", 760), ("27/01/2003", 2100)],
        [("86", 100), ("Phan Minh Hiếu", 300), ("02/11/1953", 580), ("Nam", 760), ("09/02/2003", 2100)],
        [("87", 100), ("Đỗ Thị Ánh", 300), ("10/02/2003", 580), ("Nữ", 760), ("17/02/2003", 2100)],
        [("88", 100), ("Lê Văn Dũng", 300), ("11/02/2003", 580), ("Nam", 760), ("20/02/2003", 2100)],
        [("89", 100), ("Lê Văn Hải", 300), ("12/02/2003", 580), ("Nam", 760), ("26/02/2003", 2100)],
        [("90", 100), ("Võ Thị Mai", 300), ("13/02/2003", 580), ("Nữ", 760), ("28/02/2993", 2100)],
    ]
    page = page_of("SỔ ĐĂNG KÝ KHAI SINH", "Năm 2003", header, *rows, width=2400)
    records = SoHoTichExtractor().extract(page)
    assert [r.fields["so"] for r in records] == [str(n) for n in range(84, 91)]  # ".84" starts an entry
    assert records[0].fields["ho_ten"] == "Lý Văn Việt"
    assert records[6].fields["ngay_dang_ky"] == "28/02/2003"  # the book's year, typed zeros misread
    assert "ngay_dang_ky" in records[6].needs_review
    assert "ngay_sinh" in records[2].needs_review  # registered 50 years after the birth: misread, or a rare case


def test_drafting_unit_and_recipients():
    from digitize.extract.van_ban import drafting_unit, recipient_phrases

    assert drafting_unit("Như trên; Lưu: VT, KE") == "Như trên; Lưu: VT, KT"  # "T." read as one E
    assert drafting_unit("Lưu: VT, HCTE") == "Lưu: VT, HCTP"
    assert drafting_unit("Lưu: VT, XE") == "Lưu: VT, XE"  # no unit it could be
    assert recipient_phrases("CT PCT UBND xã") == "CT, PCT UBND xã"


def test_registry_places_put_right_from_the_book_heading():
    from digitize.extract.names import local_units, snap_to_local

    local = local_units("Hải Châu T", "Hải Châu")  # the heading itself misread
    assert (local.commune, local.district) == ("Hải Châu I", "Hải Châu")
    assert snap_to_local("Trạm y tế Hải Châu T", local)[0] == "Trạm y tế Hải Châu I"
    assert snap_to_local("Hải Châu 1T, Hải Châu", local)[0] == "Hải Châu I, Hải Châu"
    assert snap_to_local("Hải Châu II, Hải Châu", local) == ("Hải Châu II, Hải Châu", False)  # another ward
    local = local_units("Phước Hòa", "Tuy Phước")
    assert snap_to_local("Trạm y tế Phước Hòa", local) == ("Trạm y tế Phước Hòa", False)  # "tế Phước" is no unit
    assert snap_to_local("Trạm y tế Phước Hoà", local)[1] is False  # old tone placement is printed too
    assert snap_to_local("Trạm y tế Duy, Sơn", local_units("Duy Sơn", "Duy Xuyên"))[0] == "Trạm y tế Duy Sơn"


def test_pre_2025_units_are_known_names():
    assert (
        v.normalize_place("thôn Hạ, xã Nghĩa Dõng, thành phố Quảng Ngãi")[0]
        == "thôn Hạ, xã Nghĩa Dõng, thành phố Quảng Ngãi"
    )  # not respelled as Nghĩa Đồng of Nghệ An
    assert v.normalize_place("Bệnh viện Từ Dũ")[0] == "Bệnh viện Từ Dũ"  # a hospital's name is no commune
    assert v.name_factor("Xuân Hải") <= base.FAILED_CHECK  # no surname: lost to the next cell


def test_names_glued_or_with_the_middle_thi_undotted():
    assert v.normalize_name("NguyễnMinhTuấn")[0] == "Nguyễn Minh Tuấn"
    assert v.normalize_name("Nguyễn Minh KimLoan")[0] == "Nguyễn Minh Kim Loan"
    name, factor = v.normalize_name("HUỲNH THI HẠNH")
    assert name == "HUỲNH THỊ HẠNH" and factor < base.REVIEW_THRESHOLD  # put right, for review
    assert v.normalize_name("Nguyễn Thị Thi")[0] == "Nguyễn Thị Thi"  # Thi as a given name stays
    assert v.name_factor("Hồ Đình Trường Nguyễn Minh Hiếu") < 1.0  # two names run together


def test_issuing_body_unit_spelled_by_the_gazetteer():
    from digitize.extract.van_ban import issuing_body

    assert issuing_body("ỦY BAN NHÂN DÂN. THỊ TRẤN PHONG ĐIỂN")[0] == "ỦY BAN NHÂN DÂN THỊ TRẤN PHONG ĐIỀN"
    assert issuing_body("ỦY BAN NHÂN DÂN XÃ EA KẼNH")[0] == "ỦY BAN NHÂN DÂN XÃ EA KÊNH"
    assert (
        v.normalize_place("Ủy ban nhân dân thị trấn Nam Phước huyện Duy Xuyên, tỉnh Quảng Nam")[0]
        == "Ủy ban nhân dân thị trấn Nam Phước, huyện Duy Xuyên, tỉnh Quảng Nam"
    )


def test_book_units_match_whole_names_only():
    from digitize.extract.names import local_units, snap_to_local

    local = local_units("Hưng Bình", "Vinh")
    assert snap_to_local("Hưng Bình, Vinh", local) == ("Hưng Bình, Vinh", False)  # "Bình" is no misread Vinh
    assert snap_to_local("Trạm y tế Hưng Bính", local)[0] == "Trạm y tế Hưng Bình"


def test_registry_column_edge_at_the_cells_aligned_start():
    from digitize.extract.table import Column, edges_between

    def row(*cells):  # (text, x0, x1) between an entry number and a date
        return Line(
            (
                Word("257", (104, 0, 149, 20), 0.9),
                *(Word(t, (a, 0, b, 20), 0.9) for t, a, b in cells),
                Word("17/01/2008", (2089, 0, 2247, 20), 0.9),
            )
        )

    header = [Column("noi_sinh", 1139, 1266), Column("ho_ten_me", 1543, 1687)]
    gia_dinh = [("Nhân", 1145, 1206), ("dân", 1225, 1271), ("Gia", 1290, 1336), ("Định", 1354, 1417)]
    others = [
        [("Hùng", 1145, 1206), ("Vương", 1225, 1303)],
        [("A,", 1127, 1153), ("Bình", 1178, 1238), ("Chánh", 1259, 1336)],
    ]
    rows = [row(*gia_dinh, ("Nguyễn", 1443, 1537)) for _ in range(3)]
    rows += [row(*others[i % 2], ("Trần", 1443, 1505)) for i in range(4)]
    rows.append(row(*gia_dinh[:3], ("-Định»Nguyễn", 1345, 1542)))  # glued across the gutter: no gap left
    # every mother's name starts at x=1443: the edge is there, not in the gap inside "Gia Định"
    assert 1417 <= edges_between(header, rows)[0] <= 1443


def test_van_ban_recipients_with_a_dash_read_as_an_accent():
    page = page_of(
        [("ỦY BAN NHÂN DÂN", 160), ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 820)],
        [("XÃ TỊNH ĐÔNG", 200), ("Độc lập - Tự do - Hạnh phúc", 900)],
        [("Số: 12/QĐ-UBND", 160), ("Tịnh Đông, ngày 16 tháng 6 năm 2018", 820)],
        [("QUYẾT ĐỊNH", 700)],
        [("Nơi nhận:", 160), ("TM. ỦY BAN NHÂN DÂN", 1000)],
        [("- Như trên;", 160), ("CHỦ TTCH", 1100)],
        [("ˆ Phòng Tư pháp;", 160)],
        [("- Lưu: VT, KE.", 160)],
        [("Đồ Văn An", 1050)],
    )
    fields = extract(page, "van_ban")[0].fields
    assert fields["noi_nhan"] == "Như trên; Phòng Tư pháp; Lưu: VT, KT"
    assert fields["chuc_vu_nguoi_ky"] == "CHỦ TỊCH"
    assert fields["nguoi_ky"] == "Đỗ Văn An"


# ------------------------------------------------ văn bản read from real paper ----


def _vb_line(*words: tuple[str, tuple[int, int, int, int], float]) -> Line:
    return Line(tuple(Word(t, b, c) for t, b, c in words))


def _vb_header(number_words, date_words) -> list[Line]:
    return [
        _vb_line(
            ("ỦY", (400, 200, 480, 250), 0.96),
            ("BAN", (500, 200, 620, 250), 0.96),
            ("NHÂN", (640, 200, 790, 250), 0.96),
            ("DÂN", (810, 200, 920, 250), 0.96),
            ("CỘNG", (1070, 200, 1220, 250), 0.96),
            ("HÒA", (1240, 200, 1360, 250), 0.96),
            ("XÃ", (1375, 200, 1450, 250), 0.96),
            ("HỘI", (1465, 200, 1570, 250), 0.96),
        ),
        _vb_line(
            ("TỈNH", (420, 260, 560, 310), 0.93),
            ("QUẢNG", (570, 260, 770, 310), 0.93),
            ("NGÃI", (785, 260, 925, 310), 0.93),
        ),
        _vb_line(
            ("Số:", (460, 390, 525, 440), 0.95),
            *number_words,
            ("Quảng", (1300, 400, 1440, 450), 0.95),
            ("Ngãi,", (1450, 400, 1560, 450), 0.95),
            *date_words,
        ),
        _vb_line(("CHỈ", (1260, 480, 1370, 540), 0.97), ("THỊ", (1386, 480, 1490, 540), 0.97)),
        _vb_line(
            ("Về", (730, 550, 800, 605), 0.97),
            ("việc", (814, 550, 910, 605), 0.97),
            ("tăng", (928, 550, 1036, 605), 0.97),
            ("cường", (1053, 550, 1205, 605), 0.97),
            ("công", (1222, 550, 1336, 605), 0.97),
            ("tác", (1352, 550, 1424, 605), 0.97),
        ),
        # an incoming-mail stamp in the margin, on its own visual row inside the subject
        _vb_line(("TRUNG", (40, 600, 160, 640), 0.5), ("TÂM", (170, 600, 230, 640), 0.6)),
        _vb_line(
            ("trên", (1010, 630, 1110, 675), 0.97),
            ("địa", (1130, 630, 1200, 675), 0.97),
            ("bàn", (1220, 630, 1310, 675), 0.97),
            ("tỉnh", (1330, 630, 1425, 675), 0.97),
        ),
    ]


_PRINTED_DATE = (
    ("ngày", (1580, 400, 1660, 450), 0.96),
    ("20", (1675, 400, 1725, 440), 0.96),
    ("tháng", (1758, 400, 1880, 450), 0.96),
    ("3", (1894, 400, 1918, 440), 0.96),
    ("năm", (1947, 400, 2037, 440), 0.96),
    ("2018", (2053, 400, 2159, 440), 0.96),
)


def _vb_page(lines: list[Line], number: int = 1) -> OcrPage:
    rule = (1160, 711, 1610, 715)  # the short centred rule under the subject
    return OcrPage(number, tuple(lines), 2413, 3423, 300.0, rules=(rule,))


def test_van_ban_number_written_by_hand_is_never_auto_accepted():
    # "Số: 07 /CT-UBND": figures apart from the printed notation (the form's blank filled in pen)
    page = _vb_page(
        _vb_header((("07", (545, 396, 600, 448), 0.97), ("/CT-UBND", (636, 399, 889, 439), 0.95)), _PRINTED_DATE)
    )
    record = extract(page, "van_ban")[0]
    assert record.fields["so_ky_hieu"] == "07/CT-UBND"
    assert "so_ky_hieu" in record.handwritten and "so_ky_hieu" in record.needs_review
    assert record.fields["ngay_ban_hanh"] == "20/03/2018" and "ngay_ban_hanh" not in record.handwritten
    assert record.fields["dia_danh"] == "Quảng Ngãi"
    assert record.fields["co_quan_ban_hanh"] == "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    # the subject ends at the rule under it, and the margin stamp is not part of it
    assert record.fields["trich_yeu"] == "tăng cường công tác trên địa bàn tỉnh"
    prov = record.to_dict()["provenance"]["so_ky_hieu"]
    assert prov["raw"] == "07 /CT-UBND" and prov["boxes"][0] == [545, 396, 600, 448]


def test_van_ban_margin_stamp_read_into_a_subject_row_is_left_out():
    # the incoming-mail stamp's handwritten number ("2352", read "A154") on the row of the
    # subject's second line, across a column gap: not part of the subject
    lines = _vb_header((("07/CT-UBND", (545, 396, 889, 448), 0.96),), _PRINTED_DATE)
    lines[-1] = _vb_line(
        ("A154", (406, 630, 500, 675), 0.4),
        ("trên", (1010, 630, 1110, 675), 0.97),
        ("địa", (1130, 630, 1200, 675), 0.97),
        ("bàn", (1220, 630, 1310, 675), 0.97),
        ("tỉnh", (1330, 630, 1425, 675), 0.97),
    )
    record = extract(_vb_page(lines), "van_ban")[0]
    assert record.fields["trich_yeu"] == "tăng cường công tác trên địa bàn tỉnh"


def test_van_ban_printed_number_stays_printed():
    page = _vb_page(_vb_header((("07/CT-UBND", (545, 396, 889, 448), 0.96),), _PRINTED_DATE))
    record = extract(page, "van_ban")[0]
    assert record.fields["so_ky_hieu"] == "07/CT-UBND" and not record.handwritten


def test_van_ban_handwritten_day_flagged_and_place_still_read():
    # the day in pen overlaps the printed "ngày" and reads as a doubtful "2|"
    date = (
        ("ngày", (1580, 400, 1746, 450), 0.96),
        ("2|", (1696, 396, 1741, 454), 0.77),
        ("tháng", (1766, 400, 1889, 450), 0.96),
        ("12", (1919, 400, 1970, 440), 0.96),
        ("năm", (1985, 400, 2076, 440), 0.96),
        ("2024", (2092, 400, 2201, 440), 0.96),
    )
    page = _vb_page(_vb_header((("660/CT-UBND", (545, 396, 889, 448), 0.96),), date))
    record = extract(page, "van_ban")[0]
    assert "ngay_ban_hanh" in record.handwritten and "ngay_ban_hanh" in record.needs_review
    assert record.fields["dia_danh"] == "Quảng Ngãi"
    # unreadable day (figures lost): no date, the place is still there
    lost = (
        ("ngày0P'", (1536, 400, 1739, 450), 0.0),
        ("tháng", (1758, 400, 1880, 450), 0.96),
        ("02", (1886, 400, 1941, 440), 0.96),
        ("năm", (1957, 400, 2055, 440), 0.96),
        ("2025", (2071, 400, 2186, 440), 0.96),
    )
    record = extract(_vb_page(_vb_header((("660/CT-UBND", (545, 396, 889, 448), 0.96),), lost)), "van_ban")[0]
    assert "ngay_ban_hanh" not in record.fields and record.fields["dia_danh"] == "Quảng Ngãi"


def _date_words(day: str, month: str, year: str, day_confidence: float = 0.3) -> tuple:
    """ "ngày {day} tháng {month} năm {year}" on the number's row, the day as read (a pen's
    figures read as marks, at a low confidence)."""
    return (
        ("ngày", (1580, 400, 1660, 450), 0.96),
        (day, (1675, 396, 1730, 452), day_confidence),
        ("tháng", (1758, 400, 1880, 450), 0.96),
        (month, (1894, 400, 1940, 440), 0.96),
        ("năm", (1957, 400, 2040, 440), 0.96),
        (year, (2053, 400, 2159, 440), 0.96),
    )


def _signed(at: str, signer: str = "Ủy ban nhân dân tỉnh Quảng Ngãi"):
    from digitize.types import InputSignature

    return InputSignature(
        signer=signer, signed_at=at, subfilter="ETSI.CAdES.detached", valid=True, covers_whole_file=True, trusted=False
    )


class _PenReader:
    """A reader that answers pen figures from a table: (left edge of the blank) -> figures.
    A blank starting within 60 pixels of a key gets its figures; others read nothing."""

    def __init__(self, by_blank: dict[int, str]) -> None:
        self.by_blank = by_blank
        self.asked: list[tuple[int, int, int, int]] = []

    def __call__(self, page, boxes, charset, model):
        return None

    def crossed_by_leader(self, page, boxes):
        return False

    def figures_by_hand(self, page, box, figure_height):
        from digitize.ocr.handwriting import PenFigures

        self.asked.append(box)
        text = next((t for x, t in self.by_blank.items() if abs(box[0] - x) < 60), None)
        return PenFigures(text, 0.93) if text else None


def test_van_ban_pen_figures_read_into_the_blanks_stay_in_review():
    from digitize.extract.rereading import reading_values

    # "Số: d# /CT-UBND", "ngày @3 tháng 01 năm 2018": the pen's figures read as stray marks
    number = (("d#", (545, 396, 620, 448), 0.4), ("/CT-UBND", (636, 399, 889, 439), 0.95))
    date = _date_words("@3", "01", "2018")
    page = _vb_page(_vb_header(number, date))
    without = extract(page, "van_ban")[0]
    assert "ngay_ban_hanh" not in without.fields and without.fields["so_ky_hieu"] != "07/CT-UBND"

    reader = _PenReader({525: "07", 1690: "23"})
    with reading_values(reader):
        record = extract(page, "van_ban")[0]
    assert record.fields["so_ky_hieu"] == "07/CT-UBND"
    assert record.fields["ngay_ban_hanh"] == "23/01/2018"
    for name in ("so_ky_hieu", "ngay_ban_hanh"):
        assert name in record.handwritten and name in record.needs_review
    prov = record.to_dict()["provenance"]
    assert any(r["rule"] == "pen_figures" and r["after"] == "07/CT-UBND" for r in prov["so_ky_hieu"]["repairs"])
    assert any(r["rule"] == "pen_figures" for r in prov["ngay_ban_hanh"]["repairs"])
    # the number's blank lies between the printed "Số:" and the notation's slash; the month
    # was read clean by Tesseract and not asked again
    x0, _, x1, _ = reader.asked[0]
    assert 525 <= x0 and x1 <= 636
    assert len(reader.asked) == 2


def test_a_pen_date_after_the_signing_takes_the_models_next_reading_within_the_bound():
    from digitize.extract.van_ban import bound_by_signatures

    signed = _signed("2018-04-04T21:21:15+07:00")
    # the model read the day 09 (after the signing), its next reading 03
    read = Value("09/04/2018", 0.9, 0.8, handwritten=True, alternatives=("03/04/2018", "08/04/2018"))
    values = {"ngay_ban_hanh": read}
    bound_by_signatures(values, (signed,))
    assert values["ngay_ban_hanh"].value == "03/04/2018" and values["ngay_ban_hanh"].handwritten
    assert values["ngay_ban_hanh"].repairs[-1].rule == "signing_bound"
    # no reading within the bound: the value stays, doubted
    alone = Value("09/04/2018", 0.9, 0.8, handwritten=True)
    values = {"ngay_ban_hanh": alone}
    bound_by_signatures(values, (signed,))
    assert values["ngay_ban_hanh"].value == "09/04/2018" and values["ngay_ban_hanh"].factor < 0.8


def test_pen_figures_carry_the_readings_they_allow():
    from digitize.ocr.handwriting import PenFigures

    reader = _PenReader({1690: "09"})
    original = reader.figures_by_hand

    def with_readings(page, box, height):
        got = original(page, box, height)
        return None if got is None else PenFigures(got.text, 0.8, (("09", 0.8), ("03", 0.15), ("08", 0.04)))

    reader.figures_by_hand = with_readings  # type: ignore[method-assign]
    from digitize.extract.rereading import reading_values

    date = _date_words("Ø3", "4", "2018")
    page = _vb_page(_vb_header((("08/CT-UBND", (545, 396, 889, 448), 0.96),), date))
    from digitize.extract.van_ban import read_fields

    with reading_values(reader):
        record = extract(page, "van_ban")[0]
        values = read_fields(page)
    assert record.fields["ngay_ban_hanh"] == "09/04/2018" and "ngay_ban_hanh" in record.handwritten
    assert values["ngay_ban_hanh"].alternatives == ("03/04/2018", "08/04/2018")


def test_van_ban_pen_figures_that_are_no_day_are_not_taken():
    from digitize.extract.rereading import reading_values

    date = _date_words("2|", "12", "2024")
    page = _vb_page(_vb_header((("660/TB-UBND", (545, 396, 889, 448), 0.96),), date))
    with reading_values(_PenReader({1690: "215"})):
        record = extract(page, "van_ban")[0]
    # Tesseract's "2|" is no day either: the date is left to a person, flagged
    assert record.fields["ngay_ban_hanh"] == "02/12/2024" and "ngay_ban_hanh" in record.needs_review
    assert record.fields["so_ky_hieu"] == "660/TB-UBND" and "so_ky_hieu" not in record.handwritten


def test_van_ban_signer_on_the_last_page_and_date_bounded_by_signature():
    from digitize.extract import extract_pages

    first = _vb_page(_vb_header((("07/CT-UBND", (545, 396, 889, 448), 0.96),), _PRINTED_DATE))
    body = OcrPage(
        2, (_vb_line(("Nội", (300, 300, 400, 350), 0.97), ("dung", (410, 300, 520, 350), 0.97)),), 2413, 3423, 300.0
    )
    last = OcrPage(
        3,
        (
            _vb_line(
                ("Nơi", (300, 1700, 380, 1750), 0.97),
                ("nhận:", (390, 1700, 500, 1750), 0.97),
                ("KT.", (1500, 1700, 1580, 1750), 0.97),
                ("CHỦ", (1590, 1700, 1700, 1750), 0.97),
                ("TỊCH", (1710, 1700, 1850, 1750), 0.97),
            ),
            _vb_line(
                ("-", (300, 1800, 320, 1850), 0.97),
                ("Như", (330, 1800, 420, 1850), 0.97),
                ("trên;", (430, 1800, 540, 1850), 0.97),
                ("PHÓ", (1500, 1800, 1600, 1850), 0.97),
                ("CHỦ", (1610, 1800, 1720, 1850), 0.97),
                ("TỊCH", (1730, 1800, 1860, 1850), 0.97),
            ),
            _vb_line(
                ("-", (300, 1850, 320, 1900), 0.97),
                ("Lưu:", (330, 1850, 420, 1900), 0.97),
                ("VT.", (430, 1850, 500, 1900), 0.97),
            ),
            _vb_line(
                ("Trần", (1490, 2240, 1600, 2300), 0.97),
                ("Hoàng", (1610, 2240, 1760, 2300), 0.97),
                ("Tuấn", (1770, 2240, 1900, 2300), 0.97),
            ),
        ),
        2413,
        3423,
        300.0,
    )
    later = _signed("2018-09-01T10:00:00+07:00")
    record = next(r for r in extract_pages([first, body, last], "auto", signatures=(later,)) if r.doc_type == "van_ban")
    assert record.fields["nguoi_ky"] == "Trần Hoàng Tuấn"
    assert record.provenance["nguoi_ky"].page == 3
    # signed more than three months after the date read: the date goes to review
    assert "ngay_ban_hanh" in record.needs_review
    same_day = _signed("2018-03-20T17:00:00+07:00", signer="x")
    record = next(
        r for r in extract_pages([first, body, last], "auto", signatures=(same_day,)) if r.doc_type == "van_ban"
    )
    assert record.fields["ngay_ban_hanh"] == "20/03/2018"


def test_van_ban_number_slot_read_as_junk_without_its_slash():
    # "Số: .„ớ„ QĐ-UBND": figures in pen read as marks, the slash lost; the record is still found,
    # the number flagged, and the notation not taken for the place
    page = _vb_page(
        _vb_header(((".„ớ„", (545, 396, 620, 448), 0.3), ("QĐ-UBND", (650, 399, 889, 439), 0.9)), _PRINTED_DATE)
    )
    record = extract(page, "van_ban")[0]
    assert record.fields["dia_danh"] == "Quảng Ngãi"
    assert "so_ky_hieu" not in record.fields or "so_ky_hieu" in record.needs_review
    assert record.fields["loai_van_ban"] == "Chỉ thị"


def _word(text, x0, y0, x1, y1):
    return Word(text, (x0, y0, x1, y1), 0.95)


def _form_line(y, *texts_x, height=30, letter=18):
    """A line of words, each starting at its x and `letter` pixels wide per character."""
    return Line(tuple(Word(t, (x, y, x + letter * len(t), y + height), 0.95) for t, x in texts_x))


def test_values_typed_off_the_leader_return_to_their_labels():
    """A certificate filled in on a typewriter after printing: the values sit half a row above
    their leaders, so they came out as rows of their own or on the first label's row."""
    w = _word

    lines = (
        Line((w("GIẤY", 640, 350, 800, 395), w("KHAI", 810, 350, 900, 395), w("SINH", 910, 350, 1040, 395))),
        Line((w("LÊ", 527, 521, 570, 551), w("ĐỨC", 580, 521, 650, 551), w("HÒA", 660, 521, 727, 551))),
        Line(
            (
                w("Họ,", 249, 527, 300, 569),
                w("chữ", 305, 527, 360, 569),
                w("đệm,", 365, 527, 430, 569),
                w("tên:", 435, 527, 503, 569),
            )
        ),
        Line(
            (
                w("Giới", 249, 743, 300, 781),
                w("tính:", 305, 743, 370, 781),
                w("Nam", 400, 740, 460, 770),
                w("Kinh", 800, 740, 870, 770),
                w("Việt", 1010, 740, 1070, 770),
                w("Nam", 1080, 740, 1140, 770),
            )
        ),
        Line(
            (
                w("Dân", 669, 762, 720, 794),
                w("tộc:", 725, 762, 790, 794),
                w("Quốc", 880, 762, 950, 794),
                w("tịch:", 955, 762, 1000, 794),
            )
        ),
    )
    page = OcrPage(1, lines, 1654, 2339, 200.0)
    from digitize.extract.labels import form_rows

    rows = [ln.text for ln in form_rows(page).lines]
    assert rows == [
        "GIẤY KHAI SINH",
        "Họ, chữ đệm, tên: LÊ ĐỨC HÒA",
        "Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam",
    ]
    record = extract(page, "khai_sinh")[0]
    assert record.fields["ho_ten"] == "LÊ ĐỨC HÒA" and record.fields["dan_toc"] == "Kinh"


def test_a_stroke_of_a_value_letter_read_on_the_label_row_is_dropped():
    """The value typed above its label's row; the row's reader also read the stem of the
    value's "Đ" on its own ("Ì", inside the "ĐỖ" word's columns): no word of the name."""
    w = _word
    label = _form_line(532, ("Họ,", 237), ("chữ", 299), ("đệm,", 350), ("tên:", 420))
    lines = (
        _form_line(340, ("GIẤY", 625), ("KHAI", 730), ("SINH", 835)),
        Line((w("ĐỖ", 487, 510, 539, 557), w("THANH", 562, 518, 661, 540), w("DŨNG", 687, 512, 763, 540))),
        Line(label.words + (w("Ì", 500, 518, 505, 540),)),
    )
    record = extract(OcrPage(1, lines, 1654, 2339, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten"] == "ĐỖ THANH DŨNG"


def test_a_name_word_of_one_letter_other_than_a_names_is_doubted():
    from digitize.extract.validate import name_factor

    assert name_factor("ĐỖ Ì THANH DŨNG") < name_factor("ĐỖ THANH DŨNG") == 1.0
    assert name_factor("Đinh A Sang") == name_factor("Nguyễn Như Ý") == 1.0


def test_guidance_in_brackets_is_no_label():
    # "(Ký, ghi rõ họ, chữ đệm, tên, chức vụ và đóng dấu)" on one line names a field but labels
    # none: the signer's name under it is still found
    def line(y, *texts_x):
        return _form_line(y, *texts_x, height=40, letter=20)

    lines = (
        line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        line(400, ("Họ,", 200), ("chữ", 280), ("đệm,", 360), ("tên:", 460), ("LÊ", 560), ("VĂN", 620), ("AN", 700)),
        line(1700, ("NGƯỜI", 900), ("KÝ", 1040), ("GIẤY", 1100), ("KHAI", 1200), ("SINH", 1300)),
        line(
            1760,
            ("(Ký,", 860),
            ("ghi", 960),
            ("rõ", 1030),
            ("họ,", 1080),
            ("chữ", 1150),
            ("đệm,", 1230),
            ("tên,", 1330),
            ("chức", 1420),
            ("vụ", 1520),
            ("và", 1570),
            ("đóng", 1620),
            ("dấu)", 1720),
        ),
        line(2000, ("Ngô", 1000), ("Xuân", 1080), ("Sơn", 1190)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten"] == "LÊ VĂN AN" and record.fields["nguoi_ky"] == "Ngô Xuân Sơn"


def test_a_label_misread_by_a_letter_still_labels_its_value():
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tÊ1:", 430), ("VÕ", 530), ("AN", 590)),
        _form_line(470, ("Ngày,", 200), ("tháng,", 300), ("năm", 420), ("sinh:", 500), ("21/11/2010", 610)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten"] == "VÕ AN" and record.fields["ngay_sinh"] == "21/11/2010"


@pytest.mark.parametrize(
    "row",
    [
        # a letter too many before the colon ("tịcCh:")
        (("Dân", 520), ("tộc:", 600), ("Kinh", 700), ("Quốc", 820), ("tịcCh:", 920), ("Việt", 1060), ("Nam", 1150)),
        # a letter off and no colon, the value glued on ("Dân tạcKinh"); a letter lost ("Quốc tch:")
        (("Dân", 520), ("tạcKinh", 600), ("Quốc", 820), ("tch:Việt", 920), ("Nam", 1060)),
    ],
)
def test_a_label_misread_inside_a_line_still_ends_the_value_before_it(row):
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430), ("VÕ", 530), ("AN", 590)),
        _form_line(470, ("Giới", 200), ("tính:", 290), ("Nam", 400), *row),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["gioi_tinh"] == "Nam"
    assert record.fields["dan_toc"] == "Kinh" and record.fields["quoc_tich"] == "Việt Nam"


def test_glued_labels_are_found_only_a_letter_off_at_a_words_start():
    from digitize.extract.khai_sinh import SPEC
    from digitize.extract.labels import _compile, fold_aligned, glued_labels

    labels = [(label, _compile(label.pattern)) for label in SPEC.labels]

    def found(text: str) -> list[str]:
        return [label.field for _, _, label in glued_labels(fold_aligned(text), labels)]

    assert found("1945 Dân tộđK1nh") == ["dan_toc"]
    assert found("Kinh Quốc tch:VIỆt Nam") == ["quoc_tich"]
    assert found("Kinh Quốc tịch: Việt Nam") == []  # exact: the label's own pattern finds it
    assert found("NGUYỄN VĂN SINH") == [] and found("Bệnh viện Đa khoa tỉnh Cà Mau") == []


def test_a_number_whose_label_was_misread_is_found_before_the_book_as_a_guess():
    """ "Sấ29 Quyển số: 08/1982": "Số:" read as "Sấ" and glued to its figures; what stands
    before "Quyển số" is the number, reviewed."""
    lines = (
        _form_line(200, ("Sấ29", 1400), ("Quyển", 1500), ("số:", 1620), ("08/1982", 1700)),
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430), ("VÕ", 530), ("AN", 590)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["so"] == "29" and "so" in record.needs_review
    assert record.fields["quyen_so"] == "08/1982"
    printed = (_form_line(200, ("Số:", 1400), ("29", 1480), ("Quyển", 1540), ("số:", 1660), ("08/1982", 1740)),)
    record = extract(OcrPage(1, printed + lines[1:], 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["so"] == "29"


def test_a_question_mark_at_a_names_edge_is_a_speck():
    assert v.normalize_name("? VŨ CÔNG SƠN")[0] == "VŨ CÔNG SƠN"


def test_a_value_typed_on_its_row_is_that_rows_on_a_page_whose_values_drift_down():
    """The page's other values stand half a row under their labels, so a value between two
    rows goes to the row above; one typed a fifth of a line under its own label, whose start
    also fits the colon of the row below, is still its own row's."""
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430)),
        _form_line(406, ("NGUYỄN", 520), ("KHOA", 660)),
        _form_line(455, ("Ngày,", 200), ("tháng,", 300), ("năm", 380), ("sinh:", 450)),
        _form_line(470, ("21/11/2010", 560)),
        _form_line(520, ("Giới", 200), ("tính:", 290)),
        _form_line(536, ("Nữ", 410)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten"] == "NGUYỄN KHOA" and record.fields["ngay_sinh"] == "21/11/2010"


def test_a_book_number_not_found_on_a_certificate_is_sent_to_review():
    """Every certificate form prints "Quyển số" beside "Số": one read nowhere is a field lost
    (its label under a stain or a leader), flagged, not silently absent."""
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(350, ("Số:", 200), ("12", 280)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430), ("LÊ", 530), ("AN", 590)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["so"] == "12" and "quyen_so" not in record.fields
    assert "quyen_so" in record.needs_review


def test_a_value_well_nearer_one_row_is_that_rows_whichever_way_the_page_drifts():
    """The page's values stand above their labels, but "Nữ", typed under "Giới tính:", is
    twelve pixels below that row and thirty-three above the next ("Nơi sinh:"), whose colon
    its start fits exactly: it is still the row it stands nearly on."""
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(385, ("LÊ", 520), ("VĂN", 580), ("AN", 660)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430)),
        _form_line(455, ("21/11/2010", 560)),
        _form_line(470, ("Ngày,", 200), ("tháng,", 300), ("năm", 380), ("sinh:", 450)),
        _form_line(540, ("Giới", 200), ("tính:", 290)),
        _form_line(552, ("Nữ", 410)),
        _form_line(585, ("Nơi", 200), ("sinh:", 320)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten"] == "LÊ VĂN AN" and record.fields["ngay_sinh"] == "21/11/2010"
    assert record.fields["gioi_tinh"] == "Nữ" and "noi_sinh" not in record.fields


def test_pieces_of_one_form_row_are_joined_though_a_speck_overlaps_a_word():
    """A row the detector gave as three lines ("Dân tộc: 1 Quốc tịch:", "Giới tính: ( Kinh",
    "Nam Việt Nam"), the values typed a third of a row low; the "1" is a leader's dot read
    under "Kinh" and the "(" one under "Nam"."""

    word = _word
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430), ("VÕ", 530), ("AN", 590)),
        Line(
            (
                word("Dân", 657, 755, 715, 781),
                word("tộc:", 726, 755, 776, 786),
                word("1", 786, 777, 795, 800),
                word("Quốc", 1077, 753, 1153, 785),
                word("tịch:", 1164, 755, 1224, 786),
            )
        ),
        Line(
            (
                word("Giới", 237, 768, 300, 795),
                word("tính:", 311, 764, 373, 792),
                word("(", 384, 787, 389, 809),
                word("Kinh", 773, 763, 867, 800),
            )
        ),
        Line((word("Nam", 373, 785, 444, 809), word("Việt", 1243, 778, 1321, 808), word("Nam", 1346, 780, 1405, 803))),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert (record.fields["gioi_tinh"], record.fields["dan_toc"], record.fields["quoc_tich"]) == (
        "Nam",
        "Kinh",
        "Việt Nam",
    )


def test_values_typed_above_go_to_labels_whose_colon_was_misread_or_lost():
    """Values typed a third of a row above their labels; one label's colon read "!", one
    lost into the value's first letter ("tịchV"), one a letter glued after it ("tộc:K")."""
    lines = (
        _form_line(300, ("GIẤY", 600), ("KHAI", 720), ("SINH", 840)),
        _form_line(400, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên:", 430), ("VÕ", 530), ("AN", 590)),
        _form_line(476, ("ĐỖ", 740), ("THỊ", 800), ("TUẤN", 880)),
        _form_line(486, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên", 430), ("người", 500), ("mẹ!", 610)),
        _form_line(556, ("1968", 370), ("Kinh", 760), ("Việt", 1140), ("Nam", 1230)),
        _form_line(566, ("Năm", 200), ("sinh:", 270), ("Dân", 560), ("tộc:K", 630), ("Quốc", 900), ("tịch", 990)),
    )
    record = extract(OcrPage(1, lines, 2000, 2800, 200.0), "khai_sinh")[0]
    assert record.fields["ho_ten_me"] == "ĐỖ THỊ TUẤN"
    assert (record.fields["nam_sinh_me"], record.fields["quoc_tich_me"]) == ("1968", "Việt Nam")


def test_a_row_label_ends_at_its_colon_misread_or_lost():
    from digitize.extract.khai_sinh import SPEC
    from digitize.extract.labels import _compile, _fit_to_row

    compiled = [_compile(label.pattern) for label in SPEC.labels]
    row = _form_line(566, ("Họ,", 200), ("chữ", 270), ("đệm,", 340), ("tên", 430), ("người", 500), ("mẹ!", 610))
    value = (Word("ĐỖ", (690, 556, 730, 586), 0.9),)
    assert _fit_to_row([value], row, 30) is not None  # "!" for the colon
    row = _form_line(566, ("Dân", 560), ("tộc:K", 630), ("Quốc", 900), ("tịchŸ", 990))
    value = (Word("Việt", (1110, 556, 1180, 586), 0.9),)
    assert _fit_to_row([value], row, 30) is None  # the last label has no colon left
    assert _fit_to_row([value], row, 30, compiled) is not None  # but its words are the label


def test_a_name_read_partly_small_is_put_in_capitals_as_a_guess():
    from digitize.extract import validate as v

    assert v.normalize_name("Võ Ngọc PHÚC")[0] == "VÕ NGỌC PHÚC" and v.normalize_name("Võ Ngọc PHÚC")[1] < 0.6
    assert v.normalize_name("vŨ qUốc YẾN") == ("VŨ QUỐC YẾN", 0.9)  # most in capitals: as before
    assert v.normalize_name("Phạm Trường Thơ") == ("Phạm Trường Thơ", 1.0)


def test_an_id_that_lost_its_leading_typed_zero_is_put_right_and_reviewed():
    from digitize.extract import validate as v

    assert v.normalize_id("96196101922") == ("096196101922", 0.4)  # 096 Cà Mau, then 1: a woman of the 1900s
    assert v.normalize_id("096196101922") == ("096196101922", 1.0)
    assert v.normalize_id("99196101922")[1] <= 0.2  # 099 is no province: left as read


@pytest.mark.parametrize(
    "read, printed",
    [
        ("+ inh- Thái: - Bình", "tỉnh Thái Bình"),  # a leader's dots through the unit word
        ("t i nh- Quảng: Ngãi", "tỉnh Quảng Ngãi"),
        ("ti, nh Quảng Ngãi", "tỉnh Quảng Ngãi"),
        ("Bệnh viện Đa khoa tỉnh Thái, Bình", "Bệnh viện Đa khoa tỉnh Thái Bình"),
        ("thôn 3, xã Quảng Ninh, tỉnh Quảng, Ngãi", "thôn 3, xã Quảng Ninh, tỉnh Quảng Ngãi"),
        ("tỉnh Quảng Ngã1", "tỉnh Quảng Ngãi"),
        ("Bệnh viện 'Đá' Khoả' tỉnh Că Má U", "Bệnh viện Đa khoa tỉnh Cà Mau"),
        ("jv pan nhân dân''tỉnh -quảng Ngãi", "Ủy ban nhân dân tỉnh Quảng Ngãi"),
        ("Ủy, ban nhân dân tỉnh Cà Mau", "Ủy ban nhân dân tỉnh Cà Mau"),  # a speck after Ủy read as a comma
        ("¿.‡nh- hái Bình", "tỉnh Thái Bình"),  # the unit word's start read as marks, its end as letters
        ("+‡nh- cờ -Mau", "tỉnh Cà Mau"),
        ("nh Thái Bình", "nh Thái Bình"),  # two letters alone, no marks where the rest was: left
        # read right, or not a province's part: left alone
        ("xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi", "xã Tịnh Đông, huyện Sơn Tịnh, tỉnh Quảng Ngãi"),
        ("Bệnh viện (cơ sở 2) tỉnh Quảng Nam", "Bệnh viện (cơ sở 2) tỉnh Quảng Nam"),
        ("xã Ô, tỉnh Hà Nam", "xã Ô, tỉnh Hà Nam"),
        ("Bệnh viện Đa khoa Thái Bình", "Bệnh viện Đa khoa Thái Bình"),
    ],
)
def test_a_province_part_broken_by_specks_is_put_back(read, printed):
    from digitize.extract.validate import restore_province

    assert restore_province(read)[0] == printed


def test_a_date_in_words_a_letter_or_two_off_is_said_as_the_figures_say_it():
    from datetime import date

    from digitize.extract.numwords import date_lattice, parse_date_words, words_of_date

    read = "Ngày. mười .hai. tháng mười. một năm một nghàn .chín. trăm .tám. mươi .chắn"
    assert (
        words_of_date(read, date(1989, 11, 12)) == "Ngày mười hai tháng mười một năm một nghìn chín trăm tám mươi chín"
    )
    assert words_of_date(
        "Ngày hai mươi lăm tháng bốn năm một nghìn chín trăm chín mươi tăm", date(1995, 4, 25)
    ).endswith("chín mươi lăm")
    # another number, or another count of words, is not a misreading of this date
    assert words_of_date("Ngày mười hai tháng mười một năm một nghìn chín trăm tám mươi", date(1989, 11, 12)) is None
    assert words_of_date("Ngày hai tháng ba năm hai nghìn", date(2000, 3, 12)) is None
    for day in (date(1995, 4, 25), date(2009, 12, 7), date(2021, 1, 21), date(1910, 11, 15)):
        assert parse_date_words(" ".join(v[0] for v in date_lattice(day))) == day


@pytest.mark.parametrize(
    "read, name",
    [
        ("LÊ THỊ MAT", "LÊ THỊ MAI"),  # no syllable: one letter read as its lookalike
        ("HUỲNH THT KHOA", "HUỲNH THỊ KHOA"),
        ("Võ WĂN HẢI", "Võ VĂN HẢI"),
        ("PĐẶNG VĂN HẢI", "ĐẶNG VĂN HẢI"),  # one glyph read twice
        ("VÕ BỨC YẾN", "VÕ ĐỨC YẾN"),  # in capitals, a syllable no one is named with a twin that is a name
        ("VĐ THỊ HÒA", "VÕ THỊ HÒA"),  # Đ and O: a bar across a round letter
        ("BÙI VĂN AN", "BÙI VĂN AN"),
        ("Êban Y Khuê", "Êban Y Khuê"),  # a minority-language name is not a misreading
        ("LÊ VĂN TÁM", "LÊ VĂN TÁM"),  # a syllable, though not in the stock: kept
    ],
)
def test_a_name_word_that_is_no_syllable_is_read_as_its_lookalike_name(read, name):
    from digitize.extract.names import snap_name

    assert snap_name(read)[0] == name


@pytest.mark.parametrize(
    "read, name",
    [
        ("PH AM HỮU HÒA", "PHẠM HỮU HÒA"),  # a surname broken at a gap
        ("LÊ THỊ H OA", "LÊ THỊ HOA"),
        ("Y Moan Êban", "Y Moan Êban"),  # whole syllables: a minority name's words stay apart
        ("H MAI", "H MAI"),  # "HMAI" is no name syllable: kept
        ("LÒ VĂN A", "LÒ VĂN A"),
    ],
)
def test_a_name_word_broken_in_two_is_joined_as_a_guess(read, name):
    from digitize.extract.validate import normalize_name

    value, factor = normalize_name(read)
    assert value == name
    if value != read:
        assert factor <= 0.5  # joined: a guess, reviewed


def test_closed_lists_read_through_specks_and_names_in_one_case():
    from digitize.extract.validate import normalize_name, normalize_nationality

    assert normalize_nationality("V/i@t Nam")[0] == "Việt Nam"
    assert normalize_nationality("Việt., Nam")[0] == "Việt Nam"
    name, factor = normalize_name("VŨ QUốc YẾN")
    assert name == "VŨ QUỐC YẾN" and factor < 1.0
    assert normalize_name("Nguyễn Văn An")[0] == "Nguyễn Văn An"


def test_the_archive_mark_slot_of_the_recipients_does_not_set_their_confidence():
    from digitize.extract.van_ban import _without_archive_mark
    from digitize.types import Word

    def words(*read: tuple[str, float]) -> list[Word]:
        return [Word(text=t, box=(0, 0, 1, 1), confidence=c) for t, c in read]

    # "Lưu: VT" is set by Nghị định 30; its T and stop read as "VL" at 0.03 say nothing
    assert [w.text for w in _without_archive_mark(words(("-", 0.9), ("Lưu:", 0.9), ("VL", 0.03)))] == ["-", "Lưu:"]
    # the drafting unit after it still counts
    kept = _without_archive_mark(words(("Lưu:", 0.9), ("VT,", 0.03), ("KT", 0.2)))
    assert [w.text for w in kept] == ["Lưu:", "KT"]
    # any other recipient keeps every word
    assert len(_without_archive_mark(words(("-", 0.9), ("Sở", 0.9), ("Y", 0.03)))) == 3


def test_a_near_other_reading_is_settled_where_only_one_reading_passes_the_checks():
    from digitize.extract import validate as v
    from digitize.extract.base import _doubts_settled

    value, factor = v.normalize_place("tỉnh Thái Bình")
    # "tình Thái Bình" is no province's part: the place check settles the doubt
    assert _doubts_settled(v.normalize_place, "tỉnh Thái Bình", value, factor, (("tỉnh", "tình"),))
    # two valid years: a real doubt, left to the reviewer
    value, factor = v.normalize_year("1958")
    assert not _doubts_settled(v.normalize_year, "1958", value, factor, (("1958", "1968"),))


@pytest.mark.parametrize(
    "read, name",
    [
        ("vŨ qUốc YẾN", "VŨ QUỐC YẾN"),  # capitals whose first letter came out small
        ("võ wĂN HẢI", "VÕ VĂN HẢI"),
        ("PHAN THANH XẾN", "PHAN THANH YẾN"),  # a syllable no one is named, a lookalike letter off
        ("H'Mai Ê Ban", "H'Mai Ê Ban"),  # an Êđê name in mixed case stays as it is
        ("Y Ngông Niê", "Y Ngông Niê"),
        ("HẦU A LỬ", "HẦU A LỬ"),  # minority names outside the stock, no lookalike twin in it
        ("LÒ VĂN PẤNG", "LÒ VĂN PẤNG"),
    ],
)
def test_names_in_capitals_read_in_mixed_case_or_with_a_lookalike(read, name):
    assert v.normalize_name(read)[0] == name


def test_a_printed_label_found_empty_is_reviewed():
    """The value was lost between rows (or the paper left it empty): a person looks."""
    page = page_of(
        "GIẤY KHAI SINH",
        "Họ, chữ đệm, tên: LÊ VĂN AN",
        "Giới tính: Nam Dân tộc: Quốc tịch: Việt Nam",
        "Ghi chú:",
    )
    record = extract(page, "khai_sinh")[0]
    assert "dan_toc" not in record.fields and "dan_toc" in record.needs_review
    assert "ghi_chu" not in record.needs_review  # notes are mostly empty


def test_a_value_run_starting_under_a_labels_colon_is_as_far_off_as_one_after_it():
    """Typed off the leaders, "Nữ" starts a little left of the end of the previous row's
    label: that must count as a distance, not as a better fit than its own label's; a
    speck read after a colon ("tộc:`") still ends a label."""
    from digitize.extract.labels import _fit_to_row

    def line(*words):
        return Line(tuple(Word(t, box, 0.95) for t, box in words))

    previous = line(("ghi", (237, 680, 281, 713)), ("bằng", (291, 678, 361, 713)), ("chữ:", (371, 680, 430, 705)))
    own = line(
        ("Giới", (237, 754, 300, 779)),
        ("tính:", (311, 754, 373, 779)),
        ("Dân", (657, 754, 715, 779)),
        ("tộc:`", (726, 754, 776, 785)),
    )
    value = [(Word("Nữ", (397, 725, 436, 749), 0.95),)]
    before, after = _fit_to_row(value, previous, 34), _fit_to_row(value, own, 34)
    assert before is not None and after is not None and before > 0 and after < before
    kinh = [(Word("Kinh", (793, 733, 869, 758), 0.95),)]
    assert _fit_to_row(kinh, own, 34) is not None


def test_a_value_glued_to_its_label_keeps_only_its_part_of_the_box():
    """Typed close after the colon, the value and the label's last word are read as one word
    ("tộc:Kinh"); the value's box, which its crop is read again from, is the value's share
    of that word, not the label's syllable (a letter's slack kept before figures)."""
    page = page_of(
        "GIẤY KHAI SINH",
        "Họ, chữ đệm, tên: LÊ VĂN AN",
        "Giới tính: Nam Dân tộc:Kinh",
        "Số định danh cá nhân:051217499801",
    )
    record = extract(page, "khai_sinh")[0]
    assert record.fields["dan_toc"] == "Kinh" and record.fields["so_dinh_danh"] == "051217499801"
    glued = next(w for w in page.lines[2].words if w.text == "tộc:Kinh")
    (box,) = record.provenance["dan_toc"].boxes
    assert (box[0], box[2]) == (glued.box[0] + 14 * len("tộc:"), glued.box[2])
    glued = page.lines[3].words[-1]
    (box,) = record.provenance["so_dinh_danh"].boxes
    assert box[0] == glued.box[0] + 14 * (len("nhân:") - 1)


def test_a_registry_books_long_headings_and_one_read_a_letter_off_name_their_columns():
    """Headings printed in their long forms ("Ngày, tháng, năm đăng ký"), one misread
    ("Quấc tịch"): each still names its column."""
    from digitize.extract.so_ho_tich import HEADERS
    from digitize.extract.table import find_header

    line = _form_line(300, ("Số", 70), ("Quấc", 400), ("tịch", 480), ("Ngày,", 700), ("tháng,", 800))
    line = Line(line.words + _form_line(300, ("năm", 910), ("đăng", 980), ("ký", 1060)).words)
    assert [c.key for c in find_header(line, HEADERS["khai_sinh"])] == ["so", "quoc_tich", "ngay_dang_ky"]


@pytest.mark.parametrize(
    "read, place",
    [
        ("Nhà hộ sinh Phố Minh", "Nhà hộ sinh Phổ Minh"),  # one commune has these letters
        ("Nhà hộ sinh Tinh Sơn", "Nhà hộ sinh Tịnh Sơn"),
        ("Trạm y tế xã Tịnh Sơn", "Trạm y tế xã Tịnh Sơn"),  # spelled as the unit is
    ],
)
def test_a_facility_named_after_its_commune_takes_the_communes_spelling(read, place):
    from digitize.extract.validate import normalize_place

    assert normalize_place(read)[0] == place


def test_a_childs_and_fathers_surnames_a_letter_apart_are_reviewed():
    page = WELL_READ_PAGE
    fields = {"ho_ten": "Vũ Thị Mai", "ho_ten_cha": "Vưu Hữu Lan"}
    record = build_record("khai_sinh", page, {k: Value(x, 0.97, 1.0) for k, x in fields.items()})
    assert {"ho_ten", "ho_ten_cha"} <= set(record.needs_review)
    fields["ho_ten_cha"] = "Vũ Hữu Lan"
    record = build_record("khai_sinh", page, {k: Value(x, 0.97, 1.0) for k, x in fields.items()})
    assert not {"ho_ten", "ho_ten_cha"} & set(record.needs_review)


def test_an_entry_number_read_with_a_small_s_for_its_5_or_6_still_starts_an_entry():
    from digitize.extract.so_ho_tich import _is_entry_start

    assert _is_entry_start(_form_line(500, ("s2", 87), ("Phạm", 160), ("Đức", 260)))
    assert not _is_entry_start(_form_line(500, ("sinh", 87), ("Phạm", 160)))


def test_a_letterless_mark_beside_a_name_is_no_word_of_it():
    from digitize.extract.validate import normalize_name, strip_noise

    assert normalize_name("ˆ LÊ THỊ TUẤN")[0] == "LÊ THỊ TUẤN"  # a circumflex read on its own
    assert normalize_name("LÊ THỊ ‹ TUẤN")[0] == "LÊ THỊ TUẤN"
    assert strip_noise("‹1983»") == "1983"
