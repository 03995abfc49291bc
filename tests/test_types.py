"""The typed result from edge to edge: `Result.from_dict` is the reverse of `to_dict` (a
result read back from the index or the archive gives the same JSON, byte for byte), and a
result stored by an older version, without the keys added since, still loads."""

from __future__ import annotations

import json

import pytest

from digitize.pipeline import to_json_bytes
from digitize.types import (
    Correction,
    Document,
    DossierScan,
    FieldProvenance,
    InputSignature,
    Line,
    OcrPage,
    Record,
    Repair,
    Result,
    SignatureInfo,
    SourceFile,
    Superseded,
    Word,
)


def _line(text: str, confidence: float, x: int = 0) -> Line:
    return Line(
        words=tuple(
            Word(text=t, box=(x + 10 * i, 5, x + 10 * i + 8, 20), confidence=confidence)
            for i, t in enumerate(text.split())
        )
    )


def _page(number: int, lines: tuple[Line, ...], **kw) -> OcrPage:
    return OcrPage(
        number=number,
        lines=lines,
        width=1240,
        height=1754,
        dpi=150.0,
        rotation=0,
        skew=-1.234,
        engine="tesseract",
        **kw,
    )


def full_result() -> Result:
    """Every part a result can have: provenance with boxes and repairs, documents, an input
    signature, a renewed signature, a book, a dossier origin, a version log, superseded,
    and a key a later version added."""
    pages = (
        _page(
            1,
            (_line("GIẤY KHAI SINH", 0.97123), _line("Họ và tên: NGUYỄN VĂN AN", 0.81234567)),
            raw_text="GIAY KHAI SINH\nHọ và tên: NGUYỄN VĂN AN",
            stamps=(_line("Ký bởi: UBND XÃ A", 0.9),),
        ),
        _page(2, (_line("CÔNG VĂN", 0.5), Line(words=()), _line("Số: 12/UBND", 0.66666))),
        _page(3, ()),
    )
    records = (
        Record(
            doc_type="khai_sinh",
            page=1,
            fields={"ho_ten": "NGUYỄN VĂN AN", "ngay_sinh": "05/03/1998"},
            confidence={"ho_ten": 0.987654, "ngay_sinh": 1.0},
            needs_review=("ngay_sinh",),
            handwritten=("ngay_sinh",),
            document=0,
            provenance={
                "ho_ten": FieldProvenance(
                    method="ocr",
                    page=1,
                    boxes=((1, 2, 3, 4), (5, 6, 7, 8)),
                    raw="NGUYEN VAN AN",
                    repairs=(Repair("gazetteer", "NGUYEN", "NGUYỄN"),),
                ),
                "ngay_sinh": FieldProvenance(method="keyed_twice", page=1, raw="5/3/1998"),
            },
        ),
        Record(
            doc_type="van_ban", page=2, fields={"so_ky_hieu": "12/UBND"}, confidence={"so_ky_hieu": 0.7}, document=1
        ),
    )
    signature = InputSignature(
        signer="UBND XÃ A",
        signed_at="2025-01-02T03:04:05+07:00",
        subfilter="ETSI.CAdES.detached",
        valid=True,
        covers_whole_file=False,
        trusted=False,
        digest_algorithm="sha256",
        byte_range=(0, 10, 20, 30),
        trust_reason="no roots",
    )
    return Result(
        id="a" * 32,
        source=SourceFile(
            name="ho_so.pdf", sha256="b" * 64, size=12345, media_type="application/pdf", signatures=(signature,)
        ),
        pages=pages,
        records=records,
        pdf=SignatureInfo(
            sha256="c" * 64,
            signer="digitize dev",
            signed_at="2026-11-23T10:15:00+07:00",
            level="B-LTA",
            timestamped_at="2026-11-23T10:15:01+07:00",
            archive_timestamped_at="2027-11-23T10:15:01+07:00",
        ),
        created_at="2026-11-23T10:15:00+07:00",
        agency="ubnd-xa-a",
        version=3,
        keys={
            "original": "k/original.pdf",
            "pdf": "k/v3/document.pdf",
            "json": "k/v3/result.json",
            "words": "k/v3/words.json",
        },
        documents=(Document(0, "khai_sinh", (1,)), Document(1, "van_ban", (2, 3))),
        book="KS-1998-01",
        ma_ho_so="HS-1",
        dossier_scan=DossierScan(
            result_id="d" * 32, version=2, document=1, doc_type="van_ban", pages=(2, 3), original="k/original.pdf"
        ),
        corrections=(
            Correction(
                version=2,
                record=0,
                field="ho_ten",
                old="NGUYEN",
                new="NGUYỄN",
                action="correct",
                by="an",
                at="2026-11-24T09:00:00+07:00",
            ),
            Correction(
                version=3,
                record=None,
                field=None,
                old=None,
                new=None,
                action="retimestamp",
                by="digitize",
                at="2027-11-23T10:15:01+07:00",
                detail="renewed",
            ),
        ),
        updated_at="2027-11-23T10:15:01+07:00",
        superseded=Superseded(at="2026-12-01T08:00:00+07:00", by="an", scan_version=2, results=("e" * 32,)),
        extra={"added_later": {"x": [1, 2]}},
    )


def bare_result() -> Result:
    return Result(
        id="f" * 32,
        source=SourceFile(name="p.png", sha256="0" * 64, size=1, media_type="image/png"),
        pages=(_page(1, (_line("một hai", 0.9),)),),
        records=(),
    )


@pytest.mark.parametrize("make", [full_result, bare_result])
def test_from_dict_is_the_reverse_of_to_dict(make) -> None:
    result = make()
    data = result.to_dict()
    back = Result.from_dict(data)
    assert back.to_dict() == data
    assert to_json_bytes(back) == to_json_bytes(result)  # byte for byte, key order too
    assert Result.from_dict(json.loads(to_json_bytes(result))).to_dict() == data  # through JSON text
    assert Result.from_dict(back.to_dict()) == back


def test_read_back_parts_are_typed() -> None:
    back = Result.from_dict(full_result().to_dict())
    assert back.book == "KS-1998-01" and back.ma_ho_so == "HS-1" and back.version == 3
    assert back.records[0].provenance["ho_ten"].repairs == (Repair("gazetteer", "NGUYEN", "NGUYỄN"),)
    assert back.records[0].provenance["ho_ten"].boxes == ((1, 2, 3, 4), (5, 6, 7, 8))
    assert back.documents[1] == Document(1, "van_ban", (2, 3))
    assert back.dossier_scan is not None and back.dossier_scan.pages == (2, 3)
    assert [c.action for c in back.corrections] == ["correct", "retimestamp"]
    assert back.superseded is not None and back.superseded.results == ("e" * 32,)
    assert back.pdf is not None and back.pdf.archive_timestamped_at.startswith("2027")
    assert back.source.signatures[0].byte_range == (0, 10, 20, 30)
    assert back.extra == {"added_later": {"x": [1, 2]}}
    assert [p.text for p in back.pages] == [p.text for p in full_result().pages]


def test_only_set_keys_are_written() -> None:
    data = bare_result().to_dict()
    assert list(data) == ["id", "source", "pages", "records", "pdf", "created_at", "agency", "version", "keys"]
    pdf = SignatureInfo(sha256="c", signer="s", signed_at="t").to_dict()
    assert pdf == {"sha256": "c", "signer": "s", "signed_at": "t", "level": "B-B", "timestamped_at": ""}


def test_a_result_stored_by_an_older_version_loads() -> None:
    old = {
        "id": "1" * 32,
        "source": {"name": "a.jpg", "sha256": "2" * 64, "pages": 1},
        "pages": [{"number": 1, "text": "GIẤY KHAI SINH", "confidence": 0.9, "rotation": 0, "skew": 0.0}],
        "records": [{"doc_type": "khai_sinh", "page": 1, "fields": {"ho_ten": "AN"}, "confidence": {"ho_ten": 0.9}}],
        "pdf": {"sha256": "3" * 64, "signer": "x", "signed_at": "2024-01-01T00:00:00+07:00"},
        "created_at": "2024-01-01T00:00:00+07:00",
        "agency": "dev",
        "version": 1,
    }
    result = Result.from_dict(old)
    assert result.records[0].needs_review == () and result.records[0].provenance == {}
    assert result.pdf is not None and result.pdf.level == "B-B"
    assert result.keys == {} and result.book is None and result.corrections == ()
    assert result.pages[0].text == "GIẤY KHAI SINH" and result.source.size == 0
    again = result.to_dict()
    assert {k: again[k] for k in old if k not in ("source", "pages", "records", "pdf")} == {
        k: old[k] for k in old if k not in ("source", "pages", "records", "pdf")
    }
    assert Result.from_dict(again).to_dict() == again


@pytest.mark.parametrize("text", ["", "một", "một  hai", "a\n\nb", " lề", "cuối ", "\n"])
def test_page_text_comes_back_as_stored(text: str) -> None:
    page = {
        "number": 1,
        "text": text,
        "confidence": 0.8765 if text.strip() else 0.0,
        "rotation": 90,
        "skew": 1.5,
        "width": 10,
        "height": 20,
        "dpi": 300.0,
        "engine": "tesseract",
    }
    data = dict(bare_result().to_dict(), pages=[page])
    assert Result.from_dict(data).to_dict()["pages"] == [page]


def test_not_a_result() -> None:
    for bad in ({}, {"id": ""}, [], None):
        with pytest.raises(ValueError):
            Result.from_dict(bad)  # type: ignore[arg-type]
