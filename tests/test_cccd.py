"""The citizen ID card (cccd): its QR code read exactly, its printed front read where there
is no readable code, on generated photocopies of cards."""

from __future__ import annotations

import os

import numpy as np
import pytest

from digitize import codes
from digitize.extract import classify, extract_pages
from digitize.extract.cccd import card_payload, parse_payload
from digitize.types import Code, Line, OcrPage, Word
from samples.content import valid_so_dinh_danh
from samples.generate import TYPES, render_page

PHOTOCOPY = [("photocopy", 2, {}), ("noise", 1, {})]
QR_BOX = (1126, 320, 1282, 476)


def card(seed: int = 11, *, dpi: int = 300, variant: str = "cccd_2021", qr: str = "7", degradations=None):
    return render_page(
        "cccd",
        seed,
        dpi=dpi,
        variant=variant,
        font="DejaVuSans",
        card={"qr": qr},
        degradations=PHOTOCOPY if degradations is None else degradations,
    )


def bgr(page) -> np.ndarray:
    return np.ascontiguousarray(page.images[0][:, :, ::-1])


def page_of(rows: list[str], codes_: tuple[Code, ...] = (), conf: float = 0.97) -> OcrPage:
    """An OcrPage from text rows at one left margin (as the card's text column reads)."""
    lines = []
    y = 100
    for row in rows:
        words, x = [], 160
        for token in row.split():
            w = 14 * len(token)
            words.append(Word(token, (x, y, x + w, y + 30), conf))
            x += w + 12
        if words:
            lines.append(Line(tuple(words)))
        y += 55
    return OcrPage(number=1, lines=tuple(lines), width=2480, height=3508, dpi=300, codes=codes_)


# ------------------------------------------------------------------ the payload

PAYLOAD_7 = (
    "001099012345|123456789|Nguyễn Văn An|05031998|Nam|"
    "Số 12, ngõ 34 phố Huế, phường Hàng Bài, quận Hoàn Kiếm, Hà Nội|12082021"
)


def test_payload_with_seven_fields():
    fields = parse_payload(PAYLOAD_7)
    assert {k: v for k, (v, _) in fields.items()} == {
        "so_dinh_danh": "001099012345",
        "so_cmnd": "123456789",
        "ho_ten": "Nguyễn Văn An",
        "ngay_sinh": "05/03/1998",
        "gioi_tinh": "Nam",
        "noi_thuong_tru": "Số 12, ngõ 34 phố Huế, phường Hàng Bài, quận Hoàn Kiếm, Hà Nội",
        "ngay_cap": "12/08/2021",
    }
    assert fields["ngay_sinh"][1] == "05031998"  # the segment as encoded, for provenance


def test_payload_with_an_empty_old_id_omits_it():
    fields = parse_payload(PAYLOAD_7.replace("|123456789|", "||"))
    assert "so_cmnd" not in fields and fields["ho_ten"][0] == "Nguyễn Văn An"


def test_payload_with_six_fields():
    without_old_id = parse_payload(PAYLOAD_7.replace("|123456789|", "|"))
    assert without_old_id["ho_ten"][0] == "Nguyễn Văn An" and without_old_id["ngay_cap"][0] == "12/08/2021"
    assert "so_cmnd" not in without_old_id
    without_issue = parse_payload(PAYLOAD_7.rsplit("|", 1)[0])
    assert without_issue["so_cmnd"][0] == "123456789" and "ngay_cap" not in without_issue


def test_payload_is_nfc():
    decomposed = PAYLOAD_7.replace("Nguyễn", "Nguye\u0302\u0303n")
    assert parse_payload(decomposed)["ho_ten"][0] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    "text",
    [
        "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma=123",
        "a|b|c|d|e|f",
        "a|b|c|d|e|f|g",
        "",
        PAYLOAD_7 + "|extra",  # 8 fields
        PAYLOAD_7.replace("001099012345", "00109901234"),  # 11 digits
        PAYLOAD_7.replace("05031998", "35131998"),  # no such date
        PAYLOAD_7.replace("|Nam|", "|Male?|"),
        PAYLOAD_7.replace("|123456789|", "|12345ABC|"),
    ],
)
def test_garbage_payloads_are_not_cards(text):
    assert parse_payload(text) is None


# ------------------------------------------------------------------ records


def _printed_rows(gt: dict, *, name: str | None = None) -> list[str]:
    rows = gt["text"].split("\n")
    if name:
        rows = [r.replace(gt["printed"]["ho_ten"], name) for r in rows]
    return rows


def test_qr_fields_are_exact_with_provenance():
    gt = card().gt
    # the print was misread; the code was not
    page = page_of(_printed_rows(gt, name="PHAM C0NG AM"), (Code(gt["qr_payload"], QR_BOX, "zxing"),))
    assert classify(page) == "cccd"
    [record] = extract_pages([page])
    assert record.doc_type == "cccd"
    assert record.fields == gt["records"][0]["fields"]
    assert set(record.confidence.values()) == {1.0}
    assert record.needs_review == ()
    for name, value in record.fields.items():
        prov = record.provenance[name]
        assert prov.method == "qr" and prov.page == 1 and prov.boxes == (QR_BOX,)
        if name.startswith("ngay_"):
            assert prov.raw == value.replace("/", "") and prov.repairs[0].rule == "qr_date"
        else:
            assert prov.raw == value and not prov.repairs
    assert record.to_dict()["provenance"]["ho_ten"]["method"] == "qr"


def test_a_field_the_code_lacks_is_read_from_print():
    gt = card().gt
    payload = gt["qr_payload"].rsplit("|", 1)[0]  # a code without the date of issue: 6 fields
    assert payload.count("|") == 5
    page = page_of(_printed_rows(gt), (Code(payload, QR_BOX, "zxing"),))
    [record] = extract_pages([page])
    assert record.provenance["ho_ten"].method == "qr"
    assert record.fields["ngay_cap"] == gt["printed"]["ngay_cap"]
    assert record.provenance["ngay_cap"].method == "ocr"
    assert record.confidence["ngay_cap"] < 1.0


@pytest.mark.parametrize("variant", ["cccd_2021", "can_cuoc_2024"])
def test_printed_front_without_a_code(variant):
    gt = card(variant=variant, qr="none").gt
    page = page_of(_printed_rows(gt))
    assert classify(page) == "cccd"
    [record] = extract_pages([page])
    want = {
        k: gt["printed"][k] for k in ("so_dinh_danh", "ho_ten", "ngay_sinh", "gioi_tinh", "noi_thuong_tru", "ngay_cap")
    }
    assert record.fields == want
    assert {p.method for p in record.provenance.values()} == {"ocr"}
    assert all(c < 1.0 for c in record.confidence.values())


def test_printed_values_read_badly_go_to_review():
    gt = card(qr="none").gt
    number = gt["printed"]["so_dinh_danh"]
    rows = [r.replace(number, number[:-2]) for r in gt["text"].split("\n")]
    [record] = extract_pages([page_of(rows)])
    assert "so_dinh_danh" in record.needs_review


def test_garbage_code_is_ignored():
    gt = card(qr="garbage").gt
    page = page_of(_printed_rows(gt), (Code(gt["qr_payload"], QR_BOX, "zxing"),))
    assert card_payload(page) is None
    [record] = extract_pages([page])
    assert {p.method for p in record.provenance.values()} == {"ocr"}
    assert record.fields["so_dinh_danh"] == gt["printed"]["so_dinh_danh"]


def test_a_page_with_only_a_card_code_is_a_card():
    page = page_of(["Bản sao", "Chứng thực bản sao đúng với bản chính"], (Code(PAYLOAD_7, QR_BOX, "zxing"),))
    assert classify(page) == "cccd"
    [record] = extract_pages([page])
    assert record.fields["so_dinh_danh"] == "001099012345"


def test_other_pages_are_not_cards():
    khai_sinh = page_of(
        [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "GIẤY KHAI SINH",
            "Họ, chữ đệm, tên: NGUYỄN VĂN AN",
            "Số định danh cá nhân: 001099012345",
        ]
    )
    assert classify(khai_sinh) == "khai_sinh"
    letter = page_of(
        ["ỦY BAN NHÂN DÂN", "Số: 12/UBND-VP", "V/v cấp thẻ căn cước cho công dân", "Kính gửi: Công an huyện"],
        (Code("https://example.vn/a", QR_BOX, "zxing"),),
    )
    assert classify(letter) == "van_ban"


# ------------------------------------------------------------------ decoding photocopies


@pytest.mark.parametrize("dpi", [300, 200])
@pytest.mark.parametrize("variant, qr", [("cccd_2021", "7"), ("can_cuoc_2024", "6")])
def test_qr_read_on_a_photocopy(dpi, variant, qr):
    page = card(12, dpi=dpi, variant=variant, qr=qr)
    found = codes.read_codes(bgr(page))
    assert [c.text for c in found] == [page.gt["qr_payload"]]
    box, drawn = found[0].box, page.gt["qr_box"]
    assert abs(box[0] - drawn[0]) <= 12 and abs(box[3] - drawn[3]) <= 12  # where the code is printed
    fields = parse_payload(found[0].text)
    assert fields["so_dinh_danh"][0] == page.gt["printed"]["so_dinh_danh"]
    if qr == "6":
        assert page.gt["qr_payload"].count("|") == 5


def test_grey_and_blurred_at_300_dpi():
    page = card(13, degradations=[("photocopy", 1, {}), ("blur", 2, {}), ("jpeg", 2, {})])
    assert [c.text for c in codes.read_codes(bgr(page))] == [page.gt["qr_payload"]]


def test_garbage_code_is_read_but_is_not_a_card():
    page = card(qr="garbage")
    found = codes.read_codes(bgr(page))
    assert [c.text for c in found] == [page.gt["qr_payload"]]
    assert parse_payload(found[0].text) is None


def test_no_code_on_an_ordinary_page():
    page = render_page("khai_sinh", 5, degradations=[])
    assert codes.read_codes(bgr(page)) == ()


def test_each_decoder_reads_a_clean_code():
    page = card(dpi=300, degradations=[])
    for name in codes.available_decoders():
        found = codes.DECODERS[name](bgr(page))
        assert [c.text for c in found] == [page.gt["qr_payload"]], name


# ------------------------------------------------------------------ the generator


def test_card_pages_are_reproducible_and_valid():
    a, b = card(21), card(21)
    assert np.array_equal(a.images[0], b.images[0]) and a.gt == b.gt
    printed = a.gt["printed"]
    year = int(printed["ngay_sinh"][-4:])
    assert valid_so_dinh_danh(printed["so_dinh_danh"], printed["gioi_tinh"], year)
    assert a.gt["doc_type"] == "cccd" and a.gt["records"][0]["doc_type"] == "cccd"
    assert parse_payload(a.gt["qr_payload"]) is not None
    assert "cccd" not in TYPES  # the default mix (and so every existing seed's page) is unchanged


# ------------------------------------------------------------------ real OCR, end to end


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from digitize.config import load_settings
    from digitize.ocr import make_ocr_engine
    from digitize.pipeline import Engines
    from digitize.preprocess import CleanupOptions

    settings = load_settings(env={**os.environ, "DIGITIZE_HOME": str(tmp_path_factory.mktemp("cccd-home"))})
    return Engines(
        settings=settings,
        ocr=make_ocr_engine(settings),
        signer=None,
        storage=None,
        index=None,
        cleanup=CleanupOptions(),
    )


def _recognise(page, engines):
    from digitize.pipeline import recognise_page
    from digitize.types import PageImage

    return recognise_page(PageImage(1, bgr(page), float(page.dpi)), engines)[1]


@pytest.mark.slow
def test_pipeline_reads_the_card_code(engines):
    page = card(14, dpi=200, variant="can_cuoc_2024")
    ocr = _recognise(page, engines)
    assert ocr.codes and classify(ocr) == "cccd"
    [record] = extract_pages([ocr])
    assert record.fields == page.gt["records"][0]["fields"]
    assert record.needs_review == ()
    assert {p.method for p in record.provenance.values()} == {"qr"}


@pytest.mark.slow
def test_pipeline_reads_the_printed_card_without_a_code(engines):
    page = card(11, dpi=300, variant="can_cuoc_2024", qr="none")
    ocr = _recognise(page, engines)
    assert not ocr.codes and classify(ocr) == "cccd"
    [record] = extract_pages([ocr])
    printed = page.gt["printed"]
    assert record.fields["so_dinh_danh"] == printed["so_dinh_danh"]
    assert record.fields["ho_ten"] == printed["ho_ten"]
    for name in record.fields:  # what is auto-accepted is right
        if name not in record.needs_review:
            assert record.fields[name] == printed[name], name


def test_the_back_of_a_card_alone_gives_its_date_of_issue():
    back = page_of(
        [
            "Đặc điểm nhân dạng / Personal identification: Nốt ruồi C:1cm trên sau cánh mũi phải",
            "Ngày, tháng, năm / Date, month, year: 12/08/2021",
            "CỤC TRƯỞNG CỤC CẢNH SÁT",
            "IDVNM0980123456001098012345<<8",
        ]
    )
    assert classify(back) == "cccd"
    [record] = extract_pages([back])
    assert record.fields == {"ngay_cap": "12/08/2021"}
