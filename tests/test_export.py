"""Ministry of Justice export of a book, and the correction path (CLI)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from digitize.cli import main


@pytest.fixture(scope="module")
def book(tmp_path_factory, samples_dir):
    """A registry page and a birth certificate processed into book 'HN-KS-1978' (real pipeline)."""
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("DIGITIZE_HOME", str(home))
    out = home / "out"
    inputs = [str(samples_dir / "so_ho_tich_typewriter.png"), str(samples_dir / "khai_sinh_clean.png")]
    assert main(["process", *inputs, "--book", "HN-KS-1978", "--out", str(out), "--workers", "1", "--no-progress"]) == 0
    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    yield home, results
    mp.undo()


def test_export_zip(book, tmp_path, capsys, monkeypatch):
    home, results = book
    monkeypatch.setenv("DIGITIZE_HOME", str(home))
    target = tmp_path / "pkg" / "book.zip"
    capsys.readouterr()
    assert main(["export", "--book", "HN-KS-1978", "--out", str(target)]) == 0
    summary = json.loads(capsys.readouterr().out)
    entries = len(results["so_ho_tich_typewriter"]["records"]) + len(results["khai_sinh_clean"]["records"])
    assert summary["entries"] == entries == 11
    assert not list(target.parent.glob(".*.tmp"))  # written by rename, nothing left over

    with zipfile.ZipFile(target) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
        pdfs = [n for n in names if n.startswith("pdf/")]
        assert len(pdfs) == entries
        # registry entries are named by their number; the certificate by its Số
        for so in ("118", "119", "127", "174"):
            assert f"pdf/{so}.pdf" in names
        for item in manifest["files"]:
            data = zf.read(item["path"])
            assert hashlib.sha256(data).hexdigest() == item["sha256"] and len(data) == item["size"]
        assert {i["path"] for i in manifest["files"]} | {"manifest.json"} == set(names)
        assert manifest["book"] == "HN-KS-1978" and manifest["entries"] == entries
        # every PDF is the signed PDF of its result
        page_pdf = zf.read("pdf/118.pdf")
        assert hashlib.sha256(page_pdf).hexdigest() == results["so_ho_tich_typewriter"]["pdf"]["sha256"]
        assert zf.read("pdf/119.pdf") == page_pdf  # same page, several entries
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(zf.read("HN-KS-1978.xlsx"))).active
        rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:4] == ("Số", "Quyển số", "Họ, chữ đệm, tên", "Ngày, tháng, năm sinh")
    assert "Họ, chữ đệm, tên người mẹ" in header and "Tệp PDF" in header
    body = [dict(zip(header, r)) for r in rows[1:]]
    assert len(body) == entries
    assert [r["Số"] for r in body][:3] == ["118", "119", "120"]  # number order
    first = body[0]
    assert first["Họ, chữ đệm, tên"] == "Nguyễn Anh Phước" and first["Ngày, tháng, năm sinh"] == "16/01/1978"
    assert first["Tệp PDF"] == "pdf/118.pdf"
    cert = next(r for r in body if r["Số"] == "174")
    assert cert["Họ, chữ đệm, tên"] == "TRẦN MỸ LOAN" and cert["Quyển số"] == "03/1959"


def test_export_unknown_book_fails(book, tmp_path, monkeypatch, capsys):
    home, _ = book
    monkeypatch.setenv("DIGITIZE_HOME", str(home))
    assert main(["export", "--book", "no-such-book", "--out", str(tmp_path / "x.zip")]) == 1
    assert "no records" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists()


def test_correct_makes_v2_found_by_search_old_version_kept(book, monkeypatch, capsys):
    home, results = book
    monkeypatch.setenv("DIGITIZE_HOME", str(home))
    rid = results["khai_sinh_clean"]["id"]
    capsys.readouterr()
    assert (
        main(["correct", rid, "--record", "0", "--field", "ho_ten", "--value", "TRẦN MỸ LOANG", "--user", "reviewer1"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == 2 and out["value"] == "TRẦN MỸ LOANG" and "ho_ten" not in out["needs_review"]

    assert main(["search", "LOANG"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(h["result_id"] == rid and h["fields"].get("ho_ten") == "TRẦN MỸ LOANG" for h in hits)

    from digitize.config import load_settings
    from digitize.pipeline import Engines
    from digitize.review import load_version

    engines = Engines.from_settings(load_settings())
    try:
        current = engines.index.get(rid)
        assert current.version == 2
        assert current.corrections[-1].by == "reviewer1"
        old = load_version(engines.storage, current, 1)
        assert old.records[0].fields["ho_ten"] == "TRẦN MỸ LOAN"
        assert engines.storage.exists(old.keys["pdf"]) and old.keys["pdf"] != current.keys["pdf"]
    finally:
        engines.close()

    # a stale version is refused; an unknown field too
    assert main(["correct", rid, "--record", "0", "--field", "ho_ten", "--value", "X", "--expected-version", "1"]) == 1
    assert main(["correct", rid, "--record", "0", "--field", "khong_co", "--value", "X"]) == 1
