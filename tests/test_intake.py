"""Dossier intake API (issue #18) against a real `digitize serve`: a dossier uploaded as
several files is split into its documents, each filed as a signed result of its own (read
once, signed per document); a boundary moved re-files them from the pages already read,
unchanged documents keeping their results and the replaced ones marked superseded; an
archived birth certificate attached counts in the reuse report; roles and agencies scope
every route.

One server and one OCR run for the module (the dossier: a death certificate and a two-page
letter, 3 pages; the archive: a birth certificate); the tests build on each other (`STATE`)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from serve import serve

from digitize.web.intake import document_result_id

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "samples" / "data"
DEATH, LETTER, BIRTH = DATA / "khai_tu_clean.png", DATA / "van_ban_2pages.tif", DATA / "khai_sinh_clean.png"
DOSSIER = "HS/2025/18"
STATE: dict = {}

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    httpx = pytest.importorskip("httpx")
    if not all(p.exists() for p in (DEATH, LETTER, BIRTH)):
        pytest.skip("samples not generated")
    home = tmp_path_factory.mktemp("intake")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    for name, role, agency in (
        ("officer", "intake", "hue"),
        ("rev", "reviewer", "hue"),
        ("boss", "admin", "hue"),
        ("clerk-hcm", "intake", "hcm"),
        ("sys", "external", "hue"),
    ):
        auth.add_user(name, role, agency, password=None if role == "external" else f"pw-{name}-intake")
    tokens = {name: auth.issue_token(name) for name in ("officer", "rev", "boss", "clerk-hcm", "sys")}
    with serve(home, DIGITIZE_AGENCY="hue") as served:
        clients = {
            name: httpx.Client(base_url=served.base, timeout=300, headers={"Authorization": f"Bearer {token}"})
            for name, token in tokens.items()
        }
        clients["anonymous"] = httpx.Client(base_url=served.base, timeout=30)
        yield clients
        for client in clients.values():
            client.close()


def wait_for(client, url: str, seconds: float = 600) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(url).json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(1)


def documents(client, ma: str = DOSSIER) -> dict:
    r = client.get(f"/api/dossiers/{ma}/documents")
    assert r.status_code == 200, r.text
    return r.json()


def test_archive_holds_a_birth_certificate(server):
    r = server["officer"].post("/api/upload", files={"file": (BIRTH.name, BIRTH.read_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    result = r.json()
    ids = [rec["fields"].get("so_dinh_danh") for rec in result["records"] if rec["fields"].get("so_dinh_danh")]
    assert ids, result["records"]
    STATE.update(birth=result["id"], person=ids[0], birth_fields=result["records"][0]["fields"])


def test_upload_of_several_files_is_split_into_documents(server):
    files = [
        ("files", (DEATH.name, DEATH.read_bytes(), "image/png")),
        ("files", (LETTER.name, LETTER.read_bytes(), "image/tiff")),
    ]
    r = server["officer"].post("/api/dossiers", files=files, data={"ma_ho_so": DOSSIER})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["ma_ho_so"] == DOSSIER and body["pages_total"] == 3
    # the dossier exists from its upload on, with the scan pending
    pending = documents(server["officer"])["pending"]
    assert [p["job"] for p in pending] in ([body["job"]], [])
    job = wait_for(server["officer"], body["status_url"])
    assert job["status"] == "done", job
    out = documents(server["officer"])
    assert out["pending"] == []
    docs = out["documents"]
    assert [(d["doc_type"], d["pages"]) for d in docs] == [("khai_tu", [1]), ("van_ban", [2, 3])]
    scan = job["result_id"]
    # each document a result of its own, its id from the scan's and its pages
    assert {d["scan"] for d in docs} == {scan}
    ids = [d["result_id"] for d in docs]
    assert ids == [document_result_id(scan, [1]), document_result_id(scan, [2, 3])] and scan not in ids
    assert [d["document"] for d in docs] == [0, 1]
    assert all(d["kind"] == "scanned" and d["by"] == "officer" and d["at"] and d["version"] == 1 for d in docs)
    assert docs[0]["records"] and docs[0]["records"][0]["doc_type"] == "khai_tu"
    result = server["officer"].get(f"/api/results/{scan}").json()
    assert result["documents"] == [
        {"index": 0, "doc_type": "khai_tu", "pages": [1]},
        {"index": 1, "doc_type": "van_ban", "pages": [2, 3]},
    ]
    texts = [p["text"] for p in result["pages"]]
    death = server["officer"].get(f"/api/results/{ids[0]}").json()
    letter = server["officer"].get(f"/api/results/{ids[1]}").json()
    assert death["ma_ho_so"] == DOSSIER and letter["ma_ho_so"] == DOSSIER
    assert (death["dossier_scan"]["result_id"], death["dossier_scan"]["pages"]) == (scan, [1])
    assert letter["dossier_scan"]["pages"] == [2, 3]
    # the pages as the scan read them (nothing read again), numbered within the document
    assert [p["text"] for p in death["pages"]] == texts[:1] and [p["text"] for p in letter["pages"]] == texts[1:]
    assert [p["number"] for p in letter["pages"]] == [1, 2]
    assert {r["page"] for r in letter["records"]} <= {1, 2} and "documents" not in letter
    assert [r["fields"] for r in death["records"]] == [r["fields"] for r in result["records"] if r.get("document") == 0]
    # its own signed PDF of its pages; the scan's original, byte for byte, is its original
    pdf = server["officer"].get(f"/api/results/{ids[1]}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf.content)) as opened:
        assert len(opened.pages) == 2
    assert letter["pdf"]["sha256"] != result["pdf"]["sha256"]
    assert "links" in letter and death["source"]["sha256"] == result["source"]["sha256"]
    words = server["officer"].get(f"/api/results/{scan}/pages/2/words").json()["words"]
    assert server["officer"].get(f"/api/results/{ids[1]}/pages/1/words").json()["words"] == words
    # searchable on its own: the document's result is found, not the scan it was split from
    name = docs[0]["records"][0]["fields"]["ho_ten"]
    hits = server["officer"].get("/api/search", params={"q": name, "limit": 200}).json()["hits"]
    assert ids[0] in {h["result_id"] for h in hits} and scan not in {h["result_id"] for h in hits}
    # fields to check are checked on the documents' results, not twice on the scan's too
    queued = {item["result_id"] for item in server["rev"].get("/api/review/queue").json()["items"]}
    assert scan not in queued
    STATE.update(scan=scan, texts=texts, words2=words, docs=ids, death_fields=docs[0]["records"][0]["fields"])


def test_the_same_upload_again_is_filed_at_once(server):
    files = [
        ("files", (DEATH.name, DEATH.read_bytes(), "image/png")),
        ("files", (LETTER.name, LETTER.read_bytes(), "image/tiff")),
    ]
    r = server["officer"].post("/api/dossiers", files=files, data={"ma_ho_so": "HS/2025/18-copy"})
    assert r.status_code == 200, r.text
    assert r.json()["result_id"] == STATE["scan"]
    assert [d["pages"] for d in r.json()["documents"]] == [[1], [2, 3]]
    # the documents already filed: the same results, nothing signed again
    assert [d["result_id"] for d in r.json()["documents"]] == STATE["docs"]
    assert all(d["version"] == 1 for d in r.json()["documents"])


def test_moving_a_boundary_refiles_the_documents_without_reading_pages_again(server):
    officer = server["officer"]
    scan, (death, letter) = STATE["scan"], STATE["docs"]
    started = time.monotonic()
    r = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 3], "version": 1})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["changed"] is True
    docs = body["documents"]
    assert [d["pages"] for d in docs] == [[1, 2], [3]]
    # both documents changed: new results; the replaced ones kept, marked superseded
    assert [d["result_id"] for d in docs] == [document_result_id(scan, [1, 2]), document_result_id(scan, [3])]
    assert sorted(body["superseded"]) == sorted([death, letter])
    old = officer.get(f"/api/results/{letter}").json()
    assert old["superseded"]["by"] == "officer" and old["superseded"]["results"] == [d["result_id"] for d in docs]
    assert officer.get(f"/api/results/{letter}/pdf").status_code == 200  # nothing deleted
    result = body["result"]
    assert result["version"] == 2 and all(d["scan_version"] == 2 for d in docs)
    assert [d["pages"] for d in result["documents"]] == [[1, 2], [3]]
    # the pages' reading is the one stored: same text, same words, no OCR job
    assert [p["text"] for p in result["pages"]] == STATE["texts"]
    assert officer.get(f"/api/results/{scan}/pages/2/words").json()["words"] == STATE["words2"]
    merged = officer.get(f"/api/results/{docs[0]['result_id']}").json()
    assert [p["text"] for p in merged["pages"]] == STATE["texts"][:2]
    assert officer.get(f"/api/results/{docs[0]['result_id']}/pages/2/words").json()["words"] == STATE["words2"]
    assert time.monotonic() - started < 90
    log = result["corrections"][-1]
    assert (log["action"], log["field"], log["old"], log["new"], log["by"]) == (
        "resplit",
        "documents",
        "1 | 2–3",
        "1–2 | 3",
        "officer",
    )
    versions = officer.get(f"/api/results/{scan}/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    # back again: the first split's results, current again, records as they were
    again = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2]})
    assert again.status_code == 200, again.text
    docs = again.json()["documents"]
    assert [(d["doc_type"], d["pages"], d["result_id"]) for d in docs] == [
        ("khai_tu", [1], death),
        ("van_ban", [2, 3], letter),
    ]
    assert docs[0]["records"][0]["fields"] == STATE["death_fields"] and all(d["version"] == 1 for d in docs)
    assert "superseded" not in officer.get(f"/api/results/{letter}").json()
    assert again.json()["result"]["version"] == 3
    unchanged = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2]})
    assert unchanged.json()["changed"] is False and unchanged.json()["result"]["version"] == 3
    # one document split in two: the one whose pages did not change keeps its result
    parted = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2, 3]}).json()
    assert [d["result_id"] for d in parted["documents"]] == [
        death,
        document_result_id(scan, [2]),
        document_result_id(scan, [3]),
    ]
    assert parted["superseded"] == [letter]
    # a replaced result is read by its id, not found by a search
    found = officer.get("/api/search", params={"q": STATE["texts"][1].split()[0], "limit": 200}).json()["hits"]
    assert letter not in {h["result_id"] for h in found}
    assert document_result_id(scan, [2]) in {h["result_id"] for h in found}, found
    back = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2]}).json()
    assert [d["result_id"] for d in back["documents"]] == [death, letter]
    assert sorted(back["superseded"]) == sorted([document_result_id(scan, [2]), document_result_id(scan, [3])])
    assert back["result"]["version"] == 5


def test_a_wrong_split_is_refused(server):
    officer = server["officer"]
    path = f"/api/dossiers/{DOSSIER}/split"
    stale = officer.post(path, json={"result_id": STATE["scan"], "starts": [1, 3], "version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")
    for starts in ([2], [1, 1], [1, 4], [1, 3, 2]):
        r = officer.post(path, json={"result_id": STATE["scan"], "starts": starts})
        assert r.status_code == 422, (starts, r.text)
    other = officer.post(path, json={"result_id": STATE["birth"], "starts": [1]})
    assert other.status_code == 404  # not a scan of this dossier


def test_a_document_is_corrected_on_its_own_and_keeps_it_through_a_split(server):
    officer = server["officer"]
    scan, death = STATE["scan"], STATE["docs"][0]
    name = STATE["death_fields"]["ho_ten"]
    for version, value in ((1, name + " AN"), (2, name)):  # twice: its new versions keep the scan's original
        r = officer.post(
            f"/api/results/{death}/corrections",
            json={"record": 0, "field": "ho_ten", "value": value, "version": version},
        )
        assert r.status_code == 200, r.text
    corrected = officer.get(f"/api/results/{death}").json()
    assert corrected["version"] == 3 and corrected["dossier_scan"]["result_id"] == scan
    assert "original" not in corrected["dossier_scan"]  # no storage key in what the API shows
    assert officer.get(f"/api/results/{death}/pdf", params={"version": 3}).status_code == 200
    parted = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2, 3]}).json()
    kept = parted["documents"][0]
    assert (kept["result_id"], kept["version"], kept["pages"]) == (death, 3, [1])
    back = officer.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": scan, "starts": [1, 2]}).json()
    assert [d["result_id"] for d in back["documents"]] == STATE["docs"] and back["documents"][0]["version"] == 3


def test_people_lists_the_archived_birth_certificate_before_anything_is_scanned(server):
    r = server["officer"].get("/api/people", params={"so_dinh_danh": STATE["person"]})
    assert r.status_code == 200, r.text
    hits = [h for h in r.json()["results"] if h["result_id"] == STATE["birth"]]
    assert hits and hits[0]["version"] == 1 and hits[0]["corrections"] == 0 and hits[0]["created_at"]
    name = STATE["birth_fields"]["ho_ten"]
    other = server["officer"].get(
        "/api/people",
        params={
            "so_dinh_danh": STATE["person"],
            "ho_ten": name + " AN",
            "ngay_sinh": STATE["birth_fields"]["ngay_sinh"],
        },
    )
    hit = next(h for h in other.json()["results"] if h["result_id"] == STATE["birth"])
    assert hit["differs"]["ho_ten"] == {"archived": name, "given": name + " AN"}


def test_attaching_an_archived_result_is_recorded_and_counted(server):
    officer = server["officer"]
    r = officer.post(f"/api/dossiers/{DOSSIER}/reuse", json={"result_id": STATE["birth"]})
    assert r.status_code == 200, r.text
    docs = documents(officer)["documents"]
    reused = [d for d in docs if d["kind"] == "reused"]
    assert len(reused) == 1 and reused[0]["result_id"] == STATE["birth"]
    assert reused[0]["by"] == "officer" and reused[0]["at"] and reused[0]["doc_type"] == "khai_sinh"
    assert reused[0]["document"] is None and reused[0]["pages"] == [1]
    assert docs[-1] == reused[0] and documents(officer)["reused"] == 1
    rows = server["boss"].get("/api/reports/reuse").json()["rows"]
    assert sum(row["reused"] for row in rows if row["agency"] == "hue") >= 1
    audit = server["boss"].get("/api/audit", params={"format": "json", "result_id": STATE["birth"]}).json()["rows"]
    assert any(row["action"] == "reuse" and row["user"] == "officer" for row in audit)


def test_roles_and_agencies_scope_the_dossier_routes(server):
    files = [("files", (DEATH.name, DEATH.read_bytes(), "image/png"))]
    assert server["rev"].post("/api/dossiers", files=files).status_code == 403  # a reviewer does not scan
    assert server["sys"].get(f"/api/dossiers/{DOSSIER}/documents").status_code == 403
    assert server["anonymous"].get(f"/api/dossiers/{DOSSIER}/documents").status_code == 401
    assert server["anonymous"].post("/api/dossiers", files=files).status_code == 401
    # another agency: the dossier and the scan are not there for it
    hcm = server["clerk-hcm"]
    assert hcm.get(f"/api/dossiers/{DOSSIER}/documents").status_code == 404
    assert (
        hcm.post(f"/api/dossiers/{DOSSIER}/split", json={"result_id": STATE["scan"], "starts": [1]}).status_code == 404
    )
    assert hcm.post("/api/dossiers/HS-HCM-1/reuse", json={"result_id": STATE["birth"]}).status_code == 404
    # an admin reads another agency's dossier with ?agency=
    assert server["boss"].get(f"/api/dossiers/{DOSSIER}/documents", params={"agency": "hue"}).status_code == 200
    bad = server["officer"].get("/api/dossiers/HS 2025/documents")
    assert (bad.status_code, bad.json()["code"]) == (422, "bad_dossier_code")


def test_a_dossier_without_a_code_gets_one_and_bad_files_are_refused(server):
    officer = server["officer"]
    r = officer.post("/api/dossiers", files=[("files", ("notes.txt", b"hello", "text/plain"))])
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_type")
    r = officer.post(
        "/api/dossiers",
        files=[("files", ("a.png", DEATH.read_bytes(), "image/png")), ("files", ("b.txt", b"hello", "text/plain"))],
    )
    assert r.status_code == 415
    r = officer.post("/api/dossiers", files=[("files", (BIRTH.name, BIRTH.read_bytes(), "image/png"))])
    assert r.status_code == 200, r.text  # these bytes were read before (inside no dossier): filed at once
    assert r.json()["ma_ho_so"].startswith("HS-")


def test_openapi_describes_the_dossier_routes(server):
    spec = server["anonymous"].get("/openapi.json").json()
    paths = spec["paths"]
    assert "post" in paths["/api/dossiers"]
    assert "get" in paths["/api/dossiers/{ma_ho_so}/documents"]
    assert "post" in paths["/api/dossiers/{ma_ho_so}/split"]
    body = paths["/api/dossiers"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body


def test_split_at_types_each_corrected_document_from_its_first_page():
    from test_dossier import BLANK, CARD_FRONT, KHAI_SINH, LETTER_1, LETTER_2, numbered

    from digitize.dossier import split_at

    pages = numbered([BLANK, CARD_FRONT, KHAI_SINH, LETTER_1, LETTER_2])
    spans = split_at(pages, [1, 3, 4])
    assert [(s.doc_type, s.pages, s.blank_pages) for s in spans] == [
        ("cccd", (1, 2), (1,)),
        ("khai_sinh", (3,), ()),
        ("van_ban", (4, 5), ()),
    ]
    assert [s.doc_type for s in split_at(pages, [1])] == ["cccd"]
    for wrong in ([], [2], [1, 1], [1, 6], [1, 4, 3]):
        with pytest.raises(ValueError):
            split_at(pages, wrong)
