"""Double keying (digitize/web/keying.py): routing, drafts, two keyings by different
people, agreement -> a new signed version, disagreement -> arbitration by a third,
the blind control share, agency scoping and progress. Real pipeline and web app
through FastAPI's TestClient.

Pages processed here: the khai_sinh sample, two altered copies of it and a ruled
page of pen strokes nothing reads (four OCR pages)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from digitize.config import load_settings  # noqa: E402
from digitize.types import Record, Result  # noqa: E402
from digitize.web import audit  # noqa: E402
from digitize.web.app import create_app  # noqa: E402
from digitize.web.keying import (
    BookContext,
    compare,
    complete,
    fields_to_key,
    header_context,  # noqa: E402
    is_blind,
    needs_keying,
)

from test_web import altered, bearer, sample_png  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    home = tmp_path_factory.mktemp("keying")
    settings = load_settings(
        env={"DIGITIZE_HOME": str(home), "DIGITIZE_AGENCY": "hue", "DIGITIZE_INSECURE_COOKIES": "1"}
    )
    app = create_app(settings, processes=0, max_upload_bytes=3_000_000, max_pages=5)
    app.state.keying.share = 0.0  # no blind entries unless a test asks for them
    svc = app.state.services
    tokens = {}
    for name, role, agency in [
        ("officer", "intake", "hue"),
        ("rev", "reviewer", "hue"),
        ("arch", "archivist", "hue"),
        ("boss", "admin", "hue"),
        ("ext", "external", "hue"),
        ("other", "intake", "hcm"),
        ("archb", "archivist", "hcm"),
    ]:
        svc.auth.add_user(name, role, agency, password=f"pw-{name}-secret")
        tokens[name] = svc.auth.issue_token(name)
    with TestClient(app) as client:
        data = sample_png()
        e = {"client": client, "app": app, "svc": svc, "tokens": tokens, "data": data}
        e["first"] = upload(e, data, "so1_p001.png")
        e["second"] = upload(e, altered(data), "so1_p002.png")
        yield e


def upload(env, data, name):
    r = env["client"].post(
        "/api/upload", headers=bearer(env["tokens"]["officer"]), files={"file": (name, data, "image/png")}
    )
    assert r.status_code == 200, r.text
    return r.json()


def repainted(data: bytes) -> bytes:
    """Another altered copy (another result id than `altered`'s)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.putpixel((2, 2), (248, 251, 250))
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


def scribble_page(heading: tuple[str, ...] = ()) -> bytes:
    """A ruled registry page (header row + 3 entry rows) filled with pen-like strokes
    no recogniser reads as text, under the book's printed `heading` lines if any."""
    import io
    import random

    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(19)
    down = 70 * len(heading)
    image = Image.new("L", (1654, 1000 + down), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", 36) if heading else None
    for i, line in enumerate(heading):
        draw.text((80, 40 + 70 * i), line, font=font, fill=0)
    ys = [y + down for y in (120, 220, 400, 580, 760)]
    xs = [80, 200, 620, 900, 1100, 1574]
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=3)
    for x in xs:
        draw.line([(x, ys[0]), (x, ys[-1])], fill=0, width=3)
    for top, bottom in zip(ys, ys[1:]):
        for left, right in zip(xs, xs[1:]):
            x, y = left + 15, (top + bottom) // 2
            points = []
            while x < right - 25:
                points.append((x, y + rng.randint(-30, 30)))
                x += rng.randint(6, 14)
            draw.line(points, fill=60, width=2)
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


def get(env, user, path, **kw):
    return env["client"].get(path, headers=bearer(env["tokens"][user]), **kw)


def post(env, user, path, **kw):
    return env["client"].post(path, headers=bearer(env["tokens"][user]), **kw)


def put(env, user, path, **kw):
    return env["client"].put(path, headers=bearer(env["tokens"][user]), **kw)


def send(env, result_id, **body):
    r = post(env, "arch", f"/api/keying/results/{result_id}/send", json=body or {"all": True})
    assert r.status_code == 200, r.text
    return r.json()


def values_of(task, **changes):
    out = {f["name"]: f["value"] for f in task["fields"]}
    out.update(changes)
    return out


# ------------------------------------------------------------------ pure functions


def test_blind_share_is_deterministic_and_near_the_setting():
    ids = [f"{i:032x}" for i in range(4000)]
    chosen = [is_blind(rid, 0, 0.10) for rid in ids]
    assert chosen == [is_blind(rid, 0, 0.10) for rid in ids]
    assert 0.08 < sum(chosen) / len(chosen) < 0.12
    assert not any(is_blind(rid, 3, 0.0) for rid in ids) and all(is_blind(rid, 3, 1.0) for rid in ids)


def test_routing_and_fields():
    rec = Record(
        doc_type="khai_sinh", page=1, fields={"so": "12", "ho_ten": "A"}, confidence={"so": 0.99, "ho_ten": 0.95}
    )
    assert not needs_keying(rec, 0.8)
    assert needs_keying(replace(rec, confidence={"so": 0.99, "ho_ten": 0.5}), 0.8)
    assert needs_keying(replace(rec, handwritten=("ho_ten",)), 0.8)
    assert needs_keying(replace(rec, fields={}, confidence={}), 0.8)
    page = Result.from_dict({"id": "r1", "records": [rec.to_dict()]})
    names = fields_to_key(replace(page, book="KS-1990"), rec)
    assert names[:3] == ["so", "ho_ten", "ngay_sinh"] and "ngay_dang_ky" in names  # every column of the book
    assert fields_to_key(page, rec) == ["so", "ho_ten"]
    assert compare({"a": "x", "b": "y"}, {"a": "x", "b": "z"}, ["a", "b", "c"]) == ({"a": "x", "c": ""}, ["b"])


def test_book_heading_gives_commune_district_province_and_year():
    ctx = header_context("UBND XÃ NGHI PHÚ Trang 12\nTHÀNH PHỐ VINH\nSỔ ĐĂNG KÝ KHAI SINH\nNăm 1987\nSố TT Họ và tên")
    assert (ctx.commune, ctx.commune_kind, ctx.district, ctx.district_kind, ctx.province, ctx.year) == (
        "Nghi Phú",
        "xã",
        "Vinh",
        "thành phố",
        "Nghệ An",
        1987,
    )
    assert ctx.registration_place() == "Ủy ban nhân dân xã Nghi Phú, thành phố Vinh, tỉnh Nghệ An"
    assert header_context("GIẤY KHAI SINH\nHọ, chữ đệm, tên: TRẦN MỸ LOAN") == BookContext()


def test_completion_is_tone_insensitive_nfc_and_in_the_books_period():
    book = BookContext(commune="Nghi Phú", district="Vinh", province="Nghệ An", year=1987)
    assert complete("place", "Trạm y tế nghi", book)[0] == "Trạm y tế Nghi Phú"  # the book's commune first
    assert complete("place", "xã hung b", book)[0] == "xã Hưng Bình"
    assert complete("place", "", book)[:2] == ["Nghi Phú", "Vinh"]  # ↓ on an empty field: the book's places
    # 1987: districts exist (Vinh is one); 2026: the 34 provinces' wards, no districts
    assert "Vinh" in complete("place", "Hưng Bình, vin", book)[0]
    after = BookContext(province="Nghệ An", year=2026)
    assert "Anh Sơn" in complete("place", "anh so", after)
    assert "Thừa Thiên Huế" in complete("place", "thua thien", BookContext(year=1990))
    assert "Thừa Thiên Huế" not in complete("place", "thua thien", BookContext(year=2026))
    assert complete("name", "ng", book)[:2] == ["Nguyễn", "Ngô"]  # surnames, most common first
    assert complete("name", "NG", book)[0] == "NGUYỄN"  # in the case typed
    assert complete("name", "Trần Thị h", book)[0].startswith("Trần Thị H")  # then given names
    assert complete("name", "Nguyễn", book) == []  # the value as typed is not offered again
    assert complete("ethnic", "e d", book) == ["Ê Đê"]
    # the official name is offered for its other names and spellings too
    assert complete("ethnic", "mo", book) == ["Mông"]
    assert (
        complete("ethnic", "hmo", book)
        == complete("ethnic", "H'Mô", book)
        == complete("ethnic", "mèo", book)
        == ["Mông"]
    )
    assert complete("ethnic", "k", book)[0] == "Kinh"
    assert complete("sex", "n", book) == ["Nam", "Nữ"] and complete("sex", "nu", book) == ["Nữ"]
    assert complete("name", "Tra\u0302\u0300", book)[0] == "Trần"  # NFD in ("Trầ"), NFC out
    assert complete(None, "x", book) == []


# ------------------------------------------------------------------ API


def test_only_archivists_send_and_only_keyers_key(env):
    rid = env["first"]["id"]
    assert post(env, "officer", f"/api/keying/results/{rid}/send", json={"all": True}).status_code == 403
    assert post(env, "rev", f"/api/keying/results/{rid}/send", json={"all": True}).status_code == 403
    assert get(env, "ext", "/api/keying/next").status_code == 403
    assert get(env, "officer", "/api/keying/arbitration").status_code == 403
    assert get(env, "officer", "/api/keying/progress").status_code == 403
    # another agency's archivist cannot send this agency's result
    assert post(env, "archb", f"/api/keying/results/{rid}/send", json={"all": True}).status_code == 404
    assert "/api/keying/next" in get(env, "officer", "/openapi.json").json()["paths"]


def test_double_entry_agreement_makes_signed_searchable_version(env):
    result = env["first"]
    rid = result["id"]
    sent = send(env, rid)
    assert sent["records"] == [0] and len(sent["created"]) == 1
    assert send(env, rid)["created"] == []  # sent once only
    entry = sent["created"][0]

    # Other agencies see nothing of it.
    assert get(env, "other", "/api/keying/next").json()["task"] is None
    assert get(env, "other", f"/api/keying/entries/{entry}").status_code == 404
    assert put(env, "other", f"/api/keying/entries/{entry}/draft", json={"values": {}}).status_code == 404

    # First keyer: prefill from OCR, crops, a draft kept across "browser closes".
    task = get(env, "officer", "/api/keying/next").json()["task"]
    assert task["id"] == entry and task["blind"] is False and task["draft"] is False
    by_name = {f["name"]: f for f in task["fields"]}
    assert by_name["ho_ten"]["prefill"] == "TRẦN MỸ LOAN" and by_name["ho_ten"]["value"] == "TRẦN MỸ LOAN"
    crop = get(env, "officer", by_name["ho_ten"]["crop"])
    assert crop.status_code == 200 and crop.content[:3] == b"\xff\xd8\xff"
    keyed = values_of(task, ho_ten="TRẦN THỊ MỸ LOAN")
    r = put(env, "officer", f"/api/keying/entries/{entry}/draft", json={"values": {"ho_ten": "TRẦN THỊ"}})
    assert r.status_code == 200
    again = get(env, "officer", "/api/keying/next").json()["task"]
    assert again["id"] == entry and again["draft"] is True
    assert {f["name"]: f["value"] for f in again["fields"]}["ho_ten"] == "TRẦN THỊ"
    bad = put(env, "officer", f"/api/keying/entries/{entry}/draft", json={"values": {"nope": "x"}})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_field"
    r = post(env, "officer", f"/api/keying/entries/{entry}/submit", json={"values": keyed, "keystrokes": 40})
    assert r.status_code == 200 and r.json() == {"id": entry, "keyings": 1, "status": "keying"}

    # Nobody keys the same entry twice.
    assert get(env, "officer", "/api/keying/next").json()["task"] is None
    r = post(env, "officer", f"/api/keying/entries/{entry}/submit", json={"values": keyed})
    assert r.status_code == 409 and r.json()["code"] == "already_keyed"

    # Second keyer, same values: accepted, a new signed version.
    task = get(env, "rev", "/api/keying/next").json()["task"]
    assert task["id"] == entry
    r = post(env, "rev", f"/api/keying/entries/{entry}/submit", json={"values": keyed})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "done" and out["version"] == result["version"] + 1 and out["disputed"] == []

    # A third person cannot key it any more.
    r = get(env, "arch", f"/api/keying/entries/{entry}")
    assert r.status_code == 409 and r.json()["code"] == "entry_closed"

    new = get(env, "officer", f"/api/results/{rid}").json()
    rec = new["records"][0]
    assert new["version"] == out["version"] and new["pdf"]["sha256"] != result["pdf"]["sha256"]
    assert rec["fields"]["ho_ten"] == "TRẦN THỊ MỸ LOAN"
    assert rec["provenance"]["ho_ten"]["method"] == "keyed_twice"
    assert rec["provenance"]["ho_ten"]["raw"] == "TRẦN MỸ LOAN"
    assert all(rec["provenance"][f]["method"] == "keyed_twice" for f in rec["fields"])
    log = [c for c in new["corrections"] if c["version"] == new["version"]]
    assert {c["action"] for c in log} == {"keyed_twice"} and log[0]["by"] == "officer+rev"
    hits = get(env, "officer", "/api/search", params={"q": "TRẦN THỊ MỸ LOAN"}).json()
    assert rid in [h["result_id"] for h in hits["hits"]]
    pdf = get(env, "officer", f"/api/results/{rid}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert [r for r in audit.rows(env["svc"].db) if r["action"] == "keying_submit" and r["user"] == "rev"]
    assert [r for r in audit.rows(env["svc"].db) if r["action"] == "keying_accept"]


def test_disagreement_goes_to_a_third_person(env):
    rid = env["second"]["id"]
    entry = send(env, rid)["created"][0]
    task = get(env, "rev", f"/api/keying/entries/{entry}").json()
    a = values_of(task, ho_ten="TRẦN MỸ LOAN", ngay_sinh="08/07/1957")
    b = values_of(task, ho_ten="TRẦN MỸ LOÀN", ngay_sinh="08/07/1957")
    assert post(env, "rev", f"/api/keying/entries/{entry}/submit", json={"values": a}).json()["keyings"] == 1
    r = post(env, "officer", f"/api/keying/entries/{entry}/submit", json={"values": b})
    assert r.status_code == 200 and r.json()["status"] == "arbitration" and r.json()["disputed"] == ["ho_ten"]

    # A keyer never arbitrates their own entry; an intake officer does not arbitrate at all.
    assert entry not in [i["id"] for i in get(env, "rev", "/api/keying/arbitration").json()["items"]]
    r = post(env, "rev", f"/api/keying/entries/{entry}/arbitrate", json={"values": {"ho_ten": "X"}})
    assert r.status_code == 403 and r.json()["code"] == "own_keying"
    assert get(env, "rev", f"/api/keying/entries/{entry}/arbitration").status_code == 403
    assert post(env, "officer", f"/api/keying/entries/{entry}/arbitrate", json={"values": {}}).status_code == 403
    assert get(env, "archb", f"/api/keying/entries/{entry}/arbitration").status_code == 404  # other agency

    queue = get(env, "arch", "/api/keying/arbitration").json()["items"]
    assert [i["id"] for i in queue] == [entry] and queue[0]["disputed"] == ["ho_ten"]
    view = get(env, "arch", f"/api/keying/entries/{entry}/arbitration").json()
    field = {f["name"]: f for f in view["fields"]}["ho_ten"]
    assert field["disputed"] and sorted(field["keyed"]) == sorted(["TRẦN MỸ LOAN", "TRẦN MỸ LOÀN"])
    assert field["crop"]
    r = post(env, "arch", f"/api/keying/entries/{entry}/arbitrate", json={"values": {}})
    assert r.status_code == 422 and r.json()["code"] == "missing_values"
    r = post(env, "arch", f"/api/keying/entries/{entry}/arbitrate", json={"values": {"ho_ten": "TRẦN MỸ LOAN"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["methods"]["ho_ten"] == "arbitrated"
    # Arbitrated once only.
    r = post(env, "boss", f"/api/keying/entries/{entry}/arbitrate", json={"values": {"ho_ten": "Y"}})
    assert r.status_code == 409

    rec = get(env, "officer", f"/api/results/{rid}").json()["records"][0]
    assert rec["fields"]["ho_ten"] == "TRẦN MỸ LOAN"
    assert rec["provenance"]["ho_ten"]["method"] == "arbitrated"
    assert rec["provenance"]["ngay_sinh"]["method"] == "keyed_twice"


def test_blind_entries_have_no_prefill(env):
    keying = env["app"].state.keying
    result = upload(env, repainted(env["data"]), "so1_p003.png")
    keying.share = 1.0
    try:
        entry = send(env, result["id"])["created"][0]
    finally:
        keying.share = 0.0
    task = get(env, "officer", f"/api/keying/entries/{entry}").json()
    assert task["blind"] is True
    assert all(f["value"] == "" and "prefill" not in f for f in task["fields"])
    assert any(f["crop"] for f in task["fields"])  # the image is still shown
    env["blind_entry"] = entry


def test_row_image_and_assignment(env):
    entry = env["blind_entry"]
    row = get(env, "officer", f"/api/keying/entries/{entry}/row")
    assert row.status_code == 200 and row.content[:3] == b"\xff\xd8\xff"
    assert get(env, "other", f"/api/keying/entries/{entry}/row").status_code == 404
    assert post(env, "officer", "/api/keying/assign", json={"entries": [entry], "user": "rev"}).status_code == 403
    r = post(env, "arch", "/api/keying/assign", json={"entries": [entry], "user": "other"})
    assert r.status_code == 422  # a user of another agency
    assert post(env, "arch", "/api/keying/assign", json={"entries": [entry], "user": "rev"}).json() == {"assigned": 1}
    r = get(env, "officer", f"/api/keying/entries/{entry}")
    assert r.status_code == 403 and r.json()["code"] == "not_assigned"
    assert get(env, "officer", "/api/keying/next").json()["task"] is None  # their draft is on another's entry now
    assert get(env, "rev", "/api/keying/next").json()["task"]["id"] == entry


def test_routing_by_confidence_floor(env):
    rid = env["first"]["id"]
    # Records already sent are not sent again, whatever the floor.
    assert send(env, rid, floor=1.0)["created"] == []
    r = post(env, "arch", f"/api/keying/results/{rid}/send", json={"records": [5]})
    assert r.status_code == 422 and r.json()["code"] == "no_such_record"


def test_progress_per_book_and_keyer(env):
    p = get(env, "arch", "/api/keying/progress").json()
    books = {b["book"]: b for b in p["books"]}
    assert books["so1_p001.png"]["done"] == 1 and books["so1_p001.png"]["keyed_twice"] == 1
    assert books["so1_p002.png"]["done"] == 1
    keyers = {k["user"]: k for k in p["keyers"]}
    assert keyers["officer"]["entries"] == 2 and keyers["rev"]["entries"] == 2
    assert keyers["rev"]["agreement"] == 1.0 and keyers["officer"]["agreement"] < 1.0
    assert keyers["officer"]["seconds_per_entry"] is not None and keyers["officer"]["keystrokes"] >= 40
    assert p["arbitration_share"]["prefilled"] > 0
    hcm = get(env, "archb", "/api/keying/progress").json()
    assert hcm["books"] == [] and hcm["keyers"] == []


def test_pages_need_login_and_roles(env):
    c = env["client"]
    r = c.get("/keying", follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]
    assert c.get("/arbitrate", follow_redirects=False).status_code == 303
    assert c.get("/keying/progress", follow_redirects=False).status_code == 303


def test_unreadable_handwritten_page_is_keyed_row_by_row(env):
    r = env["client"].post(
        "/api/upload",
        headers=bearer(env["tokens"]["arch"]),
        files={"file": ("hw_p001.png", scribble_page(), "image/png")},
        data={"book": "KS-HW", "doc_type": "so_ho_tich"},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["records"] == []  # nothing read
    rid = result["id"]
    r = post(env, "arch", f"/api/keying/results/{rid}/send", json={"rows": True})
    assert r.status_code == 422 and r.json()["code"] == "bad_doc_type"  # which book is it?
    sent = send(env, rid, rows=True, doc_type="khai_sinh")
    assert sent["rows"] == 3 and len(sent["created"]) == 3  # the header row is not an entry
    assert send(env, rid, rows=True, doc_type="khai_sinh")["created"] == []
    entry = sent["created"][0]
    task = get(env, "officer", f"/api/keying/entries/{entry}").json()
    assert task["row"] == 0 and task["record"] == -1 and task["blind"] is True
    assert [f["name"] for f in task["fields"]][:3] == ["so", "ho_ten", "ngay_sinh"]
    assert all(f["value"] == "" and f["crop"] is None for f in task["fields"])
    row = get(env, "officer", task["row_image"])
    assert row.status_code == 200 and row.content[:3] == b"\xff\xd8\xff"
    from PIL import Image
    import io

    with Image.open(io.BytesIO(row.content)) as band:
        assert band.height < 260 and band.width > 1400  # one ruled row, full width

    by_name = {f["name"]: f for f in task["fields"]}
    assert task["context"]["year"] is None and by_name["ngay_dang_ky"].get("book") is None  # no heading, no word
    assert by_name["ho_ten"]["complete"] == "name" and by_name["noi_sinh"]["complete"] == "place"

    keyed = {"so": "1", "ho_ten": "ĐINH THỊ HOA", "ngay_sinh": "02/09/1945", "gioi_tinh": "Nữ", "dan_toc": "Kinh"}
    assert post(env, "officer", f"/api/keying/entries/{entry}/submit", json={"values": keyed}).status_code == 200
    r = post(env, "rev", f"/api/keying/entries/{entry}/submit", json={"values": keyed})
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    new = get(env, "officer", f"/api/results/{rid}").json()
    assert new["version"] == result["version"] + 1 and new["book"] == "KS-HW"
    assert len(new["records"]) == 1
    rec = new["records"][0]
    assert rec["doc_type"] == "khai_sinh" and rec["page"] == 1 and rec["fields"] == keyed
    assert {p["method"] for p in rec["provenance"].values()} == {"keyed_twice"}
    hits = get(env, "officer", "/api/search", params={"q": "ĐINH THỊ HOA"}).json()["hits"]
    assert rid in [h["result_id"] for h in hits]
    export = get(env, "arch", "/api/export/moj", params={"book": "KS-HW"})
    assert export.status_code == 200, export.text


def test_completion_endpoint_and_the_books_word(env):
    r = get(
        env,
        "officer",
        "/api/keying/complete",
        params={"field": "noi_sinh", "q": "Trạm y tế nghi p", "province": "nghe an", "year": 1987},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "place" and "Trạm y tế Nghi Phú" in body["suggestions"]
    assert body["context"]["province"] == "Nghệ An"
    assert get(env, "ext", "/api/keying/complete", params={"field": "ho_ten", "q": "ng"}).status_code == 403
    assert get(env, "officer", "/api/keying/complete", params={"field": "Bad Field", "q": "x"}).status_code == 422
    names = get(env, "officer", "/api/keying/complete", params={"field": "ho_ten_me", "q": "tr", "limit": 2}).json()
    assert names["suggestions"] == ["Trần", "Trương"]

    # The archivist says what the book is; its grid rows get the year, completion gets its places.
    r = env["client"].post(
        "/api/upload",
        headers=bearer(env["tokens"]["arch"]),
        files={"file": ("np_p001.png", scribble_page(("SỔ ĐĂNG KÝ KHAI SINH",)), "image/png")},
        data={"book": "KS-NP-1987", "doc_type": "so_ho_tich"},
    )
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    bad = post(
        env, "arch", f"/api/keying/results/{env['first']['id']}/send", json={"all": True, "book_place": {"year": 1987}}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "no_book"  # a result filed under no book
    sent = send(
        env,
        rid,
        rows=True,
        doc_type="khai_sinh",
        book_place={"commune": "Nghi Phú", "district": "Vinh", "province": "Nghệ An", "year": 1987},
    )
    entry = sent["created"][0]
    task = get(env, "officer", f"/api/keying/entries/{entry}").json()
    assert task["blind"] is True and task["context"]["source"] == "book" and task["context"]["year"] == 1987
    by_name = {f["name"]: f for f in task["fields"]}
    assert by_name["ngay_dang_ky"]["value"] == "1987" and by_name["ngay_dang_ky"]["book"] == "1987"
    assert by_name["ngay_dang_ky"]["check"] == {"kind": "date", "year": 1987}
    assert by_name["ho_ten"]["value"] == ""  # blind: nothing but the book's word
    hits = get(env, "officer", "/api/keying/complete", params={"entry": entry, "field": "noi_sinh", "q": ""}).json()
    assert hits["suggestions"][:2] == ["Nghi Phú", "Vinh"]
    assert get(env, "other", "/api/keying/complete", params={"entry": entry, "field": "noi_sinh"}).status_code == 404
