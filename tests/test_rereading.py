"""Values read again (`digitize.extract.rereading`): figure fields twice more, doubted word
fields by a second recogniser; agreement confirms, a lone reading is a guess sent to
review, and the real engine reads crops of figures and of words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitize.extract import validate as v
from digitize.extract.base import GUESSED_WORD, Value, build_record
from digitize.extract.rereading import WORD_MODEL, check_figures, check_words, reading_values
from digitize.extract.labels import RawField
from digitize.types import OcrPage

BOX = ((100, 100, 180, 124),)


class Readings:
    """A reader that answers from a table: what each model read."""

    def __init__(self, crossed: bool = False, typed: str | None = None, **by_model: str) -> None:
        self.by_model = by_model
        self.crossed = crossed
        self.typed = typed
        self.asked: list[str] = []

    def __call__(self, page, boxes, charset, model):
        self.asked.append(model)
        return self.by_model.get(model)

    def crossed_by_leader(self, page, boxes):
        return self.crossed

    def typed_figures(self, page, boxes):
        return self.typed


def _year(text: str) -> Value:
    value, factor = v.normalize_year(text)
    return Value(value, 0.95, factor, boxes=BOX)


def test_without_a_reader_nothing_changes():
    value = _year("4958")
    assert check_figures(v.normalize_year, value, 1) is value


def test_english_agreeing_with_the_page_confirms_without_a_second_reading():
    reader = Readings(eng="1958", vie="4958")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("1958"), 1)
    assert out.value == "1958" and out.confirmed and not out.repairs
    assert reader.asked == ["eng"]


def test_two_figure_readings_agreeing_replace_the_page_reading():
    reader = Readings(eng="1958", vie="1958")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("4458"), 1)
    assert out.value == "1958" and out.confirmed
    assert [(r.rule, r.before, r.after) for r in out.repairs] == [("figures_reread", "4458", "1958")]


def test_a_page_reading_valid_only_as_repaired_needs_the_second_reading_to_confirm_it():
    """ "4943" is read 1943 (a leader's dot merged into the 1): a guess, so English reading
    1943 as well does not confirm it alone; the Vietnamese model reads it again."""
    assert v.normalize_year("4943") == ("1943", 0.4)
    reader = Readings(eng="1943", vie="1945")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("4943"), 1)
    assert not out.confirmed and reader.asked == ["eng", "vie"]
    reader = Readings(eng="1943", vie="1943")
    with reading_values(reader):
        assert check_figures(v.normalize_year, _year("4943"), 1).confirmed


def test_no_agreement_is_a_guess_that_goes_to_review():
    reader = Readings(eng="1953", vie="1968")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("1958"), 1)
    assert out.value == "1958" and not out.confirmed and out.ocr < GUESSED_WORD
    page = OcrPage(number=1, lines=(), width=1000, height=1000, dpi=300)
    with reading_values(reader):
        record = build_record("khai_sinh", page, [RawField("nam_sinh_me", "1958", 0.99, 0, boxes=BOX)])
    assert "nam_sinh_me" in record.needs_review
    assert record.provenance["nam_sinh_me"].boxes == BOX


@pytest.mark.parametrize(
    "normalizer, page, english, chosen",
    [
        (v.normalize_id, "054081366149", "051081366149", "051081366149"),  # 1 read as 4 under a dot
        (v.normalize_id, "096180649265", "096180640265", "096180640265"),  # 0 read as 9
        (v.normalize_date, "16/03/2009", "10/03/2009", "10/03/2009"),  # 0 read as 6
        (v.normalize_date, "25/08/2010", "29/08/2010", "25/08/2010"),  # English read 5 as 9: no dot's misread
        (v.normalize_number, "139", "1390", "139"),  # a figure more: no dot's misread
    ],
)
def test_where_no_two_agree_the_english_reading_wins_only_over_a_dots_misread(normalizer, page, english, chosen):
    value, factor = normalizer(page)
    reader = Readings(eng=english, vie=page)
    with reading_values(reader):
        out = check_figures(normalizer, Value(value, 0.95, factor, boxes=BOX), 1)
    assert out.value == chosen and not out.confirmed and out.ocr < GUESSED_WORD


def test_a_number_with_letters_that_validates_is_not_read_as_figures():
    reader = Readings(eng="157", vie="157")
    value, factor = v.normalize_number("157/TLKS-BS")
    with reading_values(reader):
        out = check_figures(v.normalize_number, Value(value, 0.95, factor, boxes=BOX), 1)
    assert out.value == "157/TLKS-BS" and reader.asked == []


def test_fields_in_words_are_not_read_as_figures():
    reader = Readings(eng="1", vie="1")
    with reading_values(reader):
        out = check_figures(v.normalize_name, Value("LÊ THỊ MAI", 0.9, 1.0, boxes=BOX), 1)
    assert out.value == "LÊ THỊ MAI" and reader.asked == []


@pytest.mark.parametrize("text", ["1958", "25/04/1995"])
def test_the_engine_reads_a_crop_of_typewriter_figures(text):
    from digitize.ocr.tesseract import TesseractEngine

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 48)
    image = Image.new("L", (40 + 32 * len(text), 90), 255)
    ImageDraw.Draw(image).text((20, 15), text, font=font, fill=0)
    engine = TesseractEngine()
    charset = "0123456789/" if "/" in text else "0123456789"
    for model in ("vie", "eng"):
        assert engine.read_value(np.asarray(image), charset, model) == text


def test_the_pipeline_keeps_form_pages_and_reads_a_value_crop_again():
    from digitize.ocr.tesseract import TesseractEngine
    from digitize.pipeline import PageValues
    from digitize.types import CleanPage

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 48)

    def page(number: int, text: str) -> CleanPage:
        image = Image.new("L", (600, 200), 255)
        ImageDraw.Draw(image).text((100, 60), text, font=font, fill=0)
        grey = np.asarray(image)
        return CleanPage(number=number, display=grey, ocr_input=grey, dpi=300, ocr_scale=1.0, rotation=0, skew=0.0)

    figures = PageValues(TesseractEngine())
    figures.keep(page(1, "1958"))
    figures.keep(page(2, "2024"))  # the first is now kept as PNG, the latest as it is
    assert set(figures.forms.png) == {1}
    box = ((100, 70, 100 + 4 * 29, 120),)
    assert figures(1, box, "0123456789", "eng") == "1958"
    assert figures(2, box, "0123456789", "vie") == "2024"
    assert figures(3, box, "0123456789", "eng") is None  # a page not kept: nothing to read
    assert set(figures.packed()[0]) == {1, 2}


@pytest.mark.parametrize("pitch", [21, 29])
def test_leader_dots_under_typed_figures_are_cleared(pitch):
    """A value typed over a leader: the dots hang from the figures' feet, where a
    figures-only reader takes 0 for 9 or drops it ("95220548", "5220548"); cleared, the
    figures read, and above their feet they are untouched."""
    from digitize.preprocess import figures_without_dots

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 48)
    image = Image.new("L", (420, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "05220548", font=font, fill=0)
    bottom = 10 + font.getbbox("0")[3]
    for x in range(12, 410, pitch):
        draw.ellipse((x, bottom, x + 5, bottom + 6), fill=0)
    crop = np.asarray(image)
    cleared = figures_without_dots(crop)
    assert not (cleared[bottom + 3 :] < 128).any()  # nothing left under the figures
    top = 10 + font.getbbox("0")[1]
    assert (cleared[top : bottom - 4] == crop[top : bottom - 4]).all()
    assert _read_in_english(cleared) == "05220548"


def test_a_cleared_dot_leaves_no_rim():
    """A dot between two figures, above their feet, is cleared with the grey rim a scan
    gives its edge: left alone, the rim reads as a ring, an "o" or a 0."""
    from PIL import ImageFilter

    from digitize.preprocess import figures_without_dots

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 48)
    image = Image.new("L", (420, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "0522  0548", font=font, fill=0)
    bottom = 10 + font.getbbox("0")[3]
    draw.ellipse((140, bottom - 9, 146, bottom - 3), fill=0)
    crop = np.asarray(image.filter(ImageFilter.GaussianBlur(1)))
    cleared = figures_without_dots(crop)
    assert (cleared[bottom - 12 : bottom, 136:151] >= 240).all()  # paper, not a grey ring


@pytest.mark.parametrize("height, crossed", [("mid", True), ("feet", False), ("none", False)])
def test_a_leader_through_the_figures_mid_height_is_told_from_one_under_their_feet(height, crossed):
    """A value typed below its dotted line: the dots stand beside the figures at
    mid-height; a dotted zero's inner dot and a colon are not a leader."""
    from digitize.preprocess import leader_through_figures

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 48)
    image = Image.new("L", (520, 80), 255)
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), ":", font=font, fill=0)
    draw.text((80, 10), "172  0548", font=font, fill=0)  # DejaVu's zero is dotted
    top, bottom = 10 + font.getbbox("0")[1], 10 + font.getbbox("0")[3]
    y = {"mid": (top + bottom) // 2 - 3, "feet": bottom - 2, "none": None}[height]
    if y is not None:
        for x in (50, 64, 260, 274):
            draw.ellipse((x, y, x + 6, y + 6), fill=0)
    assert leader_through_figures(np.asarray(image)) is crossed


def test_faint_grey_figures_are_not_taken_for_a_leader():
    """A registry cell's faint figures (a crop from a generated registry book): thresholded
    at a fixed grey they fall apart into dot-sized pieces at mid-height, which are no leader."""
    import cv2

    from digitize.preprocess import leader_through_figures

    crop = cv2.imread(str(Path(__file__).parent / "images" / "faint_registry_date.png"), cv2.IMREAD_GRAYSCALE)
    assert crop is not None and not leader_through_figures(crop)


def test_figures_agreeing_where_a_leader_crosses_them_are_a_guess():
    reader = Readings(crossed=True, eng="472")
    with reading_values(reader):
        out = check_figures(v.normalize_number, Value("472", 0.98, 1.0, boxes=BOX), 1)
    assert out.value == "472" and not out.confirmed and out.ocr < GUESSED_WORD
    # the typed-figure model reading the crop's 4 as a 4 as well settles it; reading a 1, not
    with reading_values(Readings(crossed=True, eng="472", typed="472")):
        assert check_figures(v.normalize_number, Value("472", 0.98, 1.0, boxes=BOX), 1).confirmed
    with reading_values(Readings(crossed=True, eng="472", typed="172")):
        out = check_figures(v.normalize_number, Value("472", 0.98, 1.0, boxes=BOX), 1)
    assert out.value == "172" and not out.confirmed  # the model's reading is the better guess


def test_figures_without_a_4_agreeing_where_a_leader_crosses_them_are_confirmed():
    """Both recognisers make a 4 of a dot merged into a 1; their other misreads under dots
    are not shared, so an agreement without a 4 stands."""
    reader = Readings(crossed=True, eng="1978")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("1978"), 1)
    assert out.value == "1978" and out.confirmed


def test_readings_that_agree_on_fewer_figures_than_the_page_saw_confirm_nothing():
    reader = Readings(eng="5", vie="5")
    with reading_values(reader):
        out = check_figures(v.normalize_number, Value("2375", 0.98, 1.0, boxes=BOX), 1)
    assert not out.confirmed and out.ocr < GUESSED_WORD
    # one figure fewer is a dot the page read as a figure ("41946"): the agreement stands
    reader = Readings(eng="1946", vie="1946")
    with reading_values(reader):
        assert check_figures(v.normalize_year, _year("41946"), 1).confirmed


def _read_in_english(image: np.ndarray) -> str:
    from digitize.ocr.tesseract import TesseractEngine

    return TesseractEngine().read_value(image, "0123456789", "eng")


def test_a_crop_without_figures_is_left_as_it_is():
    from digitize.preprocess import figures_without_dots

    crop = np.full((40, 100), 255, np.uint8)
    crop[30:33, 10:13] = 0
    assert figures_without_dots(crop) is crop


def test_a_second_recogniser_agreeing_confirms_a_doubted_name_and_settles_its_guessed_word():
    reader = Readings(Vietnamese="PHAN  THANH YẾN ")
    doubted = Value("PHAN THANH YẾN", 0.2, 0.7, boxes=BOX)
    with reading_values(reader):
        out = check_words(v.normalize_name, doubted, 1)
    assert out.value == "PHAN THANH YẾN" and out.confirmed and out.ocr >= GUESSED_WORD
    assert reader.asked == [WORD_MODEL]


def test_a_second_reading_that_passes_the_checks_replaces_one_that_fails_them_as_a_guess():
    reader = Readings(Vietnamese="HOÀNG CÔNG LAN")
    value, factor = v.normalize_name("HOÀNG CÔNG 1.AN")
    assert factor < 0.9
    with reading_values(reader):
        out = check_words(v.normalize_name, Value(value, 0.8, factor, boxes=BOX), 1)
    assert out.value == "HOÀNG CÔNG LAN" and not out.confirmed and out.ocr < GUESSED_WORD
    assert out.repairs[-1].rule == "second_reading"


def test_a_second_reading_that_disagrees_with_a_valid_value_changes_nothing():
    reader = Readings(Vietnamese="BÙI THẾ KHOA")
    value = Value("BÙI THỊ KHOA", 0.6, 1.0, boxes=BOX)
    with reading_values(reader):
        assert check_words(v.normalize_name, value, 1) is value
    with reading_values(Readings()):  # the script model not installed
        assert check_words(v.normalize_name, value, 1) is value


def test_two_recognisers_reading_a_value_that_fails_its_checks_alike_do_not_confirm_it():
    reader = Readings(Vietnamese="tỉnh Gà Mau")
    value, factor = v.normalize_place("tỉnh Gà Mau")
    with reading_values(reader):
        out = check_words(v.normalize_place, Value(value, 0.2, factor, boxes=BOX), 1)
    assert out.value == "tỉnh Cà Mau" and not out.confirmed


def test_only_doubted_word_fields_are_read_again():
    reader = Readings(Vietnamese="Kinh")
    from digitize.types import Line, Word

    words = tuple(Word(t, (100 + 60 * i, 100, 150 + 60 * i, 124), 0.97) for i, t in enumerate("Dân tộc: Kinh".split()))
    page = OcrPage(number=1, lines=(Line(words),), width=1000, height=1000, dpi=300)
    with reading_values(reader):
        record = build_record("khai_sinh", page, [RawField("dan_toc", "Kinh", 0.99, 0, boxes=BOX)])
    assert reader.asked == [] and "dan_toc" not in record.needs_review


def test_the_engine_reads_a_crop_of_words_with_the_script_model():
    from digitize.ocr.tesseract import TesseractEngine

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 40)
    image = Image.new("L", (520, 80), 255)
    ImageDraw.Draw(image).text((20, 15), "Nguyễn Thị Yến", font=font, fill=0)
    assert TesseractEngine().read_value(np.asarray(image), "", WORD_MODEL) == "Nguyễn Thị Yến"
    assert TesseractEngine().read_value(np.asarray(image), "", "no-such-model") is None


def test_agreeing_figures_settle_a_figure_the_page_scored_low():
    reader = Readings(eng="1958")
    with reading_values(reader):
        out = check_figures(v.normalize_year, Value("1958", 0.1, 1.0, boxes=BOX), 1)
    assert out.confirmed and out.ocr >= GUESSED_WORD


def test_a_value_confirmed_by_another_field_is_still_read_again_where_a_word_was_guessed():
    reader = Readings(Vietnamese="Kinh")
    value = Value("Kinh", 0.1, 0.4, boxes=BOX, confirmed=True)  # "K1nh" repaired, agreeing with a parent's
    with reading_values(reader):
        out = check_words(v.normalize_ethnicity, value, 1)
    assert out.confirmed and out.ocr >= GUESSED_WORD and out.factor == 1.0


def test_the_typed_figure_model_agreeing_with_one_reading_confirms_it():
    """The two Tesseract models disagree (one reads the typewriter's 1 as 4); the typed-figure
    model, trained apart from them, agrees with the other: two independent witnesses."""
    reader = Readings(eng="1952", vie="1982", typed="1952")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("1982"), 1)
    assert out.value == "1952" and out.confirmed and out.ocr >= GUESSED_WORD
    assert [(r.rule, r.before, r.after) for r in out.repairs] == [("figures_typed_model", "1982", "1952")]


def test_the_typed_figure_model_alone_confirms_nothing():
    reader = Readings(eng="440", vie="4049", typed="1949")
    with reading_values(reader):
        out = check_figures(v.normalize_year, _year("4949"), 1)
    assert not out.confirmed and out.ocr < GUESSED_WORD
    # but where it passes the checks its reading is the guess offered first
    assert out.value == "1949"
    with reading_values(Readings(eng="1953", vie="1968", typed="1956")):
        out = check_figures(v.normalize_year, _year("1958"), 1)
    assert out.value == "1956" and out.repairs[-1].rule == "figures_typed_model" and not out.confirmed
    # nor does it agree with a page reading that passes its checks only as repaired
    assert v.normalize_year("4943") == ("1943", 0.4)
    with reading_values(Readings(eng="1945", vie="1948", typed="1943")):
        assert not check_figures(v.normalize_year, _year("4943"), 1).confirmed


@pytest.mark.parametrize("text", ["1958", "25/04/1995", "051081366149", "03/2011", "17"])
def test_the_typed_figure_model_reads_a_face_it_never_saw_over_a_leader(text):
    """OpenCV's Hershey face is in none of the model's training faces; a leader's dots run
    under the figures' feet, some touching them."""
    import cv2

    from digitize.ocr.typed_figures import read_typed_figures, typed_model

    assert typed_model() is not None
    img = np.full((70, 40 + 34 * len(text)), 255, np.uint8)
    cv2.putText(img, text, (14, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.3, 0, 2, cv2.LINE_AA)
    for x in range(4, img.shape[1], 14):
        cv2.circle(img, (x, 53), 2, 0, -1)
    read = read_typed_figures(img, 30)
    assert read is not None and read.text == text and 0 < read.confidence <= 1
    assert read_typed_figures(np.full((70, 200), 250, np.uint8), 30) is None
