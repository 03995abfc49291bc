"""The administrative document's field table (`van_ban.SPEC`) and the driver that runs it."""

from __future__ import annotations

import pytest

from digitize.extract import base
from digitize.extract import van_ban
from digitize.extract.base import Value
from digitize.extract.van_ban import CLOSING_SPEC, SPEC, FieldSpec, VanBanExtractor, read_fields
from digitize.extract.van_ban_layout import Layout
from digitize.types import Line, OcrPage, Word


def _page(*rows: list[tuple[str, int]], number: int = 1) -> OcrPage:
    """An OcrPage from rows of (text, x) cells, one row every 55 pixels."""
    lines = []
    for r, row in enumerate(rows):
        y = 100 + 55 * r
        words = []
        for text, x in row:
            for token in text.split():
                words.append(Word(token, (x, y, x + 14 * len(token), y + 30), 0.97))
                x += 14 * len(token) + 12
        lines.append(Line(tuple(words)))
    return OcrPage(number=number, lines=tuple(lines), width=1654, height=2339, dpi=200)


_HEADER = (
    [("ỦY BAN NHÂN DÂN", 160), ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 820)],
    [("XÃ TỊNH ĐÔNG", 200), ("Độc lập - Tự do - Hạnh phúc", 900)],
)
_NUMBER = [("Số: 12/QĐ-UBND", 160), ("Tịnh Đông, ngày 16 tháng 6 năm 2018", 820)]
_CLOSING = (
    [("Nơi nhận:", 160), ("TM. ỦY BAN NHÂN DÂN", 1000)],
    [("- Như trên;", 160), ("CHỦ TỊCH", 1100)],
    [("- Lưu: VT.", 160)],
    [("Nguyễn Văn An", 1050)],
)


def test_van_ban_spec_declares_each_contract_field_once():
    names = [f.name for f in SPEC]
    assert sorted(names) == sorted(base.FIELDS["van_ban"]) and len(set(names)) == len(names)
    assert [f.name for f in CLOSING_SPEC] == ["noi_nhan", "chuc_vu_nguoi_ky", "nguoi_ky"]
    # the place is read off the words before the date: the date's row comes first
    assert names.index("ngay_ban_hanh") < names.index("dia_danh")


def test_van_ban_spec_groups_are_the_confidence_models():
    """The table's kind of each field is the one the confidence model gives it (by its name)."""
    assert {f.name: f.group for f in SPEC} == {f.name: base.field_group(f.name) for f in SPEC}
    assert all(f.group in base.GROUPS for f in SPEC)


def test_van_ban_fields_read_from_the_table():
    page = _page(*_HEADER, _NUMBER, [("QUYẾT ĐỊNH", 700)], [("Về việc cấp giấy phép", 620)], *_CLOSING)
    values = read_fields(page)
    assert list(values) == [f.name for f in SPEC]  # every field found, in the table's order
    assert {k: val.value for k, val in values.items()} == {
        "co_quan_ban_hanh": "ỦY BAN NHÂN DÂN XÃ TỊNH ĐÔNG",
        "so_ky_hieu": "12/QĐ-UBND",
        "ngay_ban_hanh": "16/06/2018",
        "dia_danh": "Tịnh Đông",
        "loai_van_ban": "Quyết định",
        "trich_yeu": "cấp giấy phép",
        "noi_nhan": "Như trên; Lưu: VT",
        "chuc_vu_nguoi_ky": "CHỦ TỊCH",
        "nguoi_ky": "Nguyễn Văn An",
    }
    assert values["so_ky_hieu"].raw == "12/QĐ-UBND" and values["so_ky_hieu"].boxes
    assert VanBanExtractor().fields(page) == values
    assert VanBanExtractor().closing(page) == {k: values[k] for k in ("noi_nhan", "chuc_vu_nguoi_ky", "nguoi_ky")}


def test_van_ban_header_is_read_only_under_a_number():
    """Without a "Số:" line the top lines are not a header: no issuing body, no number, no date."""
    page = _page(*_HEADER, [("QUYẾT ĐỊNH", 700)], *_CLOSING)
    layout = Layout(page)
    assert layout.number is None and layout.header is None and layout.issue_date is None
    values = read_fields(page)
    assert "co_quan_ban_hanh" not in values and "so_ky_hieu" not in values and "ngay_ban_hanh" not in values
    assert values["loai_van_ban"].value == "Quyết định" and values["nguoi_ky"].value == "Nguyễn Văn An"
    assert VanBanExtractor().extract(page) == []  # neither a number nor an issuing body: not a document


def test_van_ban_place_falls_back_to_the_number_line():
    """The day unreadable (in pen, no pen reader at hand): the date's printed frame is still
    found, so the place before "ngày" is read, and the date is left out, not guessed."""
    page = _page(*_HEADER, [("Số: 12/QĐ-UBND", 160), ("Tịnh Đông, ngày0P' tháng 6 năm 2018", 820)])
    layout = Layout(page)
    assert layout.number is not None and layout.issue_date is not None
    assert (layout.issue_date.day, layout.issue_date.month, layout.issue_date.year) == (0, 6, 2018)
    assert van_ban._place_words(layout)[-1] == layout.number.rest
    values = read_fields(page)
    assert "ngay_ban_hanh" not in values and values["dia_danh"].value == "Tịnh Đông"
    # no date frame at all: the place still comes off the number's line
    bare = _page(*_HEADER, [("Số: 12/QĐ-UBND", 160), ("Tịnh Đông, ngày0P'", 820)])
    assert Layout(bare).issue_date is None and read_fields(bare)["dia_danh"].value == "Tịnh Đông"


def test_van_ban_number_line_found_with_its_notation_misread_and_its_number_in_pen():
    """ "Số: - /&H-UBND": the number written by hand, the K of KH read as "&": still the
    header's number line, so the body, the place and the date are read."""
    page = _page(*_HEADER, [("Số: - /&H-UBND", 160), ("Tịnh Đông, ngày 16 tháng 6 năm 2018", 820)])
    values = read_fields(page)
    assert values["ngay_ban_hanh"].value == "16/06/2018" and values["dia_danh"].value == "Tịnh Đông"
    assert values["co_quan_ban_hanh"].value == "ỦY BAN NHÂN DÂN XÃ TỊNH ĐÔNG"


def test_van_ban_signer_name_centred_under_a_short_title_is_read_whole():
    """The name starts left of the short title above it: its words stay together, none of
    them taken for a recipient."""
    closing = (
        [("Nơi nhận:", 160), ("CHỦ TỊCH", 1048)],
        [("- Như trên;", 160)],
        [("- Lưu: VT.", 160)],
        [("Hồ Thanh Hương", 989)],
    )
    values = read_fields(_page(*_HEADER, _NUMBER, [("QUYẾT ĐỊNH", 700)], *closing), CLOSING_SPEC)
    assert values["nguoi_ky"].value == "Hồ Thanh Hương"
    assert values["noi_nhan"].value == "Như trên; Lưu: VT"


def test_van_ban_driver_takes_the_first_candidate_that_reads():
    page = _page(*_HEADER, _NUMBER)
    spec = FieldSpec(
        "trich_yeu", lambda layout: ["", "  ", "a  b"], lambda text, layout: van_ban._value(text, 0.9), "text"
    )
    assert read_fields(page, [spec]) == {"trich_yeu": Value("a b", 0.9, 1.0)}
    none = FieldSpec("trich_yeu", lambda layout: [""], lambda text, layout: van_ban._value(text, 0.9), "text")
    assert read_fields(page, [none]) == {}


def test_van_ban_number_misread_beyond_its_shape_keeps_the_record():
    """ "Số: Si 2e TDCCSGTVT" (pen figures taken out, the notation misread): still the number
    line under the motto, so the body, the kind, the subject and the place are read; the place
    starts after the column gap, without the number's leftovers."""
    page = _page(
        *_HEADER,
        [("Số: Si 2e TDCCSGTVT", 160), ("Tịnh Đông, ngày 16 tháng 6 năm 2018", 820)],
        [("QUYẾT ĐỊNH", 700)],
    )
    record = VanBanExtractor().extract(page)[0]
    assert record.fields["co_quan_ban_hanh"] == "ỦY BAN NHÂN DÂN XÃ TỊNH ĐÔNG"
    assert record.fields["dia_danh"] == "Tịnh Đông" and record.fields["ngay_ban_hanh"] == "16/06/2018"
    assert record.fields["loai_van_ban"] == "Quyết định"
    assert "so_ky_hieu" in record.needs_review
    # a "Số:" line with neither the motto above it nor a date beside it starts no document
    body = _page([("Căn cứ Luật Tổ chức chính quyền địa phương;", 160)], [("Số: Si 2e TDC", 160)])
    assert Layout(body).number is None


def test_van_ban_notation_takes_the_bodys_letters_over_their_lookalikes():
    """Nghị định 30: the notation abbreviates the issuing body's name, so its initials decide
    between D and Đ ("SGDDT" read for the Sở Giáo dục và Đào tạo's SGDĐT), I and 1."""
    body = "UBND TỈNH BÌNH ĐỊNH SỞ GIÁO DỤC VÀ ĐÀO TẠO"
    assert van_ban.notation_from_body("2494/QĐ-SGDDT", body) == "2494/QĐ-SGDĐT"
    assert van_ban.notation_from_body("04/QĐ-BCD138", "UBND TỈNH QUẢNG NGÃI BAN CHỈ ĐẠO 138") == "04/QĐ-BCĐ138"
    assert van_ban.notation_from_body("04/QĐ-BCĐI38", "UBND TỈNH QUẢNG NGÃI BAN CHỈ ĐẠO 138") == "04/QĐ-BCĐ138"
    assert van_ban.notation_from_body("2494/QĐ-SGDĐT", body) is None  # nothing to put right
    assert van_ban.notation_from_body("12/QĐ-UBND", "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI") is None
    assert van_ban.notation_from_body("12/QĐ-SYT", body) is None  # another body's: not touched
    values = {"so_ky_hieu": Value("5/KH-SGDDT", 0.95, 1.0), "co_quan_ban_hanh": Value(body, 0.95, 1.0)}
    van_ban._notation_by_body(values)
    assert values["so_ky_hieu"].value == "5/KH-SGDĐT"
    assert values["so_ky_hieu"].repairs[-1].rule == "notation_from_body"


def test_van_ban_committee_unit_word_has_one_spelling():
    assert van_ban.issuing_body("UBND TÍNH BÌNH ĐỊNH SỞ GIÁO DỤC VÀ ĐÀO TẠO")[0] == body_of("TỈNH BÌNH ĐỊNH")
    assert van_ban.issuing_body("UBND THANH PHO HUẾ PHÒNG Y TẾ")[0] == "UBND THÀNH PHỐ HUẾ PHÒNG Y TẾ"
    assert van_ban.issuing_body("UBND TỈNH QUẢNG NGÃI") == ("UBND TỈNH QUẢNG NGÃI", False)


def body_of(parent: str) -> str:
    return f"UBND {parent} SỞ GIÁO DỤC VÀ ĐÀO TẠO"


@pytest.mark.parametrize(
    "read, kind, value, doubted",
    [
        ("2409/TH-UBND", "Tờ trình", "2409/TTr-UBND", True),  # "Tr" read as one letter
        ("877/TTIr-UBND", "Tờ trình", "877/TTr-UBND", True),  # a letter split in two
        ("12/2024/QD-UBND", "Quyết định", "12/2024/QĐ-UBND", True),
        ("12/KH-UBND", "Kế hoạch", "12/KH-UBND", False),  # as the title says
        ("12/QĐ-UBND", "Kế hoạch", "12/QĐ-UBND", True),  # another kind: one of the two misread
        ("12/UBND-VP", "Công văn", "12/UBND-VP", False),  # a công văn's notation has no kind
    ],
)
def test_van_ban_notation_kind_is_the_titles(read, kind, value, doubted):
    """Nghị định 30 (Phụ lục III): the notation's kind abbreviates the kind printed as the title."""
    values = {"so_ky_hieu": Value(read, 0.95, 1.0), "loai_van_ban": Value(kind, 1.0, 1.0)}
    van_ban._notation_by_kind(values)
    assert values["so_ky_hieu"].value == value
    assert (values["so_ky_hieu"].factor < 0.9) == doubted
