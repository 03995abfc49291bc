"""Splitting a dossier scanned in one go into its documents (digitize.dossier), on
synthetic sequences of OCR'd pages."""

from __future__ import annotations

from dataclasses import replace

from digitize.dossier import page_number, split_dossier
from digitize.types import Code, Line, OcrPage, Word

CARD_QR = (
    "001099012345|123456789|Nguyễn Văn An|05031998|Nam|Số 12 phố Huế, phường Hàng Bài, quận Hoàn Kiếm, Hà Nội|12082021"
)
MOTTO = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
PROSE = [
    "Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014 và các văn bản hướng dẫn thi hành,",
    "đề nghị cơ quan có thẩm quyền xem xét giải quyết theo quy định của pháp luật hiện hành.",
]


def page(*rows: str, codes: tuple[Code, ...] = ()) -> OcrPage:
    lines, y = [], 100
    for row in rows:
        words, x = [], 160
        for token in row.split():
            words.append(Word(token, (x, y, x + 14 * len(token), y + 30), 0.95))
            x += 14 * len(token) + 12
        if words:
            lines.append(Line(tuple(words)))
        y += 55
    return OcrPage(number=0, lines=tuple(lines), width=1654, height=2339, dpi=200, codes=codes)


def numbered(pages: list[OcrPage]) -> list[OcrPage]:
    return [replace(p, number=i) for i, p in enumerate(pages, 1)]


TO_KHAI_1 = page(
    *MOTTO,
    "TỜ KHAI ĐĂNG KÝ KHAI SINH",
    "Kính gửi: Ủy ban nhân dân phường Hàng Bài",
    "Họ, chữ đệm, tên người yêu cầu: NGUYỄN VĂN AN",
    *PROSE,
    "Trang 1/2",
)
TO_KHAI_2 = page(
    *PROSE, "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật", "Người yêu cầu", "Trang 2/2"
)
CARD_FRONT = page(
    *MOTTO,
    "CĂN CƯỚC CÔNG DÂN",
    "Citizen Identity Card",
    "Số / No.: 001099012345",
    "Họ và tên / Full name:",
    "NGUYỄN VĂN AN",
    "Ngày sinh / Date of birth: 05/03/1998",
    codes=(Code(CARD_QR, (100, 100, 200, 200), "zxing"),),
)
CARD_BACK = page(
    "Đặc điểm nhân dạng / Personal identification: Nốt ruồi C:1cm trên sau cánh mũi phải",
    "Ngày, tháng, năm / Date, month, year: 12/08/2021",
    "CỤC TRƯỞNG CỤC CẢNH SÁT",
    "IDVNM0980123456001098012345<<8",
)
BLANK = page(".", "'")
KHAI_SINH = page(
    *MOTTO,
    "GIẤY KHAI SINH",
    "Số: 12 Quyển số: 01/1998",
    "Họ, chữ đệm, tên: NGUYỄN VĂN AN",
    "Ngày, tháng, năm sinh: 05/03/1998",
    "Nơi sinh: Bệnh viện Phụ sản Hà Nội",
    "Họ, chữ đệm, tên người mẹ: TRẦN THỊ BÌNH",
)
KET_HON = page(
    *MOTTO,
    "GIẤY CHỨNG NHẬN KẾT HÔN",
    "Họ, chữ đệm, tên chồng: NGUYỄN VĂN AN",
    "Họ, chữ đệm, tên vợ: LÊ THỊ HOA",
    "Nơi đăng ký kết hôn: Ủy ban nhân dân phường Hàng Bài",
)
LETTER_1 = page(
    "ỦY BAN NHÂN DÂN",
    "PHƯỜNG HÀNG BÀI",
    *MOTTO,
    "Số: 125/UBND-TP",
    "V/v xác nhận hồ sơ",
    "Kính gửi: Công an quận Hoàn Kiếm",
    *PROSE,
    "- 1 -",
)
LETTER_2 = page("- 2 -", *PROSE, "Nơi nhận:", "- Như trên;", "- Lưu: VT.", "CHỦ TỊCH", "Nguyễn Văn Bình")
KHAI_TU = page(
    *MOTTO,
    "TRÍCH LỤC KHAI TỬ",
    "Họ, chữ đệm, tên: TRẦN VĂN CƯỜNG",
    "Đã chết vào lúc: 02 giờ 50 phút",
    "Nơi chết: Bệnh viện Bạch Mai",
    "Nguyên nhân chết: Bệnh già",
)


def spans(pages: list[OcrPage]) -> list[tuple[str, list[int]]]:
    return [(d.doc_type, list(d.pages)) for d in split_dossier(numbered(pages))]


def test_a_counter_dossier_is_split_into_its_documents():
    pages = [TO_KHAI_1, TO_KHAI_2, CARD_FRONT, CARD_BACK, KHAI_SINH, BLANK, LETTER_1, LETTER_2, KET_HON, KHAI_TU]
    assert spans(pages) == [
        ("to_khai", [1, 2]),
        ("cccd", [3, 4]),
        ("khai_sinh", [5, 6]),
        ("van_ban", [7, 8]),
        ("ket_hon", [9]),
        ("khai_tu", [10]),
    ]
    docs = split_dossier(numbered(pages))
    assert docs[2].blank_pages == (6,)
    assert [d.to_dict() for d in docs][1] == {"index": 1, "doc_type": "cccd", "pages": [3, 4]}


def test_two_cards_in_a_row_are_two_documents():
    assert spans([CARD_FRONT, CARD_BACK, CARD_FRONT, CARD_BACK]) == [("cccd", [1, 2]), ("cccd", [3, 4])]


def test_a_card_copied_on_one_page_then_a_certificate():
    both = page(*[line.text for line in CARD_FRONT.lines + CARD_BACK.lines], codes=CARD_FRONT.codes)
    assert spans([both, KHAI_SINH]) == [("cccd", [1]), ("khai_sinh", [2])]


def test_a_page_after_a_card_is_not_part_of_it():
    assert spans([CARD_FRONT, LETTER_2]) == [("cccd", [1]), ("other", [2])]


def test_blank_pages_go_with_the_document_before_them_or_the_first():
    assert spans([BLANK, KHAI_SINH, BLANK, BLANK, KHAI_TU]) == [("khai_sinh", [1, 2, 3, 4]), ("khai_tu", [5])]
    assert spans([BLANK]) == [("other", [1])]
    assert spans([]) == []


def specks(rotation: int = 0) -> OcrPage:
    """A blank back as the recogniser can read it: speckle and paper grain taken for bits of
    text, strewn over the (here turned) page as one line ("| xế : VỆ ... TÁC BÀ ..."), more
    than a dozen letters in all."""
    bits = [
        ("|", 131, 502, 4, 10),
        ("xế", 450, 1352, 3, 3),
        ("VỆ", 573, 546, 13, 10),
        ("xế", 735, 643, 6, 10),
        ("2", 1077, 787, 6, 19),
        ("XE", 1271, 1552, 14, 22),
        (":", 1296, 189, 10, 12),
        ("TÁC", 1301, 1309, 13, 22),
        ("BÀ", 1589, 1234, 20, 28),
        ("ng", 1884, 1171, 13, 22),
        (":", 1966, 786, 32, 15),
        ("|", 2116, 1114, 12, 24),
    ]
    words = tuple(Word(t, (x, y, x + w, y + h), 0.75) for t, y, x, w, h in bits)
    assert sum(ch.isalpha() for w in words for ch in w.text) >= 12
    return OcrPage(number=0, lines=(Line(words),), width=2339, height=1654, dpi=200, rotation=rotation)


def test_a_blank_back_read_as_specks_stays_with_the_document_before_it():
    assert spans([CARD_FRONT, specks(90), KHAI_SINH]) == [("cccd", [1, 2]), ("khai_sinh", [3])]
    assert split_dossier(numbered([KET_HON, specks(), KHAI_TU]))[0].blank_pages == (2,)


def test_a_continuation_page_whose_sentences_name_titles_does_not_start_a_document():
    """A report's second page, no page number: a sentence that ends "... Sổ đăng ký khai sinh."
    or a paragraph that opens "hướng dẫn ..." or "số 123/2015/NĐ-CP" is running text, not a
    certificate's or a letter's title or number."""
    letter = page("ỦY BAN NHÂN DÂN", *MOTTO, "Số: 125/TB-UBND", "THÔNG BÁO", "Về việc số hóa dữ liệu hộ tịch", *PROSE)
    continued = page(
        "Tổ chức thực hiện",
        "Trong tháng, Phòng Tư pháp đã kiểm tra kỹ giấy tờ, đối chiếu thông tin trước khi",
        "ghi vào Sổ đăng ký khai sinh.",
        "hướng dẫn, đôn đốc, kiểm tra việc thực hiện. Qua kiểm tra, phần lớn hồ sơ",
        "số 123/2015/NĐ-CP, hồ sơ được lưu trữ đầy đủ, sắp xếp khoa học,",
        *PROSE,
    )
    assert spans([letter, continued, KHAI_SINH]) == [("van_ban", [1, 2]), ("khai_sinh", [3])]
    titled = page("ỦY BAN NHÂN DÂN", "Số: 7/QĐ-UBND", "Quyết định", *PROSE)  # a title need not be in capitals
    assert spans([KHAI_SINH, titled]) == [("khai_sinh", [1]), ("van_ban", [2])]


def test_page_numbers_restart_a_document_without_a_heading():
    first = page(*PROSE, "Trang 1/2")
    second = page(*PROSE, "Trang 2/2")
    assert spans([first, second, first, second]) == [("other", [1, 2]), ("other", [3, 4])]


def test_a_continued_page_with_its_number_is_not_a_new_document_even_with_a_heading():
    continued = page(*MOTTO, *PROSE, "Trang 2/2")
    assert spans([TO_KHAI_1, continued]) == [("to_khai", [1, 2])]


def test_every_page_is_in_exactly_one_document_in_order():
    pages = [BLANK, LETTER_1, LETTER_2, BLANK, CARD_FRONT, KHAI_SINH, TO_KHAI_1, TO_KHAI_2, BLANK]
    docs = split_dossier(numbered(pages))
    assert [n for d in docs for n in d.pages] == list(range(1, len(pages) + 1))
    assert [d.index for d in docs] == list(range(len(docs)))


def test_page_number_forms():
    assert page_number(["- 2 -"]) == 2
    assert page_number(["noi dung", "trang 3/5"]) == 3
    assert page_number(["4/7"]) == 4
    assert page_number(["so: 12/ubnd-tp"]) is None


# -- a dossier through the real pipeline ------------------------------------------------

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "samples" / "data"


def test_one_scan_of_a_dossier_gives_its_documents_and_each_record_its_document(tmp_path):
    """A birth certificate, a letter and a marriage certificate scanned as one TIFF: the
    result lists the three documents (CONTRACT `documents`), each record names its own,
    and the letter's closing block is read on the letter's page, not on the next one."""
    import io

    import pytest
    from PIL import Image

    from digitize.config import load_settings
    from digitize.pipeline import Engines, process_bytes

    names = ["khai_sinh_clean.png", "van_ban_cong_van.png", "ket_hon_clean.png"]
    if not all((SAMPLES / n).exists() for n in names):
        pytest.skip("samples not generated")
    frames = [Image.open(SAMPLES / n).convert("L") for n in names]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200), compression="tiff_lzw")
    engines = Engines.from_settings(load_settings(env={"DIGITIZE_HOME": str(tmp_path)}))
    try:
        result = process_bytes("ho_so.tif", buf.getvalue(), engines).to_dict()
    finally:
        engines.close()
    assert result["documents"] == [
        {"index": 0, "doc_type": "khai_sinh", "pages": [1]},
        {"index": 1, "doc_type": "van_ban", "pages": [2]},
        {"index": 2, "doc_type": "ket_hon", "pages": [3]},
    ]
    by_document = {r["document"]: r for r in result["records"]}
    assert set(by_document) == {0, 1, 2}
    assert [by_document[i]["doc_type"] for i in range(3)] == ["khai_sinh", "van_ban", "ket_hon"]
    assert all(r["page"] == r["document"] + 1 for r in result["records"])
