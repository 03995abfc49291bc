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
        r = httpx.post(served.base + "/api/upload", headers=headers, timeout=300,
                       files={"file": ("ks_p001.png", sample_png(), "image/png")}, data={"book": BOOK})
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
        expect(page.locator("#flash")).to_contain_text("đã ký")
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

        cells = [str(c) for row in load_workbook(io.BytesIO(z.read(sheet))).active.iter_rows(values_only=True)
                 for c in row]
        assert "TRẦN MỸ LOAN" in cells and str(result["version"]) in cells
    progress = httpx.get(f"{base}/api/keying/progress", headers=headers).json()
    book = [b for b in progress["books"] if b["book"] == BOOK][0]
    assert book["done"] == 1 and book["keyed_twice"] == 1
