"""Cleanup stages on synthetic pages with known geometry."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitize import preprocess as P
from digitize.ocr.layout import assemble_rows, find_tables
from digitize.types import PageImage, Word

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def page_with(lines, size=(1654, 2339), font_px=36, leaders=False):
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, font_px)
    y = 200
    for text in lines:
        draw.text((150, y), text, font=font, fill="black")
        if leaders:
            x_end = 150 + draw.textlength(text, font=font)
            draw.text((x_end + 10, y), "." * 60, font=font, fill="black")
        y += 70
    return np.asarray(img)[:, :, ::-1].copy()


@pytest.mark.parametrize("angle", [-7.0, -2.5, 3.0, 11.0])
def test_deskew_finds_the_angle(angle):
    image = page_with(["Cộng hòa xã hội chủ nghĩa Việt Nam"] * 12)
    skewed = P.rotate_fine(image, angle)
    correction = P.estimate_skew(P.to_grey(skewed))
    assert correction == pytest.approx(-angle, abs=0.3)


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_sideways_pages_are_detected(turn):
    lines = [
        f"Dòng {i}: " + " ".join(["Giấy khai sinh", "số 123", "quyển số 01", "Nguyễn Văn An"][: 1 + i % 4])
        for i in range(15)
    ]
    image = P.rotate_quarter(page_with(lines), turn)
    rotation, _ = P.estimate_orientation(P.to_grey(image))
    assert rotation == (90 if turn in (90, 270) else 0)


def test_leader_dots_go_and_dot_below_diacritics_stay():
    image = page_with(["Họ tên: Đặng Thị Mỹ Hạnh", "Nơi sinh: Bệnh viện Hạ Long"], leaders=True)
    ink = P.ink_mask(P.to_grey(image))
    cleaned = P.remove_leader_dots(ink, 200)
    removed = cv2.subtract(ink, cleaned)
    n_removed = cv2.connectedComponents(removed)[0] - 1
    assert n_removed >= 100  # two leaders of 60 dots each, give or take merged pairs
    # Everything removed lies to the right of the text; the dots under ặ, ị, ạ, ệ, ạ are kept.
    text_right_edge = 150 + ImageFont.truetype(FONT, 36).getlength("Họ tên: Đặng Thị Mỹ Hạnh")
    assert removed[:, : int(text_right_edge) - 5].sum() == 0


def test_colour_marks_are_removed_from_ocr_input():
    image = page_with(["Văn bản"] * 3)
    cv2.circle(image, (800, 400), 150, (40, 40, 220), 12)  # red stamp ring (BGR)
    grey = P.suppress_colour(image)
    assert grey[400, 950 - 6] > 200  # the ring is paper now
    assert grey[P.to_grey(image) < 60].mean() < 100  # black print stays dark


def test_red_title_is_kept_and_red_seal_is_not():
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    draw.text((400, 300), "GIẤY CHỨNG NHẬN KẾT HÔN", font=ImageFont.truetype(FONT, 52), fill=(210, 30, 30))
    draw.ellipse((650, 1200, 1000, 1550), outline=(220, 40, 40), width=12)  # the seal's ring
    draw.text((700, 1360), "ỦY BAN NHÂN DÂN", font=ImageFont.truetype(FONT, 30), fill=(220, 40, 40))
    image = np.asarray(img)[:, :, ::-1].copy()
    grey = P.suppress_colour(image)
    title = grey[290:380, 380:1300]
    assert (title < 128).sum() > 0.6 * (P.to_grey(image)[290:380, 380:1300] < 200).sum()  # title, marks included
    assert (grey[1190:1560, 640:1010] < 128).sum() == 0  # the seal, legend and all, is paper


def test_phone_photo_sheet_is_found_and_rectified():
    sheet = page_with(["Trích lục khai tử"] * 20, size=(840, 1188))
    desk = np.full((1500, 1200, 3), 60, np.uint8)
    src = np.float32([[0, 0], [839, 0], [839, 1187], [0, 1187]])
    dst = np.float32([[200, 150], [1000, 120], [1050, 1350], [150, 1380]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    photo = cv2.warpPerspective(sheet, matrix, (1200, 1500), dst=desk, borderMode=cv2.BORDER_TRANSPARENT)
    corners = P.find_sheet(photo)
    assert corners is not None
    assert np.abs(corners - dst).max() < 25
    flat = P.rectify_sheet(photo, corners)
    assert abs(flat.shape[0] / flat.shape[1] - 1188 / 840) < 0.05


def test_dim_corner_of_a_phone_photo_is_still_found():
    # light falling off towards one corner drops it below the global threshold; the
    # sheet's straight edges still put the corner where it is
    sheet = page_with(["Trích lục khai tử"] * 20, size=(840, 1188))
    desk = np.full((1500, 1200, 3), 60, np.uint8)
    src = np.float32([[0, 0], [839, 0], [839, 1187], [0, 1187]])
    dst = np.float32([[200, 150], [1000, 120], [1050, 1350], [150, 1380]])
    photo = cv2.warpPerspective(
        sheet, cv2.getPerspectiveTransform(src, dst), (1200, 1500), dst=desk, borderMode=cv2.BORDER_TRANSPARENT
    ).astype(np.float32)
    yy, xx = np.mgrid[0:1500, 0:1200].astype(np.float32)
    light = 1.0 - 0.75 * np.clip((xx / 1200 - yy / 1500), 0, 1)  # dark towards the top right
    photo = np.clip(photo * light[:, :, None], 0, 255).astype(np.uint8)
    corners = P.find_sheet(photo)
    assert corners is not None
    assert np.abs(corners - dst).max() < 12


def test_worn_ribbon_gets_a_faint_ink_reading():
    img = Image.new("RGB", (1654, 2339), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 36)
    for row in range(20):
        x = 150
        for i, letter in enumerate("Ngày đăng ký khai sinh"):
            # every third letter struck with a nearly dry ribbon
            draw.text((x, 200 + row * 70), letter, font=font, fill=(205, 205, 205) if i % 3 == 0 else (60, 60, 60))
            x += draw.textlength(letter, font=font)
    image = np.asarray(img)[:, :, ::-1].copy()
    clean = P.clean_page(PageImage(number=1, pixels=image, dpi=200))
    faint = [alt for bar, alt in clean.alternates if "faint_ink" in alt.stages]
    assert faint and (faint[0].ocr_input < 128).sum() > 1.15 * (clean.ocr_input < 128).sum()
    # a well-inked page gets no faint-ink reading, only the grey one for a bad first reading
    plain = P.clean_page(PageImage(number=1, pixels=page_with(["Ngày đăng ký khai sinh"] * 20), dpi=200))
    assert [alt.stages[-1] for _, alt in plain.alternates] == ["grey"]


def test_clean_page_keeps_colour_display_and_reports_skew():
    image = P.rotate_fine(page_with(["Quyết định về việc công nhận"] * 12), 4.0)
    clean = P.clean_page(PageImage(number=1, pixels=image, dpi=200))
    assert clean.display.ndim == 3
    assert clean.skew == pytest.approx(4.0, abs=0.3)
    assert clean.ocr_input.shape[0] == pytest.approx(clean.display.shape[0] * 1.5, abs=2)


def _word(text, x0, y0, x1, y1):
    return Word(text=text, box=(x0, y0, x1, y1), confidence=0.9)


def test_table_rows_keep_wrapped_cells_whole():
    # Two columns split at x=300, two rows split at y=100; the first cell wraps.
    rules = [
        (0, 0, 600, 2),
        (0, 100, 600, 102),
        (0, 200, 600, 202),
        (0, 0, 2, 200),
        (300, 0, 302, 200),
        (598, 0, 600, 200),
    ]
    words = [
        (_word("thôn", 10, 10, 60, 30), 0),
        (_word("Tây,", 70, 10, 120, 30), 0),
        (_word("Sơn", 10, 50, 60, 70), 1),
        (_word("La", 70, 50, 100, 70), 1),
        (_word("Kinh", 310, 10, 360, 30), 2),
        (_word("Nam", 10, 120, 60, 140), 3),
        (_word("Thái", 310, 120, 360, 140), 3),
    ]
    assert len(find_tables(rules)) == 1
    lines = assemble_rows(words, rules)
    assert [ln.text for ln in lines] == ["thôn Tây, Sơn La Kinh", "Nam Thái"]


def test_broken_rules_still_make_a_table_grid():
    # faded ink leaves each rule in pieces; the pieces on one line are one rule
    pieces = [
        (0, 0, 250, 2),
        (270, 1, 600, 3),
        (0, 100, 200, 102),
        (230, 100, 600, 102),
        (0, 200, 280, 202),
        (300, 200, 600, 202),
        (0, 0, 2, 90),
        (1, 110, 3, 200),
        (300, 0, 302, 200),
        (598, 0, 600, 120),
        (598, 130, 600, 200),
    ]
    tables = find_tables(pieces)
    assert len(tables) == 1
    assert len(tables[0].row_edges) == 3 and len(tables[0].col_edges) == 3


def test_rows_merge_left_and_right_header_blocks():
    words = [
        (_word("ỦY", 10, 10, 50, 40), 0),
        (_word("BAN", 60, 10, 110, 40), 0),
        (_word("CỘNG", 600, 12, 680, 42), 1),
        (_word("HÒA", 690, 12, 750, 42), 1),
        (_word("XÃ", 10, 60, 50, 90), 2),
    ]
    assert [ln.text for ln in assemble_rows(words)] == ["ỦY BAN CỘNG HÒA", "XÃ"]


def _column_page(left_rows: int, right_rows: int, right_x: int = 1300) -> list[tuple]:
    """A title across the page, then two columns of running text on shared baselines,
    then a closing line across the page."""
    words, n = [(_word("BÁO", 700, 100, 820, 150), 0), (_word("CÁO", 840, 100, 960, 150), 0)], 1
    for i in range(max(left_rows, right_rows)):
        y = 300 + 60 * i
        if i < left_rows:
            words += [(_word(f"trái{i}", 200, y, 600, y + 40), n), (_word("cột", 620, y, 1150, y + 40), n)]
            n += 1
        if i < right_rows:
            words += [
                (_word(f"phải{i}", right_x, y, right_x + 400, y + 40), n),
                (_word("cột", right_x + 420, y, 2280, y + 40), n),
            ]
            n += 1
    y = 300 + 60 * max(left_rows, right_rows) + 100
    words.append((_word("Hết", 200, y, 2280, y + 40), n))
    return words


def test_two_columns_are_read_column_by_column():
    texts = [ln.text for ln in assemble_rows(_column_page(8, 7))]
    assert texts[0] == "BÁO CÁO"
    assert texts[1:9] == [f"trái{i} cột" for i in range(8)]
    assert texts[9:16] == [f"phải{i} cột" for i in range(7)]
    assert texts[-1] == "Hết"


def test_columns_end_before_the_closing_block():
    # the body in two columns, then, after a blank band, "Nơi nhận" on the left beside the
    # signer's title on the right: the closing block is read in rows, after both columns
    words = _column_page(8, 8)[:-1]
    n = 100
    for i, (left, right) in enumerate(
        [("Nơi nhận:", "KT. CHỦ TỊCH"), ("- Như trên;", "PHÓ CHỦ TỊCH"), ("- Sở Y tế;", None), ("- Lưu: VT.", None)]
    ):
        y = 300 + 60 * 8 + 120 + 50 * i
        words.append((_word(left, 200, y, 700, y + 40), n))
        if right:
            words.append((_word(right, 1500, y, 2000, y + 40), n + 1))
        n += 2
    texts = [ln.text for ln in assemble_rows(words)]
    assert texts[1:9] == [f"trái{i} cột" for i in range(8)] and texts[9:17] == [f"phải{i} cột" for i in range(8)]
    assert texts[17:19] == ["Nơi nhận: KT. CHỦ TỊCH", "- Như trên; PHÓ CHỦ TỊCH"]


def test_short_side_by_side_blocks_stay_rows():
    # a header's two blocks, a closing block beside the signer: too few lines to be columns
    texts = [ln.text for ln in assemble_rows(_column_page(4, 3))]
    assert texts[1] == "trái0 cột phải0 cột"
    # a table's narrow cells (not filling a column) stay rows however many there are
    cells = [(_word(f"{i}", 200, 300 + 60 * i, 260, 340 + 60 * i), 2 * i) for i in range(10)]
    cells += [(_word(f"Nguyễn{i}", 1300, 300 + 60 * i, 1500, 340 + 60 * i), 2 * i + 1) for i in range(10)]
    assert [ln.text for ln in assemble_rows(cells)][0] == "0 Nguyễn0"


def test_spine_curl_is_flattened_and_flat_pages_left_alone():
    from samples.degrade import spine_curl

    lines = [f"Số {100 + i} Nguyễn Văn An 05/03/1998 Nam Kinh Trạm y tế Hòa Nhơn" for i in range(24)]
    flat = page_with(lines, font_px=30)
    assert P.estimate_curl(P.to_grey(flat)) is None
    curled = spine_curl(flat[:, :, ::-1].copy(), np.random.default_rng(1), side="left", strength=0.04)
    curl = P.estimate_curl(P.to_grey(np.asarray(curled)))
    assert curl is not None
    shift, scale = curl
    assert abs(shift[0]) > abs(shift[len(shift) // 2]) + 5  # moves most near the spine


def test_rotated_boxes_follow_the_page():
    assert P._rotate_boxes(((10, 20, 30, 40),), 180, 100, 200) == ((70, 160, 90, 180),)


def test_grainy_pages_are_despeckled_and_clean_ones_are_not():
    clean = page_with(["Họ, chữ đệm, tên: Nguyễn Văn An"] * 10)
    rng = np.random.default_rng(5)
    grainy = np.clip(clean.astype(np.int16) + rng.normal(0, 40, clean.shape[:2])[:, :, None], 0, 255).astype(np.uint8)
    flat = lambda image: P.flatten_background(P.to_grey(image), 200)  # noqa: E731
    assert P.noise_level(flat(clean)) < P.SPECKLE_NOISE < P.noise_level(flat(grainy))
    stages = lambda image: P.clean_page(PageImage(number=1, pixels=image, dpi=200)).stages  # noqa: E731
    assert "despeckle" in stages(grainy) and "despeckle" not in stages(clean)


def test_tall_table_band_is_read_as_several_rows():
    # four columns; the rules between the last three entries faded away: their band is three
    # rows high, and every column holds three lines
    rules = [
        (0, 0, 800, 2),
        (0, 100, 800, 102),
        (0, 200, 800, 202),
        (0, 500, 800, 502),
        (0, 0, 2, 500),
        (100, 0, 102, 500),
        (300, 0, 302, 500),
        (500, 0, 502, 500),
        (798, 0, 800, 500),
    ]
    cells = [
        ("Số", "Tên", "Sinh", "Giới"),
        ("1", "An", "01/01/1987", "Nam"),
        ("2", "Bình", "02/01/1987", "Nam"),
        ("3", "Chi", "03/01/1987", "Nữ"),
        ("4", "Dũng", "04/01/1987", "Nam"),
    ]
    words = [
        (_word(text, x + 10, 40 + 100 * i, x + 60, 60 + 100 * i), i)
        for i, row in enumerate(cells)
        for text, x in zip(row, (0, 100, 300, 500))
    ]
    assert [ln.text for ln in assemble_rows(words, rules)] == [" ".join(row) for row in cells]


def test_tall_row_with_wrapped_cells_stays_one_row():
    # a certificate's table: an address wrapping onto three lines beside one onto two is one row
    rules = [
        (0, 0, 600, 2),
        (0, 100, 600, 102),
        (0, 400, 600, 402),
        (0, 500, 600, 502),
        (0, 0, 2, 500),
        (150, 0, 152, 500),
        (380, 0, 382, 500),
        (598, 0, 600, 500),
    ]
    words = [
        (_word("Tên", 10, 40, 60, 60), 0),
        (_word("An", 160, 40, 200, 60), 0),
        (_word("Bình", 390, 40, 450, 60), 0),
        (_word("Nơi", 10, 140, 60, 160), 1),
        (_word("thôn", 160, 140, 220, 160), 1),
        (_word("Đông,", 160, 240, 220, 260), 2),
        (_word("xã", 160, 340, 200, 360), 3),
        (_word("bản", 390, 140, 440, 160), 4),
        (_word("Hua,", 390, 240, 450, 260), 5),
        (_word("Dân", 10, 440, 60, 460), 6),
        (_word("Kinh", 160, 440, 220, 460), 6),
    ]
    assert [ln.text for ln in assemble_rows(words, rules)] == ["Tên An Bình", "Nơi thôn Đông, xã bản Hua,", "Dân Kinh"]
