"""The dossier intake page (/intake/dossier, issue #18) in a real headless Chromium: an
officer types the citizen's số định danh before scanning anything and attaches the archived
birth certificate, uploads the dossier (two files), sees its documents (each a result of its
own) with their types and page ranges, and moves a boundary. No Content-Security-Policy violation on the way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serve import chromium, serve
from test_web_e2e import ARGS, CHROMIUM, ROOT
from test_web_pages import Tab

DATA = ROOT / "samples" / "data"
DEATH, LETTER, BIRTH = DATA / "khai_tu_clean.png", DATA / "van_ban_2pages.tif", DATA / "khai_sinh_clean.png"
PASSWORD = "pw-officer-intake-page"

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    httpx = pytest.importorskip("httpx")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at " + CHROMIUM)
    if not all(p.exists() for p in (DEATH, LETTER, BIRTH)):
        pytest.skip("samples not generated")
    home = tmp_path_factory.mktemp("intake-pages")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("officer", "intake", "hue", password=PASSWORD)
    token = auth.issue_token("officer")
    with serve(home, DIGITIZE_AGENCY="hue") as served:
        with httpx.Client(base_url=served.base, timeout=300, headers={"Authorization": f"Bearer {token}"}) as api:
            r = api.post("/api/upload", files={"file": (BIRTH.name, BIRTH.read_bytes(), "image/png")})
            assert r.status_code == 200, r.text
            birth = r.json()
        person = next(rec["fields"]["so_dinh_danh"] for rec in birth["records"] if rec["fields"].get("so_dinh_danh"))
        yield {"base": served.base, "birth": birth["id"], "person": person}


@pytest.fixture(scope="module")
def browser(server):
    with chromium(CHROMIUM, ARGS) as b:
        yield b


def test_officer_attaches_an_archived_birth_certificate_uploads_a_dossier_and_moves_a_boundary(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("officer", PASSWORD, next="/intake/dossier")
    page = tab.page
    page.wait_for_url("**/intake/dossier")
    expect(page.locator("#ma")).to_have_value(re.compile(r"^HS-\d{8}-[0-9A-F]{6}$"))
    page.fill("#ma", "HS/2025/77")
    # before anything is scanned: the number typed, the archive's results for that person
    page.fill("#person-id", server["person"])
    page.click("#find-person")
    hit = page.locator(f"#reuse-list li.reuse-hit[data-result='{server['birth']}']")
    expect(hit).to_contain_text("Khai sinh")
    expect(hit.locator(".reuse-facts")).to_contain_text("bản 1 · 0 lần sửa")
    hit.get_by_role("button", name="Đính kèm vào hồ sơ").click()
    expect(page.locator("#flash")).to_contain_text("Đã đính kèm")
    expect(hit.locator("button")).to_have_text("Đã có trong hồ sơ")
    reused = page.locator("#document-list li[data-kind='reused']")
    expect(reused).to_have_count(1)
    expect(reused).to_contain_text("lấy từ kho lưu trữ")
    expect(reused).to_contain_text("officer")
    # the dossier's scan, as two files: split into its documents
    page.set_input_files("#dossier-files", [str(DEATH), str(LETTER)])
    page.click("#dossier-upload")
    scanned = page.locator("#document-list li[data-kind='scanned']")
    expect(scanned).to_have_count(2, timeout=300_000)
    expect(scanned.nth(0).locator(".doc-type")).to_have_text("Khai tử")
    expect(scanned.nth(0).locator(".doc-pages")).to_have_text("trang 1")
    expect(scanned.nth(1).locator(".doc-type")).to_have_text("Văn bản")
    expect(scanned.nth(1).locator(".doc-pages")).to_have_text("trang 2–3")
    expect(page.locator("#documents-meta")).to_contain_text("3 giấy tờ · 1 lần quét")
    # each document a result of its own: each opens its own result
    links = [scanned.nth(i).get_by_role("link", name="mở").get_attribute("href") for i in range(2)]
    assert all(link and link.startswith("/results/") for link in links) and links[0] != links[1]
    # the letter begins one page later: the death certificate takes page 2, nothing is read again
    scanned.nth(1).get_by_role("button", name="Tài liệu bắt đầu muộn hơn một trang (trang 3)").click()
    # the split signs a new version and files the documents: seconds on a busy machine
    expect(page.locator("#flash")).to_contain_text("không quét lại", timeout=60_000)
    expect(scanned.nth(0).locator(".doc-pages")).to_have_text("trang 1–2")
    expect(scanned.nth(1).locator(".doc-pages")).to_have_text("trang 3")
    # and back
    scanned.nth(1).get_by_role("button", name="Tài liệu bắt đầu sớm hơn một trang (trang 2)").click()
    expect(scanned.nth(1).locator(".doc-pages")).to_have_text("trang 2–3", timeout=60_000)
    expect(scanned.nth(1).locator(".doc-type")).to_have_text("Văn bản")
    tab.close()


def test_the_page_needs_a_session_and_the_intake_page_links_to_it(server, browser):
    tab = Tab(browser, server["base"])
    page = tab.goto("/intake/dossier")
    page.wait_for_url("**/login?next=/intake/dossier")
    tab.login("officer", PASSWORD, next="/intake")
    tab.page.wait_for_url("**/intake")
    tab.page.get_by_role("link", name="Tiếp nhận cả hồ sơ").click()
    tab.page.wait_for_url("**/intake/dossier")
    tab.close()
