"""Ingest: content sniffing and clear, typed refusals of bad input."""

import io

import numpy as np
import pikepdf
import pytest
from PIL import Image

from digitize import ingest
from digitize.config import load_settings
from digitize.errors import CorruptInput, EmptyInput, EncryptedInput, TooLarge, UnsupportedInput

SETTINGS = load_settings(env={})


def _png(width=60, height=40, dpi=(200, 200)) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 255, np.uint8)).save(buf, "PNG", dpi=dpi)
    return buf.getvalue()


def _load(data: bytes, name="x"):
    source = ingest.describe(name, data, SETTINGS)
    return source, ingest.load_pages(source, data, SETTINGS)


def test_sniffs_content_not_extension():
    source, pages = _load(_png(), name="scan.pdf")
    assert source.media_type == "image/png"
    assert pages[0].pixels.shape == (40, 60, 3)
    assert pages[0].dpi == pytest.approx(200, abs=1)


def test_same_bytes_same_sha256():
    data = _png()
    assert ingest.describe("a", data, SETTINGS).sha256 == ingest.describe("b", data, SETTINGS).sha256


def test_multipage_tiff_gives_every_page():
    frames = [Image.fromarray(np.full((30, 20), v, np.uint8)) for v in (0, 128, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    _, pages = _load(buf.getvalue())
    assert [p.number for p in pages] == [1, 2, 3]
    assert [int(p.pixels.mean()) for p in pages] == [0, 128, 255]
    assert pages[0].dpi == pytest.approx(300, abs=1)


def test_scanned_pdf_page_image_at_native_resolution():
    buf = io.BytesIO()
    Image.fromarray(np.full((2339, 1654), 200, np.uint8)).save(buf, "PDF", resolution=200)
    _, pages = _load(buf.getvalue())
    assert pages[0].pixels.shape[:2] == (2339, 1654)
    assert pages[0].dpi == pytest.approx(200, abs=1)


@pytest.mark.parametrize("data, error, words", [
    (b"", EmptyInput, "empty"),
    (b"hello, this is text named .jpg", UnsupportedInput, "not an image or PDF"),
    (b"%PDF-1.7\n1 0 obj<<>>\n", CorruptInput, "PDF"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, CorruptInput, "decode"),
])
def test_bad_input_is_refused_with_a_clear_reason(data, error, words):
    with pytest.raises(error) as info:
        _load(data)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_owner_restricted_pdf_is_read():
    """Encrypted with an owner password only (copying restricted, empty user password), as
    many published official documents are: readable, so read."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="owner-only", user="", allow=pikepdf.Permissions(extract=False)))
    _, pages = _load(buf.getvalue())
    assert len(pages) == 1


def test_encrypted_pdf_is_refused():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buf = io.BytesIO()
    pdf.save(buf, encryption=pikepdf.Encryption(owner="o", user="secret"))
    with pytest.raises(EncryptedInput):
        _load(buf.getvalue())


def test_decompression_bomb_is_refused_before_decoding():
    # A 30000 x 30000 PNG compresses to well under a megabyte; its header alone trips the limit.
    buf = io.BytesIO()
    Image.new("1", (30000, 30000), 1).save(buf, "PNG")
    with pytest.raises(TooLarge) as info:
        _load(buf.getvalue())
    assert "30000x30000" in str(info.value)


def test_tiff_page_without_dimensions_is_corrupt_input():
    # found by the fuzz test: Pillow raises TypeError("Missing dimensions") on such a page
    import struct

    buf = io.BytesIO()
    page = Image.fromarray(np.zeros((8, 8), np.uint8))
    page.save(buf, "TIFF", save_all=True, append_images=[page.copy()])
    data = buf.getvalue()
    width_tag = data.rfind(struct.pack("<HH", 256, 4))  # ImageWidth of the second page
    data = data[:width_tag] + struct.pack("<H", 999) + data[width_tag + 2:]
    with pytest.raises(CorruptInput, match="Missing dimensions"):
        _, pages = _load(data)
        list(pages)
