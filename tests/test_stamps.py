"""E-signature boxes and copy stamps are kept out of the text flow (CONTRACT) and said separately."""

from __future__ import annotations

from digitize.ocr.stamps import set_aside_signature_boxes
from digitize.types import Line, OcrPage, Word


def _line(*words: tuple[str, int, int, int, int]) -> Line:
    return Line(tuple(Word(t, (x0, y0, x1, y1), 0.9) for t, x0, y0, x1, y1 in words))


def test_signature_box_words_set_aside_and_header_kept():
    page = OcrPage(
        1,
        (
            # the box's first line merged into a row with nothing else; its second line merged with
            # the issuing body's first row (same height on the page)
            _line(
                ("Ký", 1500, 40, 1540, 60),
                ("bởi:", 1545, 40, 1600, 60),
                ("Ủy", 1605, 40, 1640, 60),
                ("ban", 1645, 40, 1690, 60),
            ),
            _line(
                ("UBND", 300, 70, 420, 100),
                ("TỈNH", 430, 70, 520, 100),
                ("Cơ", 1500, 68, 1530, 88),
                ("quan:", 1535, 68, 1600, 88),
                ("Tỉnh", 1605, 68, 1660, 88),
            ),
            _line(
                ("Thời", 1500, 96, 1550, 116),
                ("gian", 1555, 96, 1600, 116),
                ("ký:", 1605, 96, 1640, 116),
                ("06.12.2024", 1645, 96, 1760, 116),
                ("16:52:05", 1765, 96, 1860, 116),
                ("+07:00", 1865, 96, 1940, 116),
            ),
            _line(("CỘNG", 1100, 160, 1200, 200), ("HÒA", 1210, 160, 1290, 200)),
            _line(("Số:", 300, 300, 360, 340), ("12/QĐ-UBND", 370, 300, 600, 340)),
        ),
        2000,
        2800,
        200.0,
    )
    out = set_aside_signature_boxes(page)
    assert [ln.text for ln in out.stamps] == [
        "Ký bởi: Ủy ban",
        "Cơ quan: Tỉnh",
        "Thời gian ký: 06.12.2024 16:52:05 +07:00",
    ]
    assert out.text.split("\n") == ["UBND TỈNH", "CỘNG HÒA", "Số: 12/QĐ-UBND"]


def test_copy_stamp_heading_and_plain_pages():
    page = OcrPage(
        1,
        (
            _line(("SAO", 1700, 20, 1800, 60), ("Y", 1810, 20, 1840, 60)),
            _line(("ỦY", 400, 100, 470, 150), ("BAN", 480, 100, 580, 150)),
        ),
        2500,
        3500,
        300.0,
    )
    out = set_aside_signature_boxes(page)
    assert [ln.text for ln in out.stamps] == ["SAO Y"] and out.text == "ỦY BAN"
    # a page without a box is returned as it is; "Ký bởi" lower on the page is body text
    body = OcrPage(1, (_line(("Ký", 300, 2000, 340, 2040), ("bởi:", 350, 2000, 420, 2040)),), 2500, 3500, 300.0)
    assert set_aside_signature_boxes(body) is body
