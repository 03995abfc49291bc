"""The web pages of every role, in a real headless Chromium (issue #14).

One `digitize serve` for the module (in-process OCR, as test_web_e2e does) and
one OCR run in all: the 2-page TIFF, uploaded at intake into dossier
"HS/2025/01" and book "Q1/2025"; the later tests read, review, search, share,
export and report on that result. Every page is checked for Content-Security-
Policy violations (no inline script or style, nothing from another origin).

Order matters: the tests build on each other's state (`STATE`); the audit
tampering test runs last."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.request
import zipfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from serve import chromium, serve
from test_web_e2e import ARGS, CHROMIUM, ROOT, _wait_for_image

TWO_PAGES = ROOT / "samples" / "data" / "van_ban_2pages.tif"
UPLOAD_LIMIT = 1_000_000
PAGE_LIMIT = 5
DOSSIER = "HS/2025/01"
BOOK = "Q1/2025"
PASSWORDS = {"officer": "pw-officer-pages", "rev": "pw-rev-pages", "arch": "pw-arch-pages", "boss": "pw-boss-pages"}
STATE: dict = {}

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at " + CHROMIUM)
    if not TWO_PAGES.exists():
        pytest.skip("samples not generated")
    home = tmp_path_factory.mktemp("pages")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("officer", "intake", "hue", password=PASSWORDS["officer"])
    auth.add_user("rev", "reviewer", "hue", password=PASSWORDS["rev"])
    auth.add_user("arch", "archivist", "hue", password=PASSWORDS["arch"])
    auth.add_user("boss", "admin", "hue", password=PASSWORDS["boss"])
    auth.add_user("clerk-hcm", "intake", "hcm", password="pw-hcm-pages")  # another agency to share with
    tokens = {"boss": auth.issue_token("boss"), "hcm": auth.issue_token("clerk-hcm")}
    with serve(
        home, DIGITIZE_AGENCY="hue", DIGITIZE_MAX_BYTES=str(UPLOAD_LIMIT), DIGITIZE_MAX_PAGES=str(PAGE_LIMIT)
    ) as served:
        yield {"base": served.base, "home": home, "token": tokens["boss"], "tokens": tokens}


@pytest.fixture(scope="module")
def browser(server):
    with chromium(CHROMIUM, ARGS) as b:
        yield b


class Tab:
    """A page in its own browser context that records CSP violations."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(accept_downloads=True, locale="vi-VN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.base = base
        self.csp: list[str] = []
        self.page.on("console", lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None)

    def goto(self, path: str):
        self.page.goto(self.base + path)
        return self.page

    def login(self, name: str, password: str | None = None, next: str = "/") -> "Tab":
        page = self.goto("/login?next=" + next)
        page.fill("#name", name)
        page.fill("#password", password or PASSWORDS[name])
        page.click("#login")
        page.wait_for_url(lambda url: "/login" not in url)
        return self

    def close(self) -> None:
        self.context.close()
        assert not self.csp, self.csp


def api(server, path: str, *, method: str = "GET", body: dict | None = None, token: str | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server["base"] + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not False:
        request.add_header("Authorization", "Bearer " + (token or server["token"]))
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def nav_labels(page) -> list[str]:
    return [t.strip() for t in page.locator("header nav a").all_inner_texts()]


# ------------------------------------------------------------------ /docs


def test_docs_page_lists_the_operations_offline_under_the_csp(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"])
    external: list[str] = []
    tab.page.on("request", lambda r: external.append(r.url) if not r.url.startswith(server["base"]) else None)
    try:
        page = tab.goto("/docs")
        expect(page.locator("#operations")).to_contain_text("/api/upload")
        expect(page.locator(".op .path", has_text="/api/upload").first).to_be_visible()
        expect(page.locator("#operations")).to_contain_text("/api/audit/verify")
        op = page.locator("details.op", has=page.locator(".path", has_text=re.compile(r"^/api/upload$")))
        op.locator("summary").focus()
        page.keyboard.press("Enter")  # keyboard: a summary opens its operation
        expect(op.locator(".body")).to_contain_text("Nội dung gửi")
        expect(op.locator(".body")).to_contain_text("multipart/form-data")
        assert not external, external
    finally:
        tab.close()
    # FastAPI's CDN pages are gone; the spec stays public.
    with urllib.request.urlopen(server["base"] + "/docs") as r:
        html = r.read().decode()
        assert "cdn" not in html.lower() and "<script>" not in html and "style=" not in html
    status, _ = api(server, "/redoc", token=False)
    assert status == 404


# ------------------------------------------------------------------ intake: errors, no phantom result


def _encrypted_pdf(path: Path) -> Path:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path, encryption=pikepdf.Encryption(owner="owner-pw", user="user-pw"))
    return path


def _tiff(path: Path, pages: int) -> Path:
    from PIL import Image

    frames = [Image.new("L", (60, 60), 255) for _ in range(pages)]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:])
    return path


def test_intake_errors_are_vietnamese_and_leave_no_result_on_screen(server, browser, tmp_path):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("officer", next="/intake")
    page = tab.page
    try:
        expect(page).to_have_url(server["base"] + "/intake")
        assert nav_labels(page) == ["Tiếp nhận", "Nhập liệu", "Tra cứu", "API"]

        def nothing_shown():
            expect(page.locator("#result")).to_be_hidden()
            expect(page.locator("#page-img")).to_be_hidden()
            expect(page.locator("#approve")).to_be_hidden()
            expect(page.locator("#download")).to_be_hidden()

        nothing_shown()
        cases = [
            (_encrypted_pdf(tmp_path / "locked.pdf"), "đặt mật khẩu"),
            (tmp_path / "big.png", "vượt quá dung lượng cho phép (tối đa 1 MB)"),
            (_tiff(tmp_path / "many.tif", PAGE_LIMIT + 2), f"quá nhiều trang (7 trang; tối đa {PAGE_LIMIT} trang)"),
            (tmp_path / "notes.png", "Loại tệp không được hỗ trợ"),
        ]
        (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * UPLOAD_LIMIT)
        (tmp_path / "notes.png").write_bytes(b"these are notes, not a scan")
        for path, text in cases:
            page.set_input_files("#file", str(path))
            page.click("#upload")
            expect(page.locator("#flash")).to_contain_text(text)
            expect(page.locator("#flash")).to_have_class("error")
            nothing_shown()

        # No such result, and a session that has ended: Vietnamese, never the API's English.
        page.goto(server["base"] + "/results/" + "0" * 32)
        expect(page.locator("#flash")).to_contain_text("Không tìm thấy")
        expect(page.locator("#result")).to_be_hidden()
        page.goto(server["base"] + "/reports")
        expect(page.locator("h1")).to_have_text("Không có quyền")
        page.goto(server["base"] + "/search")
        tab.context.clear_cookies()
        page.fill("#q", "tran")
        page.press("#q", "Enter")
        expect(page.locator("#flash")).to_contain_text("chưa đăng nhập hoặc phiên đăng nhập đã hết hạn")
    finally:
        tab.close()


def test_api_errors_carry_a_stable_code(server, tmp_path):
    status, body = api(server, "/api/results/" + "0" * 32)
    assert (status, body) == (404, {"error": "no such result", "code": "not_found"})
    status, body = api(server, "/api/me", token="dz_wrong")
    assert status == 401 and body["code"] == "invalid_token"
    status, body = api(server, "/api/me", token=False)
    assert status == 401 and body["code"] == "unauthenticated"
    status, body = api(server, "/api/dossiers/HS/2025/99")
    assert status == 404 and body["code"] == "not_found"
    status, body = api(server, "/api/export/moj?book=nothing-here")
    assert status == 404 and body["code"] == "empty_book"
    status, body = api(server, "/api/users", method="POST", body={"name": "x", "role": "chief", "agency": "hue"})
    assert status == 422 and body["code"] == "invalid" and body["error"].startswith("invalid request")


# ------------------------------------------------------------------ intake: a 2-page document


def test_intake_multipage_pager_crops_dossier_and_download_after_approval(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("officer", next="/intake")
    page = tab.page
    try:
        page.set_input_files("#file", str(TWO_PAGES))
        page.fill("#ma_ho_so", DOSSIER)
        page.fill("#book", BOOK)
        page.click("#upload")
        expect(page.locator("#page-no")).to_have_text("Trang 1/2", timeout=180_000)
        expect(page.locator("#result-meta")).to_contain_text("2 trang")
        expect(page.locator("#approve")).to_be_visible()
        expect(page.locator("#download")).to_be_hidden()  # not before approval
        expect(page.locator("#prev-page")).to_be_disabled()
        _wait_for_image(page, "#page-img", 500)

        # A field's crop sits in the input's label, beside it.
        crop = page.locator("#fields label.field:has(#f-0-so_ky_hieu) img.field-crop")
        expect(crop).to_be_visible()
        _wait_for_image(page, "#fields label.field:has(#f-0-so_ky_hieu) img.field-crop", 20)

        page.click("#next-page")
        expect(page.locator("#page-no")).to_have_text("Trang 2/2")
        assert "/pages/2/image" in page.get_attribute("#page-img", "src")
        expect(page.locator("#next-page")).to_be_disabled()
        page.focus("#prev-page")
        page.keyboard.press("Enter")
        expect(page.locator("#page-no")).to_have_text("Trang 1/2")

        # The dossier code with slashes reaches the API and comes back.
        expect(page.locator("#dossier-code")).to_contain_text(DOSSIER + " · 1 giấy tờ")
        STATE["id"] = page.get_attribute("#open-result", "href").rsplit("/", 1)[-1]

        page.click("#approve")
        expect(page.locator("#flash")).to_contain_text("Đã ký phiên bản 1")
        expect(page.locator("#download")).to_be_visible()

        # The result page: the same pager and crops.
        page.goto(server["base"] + "/results/" + STATE["id"])
        expect(page.locator("#page-no")).to_have_text("Trang 1/2")
        page.click("#next-page")
        expect(page.locator("#page-no")).to_have_text("Trang 2/2")
        expect(page.locator("#fields img.field-crop").first).to_be_visible()
        expect(page.locator("#share-link")).to_be_hidden()  # an intake officer does not share
    finally:
        tab.close()


def test_search_shows_file_version_dossier_and_vietnamese_dates(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("officer", next="/search")
    page = tab.page
    try:
        page.fill("#q", "buon ma thuot")
        page.click("#search")
        row = page.locator("#hits tbody tr").first
        expect(row).to_contain_text("van_ban_2pages.tif")
        expect(row).to_contain_text("v1")
        expect(row).to_contain_text(DOSSIER)
        today = datetime.now(timezone(timedelta(hours=7))).strftime("%d/%m/%Y")
        expect(row.locator("td").last).to_have_text(today)
        assert row.locator("a").get_attribute("href") == "/results/" + STATE["id"]
    finally:
        tab.close()


# ------------------------------------------------------------------ review queue


def test_review_queue_shows_the_entry_its_row_and_a_link(server, browser):
    from playwright.sync_api import expect

    from digitize.config import load_settings
    from digitize.index import make_index

    index = make_index(load_settings(env={"DIGITIZE_HOME": str(server["home"]), "DIGITIZE_AGENCY": "hue"}))
    try:
        result = index.get(STATE["id"])
        record = replace(result.records[0], needs_review=("so_ky_hieu",))
        index.upsert(replace(result, records=(record,)))
    finally:
        index.close()
    fields = record.fields
    tab = Tab(browser, server["base"]).login("rev", next="/review")
    page = tab.page
    try:
        expect(page.locator("#item-field")).to_have_text("Số, ký hiệu")
        expect(page.locator("#item-value")).to_have_value(fields["so_ky_hieu"])
        expect(page.locator("#item-entry")).to_have_text("bản ghi 1/1 · quyển " + BOOK)
        expect(page.locator("#item-meta")).to_contain_text("van_ban_2pages.tif · Văn bản · trang 1/2")
        assert page.get_attribute("#item-link", "href") == "/results/" + STATE["id"]
        context = page.locator("#item-context")
        expect(context).to_contain_text("Cơ quan ban hành")
        expect(context).to_contain_text(fields["co_quan_ban_hanh"])
        expect(context).not_to_contain_text("Số, ký hiệu")  # the field itself is not repeated
        _wait_for_image(page, "#crop", 20)
        page.keyboard.press("Enter")
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#flash")).to_contain_text("Đã ghi 1 trường · phiên bản 2")
    finally:
        tab.close()


# ------------------------------------------------------------------ archivist: sharing, export


def test_archivist_shares_and_exports_a_book(server, browser, tmp_path):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("arch", next="/shares")
    page = tab.page
    try:
        assert nav_labels(page) == [
            "Tiếp nhận",
            "Kiểm tra",
            "Nhập liệu",
            "Đối chiếu",
            "Tra cứu",
            "Chia sẻ",
            "Xuất sổ",
            "Tiến độ nhập",
            "API",
        ]
        expect(page.locator("header nav a[aria-current=page]")).to_have_text("Chia sẻ")
        expect(page.locator("#no-shares")).to_be_visible()
        expect(page.locator("#share-all-form")).to_be_hidden()  # admins only
        expect(page.locator("#owner-form")).to_be_hidden()

        page.fill("#share-result", STATE["id"])
        page.fill("#share-agency", "nowhere")
        page.click("#share")
        expect(page.locator("#flash")).to_contain_text("Không có đơn vị này trong hệ thống.")
        page.fill("#share-agency", "hcm")
        page.press("#share-agency", "Enter")
        expect(page.locator("#flash")).to_contain_text("Đã chia sẻ kết quả cho đơn vị hcm")
        row = page.locator(f"#shares tr[data-result='{STATE['id']}'][data-grantee=hcm]")
        expect(row).to_contain_text("chỉ xem")
        status, _ = api(server, f"/api/results/{STATE['id']}", token=server["tokens"]["hcm"])
        assert status == 200  # the other agency reads it now

        page.goto(server["base"] + "/results/" + STATE["id"])
        expect(page.locator("#share-link")).to_be_visible()
        page.click("#share-link")
        expect(page.locator("#share-result")).to_have_value(STATE["id"])

        page.goto(server["base"] + "/export")
        page.fill("#book", "KHONG-CO")
        page.click("#export")
        expect(page.locator("#flash")).to_contain_text("Quyển sổ này chưa có mục nào của đơn vị.")
        page.fill("#book", BOOK)
        with page.expect_download() as info:
            page.click("#export")
        target = tmp_path / "book.zip"
        info.value.save_as(target)
        with zipfile.ZipFile(target) as z:
            names = z.namelist()
            manifest = json.loads(z.read("manifest.json"))
        assert manifest["book"] == BOOK and manifest["entries"] == 1
        assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".xlsx") for n in names)
        expect(page.locator("#flash")).to_contain_text("Đã tải")

        for path in ("/users", "/reports", "/audit"):
            page.goto(server["base"] + path)
            expect(page.locator("h1")).to_have_text("Không có quyền")
    finally:
        tab.close()


# ------------------------------------------------------------------ admin: report, users, audit, sharing


def test_admin_reuse_report_with_a_chart(server, browser):
    from playwright.sync_api import expect

    # One of the agency's two dossiers reuses an archived result: 50 %.
    status, body = api(server, "/api/dossiers/HS/2025/02/reuse", method="POST", body={"result_id": STATE["id"]})
    assert status == 200, body
    month = datetime.now(timezone(timedelta(hours=7))).strftime("%Y-%m")
    tab = Tab(browser, server["base"]).login("boss", next="/reports")
    page = tab.page
    try:
        assert nav_labels(page) == [
            "Tiếp nhận",
            "Kiểm tra",
            "Nhập liệu",
            "Đối chiếu",
            "Tra cứu",
            "Chia sẻ",
            "Xuất sổ",
            "Tiến độ nhập",
            "Báo cáo",
            "Người dùng",
            "Nhật ký",
            "API",
        ]
        row = page.locator("#report tbody tr").first
        expect(row).to_have_text(re.compile(r"hue\s*" + re.escape(f"{month[5:]}/{month[:4]}") + r"\s*2\s*1\s*50%"))
        bar = page.locator("#chart svg g.row[data-agency=hue] rect.bar")
        expect(bar).to_have_count(1)
        assert float(bar.get_attribute("width")) == pytest.approx(220.0)  # half of the 440-unit plot
        expect(page.locator("#chart svg")).to_contain_text("50% (1/2)")

        page.fill("#month", "2001-01")
        page.press("#agency", "Enter")
        expect(page.locator("#no-rows")).to_be_visible()
        expect(page.locator("#chart")).to_be_hidden()
    finally:
        tab.close()


def test_admin_adds_users_and_sees_the_secret_once(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("boss", next="/users")
    page = tab.page
    try:
        expect(page.locator("#users tr[data-name=arch]")).to_contain_text("Lưu trữ viên")
        expect(page.locator("#secret")).to_be_hidden()
        page.fill("#user-name", "clerk2")
        page.select_option("#user-role", "intake")
        page.click("#add-user")
        expect(page.locator("#secret")).to_be_visible()
        expect(page.locator("#secret-label")).to_have_text("Mật khẩu")
        password = page.input_value("#secret-value")
        assert len(password) >= 12
        expect(page.locator("#users tr[data-name=clerk2]")).to_contain_text("Cán bộ một cửa")
        page.click("#hide-secret")
        expect(page.locator("#secret")).to_be_hidden()
        assert page.input_value("#secret-value") == ""

        page.fill("#user-name", "registry-sys")
        page.select_option("#user-role", "external")
        page.click("#add-user")
        expect(page.locator("#secret-label")).to_have_text("Mã truy cập (token)")
        token = page.input_value("#secret-value")
        status, body = api(server, "/api/lookup/046157258462", token=token)
        assert status == 200 and body["count"] == 0

        page.fill("#user-name", "clerk2")
        page.click("#add-user")
        expect(page.locator("#flash")).to_contain_text("Tên đăng nhập này đã có.")
    finally:
        tab.close()
    newcomer = Tab(browser, server["base"]).login("clerk2", password, next="/intake")
    try:
        assert newcomer.page.url == server["base"] + "/intake"
    finally:
        newcomer.close()


def test_admin_shares_everything_and_revokes(server, browser):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("boss", next="/shares")
    page = tab.page
    try:
        expect(page.locator(f"#shares tr[data-result='{STATE['id']}']")).to_be_visible()  # the archivist's
        expect(page.locator("#share-all-form")).to_be_visible()
        page.fill("#share-all-agency", "hcm")
        page.check("#share-all-write")
        page.click("#share-all")
        everything = page.locator("#shares tr[data-result='*'][data-grantee=hcm]")
        expect(everything).to_contain_text("Tất cả kết quả")
        expect(everything).to_contain_text("xem và sửa")
        everything.locator("button.revoke").click()
        expect(page.locator("#flash")).to_contain_text("Đã thu hồi quyền của đơn vị hcm")
        expect(everything).to_have_count(0)
        page.locator(f"#shares tr[data-result='{STATE['id']}'] button.revoke").click()
        expect(page.locator("#no-shares")).to_be_visible()
    finally:
        tab.close()


def test_admin_audit_page_checks_the_chain_and_exports(server, browser, tmp_path):
    from playwright.sync_api import expect

    tab = Tab(browser, server["base"]).login("boss", next="/audit")
    page = tab.page
    try:
        expect(page.locator("#chain")).to_contain_text("Nhật ký nguyên vẹn: đã kiểm tra")
        with page.expect_download() as info:
            page.click("#audit-export")
        target = tmp_path / "audit.jsonl"
        info.value.save_as(target)
        assert info.value.suggested_filename == "audit.jsonl"
        rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
        actions = {r["action"] for r in rows}
        assert {"login", "create", "share", "export_moj", "audit_verify"} <= actions

        # Someone edits a row behind the database's back: the page says so.
        with sqlite3.connect(server["home"] / "web.sqlite3") as db:
            triggers = [
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")
            ]
            for name in triggers:
                db.execute(f"DROP TRIGGER {name}")
            victim = db.execute("SELECT id FROM audit WHERE action = 'export_moj'").fetchone()[0]
            db.execute("UPDATE audit SET user = 'nobody' WHERE id = ?", (victim,))
        page.click("#verify-chain")
        expect(page.locator("#chain")).to_contain_text(f"KHÔNG nguyên vẹn: dòng số {victim}")
        status, body = api(server, "/api/audit/verify")
        assert status == 200 and body["ok"] is False and body["first_bad"] == victim
    finally:
        tab.close()
