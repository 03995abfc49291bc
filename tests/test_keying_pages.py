"""Double keying in a real headless Chromium (issue #19): two keyers and an
arbiter complete one entry of a book page on /keying and /arbitrate, with the
keyboard only; the arbitrated values are then signed, searchable and in the
Ministry of Justice export. One `digitize serve`, one OCR run (the khai_sinh
sample, filed under a book)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from serve import chromium, serve
from test_web import sample_png
from test_web_e2e import ARGS, CHROMIUM

BOOK = "KS-1957"
PASSWORDS = {"k1": "pw-k1-keying", "k2": "pw-k2-keying", "arb": "pw-arb-keying"}

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    httpx = pytest.importorskip("httpx")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at " + CHROMIUM)
    home = tmp_path_factory.mktemp("keying-pages")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("k1", "intake", "hue", password=PASSWORDS["k1"])
    auth.add_user("k2", "reviewer", "hue", password=PASSWORDS["k2"])
    auth.add_user("arb", "archivist", "hue", password=PASSWORDS["arb"])
    token = auth.issue_token("arb")
    with serve(home, DIGITIZE_AGENCY="hue", DIGITIZE_KEYING_BLIND_SHARE="0") as served:
        headers = {"Authorization": "Bearer " + token}
        r = httpx.post(
            served.base + "/api/upload",
            headers=headers,
            timeout=300,
            files={"file": ("ks_p001.png", sample_png(), "image/png")},
            data={"book": BOOK},
        )
        assert r.status_code == 200, r.text
        result = r.json()
        r = httpx.post(served.base + f"/api/keying/results/{result['id']}/send", headers=headers, json={"all": True})
        assert r.status_code == 200 and len(r.json()["created"]) == 1, r.text
        yield {"base": served.base, "headers": headers, "result": result, "httpx": httpx}


@pytest.fixture(scope="module")
def browser(server):
    with chromium(CHROMIUM, ARGS) as b:
        yield b


def login(browser, base, name, next_path):
    context = browser.new_context(locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#login")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page, csp


def key_entry(browser, base, name, ho_ten, expect_flash):
    """Key the entry with the keyboard: the prefill as it is, except ho_ten."""
    from playwright.sync_api import expect

    context, page, csp = login(browser, base, name, "/keying")
    try:
        expect(page.locator("#entry")).to_be_visible()
        expect(page.locator("#f-ho_ten")).to_have_value("TRẦN MỸ LOAN")  # OCR prefill
        expect(page.locator('.key-row[data-field="ho_ten"] img.cell-crop')).to_be_visible()
        first = page.locator("#entry-fields input[name]").first
        expect(first).to_be_focused()
        # Enter walks the fields until ho_ten, which is retyped.
        while page.evaluate("document.activeElement.name") != "ho_ten":
            page.keyboard.press("Enter")
        page.keyboard.press("Control+a")
        page.keyboard.type(ho_ten)
        # Validation as you type: a bad date warns, a good one does not.
        page.locator("#f-ngay_sinh").focus()
        page.keyboard.press("Control+a")
        page.keyboard.type("31/02/1957")
        expect(page.locator("#f-ngay_sinh-warn")).to_have_text("Ngày không có thật")
        page.keyboard.press("Control+a")
        page.keyboard.type("08/07/1957")
        expect(page.locator("#f-ngay_sinh-warn")).to_have_text("")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#flash")).to_contain_text(expect_flash)
        expect(page.locator("#empty")).to_be_visible()  # keyed once by this user: nothing more for them
    finally:
        context.close()
    assert not csp, csp


def test_two_keyers_and_an_arbiter_complete_an_entry(server, browser):
    from playwright.sync_api import expect

    base = server["base"]
    key_entry(browser, base, "k1", "TRẦN MỸ LOAN", "chờ người nhập thứ hai")
    key_entry(browser, base, "k2", "TRẦN MỸ LOÀN", "đối chiếu")

    context, page, csp = login(browser, base, "arb", "/arbitrate")
    try:
        row = page.locator('.key-row.disputed[data-field="ho_ten"]')
        expect(row).to_be_visible()
        expect(row).to_contain_text("TRẦN MỸ LOAN")
        expect(row).to_contain_text("TRẦN MỸ LOÀN")
        expect(page.locator('.key-row[data-field="ngay_sinh"] input')).to_have_attribute("readonly", "")
        expect(page.locator("#f-ho_ten")).to_be_focused()
        page.keyboard.press("ArrowUp")  # the first keying's value
        expect(page.locator("#f-ho_ten")).to_have_value("TRẦN MỸ LOAN")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#flash")).to_contain_text("đã ký", timeout=30_000)  # signs: slow on a busy machine
        expect(page.locator("#empty")).to_be_visible()
    finally:
        context.close()
    assert not csp, csp

    httpx, headers, rid = server["httpx"], server["headers"], server["result"]["id"]
    result = httpx.get(f"{base}/api/results/{rid}", headers=headers).json()
    rec = result["records"][0]
    assert result["version"] == server["result"]["version"] + 1
    assert rec["fields"]["ho_ten"] == "TRẦN MỸ LOAN"
    assert rec["provenance"]["ho_ten"]["method"] == "arbitrated"
    assert rec["provenance"]["ngay_sinh"]["method"] == "keyed_twice"
    hits = httpx.get(f"{base}/api/search", headers=headers, params={"q": "TRẦN MỸ LOAN"}).json()["hits"]
    assert rid in [h["result_id"] for h in hits]
    r = httpx.get(f"{base}/api/export/moj", headers=headers, params={"book": BOOK}, timeout=120)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["entries"] == 1 and manifest["results"] == [rid]
        sheet = [n for n in z.namelist() if n.endswith(".xlsx")][0]
        from openpyxl import load_workbook

        cells = [
            str(c) for row in load_workbook(io.BytesIO(z.read(sheet))).active.iter_rows(values_only=True) for c in row
        ]
        assert "TRẦN MỸ LOAN" in cells and str(result["version"]) in cells
    progress = httpx.get(f"{base}/api/keying/progress", headers=headers).json()
    book = [b for b in progress["books"] if b["book"] == BOOK][0]
    assert book["done"] == 1 and book["keyed_twice"] == 1


# ------------------------------------------------------------------ a handwritten book page, row by row

HW_BOOK = "KS-1987-NP"
HEADING = ("UBND XÃ NGHI PHÚ", "THÀNH PHỐ VINH", "SỔ ĐĂNG KÝ KHAI SINH", "Năm 1987")


@pytest.fixture(scope="module")
def handwritten(tmp_path_factory, browser):
    """A second server: a ruled page of pen strokes nothing reads, under the book's printed
    heading (its commune and year), sent to keying row by row."""
    pytest.importorskip("playwright")
    httpx = pytest.importorskip("httpx")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at " + CHROMIUM)
    from test_keying import scribble_page

    home = tmp_path_factory.mktemp("keying-hw")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("k1", "intake", "hue", password=PASSWORDS["k1"])
    auth.add_user("k2", "reviewer", "hue", password=PASSWORDS["k2"])
    auth.add_user("arb", "archivist", "hue", password=PASSWORDS["arb"])
    headers = {"Authorization": "Bearer " + auth.issue_token("arb")}
    with serve(home, DIGITIZE_AGENCY="hue", DIGITIZE_KEYING_BLIND_SHARE="0") as served:  # one Chromium: `browser`
        r = httpx.post(
            served.base + "/api/upload",
            headers=headers,
            timeout=300,
            files={"file": ("np1987_p001.png", scribble_page(HEADING), "image/png")},
            data={"book": HW_BOOK, "doc_type": "so_ho_tich"},
        )
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["records"] == []
        r = httpx.post(
            served.base + f"/api/keying/results/{result['id']}/send",
            headers=headers,
            json={"rows": True, "doc_type": "khai_sinh"},
        )
        assert r.status_code == 200 and len(r.json()["created"]) == 3, r.text
        yield {
            "base": served.base,
            "headers": headers,
            "result": result,
            "httpx": httpx,
            "browser": browser,
            "entry": r.json()["created"][0],
        }


def pick(page, typed: str, expect_first: str, key: str = "Tab") -> None:
    """Type the start of a value, wait for the completion list, take a suggestion with `key`."""
    from playwright.sync_api import expect

    page.keyboard.type(typed)
    expect(page.locator("#complete-list li").first).to_have_text(expect_first)
    page.keyboard.press(key)


def key_row(browser, base, name, given, expect_flash):
    """Key the first row with the keyboard and the completion list: Enter walks the fields."""
    from playwright.sync_api import expect

    context, page, csp = login(browser, base, name, "/keying")
    try:
        expect(page.locator("#entry")).to_be_visible()
        expect(page.locator("#entry-meta")).to_contain_text("dòng 1")
        expect(page.locator("#entry-context")).to_contain_text("xã Nghi Phú")  # from the page's printed heading
        expect(page.locator("#entry-context")).to_contain_text("năm 1987")
        expect(page.locator("#f-ngay_dang_ky")).to_have_value("1987")  # the book's year, prefilled
        expect(page.locator("#f-ho_ten")).to_have_value("")  # nothing read: nothing else prefilled
        expect(page.locator("#f-so")).to_be_focused()
        page.keyboard.type("1")
        page.keyboard.press("Enter")
        pick(page, "đi", "Đinh")  # a known surname, tone-insensitive prefix, Tab takes the first
        expect(page.locator("#f-ho_ten")).to_have_value("Đinh")
        page.keyboard.type(" Thị " + given)
        page.keyboard.press("Escape")  # closes the list if it is open; Enter then goes on
        page.keyboard.press("Enter")
        expect(page.locator("#f-ngay_sinh")).to_be_focused()
        page.keyboard.type("20/08/1987")
        page.keyboard.press("Enter")
        page.keyboard.type("n")  # Nam, Nữ: ↓ twice, Enter takes the highlighted one
        expect(page.locator("#complete-list li")).to_have_text(["Nam", "Nữ"])
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(page.locator("#f-gioi_tinh")).to_have_value("Nữ")
        expect(page.locator("#f-gioi_tinh")).to_be_focused()  # taking a suggestion stays in the field
        page.keyboard.press("Enter")
        pick(page, "ki", "Kinh")
        expect(page.locator("#f-dan_toc-warn")).to_have_text("")
        page.keyboard.press("Enter")
        pick(page, "Trạm y tế ng", "Trạm y tế Nghi Phú")  # the book's own commune first (gazetteer, 1987)
        expect(page.locator("#f-noi_sinh")).to_have_value("Trạm y tế Nghi Phú")
        page.keyboard.press("Enter")
        page.keyboard.type("Lê Thị Mai")
        page.keyboard.press("Escape")
        page.keyboard.press("Enter")
        expect(page.locator("#f-ho_ten_cha")).to_be_focused()
        page.keyboard.press("Enter")  # no father on the paper: left empty
        expect(page.locator("#f-ngay_dang_ky")).to_be_focused()
        page.keyboard.type("02/09/")  # before the prefilled year
        expect(page.locator("#f-ngay_dang_ky")).to_have_value("02/09/1987")
        expect(page.locator("#f-ngay_dang_ky-warn")).to_have_text("")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#flash")).to_contain_text(expect_flash)
    finally:
        context.close()
    assert not csp, csp


def test_handwritten_row_keyed_with_completion_then_arbitrated(handwritten):
    from playwright.sync_api import expect

    base, browser = handwritten["base"], handwritten["browser"]
    key_row(browser, base, "k1", "Hoa", "chờ người nhập thứ hai")
    key_row(browser, base, "k2", "Hòa", "đối chiếu")

    context, page, csp = login(browser, base, "arb", "/arbitrate")
    try:
        row = page.locator('.key-row.disputed[data-field="ho_ten"]')
        expect(row).to_contain_text("Đinh Thị Hoa")
        expect(row).to_contain_text("Đinh Thị Hòa")
        expect(page.locator(".key-row.disputed")).to_have_count(1)  # every other field agreed
        expect(page.locator("#f-ho_ten")).to_be_focused()
        page.keyboard.press("ArrowUp")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#flash")).to_contain_text("đã ký", timeout=30_000)  # signs: slow on a busy machine
    finally:
        context.close()
    assert not csp, csp

    httpx, headers, rid = handwritten["httpx"], handwritten["headers"], handwritten["result"]["id"]
    result = httpx.get(f"{base}/api/results/{rid}", headers=headers).json()
    assert len(result["records"]) == 1
    rec = result["records"][0]
    assert rec["fields"] == {
        "so": "1",
        "ho_ten": "Đinh Thị Hoa",
        "ngay_sinh": "20/08/1987",
        "gioi_tinh": "Nữ",
        "dan_toc": "Kinh",
        "noi_sinh": "Trạm y tế Nghi Phú",
        "ho_ten_me": "Lê Thị Mai",
        "ngay_dang_ky": "02/09/1987",
    }
    assert rec["provenance"]["ho_ten"]["method"] == "arbitrated"
    assert rec["provenance"]["noi_sinh"]["method"] == "keyed_twice"
    hits = httpx.get(f"{base}/api/search", headers=headers, params={"q": "dinh thi hoa"}).json()["hits"]
    assert rid in [h["result_id"] for h in hits]
    r = httpx.get(f"{base}/api/export/moj", headers=headers, params={"book": HW_BOOK}, timeout=120)
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert json.loads(z.read("manifest.json"))["entries"] == 1
        sheet = [n for n in z.namelist() if n.endswith(".xlsx")][0]
        from openpyxl import load_workbook

        cells = [
            str(c) for row in load_workbook(io.BytesIO(z.read(sheet))).active.iter_rows(values_only=True) for c in row
        ]
        assert "Đinh Thị Hoa" in cells and "Trạm y tế Nghi Phú" in cells and "02/09/1987" in cells
