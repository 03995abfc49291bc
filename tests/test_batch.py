"""Books on the embedded defaults: splitting, the in-process pool, reports,
idempotence, retries, and the Celery configuration (no servers needed).

The reliability tests against real Redis, SeaweedFS and PostgreSQL are in
test_batch_servers.py. Pages here are tiny (one line of text) so that real
OCR stays cheap."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from digitize import batch
from digitize.batch import RetryPolicy, check_ref, run_batch, split_source
from digitize.config import load_settings
from digitize.errors import ConfigError, InputError, StorageError
from digitize.storage import LocalStorage

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
FAST_RETRY = {"DIGITIZE_RETRY_BACKOFF_MAX": "0.05", "DIGITIZE_RETRY_MAX": "3"}


# -- tiny pages ---------------------------------------------------------------------


def tiny_page(text: str) -> Image.Image:
    """A small page with one printed line (a few words, DejaVu Serif)."""
    font = ImageFont.truetype(FONT, 26)
    image = Image.new("L", (540, 100), 255)
    ImageDraw.Draw(image).text((18, 30), text, font=font, fill=0)
    return image


def tiny_png(text: str) -> bytes:
    out = io.BytesIO()
    tiny_page(text).save(out, "PNG", dpi=(200, 200))
    return out.getvalue()


def write_book(folder: Path, texts: list[str], prefix: str = "p") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(texts, 1):
        path = folder / f"{prefix}{i}.png"
        path.write_bytes(tiny_png(text))
        paths.append(path)
    return paths


def multipage(path: Path, texts: list[str]) -> Path:
    pages = [tiny_page(t) for t in texts]  # fresh images: Pillow keeps encoder info across saves
    if path.suffix == ".pdf":
        pages[0].save(path, save_all=True, append_images=pages[1:], resolution=200)
    else:
        pages[0].save(path, save_all=True, append_images=pages[1:], dpi=(200, 200), compression="tiff_deflate")
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("DIGITIZE_"):
            monkeypatch.delenv(name)
    for name, value in FAST_RETRY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DIGITIZE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


# -- splitting (no OCR) -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".tif", ".pdf"])
def test_multipage_file_splits_into_stable_png_pages(tmp_path: Path, home: Path, suffix: str) -> None:
    source = multipage(tmp_path / f"book{suffix}", ["Trang một", "Trang hai", "Trang ba"])
    settings = load_settings()
    first = list(split_source(source, settings))
    again = list(split_source(source, settings))
    assert [p.name for p in first] == ["book_p0001.png", "book_p0002.png", "book_p0003.png"]
    assert all(p.media_type == "image/png" and p.error is None for p in first)
    assert [p.data for p in first] == [p.data for p in again]  # same content, same bytes, same key
    assert len({p.data for p in first}) == 3
    with Image.open(io.BytesIO(first[0].data)) as image:
        assert image.size == (540, 100) and round(image.info["dpi"][0]) == 200


def test_folder_natural_order_single_pages_kept_as_is_bad_file_reported_and_kept(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "book"
    write_book(folder, ["một", "hai"], prefix="p")
    (folder / "p1.png").rename(folder / "p10.png")
    (folder / "notes.jpg").write_text("a note, not a scan")
    (folder / ".DS_Store").write_bytes(b"junk")
    (folder / "readme.txt").write_text("ignored")
    settings = load_settings()
    storage = LocalStorage(settings.archive_path)
    pages = list(split_source(folder, settings, storage))
    assert [p.name for p in pages] == ["notes.jpg", "p2.png", "p10.png"]
    assert pages[0].data is None and "not an image or PDF" in (pages[0].error or "")
    assert pages[2].data == (folder / "p10.png").read_bytes()  # a single-page scan is stored untouched
    rejected = [k for k in storage.list(f"{settings.agency}/rejected/")]
    assert any(k.endswith("/reason.json") for k in rejected) and any(k.endswith("/input.bin") for k in rejected)


def test_black_and_white_page_is_stored_as_one_bit_png() -> None:
    from digitize.types import PageImage

    pixels = np.full((40, 60), 255, np.uint8)
    pixels[10:20, 10:50] = 0
    data = batch.encode_page(PageImage(number=1, pixels=pixels, dpi=300.0))
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "1"
        assert (np.asarray(image.convert("L")) == pixels).all()


def test_page_messages_are_small_json_and_validated() -> None:
    ref = batch.make_ref("dev/inputs/" + "a" * 64 + ".png", "a" * 64, "p1.png", "Sổ 1", "auto")
    assert json.loads(json.dumps(ref)) == ref
    assert check_ref(ref) == ref
    for bad in ({**ref, "key": "../etc/passwd"}, {**ref, "sha256": "xyz"}, {**ref, "book": 3}, "not a dict"):
        with pytest.raises((InputError, StorageError)):
            check_ref(bad)


def test_missing_source_and_missing_book_id(tmp_path: Path, home: Path) -> None:
    with pytest.raises(InputError):
        run_batch(tmp_path / "nope", "Sổ 1", load_settings())
    (tmp_path / "book").mkdir()
    with pytest.raises(InputError):
        run_batch(tmp_path / "book", "  ", load_settings())


# -- running a book in-process (real OCR on tiny pages) ---------------------------------


def _result_jsons(settings) -> list[str]:
    storage = LocalStorage(settings.archive_path)
    return [k for k in storage.list(f"{settings.agency}/") if k.endswith("/result.json")]


def test_book_in_process_then_again_does_no_work_twice(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "book"
    write_book(folder, ["Sổ 3 trang một", "Sổ 3 trang hai"])
    (folder / "p3.png").write_bytes((folder / "p1.png").read_bytes())  # the same page twice in a book
    settings = load_settings()
    seen: list[dict] = []

    class Events:
        def split(self, pages: int) -> None: ...

        def page(self, entry: dict) -> None:
            seen.append(entry)

    report = run_batch(folder, "Sổ 3", settings, workers=1, events=Events())
    assert report["state"] == "done" and report["mode"] == "local"
    assert report["summary"] == {
        "pages": 3,
        "done": 3,
        "failed": 0,
        "pending": 0,
        "reused": 0,
        "records": 0,
        "fields_to_review": 0,
        "pages_to_review": 0,
    }
    assert len(seen) == 3
    pages = report["pages"]
    assert pages[0]["result_id"] == pages[2]["result_id"] and pages[0]["task"] == pages[2]["task"]
    assert len(_result_jsons(settings)) == 2
    saved = json.loads(LocalStorage(settings.archive_path).get(f"dev/batches/{report['id']}.json"))
    assert saved["summary"] == report["summary"] and saved["state"] == "done"

    again = run_batch(folder, "Sổ 3", settings, workers=1)
    assert again["id"] == report["id"]  # same book, same content: same batch
    assert again["summary"]["reused"] == 3 and again["summary"]["done"] == 3
    assert not any("task" in p for p in again["pages"])  # nothing was queued
    assert len(_result_jsons(settings)) == 2

    from digitize.index import make_index

    index = make_index(settings)
    try:
        assert index.get(pages[0]["result_id"]).book == "Sổ 3"
    finally:
        index.close()
    status = batch.batch_status(report["id"], settings)
    assert status["summary"]["done"] == 3 and status["state"] == "done"


def test_transient_storage_failures_are_retried_then_given_up(tmp_path: Path, home: Path) -> None:
    from digitize.pipeline import Engines
    from digitize.runner import PipelineRunner

    settings = load_settings()
    engines = Engines.from_settings(settings)
    real = engines.storage
    key, sha = batch.store_page(
        batch.SourcePage("p.png", tiny_png("Trang thử lại"), "image/png"), settings, real, RetryPolicy()
    )

    class Flaky:
        def __init__(self, failures: int) -> None:
            self.failures = failures

        def get(self, k: str) -> bytes:
            if self.failures:
                self.failures -= 1
                raise StorageError("S3 endpoint unreachable (test)")
            return real.get(k)

        def __getattr__(self, name: str):
            return getattr(real, name)

    ref = batch.make_ref(key, sha, "p.png", "Sổ 9", "auto")
    policy = RetryPolicy(max_retries=3, base=0.01, maximum=0.02)
    runner = PipelineRunner(engines)
    engines.storage = Flaky(failures=10)
    gave_up = batch.process_page_with_retries(ref, runner, policy)
    assert not gave_up["ok"] and "gave up after 4 attempts" in gave_up["error"]
    engines.storage = Flaky(failures=2)
    done = batch.process_page_with_retries(ref, runner, policy)
    assert done["ok"] and done["result_id"] == sha[:32] and not done["reused"]
    engines.close()


class _Stop(BaseException):
    """A kill at an exact point (BaseException: nothing in the pipeline catches it)."""


def _signed_pdfs(storage, agency: str, rid: str) -> list[str]:
    return [k for k in storage.list(f"{agency}/") if rid in k and k.endswith("/document.pdf")]


def _fixity(home: Path) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "digitize.cli", "fixity"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ),
        timeout=120,
    )
    return proc.returncode, json.loads(proc.stdout)


def test_run_stopped_between_store_and_index_is_taken_over_not_signed_again(home: Path) -> None:
    import hashlib

    from digitize.pipeline import Engines, process_bytes

    settings = load_settings()
    engines = Engines.from_settings(settings)
    data = tiny_png("Trang bị ngắt giữa chừng")
    rid = hashlib.sha256(data).hexdigest()[:32]
    real_upsert = engines.index.upsert

    def killed(result):  # the worker dies after storing, before the index commit
        raise _Stop()

    engines.index.upsert = killed
    with pytest.raises(_Stop):
        process_bytes("p.png", data, engines)
    assert engines.index.get(rid) is None and len(_signed_pdfs(engines.storage, settings.agency, rid)) == 1
    code, counts = _fixity(home)  # until it is committed, the stored copy is flagged
    assert code == 1 and counts["unreferenced_signed"] == 1 and counts["bad"] == 0
    engines.index.upsert = real_upsert
    result = process_bytes("p.png", data, engines, book="Sổ 7")
    pdfs = _signed_pdfs(engines.storage, settings.agency, rid)
    assert pdfs == [result.keys["pdf"]] and result.version == 1  # one signed copy, taken over
    assert engines.index.get(rid).book == "Sổ 7"
    assert _fixity(home)[0] == 0
    engines.close()


def test_run_stopped_before_its_signed_pdf_is_redone_under_the_same_keys(home: Path) -> None:
    import hashlib

    from digitize.pipeline import Engines, process_bytes

    settings = load_settings()
    engines = Engines.from_settings(settings)
    data = tiny_png("Trang dừng trước khi ký")
    rid = hashlib.sha256(data).hexdigest()[:32]
    real = engines.storage

    class DiesAtThePdf:
        def put(self, key, body, **kwargs):
            if key.endswith("/document.pdf"):
                raise _Stop()
            return real.put(key, body, **kwargs)

        def __getattr__(self, name):
            return getattr(real, name)

    engines.storage = DiesAtThePdf()
    with pytest.raises(_Stop):
        process_bytes("p.png", data, engines)
    engines.storage = real
    first = [k for k in real.list(f"{settings.agency}/") if rid in k and "/commits/" not in k]
    result = process_bytes("p.png", data, engines)
    after = [k for k in real.list(f"{settings.agency}/") if rid in k and "/commits/" not in k]
    assert result.version == 1 and set(first) <= set(after)  # the same original and version folder
    assert _signed_pdfs(real, settings.agency, rid) == [result.keys["pdf"]]
    engines.close()


def test_damaged_stored_copy_is_not_taken_over_and_fixity_reports_it(home: Path) -> None:
    from digitize.pipeline import VN_TZ, Engines, base_key, process_bytes, record_intent
    from digitize.types import Result, SourceFile

    settings = load_settings()
    engines = Engines.from_settings(settings)
    data = tiny_png("Trang có bản ký hỏng")
    import hashlib

    rid = hashlib.sha256(data).hexdigest()[:32]
    prefix = base_key(settings.agency, rid, datetime.now(VN_TZ))
    stub = Result(
        id=rid, source=SourceFile(name="p.png", sha256=rid * 2, size=1, media_type="image/png"), pages=(), records=()
    )
    record_intent(stub, prefix, engines)
    engines.storage.put(f"{prefix}/v1/document.pdf", b"%PDF- from a killed worker", retain=True)
    result = process_bytes("p.png", data, engines)
    assert result.version == 2 and result.keys["pdf"] == f"{prefix}/v2/document.pdf"
    assert engines.index.get(rid).version == 2
    code, counts = _fixity(home)
    assert code == 1 and counts["unreferenced_signed"] == 1 and counts["bad"] == 0
    engines.close()


def test_cli_batch_progress_status_and_usage(tmp_path: Path, home: Path) -> None:
    source = multipage(tmp_path / "so5.tif", ["Sổ 5 trang một", "Sổ 5 trang hai"])
    env = dict(os.environ)
    cli = [sys.executable, "-m", "digitize.cli", "batch"]
    proc = subprocess.run(
        cli + [str(source), "--book-id", "Sổ 5", "--workers", "2"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["done"] == 2 and report["source"]["kind"] == "tiff"
    assert f"batch {report['id']} (Sổ 5): 2 of 2 pages done" in proc.stderr
    status = subprocess.run(
        cli + ["--status", report["id"]], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert status.returncode == 0 and json.loads(status.stdout)["summary"] == report["summary"]
    for args in ([str(source)], ["--status", "0123456789abcdef", str(source)]):
        assert subprocess.run(cli + args, capture_output=True, env=env, cwd=ROOT, timeout=60).returncode == 2
    unknown = subprocess.run(
        cli + ["--status", "0123456789abcdef"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert unknown.returncode == 1 and "no batch with id" in unknown.stderr
    no_broker = subprocess.run(
        cli + [str(source), "--book-id", "Sổ 5", "--no-wait"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert no_broker.returncode == 3 and "broker" in no_broker.stderr


# -- Celery configuration (no broker connection needed) --------------------------------


def test_celery_app_sends_json_and_acks_late(home: Path) -> None:
    from workers.app import WorkerLimits, configure

    app = configure(load_settings(env={"DIGITIZE_BROKER": "redis://127.0.0.1:1/0"}))
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.result_serializer == "json" and conf.result_accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.worker_prefetch_multiplier == 1
    # Production defaults are short: a dead worker's page is back on the queue within a
    # minute, its lease lapses within half a minute; a live worker's heartbeat keeps both.
    vt = conf.broker_transport_options["visibility_timeout"]
    limits = WorkerLimits.from_env({})
    assert vt == limits.visibility_timeout <= 60 and limits.lease_ttl <= 30
    assert limits.heartbeat * 3 <= vt and conf.task_time_limit == limits.page_time_limit <= 300
    assert conf.broker_transport_options["unacked_restore_interval"] <= 10
    assert conf.result_backend_always_retry
    assert "workers.tasks" in conf.include or "workers.tasks" in app.conf.get("include", ())
    with pytest.raises(ConfigError):
        WorkerLimits.from_env({"DIGITIZE_VISIBILITY_TIMEOUT": "3"})
    with pytest.raises(ConfigError):
        configure(load_settings(env={}))


def test_celery_task_runs_the_page_job_eagerly(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The task body, run in this process (no broker): JSON in, JSON out; a transient
    failure is retried (with a countdown on a real worker) and given up after the limit."""
    from workers import app as celery_app
    from workers import tasks

    monkeypatch.setattr(tasks, "_lease_client", lambda: None)
    monkeypatch.setattr(celery_app, "_settings", None)  # this process's settings (another test configured the app)
    settings = load_settings()
    storage = LocalStorage(settings.archive_path)
    key, sha = batch.store_page(
        batch.SourcePage("p.png", tiny_png("Trang Celery"), "image/png"), settings, storage, RetryPolicy()
    )
    ref = batch.make_ref(key, sha, "p.png", "Sổ 4", "auto")
    tasks.app.conf.task_always_eager = True
    try:
        outcome = tasks.process_page_task.apply(args=[ref]).get()
        assert outcome["ok"] and outcome["result_id"] == sha[:32]
        assert json.loads(json.dumps(outcome)) == outcome
        assert tasks.process_page_task.apply(args=[{"key": "x"}]).get()["ok"] is False

        calls: list[int] = []

        def down(*args, **kwargs):
            calls.append(1)
            raise StorageError("S3 endpoint unreachable (test)")

        monkeypatch.setattr(tasks, "process_page", down)
        result = tasks.process_page_task.apply(args=[ref])  # eager: each retry runs at once
        assert result.state == "SUCCESS" and len(calls) == 4  # DIGITIZE_RETRY_MAX=3 retries after the first
        assert result.result == {"ok": False, "error": "gave up after 4 attempts: S3 endpoint unreachable (test)"}
    finally:
        tasks.app.conf.task_always_eager = False


def test_refused_inputs_are_kept_within_bounds(home: Path) -> None:
    """Refusals are what anyone can produce at will: kept by content, small ones only,
    and at most `keep_rejected` per agency (the disk cannot be filled with them)."""
    import hashlib

    from digitize.pipeline import Engines, keep_rejected
    from digitize.types import SourceFile

    settings = load_settings(env={**os.environ, "DIGITIZE_KEEP_REJECTED": "2", "DIGITIZE_KEEP_REJECTED_BYTES": "1000"})
    engines = Engines.from_settings(settings)

    def refuse(data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        keep_rejected(
            SourceFile(name="x.bin", sha256=sha, size=len(data), media_type="application/octet-stream"),
            data,
            "not a document",
            engines,
        )

    def kept() -> int:
        return sum(1 for k in engines.storage.list(f"{settings.agency}/rejected/") if k.endswith("/reason.json"))

    refuse(b"one")
    refuse(b"one")  # the same file again: kept once
    assert kept() == 1
    refuse(b"x" * 1001)  # too large to keep
    assert kept() == 1
    refuse(b"two")
    refuse(b"three")  # over the count
    assert kept() == 2
    engines.close()
