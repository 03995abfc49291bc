"""HTTP API: real pipeline (Tesseract, render, sign, local archive, SQLite index)
and a real web database, through FastAPI's TestClient.

Pages processed in this module: khai_sinh_clean.png, one altered copy of it,
and the two-page TIFF job: four OCR pages in all."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import time
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

warnings.filterwarnings("ignore", message=".*httpx.*")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from digitize.config import load_settings  # noqa: E402
from digitize.web import audit  # noqa: E402
from digitize.web.app import create_app  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "data"
KHAI_SINH = SAMPLES / "khai_sinh_clean.png"
TWO_PAGES = SAMPLES / "van_ban_2pages.tif"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def sample_png() -> bytes:
    """The khai_sinh sample, or a quick rendering of one when samples are not generated."""
    if KHAI_SINH.exists():
        return KHAI_SINH.read_bytes()
    from PIL import ImageDraw, ImageFont

    image = Image.new("L", (1654, 1200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    lines = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "GIẤY KHAI SINH",
        "Số: 174 Quyển số: 03/1959",
        "Họ, chữ đệm, tên: TRẦN MỸ LOAN",
        "Ngày, tháng, năm sinh: 08/07/1957",
        "Giới tính: Nữ Dân tộc: Kinh Quốc tịch: Việt Nam",
        "Số định danh cá nhân: 046157258462",
    ]
    for i, line in enumerate(lines):
        draw.text((120, 120 + i * 70), line, font=font, fill=0)
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


def altered(data: bytes) -> bytes:
    """Same page, different bytes (a new result id): one pixel changed."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.putpixel((1, 1), (250, 250, 249))
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("web")
    # TestClient speaks plain http: cookies without Secure, as for local development.
    settings = load_settings(
        env={"DIGITIZE_HOME": str(home), "DIGITIZE_AGENCY": "hue", "DIGITIZE_INSECURE_COOKIES": "1"}
    )
    app = create_app(settings, processes=0, max_upload_bytes=3_000_000, max_pages=5)
    svc = app.state.services
    tokens = {}
    for name, role, agency in [
        ("officer", "intake", "hue"),
        ("rev", "reviewer", "hue"),
        ("arch", "archivist", "hue"),
        ("ext", "external", "hue"),
        ("boss", "admin", "hue"),
        ("other", "intake", "hcm"),
        ("extb", "external", "hcm"),
    ]:
        svc.auth.add_user(name, role, agency, password=f"pw-{name}-secret")
        tokens[name] = svc.auth.issue_token(name)
    with TestClient(app) as client:
        data = sample_png()
        r = client.post(
            "/api/upload",
            headers=bearer(tokens["officer"]),
            files={"file": ("../../etc/passwd.png", data, "image/png")},
            data={"ma_ho_so": "HS-0001"},
        )
        assert r.status_code == 200, r.text
        yield {
            "client": client,
            "app": app,
            "svc": svc,
            "tokens": tokens,
            "home": home,
            "result": r.json(),
            "data": data,
        }


def get(env, user, path, **kw):
    return env["client"].get(path, headers=bearer(env["tokens"][user]), **kw)


def post(env, user, path, **kw):
    return env["client"].post(path, headers=bearer(env["tokens"][user]), **kw)


def audit_rows(env, **filters):
    return [r for r in audit.rows(env["svc"].db) if all(r.get(k) == v for k, v in filters.items())]


# ------------------------------------------------------------------ upload and result


def test_upload_one_page_gives_contract_result(env):
    result = env["result"]
    assert re.fullmatch(r"[0-9a-f]{32}", result["id"])
    assert result["source"]["name"] == "passwd.png"  # the uploaded path is metadata only, last component
    assert result["source"]["pages"] == 1
    assert result["pages"][0]["text"]
    assert result["pdf"]["sha256"] and result["pdf"]["signer"]
    assert result["agency"] == "hue"
    assert "keys" not in result  # storage keys stay internal
    rec = result["records"][0]
    assert rec["doc_type"] == "khai_sinh"
    assert rec["fields"]["ho_ten"] == "TRẦN MỸ LOAN"
    assert rec["fields"]["so_dinh_danh"] == "046157258462"
    home = env["home"]
    assert not (home.parent / "etc").exists()


def test_same_bytes_again_returns_stored_result(env):
    r = post(env, "officer", "/api/upload", files={"file": ("again.png", env["data"], "image/png")})
    assert r.status_code == 200
    assert r.json()["id"] == env["result"]["id"]


def test_result_pdf_image_words_and_crop(env):
    rid = env["result"]["id"]
    r = get(env, "officer", f"/api/results/{rid}/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    img = get(env, "officer", f"/api/results/{rid}/pages/1/image")
    assert img.status_code == 200 and img.content[:3] == b"\xff\xd8\xff"
    words = get(env, "officer", f"/api/results/{rid}/pages/1/words").json()
    assert words["words"] and {"text", "box"} <= set(words["words"][0])
    boxes = {f["field"]: f["box"] for f in words["fields"]}
    assert "ho_ten" in boxes
    crop = get(env, "officer", f"/api/results/{rid}/records/0/fields/ho_ten/crop")
    assert crop.status_code == 200
    with Image.open(io.BytesIO(crop.content)) as part:
        assert part.width < Image.open(io.BytesIO(img.content)).width


# ------------------------------------------------------------------ limits and errors


@pytest.mark.parametrize(
    "payload,status,code",
    [
        (b"", 400, "empty_file"),
        (b"hello, this is not a scan", 415, "unsupported_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422, "corrupt_file"),
        (b"%PDF-1.7\n garbage", 422, "corrupt_file"),
    ],
)
def test_bad_inputs_are_clear_4xx(env, payload, status, code):
    r = post(env, "officer", "/api/upload", files={"file": ("x.png", payload, "image/png")})
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "code"} and body["error"] and body["code"] == code
    assert "/tmp" not in body["error"] and "Traceback" not in r.text


def test_upload_over_size_limit_is_413_before_processing(env):
    r = post(
        env, "officer", "/api/upload", files={"file": ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 3_100_000, "image/png")}
    )
    assert r.status_code == 413
    assert r.json()["code"] == "file_too_large" and r.json()["limit"] == 3_000_000


def test_too_many_pages_is_413(env):
    frames = [Image.new("L", (50, 50), 255) for _ in range(7)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    r = post(env, "officer", "/api/upload", files={"file": ("many.tif", buf.getvalue(), "image/tiff")})
    assert r.status_code == 413
    assert "5" in r.json()["error"]
    assert {k: r.json()[k] for k in ("code", "pages", "limit")} == {"code": "too_many_pages", "pages": 7, "limit": 5}


def test_decompression_bomb_is_413_and_nothing_half_stored(env):
    # A valid PNG header that declares 100 000 x 100 000 pixels (10 gigapixels).
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )
    svc = env["svc"]
    before = set(svc.storage.list(""))
    r = post(env, "officer", "/api/upload", files={"file": ("bomb.png", png, "image/png")})
    assert r.status_code == 413, r.text
    new = set(svc.storage.list("")) - before
    assert all("/rejected/" in key for key in new)  # kept as a rejected input, never as a result
    import hashlib

    assert svc.index.get(hashlib.sha256(png).hexdigest()[:32]) is None


def test_unknown_result_and_job_are_404(env):
    assert get(env, "officer", "/api/results/" + "0" * 32).status_code == 404
    assert get(env, "officer", "/api/results/not-an-id").status_code == 404
    assert get(env, "officer", "/api/jobs/nope").status_code == 404


def test_validation_errors_are_json(env):
    r = post(env, "rev", f"/api/results/{env['result']['id']}/corrections", json={"record": "x"})
    assert r.status_code == 422
    assert r.json()["error"].startswith("invalid request")


# ------------------------------------------------------------------ authentication and roles


def test_authentication_required(env):
    client = env["client"]
    client.cookies.clear()
    assert client.get(f"/api/results/{env['result']['id']}").status_code == 401
    r = client.get("/api/search?so_dinh_danh=046157258462", headers=bearer("dz_wrong"))
    assert r.status_code == 401 and r.json() == {"error": "invalid or revoked token", "code": "invalid_token"}


def test_other_agency_cannot_read(env):
    rid = env["result"]["id"]
    for path in (
        f"/api/results/{rid}",
        f"/api/results/{rid}/pdf",
        f"/api/results/{rid}/pages/1/image",
        f"/api/results/{rid}/versions",
    ):
        r = get(env, "other", path)
        assert r.status_code == 404, path
        assert r.json() == {"error": "no such result", "code": "not_found"}  # same as a result that does not exist
    hits = get(env, "other", "/api/search", params={"q": "tran my"}).json()["hits"]
    assert all(h["result_id"] != rid for h in hits)
    assert get(env, "extb", "/api/lookup/046157258462").json()["count"] == 0


def test_same_file_at_another_agency_reveals_nothing(env):
    """Agency hcm uploads the very bytes agency hue archived: it gets a result of its own,
    answered as for any new file (no "already archived elsewhere" oracle), and hue's is untouched."""
    rid = env["result"]["id"]
    r = post(env, "other", "/api/upload", files={"file": ("same.png", env["data"], "image/png")})
    assert r.status_code == 200, r.text
    own = r.json()
    assert own["id"] != rid and own["agency"] == "hcm" and own["source"]["sha256"] == env["result"]["source"]["sha256"]
    assert own["records"][0]["fields"]["so_dinh_danh"] == "046157258462"
    again = post(env, "other", "/api/upload", files={"file": ("same.png", env["data"], "image/png")})
    assert again.status_code == 200 and again.json()["id"] == own["id"]  # idempotent for hcm too
    assert get(env, "officer", f"/api/results/{rid}").json()["agency"] == "hue"
    assert get(env, "officer", f"/api/results/{own['id']}").status_code == 404


def test_external_system_lookup_only(env):
    rid = env["result"]["id"]
    r = get(env, "ext", "/api/search", params={"q": "tran my loan"})
    assert r.status_code == 403
    r = get(env, "ext", "/api/search", params={"so_dinh_danh": "046157258462"})
    assert r.status_code == 403  # no search to enumerate with
    looked = get(env, "ext", "/api/lookup/046157258462").json()
    found = looked["results"][0]
    assert found["id"] == rid and found["records"][0]["fields"]["so_dinh_danh"] == "046157258462"
    assert "pages" not in found and "source" not in found and "links" not in found  # fields, not page text
    # Nothing by id: not the result, its PDF, versions, matches or images.
    for path in (
        f"/api/results/{rid}",
        f"/api/results/{rid}/pdf",
        f"/api/results/{rid}/versions",
        f"/api/results/{rid}/matches",
        f"/api/results/{rid}/pages/1/image",
    ):
        assert get(env, "ext", path).status_code == 403, path
    assert (
        post(
            env, "ext", f"/api/results/{rid}/corrections", json={"record": 0, "field": "ho_ten", "value": "X"}
        ).status_code
        == 403
    )
    assert post(env, "ext", "/api/upload", files={"file": ("a.png", env["data"], "image/png")}).status_code == 403
    assert get(env, "ext", "/api/lookup/123").status_code == 422


def test_role_permissions(env):
    assert post(env, "rev", "/api/upload", files={"file": ("a.png", env["data"], "image/png")}).status_code == 403
    assert get(env, "officer", "/api/audit").status_code == 403
    assert get(env, "arch", "/api/reports/reuse").status_code == 403
    assert get(env, "officer", "/api/review/queue").status_code == 403
    assert get(env, "rev", "/api/review/queue").status_code == 200


def test_share_with_other_agency(env, tmp_path):
    rid = env["result"]["id"]
    assert post(env, "officer", f"/api/results/{rid}/share", json={"agency": "hcm"}).status_code == 403
    assert post(env, "other", f"/api/results/{rid}/share", json={"agency": "hcm"}).status_code == 403
    r = post(env, "arch", f"/api/results/{rid}/share", json={"agency": "nowhere"})
    assert r.status_code == 422 and "no agency" in r.json()["error"]  # an agency that does not exist
    hcm_own = get(env, "extb", "/api/lookup/046157258462").json()["count"]  # hcm's own results
    r = post(env, "arch", f"/api/results/{rid}/share", json={"agency": "hcm"})
    assert r.status_code == 200 and r.json()["access"] == "read"
    assert get(env, "other", f"/api/results/{rid}").status_code == 200
    assert get(env, "extb", "/api/lookup/046157258462").json()["count"] == hcm_own + 1
    # Sharing grants reading only: the other agency cannot make a new signed version.
    version = get(env, "officer", f"/api/results/{rid}").json()["version"]
    r = post(env, "other", f"/api/results/{rid}/corrections", json={"record": 0, "field": "ho_ten", "value": "X"})
    assert r.status_code == 403 and "read-only" in r.json()["error"]
    assert post(env, "other", f"/api/results/{rid}/approve", json={}).status_code == 403
    assert get(env, "officer", f"/api/results/{rid}").json()["version"] == version
    assert audit_rows(env, user="other", action="refused_write", result_id=rid)
    shares = get(env, "arch", "/api/shares").json()["shares"]
    assert [(x["grantee_agency"], x["access"]) for x in shares if x["result_id"] == rid] == [("hcm", "read")]
    # Revoked: gone again, as if it never existed.
    r = env["client"].delete(f"/api/results/{rid}/share/hcm", headers=bearer(env["tokens"]["arch"]))
    assert r.status_code == 200
    assert get(env, "other", f"/api/results/{rid}").status_code == 404
    assert get(env, "extb", "/api/lookup/046157258462").json()["count"] == hcm_own
    assert (
        env["client"].delete(f"/api/results/{rid}/share/hcm", headers=bearer(env["tokens"]["arch"])).status_code == 404
    )


# ------------------------------------------------------------------ audit


def test_reads_are_audited(env):
    rid = env["result"]["id"]
    before = len(audit_rows(env, user="rev", action="read", result_id=rid))
    assert get(env, "rev", f"/api/results/{rid}").status_code == 200
    assert len(audit_rows(env, user="rev", action="read", result_id=rid)) == before + 1
    get(env, "rev", "/api/search", params={"q": "tran my"})
    rows = audit_rows(env, user="rev", action="search", result_id=rid)
    assert rows and rows[-1]["detail"]["q"] == "tran my"
    get(env, "ext", "/api/lookup/046157258462")
    assert audit_rows(env, user="ext", action="lookup", result_id=rid)
    get(env, "arch", f"/api/results/{rid}/pdf")
    assert audit_rows(env, user="arch", action="read_pdf", result_id=rid)
    assert audit_rows(env, user="officer", action="create", result_id=rid)
    # a refused read is not a read, but it is logged
    get(env, "other", f"/api/results/{'0' * 32}")
    reads = len(audit_rows(env, user="other", action="read", result_id=rid))
    refused = len(audit_rows(env, user="other", action="refused_read", result_id=rid))
    assert get(env, "other", f"/api/results/{rid}").status_code == 404
    assert len(audit_rows(env, user="other", action="read", result_id=rid)) == reads
    assert len(audit_rows(env, user="other", action="refused_read", result_id=rid)) == refused + 1


def test_audit_is_append_only_and_exported(env):
    svc = env["svc"]
    with svc.db.connect() as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET user = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit")
    assert audit.verify_chain(svc.db) == (True, None)
    assert get(env, "rev", f"/api/results/{env['result']['id']}").status_code == 200  # one read to export
    r = get(env, "boss", "/api/audit", params={"format": "jsonl"})
    assert r.status_code == 200
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines and {"at", "user", "role", "agency", "action", "result_id", "detail", "hash"} <= set(lines[0])
    assert any(row["action"] == "read" for row in lines)
    assert audit_rows(env, user="boss", action="audit_export")


def test_audit_verify_endpoint(env):
    r = get(env, "boss", "/api/audit/verify")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True and body["first_bad"] is None and body["rows"] > 0
    assert audit_rows(env, user="boss", action="audit_verify")
    r = get(env, "arch", "/api/audit/verify")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_unknown_path_is_a_vietnamese_page_for_browsers_and_json_for_programs(env):
    client = env["client"]
    page = client.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Không có trang này." in page.text
    for path in ("/no-such-page", "/api/no-such-thing"):
        r = client.get(path, headers={"Accept": "application/json"} if path.startswith("/no") else {})
        assert r.status_code == 404 and r.json() == {"error": "Not Found", "code": "not_found"}


def test_search_hits_name_file_version_and_dossier(env):
    hits = get(env, "officer", "/api/search", params={"q": "tran my"}).json()["hits"]
    hit = next(h for h in hits if h["result_id"] == env["result"]["id"])
    assert hit["source_name"] == "passwd.png" and hit["version"] >= 1 and "HS-0001" in hit["dossiers"]


# ------------------------------------------------------------------ corrections and versions


def test_correction_makes_new_signed_version(env):
    rid = env["result"]["id"]
    r = post(
        env,
        "rev",
        f"/api/results/{rid}/corrections",
        json={"record": 0, "field": "ho_ten", "value": "TRẦN  MỸ LAN", "version": 1},
    )
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["version"] == 2
    rec = new["records"][0]
    assert rec["fields"]["ho_ten"] == "TRẦN MỸ LAN"
    assert rec["confidence"]["ho_ten"] == 1.0 and "ho_ten" not in rec["needs_review"]
    change = new["corrections"][-1]
    assert change["old"] == "TRẦN MỸ LOAN" and change["new"] == "TRẦN MỸ LAN" and change["by"] == "rev"
    assert "TRẦN MỸ LAN" in new["pages"][0]["text"]
    assert new["pdf"]["sha256"] != env["result"]["pdf"]["sha256"]

    v2 = get(env, "rev", f"/api/results/{rid}/pdf").content
    v1 = get(env, "rev", f"/api/results/{rid}/pdf", params={"version": 1}).content
    assert v1 != v2
    assert "TRẦN MỸ LAN" in _pdf_text(v2) and "TRẦN MỸ LOAN" not in _pdf_text(v2)
    assert "TRẦN MỸ LOAN" in _pdf_text(v1)
    old = get(env, "rev", f"/api/results/{rid}", params={"version": 1}).json()
    assert old["version"] == 1 and old["records"][0]["fields"]["ho_ten"] == "TRẦN MỸ LOAN"
    versions = get(env, "rev", f"/api/results/{rid}/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]

    verified = post(env, "rev", "/api/verify", files={"file": ("v2.pdf", v2, "application/pdf")}).json()
    assert verified["valid"] and verified["intact"]
    tampered = bytearray(v2)
    at = v2.index(b"/MediaBox") + 12
    tampered[at] = ord("9") if tampered[at] != ord("9") else ord("8")
    bad = post(env, "rev", "/api/verify", files={"file": ("t.pdf", bytes(tampered), "application/pdf")}).json()
    assert not bad["valid"]
    assert post(env, "rev", "/api/verify", files={"file": ("x.pdf", b"nope", "application/pdf")}).status_code == 415

    hits = get(env, "rev", "/api/search", params={"q": "tran my lan"}).json()["hits"]
    assert hits and hits[0]["fields"]["ho_ten"] == "TRẦN MỸ LAN"
    rows = audit_rows(env, user="rev", action="correct", result_id=rid)
    assert rows[-1]["detail"]["old"] == "TRẦN MỸ LOAN" and rows[-1]["detail"]["new"] == "TRẦN MỸ LAN"

    stale = post(
        env, "rev", f"/api/results/{rid}/corrections", json={"record": 0, "field": "ho_ten", "value": "X", "version": 1}
    )
    assert stale.status_code == 409
    bad_field = post(
        env, "rev", f"/api/results/{rid}/corrections", json={"record": 0, "field": "ten_meo", "value": "X"}
    )
    assert bad_field.status_code == 422
    assert (
        post(
            env, "rev", f"/api/results/{rid}/corrections", json={"record": 7, "field": "ho_ten", "value": "X"}
        ).status_code
        == 422
    )


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout
    return " ".join(out.decode("utf-8").split())


def test_review_queue_accept_and_crop(env):
    """A flagged field (as extraction would flag it) shows in the queue with its crop; accepting clears it."""
    svc = env["svc"]
    rid = env["result"]["id"]
    current = svc.index.get(rid)
    flagged = replace(current, records=(replace(current.records[0], needs_review=("noi_sinh",)),))
    svc.index.upsert(flagged)
    svc.queue_update(flagged)
    items = get(env, "rev", "/api/review/queue").json()["items"]
    item = next(i for i in items if i["result_id"] == rid)
    assert item["field"] == "noi_sinh" and item["value"]
    assert item["records"] == 1 and item["fields"]["noi_sinh"] == item["value"] and "so" in item
    crop = get(env, "rev", f"/api/results/{rid}/records/0/fields/noi_sinh/crop")
    assert crop.status_code == 200 and crop.content[:3] == b"\xff\xd8\xff"
    assert get(env, "other", "/api/review/queue").status_code == 403
    r = post(
        env,
        "rev",
        f"/api/results/{rid}/review",
        json={"changes": [{"record": 0, "field": "noi_sinh", "value": None}], "version": item["version"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["records"][0]["needs_review"] == []
    assert r.json()["records"][0]["fields"]["noi_sinh"] == item["value"]
    assert all(i["result_id"] != rid for i in get(env, "rev", "/api/review/queue").json()["items"])


# ------------------------------------------------------------------ dossiers and reuse


def test_reuse_from_archive_and_report(env):
    rid = env["result"]["id"]
    # A second paper of the same person arrives at the counter for a new dossier.
    r = post(
        env,
        "officer",
        "/api/upload",
        files={"file": ("second.png", altered(env["data"]), "image/png")},
        data={"ma_ho_so": "HS-0002"},
    )
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["id"] != rid
    found = get(env, "officer", f"/api/results/{second['id']}/matches").json()["matches"]
    assert [m["result_id"] for m in found] == [rid]
    assert found[0]["matched_so_dinh_danh"] == "046157258462"
    # agency B sees no match from agency A's archive
    assert post(env, "other", "/api/dossiers/HS-0002/reuse", json={"result_id": second["id"]}).status_code == 404
    r = post(env, "officer", "/api/dossiers/HS-0002/reuse", json={"result_id": rid})
    assert r.status_code == 200
    dossier = r.json()
    assert dossier["reused"] == 1 and {i["kind"] for i in dossier["items"]} == {"scanned", "reused"}
    assert audit_rows(env, user="officer", action="reuse", result_id=rid)
    report = get(env, "boss", "/api/reports/reuse").json()["rows"]
    hue = [row for row in report if row["agency"] == "hue"]
    assert hue and hue[0]["dossiers"] == 2 and hue[0]["reused"] == 1 and hue[0]["reuse_rate"] == 0.5
    # Dossier codes with slashes work, encoded or not.
    for path in ("/api/dossiers/HS%2F2025%2F01/reuse", "/api/dossiers/HS/2025/01/reuse"):
        r = post(env, "officer", path, json={"result_id": rid})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["ma_ho_so"] == "HS/2025/01"
    for path in ("/api/dossiers/HS%2F2025%2F01", "/api/dossiers/HS/2025/01"):
        got = get(env, "officer", path)
        assert got.status_code == 200 and got.json()["items"][0]["result_id"] == rid, (path, got.text)


def test_a_persons_archive_before_anything_is_scanned(env):
    rid = env["result"]["id"]
    r = get(env, "officer", "/api/people", params={"so_dinh_danh": "046157258462"})
    assert r.status_code == 200, r.text
    mine = [h for h in r.json()["results"] if h["result_id"] == rid]
    assert mine and mine[0]["version"] >= 1 and mine[0]["differs"] == {}
    archived = mine[0]["fields"]
    # the name as typed at the counter differs by one tone mark: shown, not hidden
    typed = archived["ho_ten"].replace("Ỹ", "Ý") if "Ỹ" in archived["ho_ten"] else archived["ho_ten"] + " A"
    r = get(env, "officer", "/api/people", params={"so_dinh_danh": "046157258462", "ho_ten": typed})
    hit = next(h for h in r.json()["results"] if h["result_id"] == rid)
    assert hit["differs"]["ho_ten"] == {"archived": archived["ho_ten"], "given": typed}
    # by name and birth date, without the number
    r = get(env, "officer", "/api/people", params={"ho_ten": archived["ho_ten"], "ngay_sinh": archived["ngay_sinh"]})
    assert any(h["result_id"] == rid for h in r.json()["results"])
    assert audit_rows(env, user="officer", action="read_person", result_id=rid)
    # another agency sees its own records only; external systems use lookup
    other = get(env, "other", "/api/people", params={"so_dinh_danh": "046157258462"}).json()["results"]
    assert all(h["result_id"] != rid for h in other)
    assert get(env, "ext", "/api/people", params={"so_dinh_danh": "046157258462"}).status_code == 403
    assert get(env, "officer", "/api/people").status_code == 422


# ------------------------------------------------------------------ multi-page job


@pytest.mark.skipif(not TWO_PAGES.exists(), reason="samples not generated")
def test_multi_page_upload_is_a_job(env):
    import time

    r = post(env, "officer", "/api/upload", files={"file": ("two.tif", TWO_PAGES.read_bytes(), "image/tiff")})
    assert r.status_code == 202, r.text
    url = r.json()["status_url"]
    assert get(env, "other", url).status_code == 404
    deadline = time.monotonic() + 60
    while True:
        job = get(env, "officer", url).json()
        assert job["pages_total"] == 2 and 0 <= job["pages_done"] <= 2
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    result = get(env, "officer", job["result_url"]).json()
    assert result["source"]["pages"] == 2


# ------------------------------------------------------------------ sessions and CSRF


def _login(client, name, password):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/search"},
        follow_redirects=False,
    )


def test_login_session_and_csrf(env):
    client = env["client"]
    client.cookies.clear()
    r = _login(client, "rev", "pw-rev-secret")
    assert r.status_code == 303 and r.headers["location"] == "/search"
    page = client.get("/search")
    assert page.status_code == 200 and "Tra cứu" in page.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    rid = env["result"]["id"]
    assert client.get(f"/api/results/{rid}").status_code == 200  # cookie works for reads
    body = {"record": 0, "field": "so", "value": "174"}
    r = client.post(f"/api/results/{rid}/corrections", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = client.post(f"/api/results/{rid}/corrections", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = client.post(
        f"/api/results/{rid}/corrections", json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    r = client.post(f"/api/results/{rid}/approve", json={}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    r = client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/api/results/{rid}").status_code == 401
    client.cookies.clear()


def test_login_form_needs_its_csrf_token_and_right_password(env):
    client = env["client"]
    client.cookies.clear()
    r = client.post(
        "/login", data={"name": "rev", "password": "pw-rev-secret", "csrf_token": "x"}, follow_redirects=False
    )
    assert r.status_code == 403
    r = _login(client, "rev", "wrong password")
    assert r.status_code == 401 and "không đúng" in r.text
    r = _login(client, "rev", "pw-rev-secret")
    r2 = client.get("/intake")
    assert r2.status_code == 403  # reviewers have no intake page
    client.cookies.clear()
    r = client.get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_openapi_and_moj_export_needs_a_book(env):
    spec = env["client"].get("/openapi.json").json()
    assert "/api/upload" in spec["paths"] and "/api/export/moj" in spec["paths"]
    r = get(env, "boss", "/api/export/moj")
    assert r.status_code == 422 and "error" in r.json()


def test_user_cli_prints_password_or_token(tmp_path, monkeypatch, capsys):
    from digitize.cli import main

    monkeypatch.setenv("DIGITIZE_HOME", str(tmp_path))
    assert main(["user", "add", "lan", "--role", "intake", "--agency", "hue"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["role"] == "intake" and len(out["password"]) >= 16
    assert main(["user", "add", "moj", "--role", "external_system", "--agency", "hue"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["role"] == "external" and out["token"].startswith("dz_") and "password" not in out
    assert main(["user", "add", "lan", "--role", "intake", "--agency", "hue"]) == 2
    assert main(["user", "add", "x", "--role", "wizard", "--agency", "hue"]) == 2


def test_login_throttle_and_disabled_user(env, monkeypatch):
    client = env["client"]
    svc = env["svc"]
    frozen = time.time()
    monkeypatch.setattr(svc.auth, "clock", lambda: frozen)  # time stands still: the backoff is not over
    svc.auth.add_user("tired", "reviewer", "hue", password="pw-tired-secret")
    client.cookies.clear()
    for _ in range(3):
        assert _login(client, "tired", "guess").status_code == 401
    r = _login(client, "tired", "pw-tired-secret")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1  # from this address, for a while
    assert audit_rows(env, action="login_failed")
    token = svc.auth.issue_token("tired")
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    svc.auth.set_disabled("tired", True)
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    client.cookies.clear()


def test_the_counters_pages_read_their_lines_on_every_core_and_a_batchs_on_one(monkeypatch):
    """Interactive pages have the machine to themselves; a batch's fill it one per process."""
    import os

    from digitize.config import Settings
    from digitize.web import jobs

    made = []
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(jobs.Processor, "_make_pool", lambda self, size, line_threads=1: made.append(line_threads))
    processor = jobs.Processor(Settings(), processes=2, batch_processes=1)
    processor._queue = object()  # no progress listener for this check
    processor._pools()
    assert made == [4, 1]
