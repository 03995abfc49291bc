"""render_pdf: searchable PDF/A-2b checked with real tools (poppler, qpdf,
pikepdf, pdfplumber), not by reading our own output back with our code."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from digitize.render import render_pdf
from digitize.types import CleanPage, Line, OcrPage, Word

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts") and shutil.which("qpdf")),
    reason="poppler-utils and qpdf are needed",
)

SHA = "5f" * 32
CREATED = datetime(2026, 11, 23, 10, 15, 0, tzinfo=timezone(timedelta(hours=7)))
DPI = 150.0
W, H = 1240, 1754  # A4 at 150 dpi


def _word(text: str, x0: int, y0: int, x1: int, y1: int) -> Word:
    return Word(text, (x0, y0, x1, y1), 0.95)


LINES = (
    Line((_word("Nguyễn", 150, 200, 330, 240), _word("Văn", 345, 200, 440, 240), _word("Ấn", 455, 200, 520, 240))),
    Line((_word("Đức", 150, 300, 250, 340), _word("Hạnh", 265, 300, 390, 340))),
    Line(
        (_word("Sinh", 150, 400, 260, 440), _word("ngày:", 275, 400, 400, 440), _word("05/03/1998", 415, 400, 650, 440))
    ),
)


def _page(
    number: int = 1, lines: tuple[Line, ...] = LINES, colour: tuple[int, int, int] = (250, 245, 240)
) -> tuple[CleanPage, OcrPage]:
    img = np.empty((H, W, 3), np.uint8)
    img[:] = colour  # BGR
    img[180:460, 140:660] = (40, 40, 40)  # dark "ink" where the words are
    clean = CleanPage(number=number, display=img, ocr_input=img[:, :, 0], dpi=DPI, ocr_scale=1.0, rotation=0, skew=0.0)
    ocr = OcrPage(number=number, lines=lines, width=W, height=H, dpi=DPI)
    return clean, ocr


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = render_pdf(
        [_page(1), _page(2)],
        title="Giấy khai sinh — Nguyễn Văn Ấn",
        source_sha256=SHA,
        created=CREATED,
        extra_meta={"agency": "hn-bd", "doc_type": "khai_sinh"},
    )
    path = tmp_path_factory.mktemp("render") / "out.pdf"
    path.write_bytes(data)
    return path


def _run(*cmd: str | Path) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_poppler
def test_pdftotext_gives_vietnamese_words_in_reading_order(pdf_path: Path) -> None:
    plain = _run("pdftotext", pdf_path, "-")
    assert unicodedata.is_normalized("NFC", plain)
    pages = plain.split("\f")
    first = [line for line in pages[0].splitlines() if line.strip()]
    assert first == ["Nguyễn Văn Ấn", "Đức Hạnh", "Sinh ngày: 05/03/1998"]
    second = [line for line in pages[1].splitlines() if line.strip()]
    assert second == first

    layout = _run("pdftotext", "-layout", "-f", "1", "-l", "1", pdf_path, "-")
    rows = [" ".join(line.split()) for line in layout.splitlines() if line.strip()]
    assert rows == ["Nguyễn Văn Ấn", "Đức Hạnh", "Sinh ngày: 05/03/1998"]

    raw = _run("pdftotext", "-raw", "-f", "1", "-l", "1", pdf_path, "-")
    assert [line for line in raw.splitlines() if line.strip()] == first


@needs_poppler
def test_words_sit_on_their_boxes(pdf_path: Path) -> None:
    import pdfplumber

    with pdfplumber.open(pdf_path) as doc:
        words = doc.pages[0].extract_words()
    scale = 72.0 / DPI
    expected = [w for line in LINES for w in line.words]
    assert [w["text"] for w in words] == [w.text for w in expected]
    for got, want in zip(words, expected):
        assert got["x0"] == pytest.approx(want.box[0] * scale, abs=0.5)
        assert got["x1"] == pytest.approx(want.box[2] * scale, abs=0.5)  # Tz stretches the word to its box
        assert want.box[1] * scale - 1 <= got["top"] < got["bottom"] <= want.box[3] * scale + 1


@needs_poppler
def test_font_is_embedded_composite_with_tounicode(pdf_path: Path) -> None:
    out = _run("pdffonts", pdf_path)
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert len(rows) == 1, out
    assert re.search(r"\+DejaVuSans\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes\s", rows[0]), out

    with pikepdf.open(pdf_path) as pdf:
        font = pdf.pages[0].Resources.Font.F0
        assert font.Subtype == "/Type0" and font.Encoding == "/Identity-H"
        cid = font.DescendantFonts[0]
        assert cid.Subtype == "/CIDFontType2"
        assert "/FontFile2" in cid.FontDescriptor and "/W" in cid and "/CIDToGIDMap" in cid
        assert b"beginbfchar" in font.ToUnicode.read_bytes()


@needs_poppler
def test_qpdf_check_and_structure(pdf_path: Path) -> None:
    out = _run("qpdf", "--check", pdf_path)
    assert "No syntax or stream encoding errors found" in out
    info = _run("pdfinfo", pdf_path)
    assert "Pages:           2" in info
    assert "Page size:       595.2 x 841.92 pts (A4)" in info
    assert "JavaScript:      no" in info and "Encrypted:       no" in info
    assert "Title:           Giấy khai sinh — Nguyễn Văn Ấn" in info
    assert "Producer:        digitize" in info


def test_pdfa_metadata_and_output_intent(pdf_path: Path) -> None:
    with pikepdf.open(pdf_path) as pdf:
        assert pdf.pdf_version == "1.7"
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2"
        assert meta["pdfaid:conformance"] == "B"
        assert meta.pdfa_status == "2B"
        assert meta["dc:title"] == "Giấy khai sinh — Nguyễn Văn Ấn"
        assert meta["xmp:CreateDate"] == "2026-11-23T10:15:00+07:00"
        assert meta["pdf:Producer"] == "digitize"
        xmp = pdf.Root.Metadata
        assert "/Filter" not in xmp  # PDF/A: the XMP stream stays readable
        text = xmp.read_bytes().decode("utf-8")
        # digitize's own values are kept in /Info only: a custom XMP schema fails pikepdf's PDF/A check
        assert "digitize:" not in text and "pdfaExtension" not in text

        info = pdf.docinfo
        assert str(info.Title) == "Giấy khai sinh — Nguyễn Văn Ấn"
        assert str(info.Producer) == "digitize"
        assert str(info.CreationDate) == "D:20261123101500+07'00'"
        assert str(info.DigitizeSourceSHA256) == SHA
        assert str(info.DigitizeAgency) == "hn-bd"

        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1"
        profile = intent.DestOutputProfile
        assert profile.N == 3 and profile.read_bytes()[36:40] == b"acsp"  # an ICC profile
        assert len(pdf.trailer.ID) == 2
        assert "/Encrypt" not in pdf.trailer

        image = pdf.pages[0].Resources.XObject.Im0
        assert image.Filter == "/DCTDecode" and image.ColorSpace == "/DeviceRGB"
        assert (int(image.Width), int(image.Height)) == (W, H)
        assert "/SMask" not in image and "/Group" not in pdf.pages[0]


def test_image_keeps_colour_order(tmp_path: Path) -> None:
    from pikepdf import PdfImage

    data = render_pdf([_page(colour=(255, 0, 0))], title="t", source_sha256=SHA, created=CREATED)  # pure blue in BGR
    with pikepdf.open(__import__("io").BytesIO(data)) as pdf:
        pil = PdfImage(pdf.pages[0].Resources.XObject.Im0).as_pil_image()
    r, g, b = pil.convert("RGB").getpixel((10, 10))
    assert b > 240 and r < 15 and g < 15


def test_deterministic_and_content_addressed() -> None:
    pages = [_page(1)]
    a = render_pdf(pages, title="t", source_sha256=SHA, created=CREATED)
    b = render_pdf(pages, title="t", source_sha256=SHA, created=CREATED)
    c = render_pdf(pages, title="t", source_sha256="00" * 32, created=CREATED)
    assert a == b
    assert a != c
    with pikepdf.open(__import__("io").BytesIO(a)) as pa, pikepdf.open(__import__("io").BytesIO(c)) as pc:
        assert bytes(pa.trailer.ID[0]) != bytes(pc.trailer.ID[0])


_SUBPROCESS_RENDER = """
import hashlib, sys
from datetime import datetime, timedelta, timezone
sys.path.insert(0, sys.argv[1])
import test_render as t
data = t.render_pdf([t._page(1)], title="t", source_sha256=t.SHA, created=t.CREATED)
print(hashlib.sha256(data).hexdigest())
"""


def test_same_bytes_in_another_process() -> None:
    """No clock, hash seed or cache may leak into the output (the ICC
    profile's header date once did)."""
    import hashlib
    import os
    import sys

    here = hashlib.sha256(render_pdf([_page(1)], title="t", source_sha256=SHA, created=CREATED)).hexdigest()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", _SUBPROCESS_RENDER, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == here


def test_naive_date_is_vietnam_time() -> None:
    data = render_pdf([_page()], title="t", source_sha256=SHA, created=datetime(2026, 1, 2, 3, 4, 5))
    with pikepdf.open(__import__("io").BytesIO(data)) as pdf:
        assert pdf.open_metadata()["xmp:CreateDate"] == "2026-01-02T03:04:05+07:00"


@needs_poppler
def test_characters_outside_the_font_and_odd_input(tmp_path: Path) -> None:
    lines = (
        Line((_word("漢字", 150, 200, 300, 240), _word("Nguye\u0302\u0303n", 320, 200, 480, 240))),  # decomposed input
        Line((_word("  ", 150, 300, 200, 340),)),  # blank word: dropped
        Line(()),
        Line((_word("Hà\tNội", 150, 400, 330, 440),)),
    )
    data = render_pdf([_page(lines=lines), _page(2, lines=())], title="", source_sha256=SHA, created=CREATED)
    path = tmp_path / "odd.pdf"
    path.write_bytes(data)
    text = _run("pdftotext", path, "-")
    rows = [line for line in text.split("\f")[0].splitlines() if line.strip()]
    assert rows == ["漢字 Nguyễn", "Hà Nội"]
    assert "No syntax or stream encoding errors found" in _run("qpdf", "--check", path)


def test_rejects_no_pages() -> None:
    with pytest.raises(ValueError):
        render_pdf([], title="t", source_sha256=SHA, created=CREATED)


def test_pdfa_2b_check_passes(pdf_path: Path) -> None:
    """pikepdf's PDF/A-2b allowlist validator approves a rendered file; a broken one
    raises the typed error that stops signing."""
    from digitize.errors import PdfaInvalid, SigningError
    from digitize.render import check_pdfa

    check_pdfa(pdf_path.read_bytes())
    with pikepdf.open(pdf_path) as pdf:
        pdf.Root.Metadata = pikepdf.Stream(pdf, b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
        buf = io.BytesIO()
        pdf.save(buf)
    with pytest.raises(PdfaInvalid) as caught:
        check_pdfa(buf.getvalue())
    assert isinstance(caught.value, SigningError) and "\n" not in str(caught.value)


def test_warm_up_does_the_later_stages_first_use_work():
    """A long-lived worker's warm-up (`PipelineRunner.warm_up`) renders and checks a page and
    loads the signing modules, in a fresh interpreter: nothing signed, nothing stored."""
    code = (
        "import sys\n"
        "from digitize import render, signing\n"
        "before = {m for m in ('fontTools.subset', 'pikepdf.pdfa', 'pdfminer.high_level') if m in sys.modules}\n"
        "render.warm_up(); signing.warm_up()\n"
        "after = {m for m in ('fontTools.subset', 'pikepdf.pdfa', 'pdfminer.high_level') if m in sys.modules}\n"
        "print(sorted(before), sorted(after))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[] ['fontTools.subset', 'pdfminer.high_level', 'pikepdf.pdfa']", out.stderr
