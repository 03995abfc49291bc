"""End to end in a real headless Chromium: `digitize serve` in a subprocess,
log in, upload a sample page, see a field, correct it, approve, download the
signed PDF and check its text layer carries the correction."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from serve import serve

CHROMIUM = os.environ.get("DIGITIZE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "data" / "khai_sinh_clean.png"

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium at " + CHROMIUM)
    if not SAMPLE.exists():
        pytest.skip("samples not generated")
    home = tmp_path_factory.mktemp("e2e")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("officer", "intake", "hue", password="pw-officer-e2e")
    auth.add_user("rev", "reviewer", "hue", password="pw-rev-e2e")
    with serve(home, DIGITIZE_AGENCY="hue") as served:
        yield {"base": served.base, "home": home}


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def test_intake_upload_correct_approve_download(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server = server["base"]
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            context = browser.new_context(accept_downloads=True, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(server + "/intake")
            expect(page).to_have_url(server + "/login?next=/intake")
            page.fill("#name", "officer")
            page.fill("#password", "pw-officer-e2e")
            page.click("#login")
            expect(page).to_have_url(server + "/intake")
            expect(page.locator("header")).to_contain_text("officer")

            page.set_input_files("#file", str(SAMPLE))
            page.fill("#ma_ho_so", "HS-E2E-1")
            page.click("#upload")
            name = page.locator("#f-0-ho_ten")
            # not a timing test: the page may still be processing (bench_web measures the time)
            expect(name).to_have_value("TRẦN MỸ LOAN", timeout=60_000)
            expect(page.locator("#f-0-so_dinh_danh")).to_have_value("046157258462")
            expect(page.locator("#result-title")).to_have_text("TRẦN MỸ LOAN")
            expect(page.locator("#boxes .field-box").first).to_be_visible()  # fields drawn over the cleaned page
            _wait_for_image(page, "#page-img", 500)

            name.fill("TRẦN MỸ LAN")
            page.click("#approve")
            # a new signed version (B-LTA): seconds on a busy machine, not a timing test
            expect(page.locator("#flash")).to_contain_text("phiên bản 2", timeout=30_000)
            expect(page.locator("#f-0-ho_ten")).to_have_value("TRẦN MỸ LAN")
            expect(page.locator("#result-meta")).to_contain_text("phiên bản 2")

            with page.expect_download() as info:
                page.click("#download")
            target = tmp_path / "signed.pdf"
            info.value.save_as(target)
            data = target.read_bytes()
            assert data.startswith(b"%PDF") and b"/ByteRange" in data
            if shutil.which("pdftotext"):
                text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, check=True).stdout.decode()
                assert "TRẦN MỸ LAN" in " ".join(text.split())

            # The search page finds the corrected name without tone marks.
            page.goto(server + "/search")
            page.fill("#q", "tran my lan")
            page.click("#search")
            expect(page.locator("#hits tbody tr").first).to_contain_text("TRẦN MỸ LAN")
        finally:
            browser.close()


def _wait_for_image(page, selector: str, min_width: int, seconds: float = 60) -> None:
    """Until the image has loaded (the page's CSP forbids wait_for_function's eval)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.evaluate(f"document.querySelector('{selector}').naturalWidth") > min_width:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} did not load")


def test_review_queue_keyboard(server):
    """A flagged field is accepted with Enter alone; the decision is signed as a new version."""
    from playwright.sync_api import expect, sync_playwright

    from digitize.config import load_settings
    from digitize.index import make_index

    index = make_index(load_settings(env={"DIGITIZE_HOME": str(server["home"]), "DIGITIZE_AGENCY": "hue"}))
    try:
        hits = index.search("tran my", limit=5)
        assert hits, "the intake test stores the sample first"
        result = index.get(hits[0]["result_id"])
        record = replace(result.records[0], needs_review=("noi_sinh", "dan_toc"))
        index.upsert(replace(result, records=(record,)))
    finally:
        index.close()
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(server["base"] + "/login?next=/review")
            page.fill("#name", "rev")
            page.fill("#password", "pw-rev-e2e")
            page.click("#login")
            expect(page.locator("#item-field")).to_have_text("Nơi sinh")
            expect(page.locator("#item-value")).to_have_value(result.records[0].fields["noi_sinh"])
            expect(page.locator("#crop")).to_be_visible()
            _wait_for_image(page, "#crop", 50)
            page.keyboard.press("Enter")
            expect(page.locator("#item-field")).to_have_text("Dân tộc")
            page.keyboard.press("Enter")
            expect(page.locator("#empty")).to_be_visible()
            expect(page.locator("#flash")).to_contain_text("Đã ghi 2 trường")
            data = page.evaluate(f"fetch('/api/results/{result.id}').then(r => r.json())")
            assert data["version"] == result.version + 1
            assert data["records"][0]["needs_review"] == []
        finally:
            browser.close()
