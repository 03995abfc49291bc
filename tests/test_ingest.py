"""Ingest: content sniffing and clear, typed refusals of bad input."""

import base64
import io
import zlib

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


@pytest.mark.parametrize(
    "data, error, words",
    [
        (b"", EmptyInput, "empty"),
        (b"hello, this is text named .jpg", UnsupportedInput, "not an image or PDF"),
        (b"%PDF-1.7\n1 0 obj<<>>\n", CorruptInput, "PDF"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, CorruptInput, "decode"),
    ],
)
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
    data = data[:width_tag] + struct.pack("<H", 999) + data[width_tag + 2 :]
    with pytest.raises(CorruptInput, match="Missing dimensions"):
        _, pages = _load(data)
        list(pages)


# ------------------------------------------------------------------ hostile inputs (issue #14)


def _settings(**limits):
    return load_settings(env={}, **limits)


def _bilevel_png(width: int, height: int, **info) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (width, height), 1).save(buf, "PNG", **info)
    return buf.getvalue()


def test_pixel_bomb_under_the_pixel_limit_is_read_at_working_resolution():
    """A 23 KB blank 8000x8000 PNG held a worker for 51 s and 2.7 GB: at the 200 dpi assumed
    for a file that states none it was a 40-inch sheet, which cleanup upscaled to 300 dpi
    (12000x12000). No sheet taken is over 12.5 x 17.5 in, so it is a 640 dpi image, reduced
    to 300 dpi while it is decoded: cleanup gets 14 MB and upscales nothing."""
    _, (page,) = _load(_bilevel_png(8000, 8000))
    assert page.pixels.shape == (3750, 3750)
    assert page.dpi == pytest.approx(300, abs=1)
    # a resolution stated too low to be true is read the same way, not upscaled 4x
    _, (page,) = _load(_bilevel_png(8000, 8000, dpi=(70, 70)))
    assert page.pixels.shape == (3750, 3750)


def test_high_resolution_jpeg_is_decoded_reduced():
    buf = io.BytesIO()
    Image.fromarray(np.full((2400, 1800, 3), 180, np.uint8)).save(buf, "JPEG", dpi=(600, 600))
    _, (page,) = _load(buf.getvalue())
    assert page.pixels.shape == (1200, 900, 3)
    assert page.dpi == pytest.approx(300, abs=1)


def test_page_over_the_per_page_budget_is_refused_before_decoding(monkeypatch):
    settings = _settings(max_page_bytes=5_000_000)
    data = _png(2000, 1000, dpi=(300, 300))  # 2000 x 1000 x 3 = 6 MB
    monkeypatch.setattr(ingest, "_decode", lambda *a, **k: pytest.fail("decoded a page over the budget"))
    with pytest.raises(TooLarge, match="over the limit of 5000000 per page"):
        list(ingest.open_pages(ingest.describe("x", data, settings), data, settings).pages)
    # counted as cleanup will see it: 1000x500 at 150 dpi is upscaled to 300 dpi, 2000x1000 x 3
    data = _png(1000, 500, dpi=(150, 150))
    with pytest.raises(TooLarge, match="per page"):
        list(ingest.open_pages(ingest.describe("x", data, settings), data, settings).pages)


def _pdf_with_one_image_on_every_page(pages: int, width: int = 5800, height: int = 5800) -> bytes:
    """The issue's 6.6 KB PDF: a blank 1-bit image, stored once and drawn on every page."""
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, zlib.compress(b"\xff" * ((width + 7) // 8 * height), 9))
    image.Type, image.Subtype, image.Width, image.Height = pikepdf.Name.XObject, pikepdf.Name.Image, width, height
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 1
    image.Filter = pikepdf.Name.FlateDecode
    size = (width * 72 / 200, height * 72 / 200)
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=size)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pikepdf.Stream(pdf, f"q {size[0]} 0 0 {size[1]} 0 0 cm /Im0 Do Q".encode())
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def test_pdf_pages_are_decoded_one_at_a_time(monkeypatch):
    data = _pdf_with_one_image_on_every_page(3, 400, 400)
    decoded = []
    real = ingest._decode
    monkeypatch.setattr(ingest, "_decode", lambda *a, **k: decoded.append(1) or real(*a, **k))
    stream = ingest.open_pages(ingest.describe("x.pdf", data, SETTINGS), data, SETTINGS)
    assert stream.count == 3 and not decoded
    first = next(stream.pages)
    assert first.number == 1 and len(decoded) == 1
    assert [p.number for p in stream.pages] == [2, 3] and len(decoded) == 3


def test_pdf_drawing_one_image_on_many_pages_is_refused_before_any_is_read(monkeypatch):
    data = _pdf_with_one_image_on_every_page(200)  # 14 MB a page decoded (3750x3750), 2.8 GB in all
    assert len(data) < 100_000
    monkeypatch.setattr(ingest, "_decode", lambda *a, **k: pytest.fail("decoded a page of a refused input"))
    with pytest.raises(TooLarge, match="more than 2000000000 bytes, the limit per input") as info:
        ingest.open_pages(ingest.describe("x.pdf", data, SETTINGS), data, SETTINGS)
    assert "\n" not in str(info.value)


def test_decoded_budget_is_counted_as_pages_are_read():
    # a TIFF's page sizes are not known before its pages are read: refused on the way
    settings = _settings(max_decoded_bytes=600_000)
    frames = [Image.fromarray(np.full((500, 500), v, np.uint8)) for v in (0, 100, 200, 250)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    data = buf.getvalue()
    pages = ingest.open_pages(ingest.describe("x.tif", data, settings), data, settings).pages
    assert [next(pages).number, next(pages).number] == [1, 2]  # 250 kB each
    with pytest.raises(TooLarge, match="pages 1-3 decode to 750000 bytes, over the limit of 600000 per input"):
        next(pages)


def _pdf_with_content(body: bytes, filters: list[str], **save) -> bytes:
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    page.Contents = pikepdf.Stream(pdf, body)
    page.Contents.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False, **save)
    return buf.getvalue()


BOMB = zlib.compress(b" " * 100_000_000, 9)  # 97 kB that inflate to 100 MB


@pytest.mark.parametrize(
    "body, filters",
    [
        (BOMB, ["/FlateDecode"]),
        (BOMB.hex().encode() + b">", ["/ASCIIHexDecode", "/FlateDecode"]),
        (zlib.compress(zlib.compress(b" " * 100_000_000, 9), 9), ["/FlateDecode", "/FlateDecode"]),
        (b"\x81 " * 800_000, ["/RunLengthDecode"]),
    ],
)
def test_flate_bomb_in_a_content_stream_is_refused_unread(body, filters, monkeypatch):
    """The issue's 300 KB PDF whose content stream inflates to 300 MB cost 558 MB: the
    stream is now inflated in bounded steps and refused past 64 MB, before qpdf or
    pdftoppm decode it."""
    data = _pdf_with_content(body, filters)
    monkeypatch.setattr(pikepdf.Object, "read_bytes", lambda *a, **k: pytest.fail("stream decoded whole"))
    with pytest.raises(TooLarge, match="PDF page 1: a stream inflates past 64000000 bytes") as info:
        _load(data)
    assert "\n" not in str(info.value)


def test_flate_bomb_in_an_owner_restricted_pdf_is_refused():
    # many official documents are encrypted with an owner password only: their streams are
    # measured decrypted, as qpdf reads them
    data = _pdf_with_content(BOMB, ["/FlateDecode"], encryption=pikepdf.Encryption(owner="o", user="", aes=True))
    with pytest.raises(TooLarge, match="inflates past"):
        _load(data)


def test_image_stream_may_inflate_to_its_own_raster_only():
    pdf = pikepdf.new()
    image = pikepdf.Stream(pdf, BOMB)  # declares 100x100 grey, inflates to 100 MB
    image.Type, image.Subtype, image.Width, image.Height = pikepdf.Name.XObject, pikepdf.Name.Image, 100, 100
    image.ColorSpace, image.BitsPerComponent, image.Filter = pikepdf.Name.DeviceGray, 8, pikepdf.Name.FlateDecode
    page = pdf.add_blank_page(page_size=(72, 72))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pikepdf.Stream(pdf, b"q 72 0 0 72 0 0 cm /Im0 Do Q")
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    with pytest.raises(TooLarge, match="an image inflates past"):
        _load(buf.getvalue())


def test_stream_measures_agree_with_qpdf():
    """The bounded decoders count what qpdf decodes, for each filter they stand in for."""
    rng = np.random.default_rng(1)
    raster = (rng.random((300, 400)) * 4).astype(np.uint8) * 60
    buf = io.BytesIO()
    Image.fromarray(raster).save(buf, "TIFF", compression="tiff_lzw", tiffinfo={278: 300})
    tiff = Image.open(io.BytesIO(buf.getvalue()))
    offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    samples = {
        "/LZWDecode": buf.getvalue()[offset : offset + length],  # TIFF's LZW is PDF's, early change 1
        "/FlateDecode": zlib.compress(raster.tobytes()),
        "/RunLengthDecode": b"\x02abc\xfdx\x00y\x80",
        "/ASCIIHexDecode": b"48 65 6c6C 6\n>",
        "/ASCII85Decode": base64.a85encode(b"Hello, world") + b"~>",
    }
    pdf = pikepdf.new()
    for name, raw in samples.items():
        stream = pikepdf.Stream(pdf, raw)
        stream.Filter = pikepdf.Name(name)
        # (qpdf leaves RunLength to "specialized" decoding; poppler decodes it as it draws)
        decoded = stream.read_bytes(pikepdf.StreamDecodeLevel.specialized)
        assert ingest.decoded_size(raw, [name], 10**9) == len(decoded), name
    assert ingest.decoded_size(samples["/LZWDecode"], ["/LZWDecode"], 10**9) == raster.size
