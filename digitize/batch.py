"""Books: a folder of page scans, a multi-page PDF or a multi-page TIFF, split
into pages, one task per page, and a book-level report.

    split -> store each page (content-addressed) -> one task per page -> report

Each page is stored as an input object under `<agency>/inputs/<sha256>.<ext>`
(the page file itself for a single-page scan, a lossless PNG for a page of a
multi-page file), so a task message carries only that key and a few short
strings (`PageRef`, JSON). The page job, `process_page`, is the same
everywhere: a Celery worker runs it when a broker is configured
(workers/tasks.py, found through the `digitize.queues` entry point), a local process pool
otherwise (`LocalRunner`); either way on the process's `runner.PipelineRunner`.

Idempotent by content: a page's result id is the first 128 bits of its
SHA-256, a page already in the index is reported without sending a task, and
the same book submitted twice gets the same batch id. The report is kept at
`<agency>/batches/<id>.json`; `batch_status` refreshes the pages still
pending from the index (and from Celery for failures), so the status is right
even when the submitting process went away.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import logging
import os
import random
import re
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from . import ingest
from .config import Settings, load_settings
from .errors import (
    ConfigError,
    CorruptInput,
    DigitizeError,
    EncryptedInput,
    IndexError_,
    InputError,
    NotFound,
    QueueUnavailable,
    StorageError,
    TooLarge,
)
from .pipeline import EXTENSIONS, VN_TZ, keep_rejected
from .runner import PipelineRunner, current_runner, process_runner
from .storage.common import ChecksumMismatch, validate_key
from .types import PageImage, Result, SourceFile

log = logging.getLogger(__name__)

INPUT_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf", ".webp", ".bmp", ".gif"}
MULTI_PAGE = ("application/pdf", "image/tiff")
_SHA256 = re.compile(r"[0-9a-f]{64}")

PageRef = dict[str, str]  # {"key", "sha256", "name", "book", "doc_type"}: the whole task message
Outcome = dict[str, Any]  # {"ok": True, "result_id", "records", ...} or {"ok": False, "error"}


# ------------------------------------------------------------------ retries


def is_transient(exc: BaseException) -> bool:
    """Storage or index unavailable: worth retrying. A damaged object is not."""
    return isinstance(exc, (StorageError, IndexError_)) and not isinstance(exc, ChecksumMismatch)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits base * 2**n seconds, capped,
    times a random factor in [0.5, 1]. From the settings `retry_max` (retries after the
    first attempt: about half an hour at the default cap) and `retry_backoff_max`."""

    max_retries: int = 12
    base: float = 1.0
    maximum: float = 300.0

    def delay(self, retries: int) -> float:
        return min(self.maximum, self.base * (2 ** min(retries, 30))) * random.uniform(0.5, 1.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetryPolicy":
        if settings.retry_max < 0 or settings.retry_backoff_max <= 0:
            raise ConfigError("DIGITIZE_RETRY_MAX must be >= 0 and DIGITIZE_RETRY_BACKOFF_MAX > 0")
        return cls(max_retries=settings.retry_max, maximum=settings.retry_backoff_max)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "RetryPolicy":
        return cls.from_settings(load_settings(env=env))


def with_retries(fn: Callable[[], Any], policy: RetryPolicy, what: str) -> Any:
    """Call fn, retrying transient storage/index failures with backoff."""
    for attempt in itertools.count():
        try:
            return fn()
        except (StorageError, IndexError_) as exc:
            if not is_transient(exc) or attempt >= policy.max_retries:
                raise
            wait = policy.delay(attempt)
            log.warning("%s: %s; retrying in %.1fs", what, exc, wait)
            time.sleep(wait)


# ------------------------------------------------------------------ the page job


def make_ref(key: str, sha256: str, name: str, book: str, doc_type: str) -> PageRef:
    return {"key": key, "sha256": sha256, "name": name, "book": book, "doc_type": doc_type}


def check_ref(ref: Any) -> PageRef:
    """A task message, validated: only short strings, a safe key, a hex digest."""
    if not isinstance(ref, dict) or not all(
        isinstance(ref.get(k), str) for k in ("key", "sha256", "name", "book", "doc_type")
    ):
        raise InputError("page message must be a JSON object of strings: key, sha256, name, book, doc_type")
    validate_key(ref["key"])
    if not _SHA256.fullmatch(ref["sha256"]):
        raise InputError("page message: sha256 must be 64 lowercase hex digits")
    return {k: ref[k] for k in ("key", "sha256", "name", "book", "doc_type")}


def outcome_of(result: Result, reused: bool = False) -> Outcome:
    records = result.records
    return {
        "ok": True,
        "result_id": result.id,
        "records": len(records),
        "doc_types": sorted({r.doc_type for r in records if r.doc_type}),
        "review": [f for r in records for f in r.needs_review],
        "reused": reused,
    }


def stored_outcome(sha256: str, index: Any, storage: Any) -> Outcome | None:
    """The outcome of a page already processed (indexed, artefacts present), else None."""
    found = index.get(sha256[:32])
    if found is None:
        return None
    keys = found.keys
    if not keys or not all(storage.exists(k) for k in (keys.get("pdf"), keys.get("json")) if k):
        return None
    return outcome_of(found, reused=True)


def process_page(ref: PageRef, runner: PipelineRunner) -> Outcome:
    """Process one stored page. Transient storage/index failures raise (the caller
    retries with backoff); anything else about the page is a failed outcome."""
    try:
        ref = check_ref(ref)
        done = stored_outcome(ref["sha256"], runner.index, runner.storage)
        if done is not None:
            return done
        data = runner.storage.get(ref["key"])
        if hashlib.sha256(data).hexdigest() != ref["sha256"]:
            return {"ok": False, "error": f"stored page {ref['key']} does not match its sha256"}
        result = runner.process(ref["name"], data, doc_type=ref["doc_type"], book=ref["book"] or None)
        return outcome_of(result)
    except NotFound as exc:
        return {"ok": False, "error": f"page image missing from storage: {exc}"}
    except DigitizeError as exc:
        if is_transient(exc):
            raise
        return {"ok": False, "error": str(exc)}
    except MemoryError:
        return {"ok": False, "error": "out of memory while processing"}
    except Exception as exc:  # a bug, or a time limit: one line, and the other pages go on
        if runner.settings.debug:
            raise
        return {"ok": False, "error": f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}


def process_page_with_retries(ref: PageRef, runner: PipelineRunner, policy: RetryPolicy) -> Outcome:
    """`process_page` with in-process retries (the local runner's counterpart of
    Celery's retry with countdown)."""
    for attempt in itertools.count():
        try:
            return process_page(ref, runner)
        except (StorageError, IndexError_) as exc:
            if attempt >= policy.max_retries:
                return {"ok": False, "error": f"gave up after {attempt + 1} attempts: {exc}"}
            wait = policy.delay(attempt)
            log.warning("%s: %s; retry %d in %.1fs", ref.get("name"), exc, attempt + 1, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------ runners


class Runner(Protocol):
    mode: str

    def submit(self, ref: PageRef) -> str:
        """Queue one page; returns its task id."""
        ...

    def outcomes(self) -> Iterator[tuple[str, Outcome]]:
        """(task id, outcome) of every submitted page, as they finish."""
        ...

    def close(self) -> None: ...


def _pool_run(ref: PageRef) -> Outcome:
    runner = current_runner()  # built by the pool's initialiser, `process_runner`
    return process_page_with_retries(ref, runner, RetryPolicy.from_settings(runner.settings))


class LocalRunner:
    """Pages in a local process pool (or in this process when workers == 1):
    the embedded default, no broker needed."""

    mode = "local"

    def __init__(self, settings: Settings, workers: int = 0) -> None:
        self.settings = settings
        self.workers = max(1, workers or settings.workers or (os.cpu_count() or 1))
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future, str] = {}
        self._serial: list[tuple[str, PageRef]] = []

    def submit(self, ref: PageRef) -> str:
        task_id = uuid.uuid4().hex
        if self.workers == 1:
            self._serial.append((task_id, ref))
            return task_id
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, initializer=process_runner, initargs=(self.settings,)
            )
        self._futures[self._pool.submit(_pool_run, ref)] = task_id
        return task_id

    def outcomes(self) -> Iterator[tuple[str, Outcome]]:
        if self._serial:
            runner = process_runner(self.settings)
            policy = RetryPolicy.from_settings(self.settings)
            while self._serial:
                task_id, ref = self._serial.pop(0)
                yield task_id, process_page_with_retries(ref, runner, policy)
        for future in as_completed(list(self._futures)):
            task_id = self._futures.pop(future)
            try:
                yield task_id, future.result()
            except BrokenProcessPool:
                yield task_id, {"ok": False, "error": "worker process died (out of memory?)"}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DistributedQueue(Protocol):
    """A broker-backed queue of pages (the Celery one is in workers/), found by name among the
    installed `digitize.queues` entry points so that this package never imports it."""

    name: str

    def runner(self, settings: Settings) -> Runner: ...

    def task_states(self, settings: Settings, task_ids: list[str]) -> dict[str, tuple[str, Outcome | None]]:
        """{task id: (the queue's state, outcome or None)} for `digitize batch --status`."""
        ...

    def run_worker(
        self,
        settings: Settings,
        *,
        concurrency: int = 0,
        loglevel: str = "INFO",
        hostname: str = "",
        pool: str = "prefork",
        max_tasks_per_child: int = 0,
    ) -> None: ...


QUEUE_ENTRY_POINTS = "digitize.queues"


def distributed_queue(name: str = "celery") -> DistributedQueue:
    """The installed distributed queue called `name`; ConfigError when none is installed."""
    from importlib.metadata import entry_points

    found = entry_points(group=QUEUE_ENTRY_POINTS, name=name)
    if not found:
        raise ConfigError(
            f"no distributed queue {name!r} is installed (entry point group {QUEUE_ENTRY_POINTS!r}): "
            "pip install -e '.[dist]' from the checkout"
        )
    try:
        queue = next(iter(found)).load()
    except ImportError as exc:
        raise ConfigError(f"the {name!r} queue cannot be loaded: {exc}; pip install -e '.[dist]'") from None
    return queue


def make_runner(settings: Settings, workers: int = 0) -> Runner:
    if settings.broker:
        return distributed_queue().runner(settings)
    return LocalRunner(settings, workers)


# ------------------------------------------------------------------ splitting


@dataclass(frozen=True)
class SourcePage:
    """One page of a book as split from its source: bytes to store, or why not."""

    name: str
    data: bytes | None
    media_type: str = ""
    error: str | None = None


def natural_key(text: str) -> list[Any]:
    """'p2' before 'p10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def source_files(source: Path) -> list[Path]:
    if source.is_dir():
        files = [
            p
            for p in source.rglob("*")
            if p.is_file()
            and p.suffix.lower() in INPUT_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(source).parts)
        ]
        return sorted(files, key=lambda p: natural_key(p.relative_to(source).as_posix()))
    return [source]


def source_digest(source: Path) -> str:
    """SHA-256 over the source's content (a folder: each file's name and SHA-256)."""
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    if not source.is_dir():
        return _file_sha256(source)
    outer = hashlib.sha256()
    for path in source_files(source):
        outer.update(f"{path.relative_to(source).as_posix()}\0{_file_sha256(path)}\n".encode())
    return outer.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return digest.hexdigest()


def encode_page(page: PageImage) -> bytes:
    """A page raster as a lossless PNG, with its resolution; a pure black-and-white
    page as 1-bit. Same pixels, same bytes (so the same content hash)."""
    from PIL import Image

    pixels = page.pixels
    if pixels.ndim == 3:
        image = Image.fromarray(np.ascontiguousarray(pixels[:, :, ::-1]), "RGB")
    elif bool(((pixels == 0) | (pixels == 255)).all()):
        image = Image.fromarray(pixels > 127)
    else:
        image = Image.fromarray(pixels, "L")
    out = io.BytesIO()
    dpi = round(page.dpi)
    image.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _page_count(data: bytes, media_type: str) -> int:
    if media_type == "application/pdf":
        import pikepdf

        try:
            with pikepdf.open(io.BytesIO(data)) as pdf:
                return len(pdf.pages)
        except pikepdf.PasswordError:
            raise EncryptedInput("PDF is encrypted (password required)") from None
        except pikepdf.PdfError as exc:
            raise CorruptInput(f"cannot read PDF: {exc}") from None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(getattr(image, "n_frames", 1))
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptInput(f"cannot decode image: {exc}") from None


def _iter_page_images(data: bytes, media_type: str, settings: Settings) -> Iterator[PageImage]:
    # One page at a time (ingest.load_pages would hold a whole book's rasters).
    if media_type == "application/pdf":
        return ingest._pdf_pages(data, settings)
    return ingest._image_pages(data, settings)


def split_file(path: Path, name: str, settings: Settings, storage: Any = None) -> Iterator[SourcePage]:
    """The pages of one file: a single-page scan as it is, each page of a multi-page
    PDF or TIFF as a PNG named `<stem>_p0001.png`. A file that cannot be read gives
    one failed page (and is kept under `<agency>/rejected/` when `storage` is given)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield SourcePage(name, None, error=f"cannot read: {exc.strerror or exc}")
        return
    try:
        source = ingest.describe(name, data, settings)
    except InputError as exc:
        if storage is not None and data:  # refused, but still kept with its reason
            unknown = SourceFile(
                name=name,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                media_type="application/octet-stream",
            )
            # (duck-typed: keep_rejected reads only .storage and .settings)
            keep_rejected(unknown, data, str(exc), SimpleNamespace(storage=storage, settings=settings))  # type: ignore[arg-type]
        yield SourcePage(name, None, error=str(exc))
        return
    try:
        count = _page_count(data, source.media_type) if source.media_type in MULTI_PAGE else 1
        if count > settings.max_pages:
            raise TooLarge(f"{count} pages exceed the limit of {settings.max_pages}")
        if count <= 1:
            yield SourcePage(name, data, source.media_type)
            return
        stem = Path(name).stem
        for page in _iter_page_images(data, source.media_type, settings):
            yield SourcePage(f"{stem}_p{page.number:04d}.png", encode_page(page), "image/png")
    except InputError as exc:
        if storage is not None:
            keep_rejected(source, data, str(exc), SimpleNamespace(storage=storage, settings=settings))  # type: ignore[arg-type]
        yield SourcePage(name, None, error=str(exc))


def split_source(source: Path, settings: Settings, storage: Any = None) -> Iterator[SourcePage]:
    """Every page of the book, in order (a folder: files in natural name order)."""
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    for path in source_files(source):
        name = path.relative_to(source).as_posix().replace("/", "_") if source.is_dir() else path.name
        yield from split_file(path, name, settings, storage)


def input_key(agency: str, sha256: str, media_type: str) -> str:
    return f"{agency}/inputs/{sha256}.{EXTENSIONS.get(media_type, 'bin')}"


def store_page(page: SourcePage, settings: Settings, storage: Any, policy: RetryPolicy) -> tuple[str, str]:
    """Store a page's bytes under its content key (once); returns (key, sha256)."""
    assert page.data is not None
    sha = hashlib.sha256(page.data).hexdigest()
    key = input_key(settings.agency, sha, page.media_type)

    def put() -> None:
        if not storage.exists(key):
            storage.put(key, page.data, content_type=page.media_type)

    with_retries(put, policy, f"store {page.name}")
    return key, sha


# ------------------------------------------------------------------ reports


def batch_id_for(agency: str, book: str, digest: str) -> str:
    """Same agency, book and source content: same batch id."""
    return hashlib.sha256(f"{agency}\0{book}\0{digest}".encode()).hexdigest()[:24]


def report_key(agency: str, batch_id: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{8,64}", batch_id or ""):
        raise InputError(f"{batch_id!r} is not a batch id")
    return f"{agency}/batches/{batch_id}.json"


def _now() -> str:
    return datetime.now(VN_TZ).replace(microsecond=0).isoformat()


def apply_outcome(entry: dict[str, Any], outcome: Outcome) -> None:
    entry.pop("state", None)
    if outcome.get("ok"):
        entry.update(
            status="done",
            result_id=outcome["result_id"],
            records=outcome.get("records", 0),
            doc_types=outcome.get("doc_types", []),
            review=outcome.get("review", []),
            reused=bool(outcome.get("reused")),
        )
        entry.pop("error", None)
    else:
        entry.update(status="failed", error=str(outcome.get("error") or "failed"))


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    pages = report.get("pages") or []
    done = [p for p in pages if p.get("status") == "done"]
    summary = {
        "pages": len(pages),
        "done": len(done),
        "failed": sum(1 for p in pages if p.get("status") == "failed"),
        "pending": sum(1 for p in pages if p.get("status") == "pending"),
        "reused": sum(1 for p in done if p.get("reused")),
        "records": sum(int(p.get("records") or 0) for p in done),
        "fields_to_review": sum(len(p.get("review") or []) for p in done),
        "pages_to_review": sum(1 for p in done if p.get("review")),
    }
    report["summary"] = summary
    return summary


def save_report(report: dict[str, Any], storage: Any, policy: RetryPolicy) -> None:
    report["updated_at"] = _now()
    summarise(report)
    key = report_key(report["agency"], report["id"])
    body = json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8")
    with_retries(lambda: storage.put(key, body, content_type="application/json"), policy, f"save report {key}")


def load_report(batch_id: str, settings: Settings, storage: Any) -> dict[str, Any]:
    try:
        return json.loads(storage.get(report_key(settings.agency, batch_id)))
    except NotFound:
        raise NotFound(f"no batch with id {batch_id}") from None


class Events(Protocol):
    def split(self, pages: int) -> None:
        """Called as pages are split (the number known so far)."""

    def page(self, entry: dict[str, Any]) -> None:
        """Called once per page when it is done or failed."""


class _Quiet:
    def split(self, pages: int) -> None: ...

    def page(self, entry: dict[str, Any]) -> None: ...


# ------------------------------------------------------------------ orchestration


def run_batch(
    source: Path,
    book: str,
    settings: Settings,
    *,
    doc_type: str = "auto",
    workers: int = 0,
    wait: bool = True,
    events: Events | None = None,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Split `source`, process every page (skipping pages already done), and return
    the book report; it is saved at `<agency>/batches/<id>.json` at the start, after
    the split, and at the end. With `wait=False` (broker only) it returns once every
    page is queued; `batch_status` follows it from there."""
    from .index import make_index
    from .storage import make_storage

    book = " ".join(str(book).split())
    if not book:
        raise InputError("a book id is needed (--book-id)")
    events = events or _Quiet()
    policy = RetryPolicy.from_settings(settings)
    storage = make_storage(settings)
    index = make_index(settings)
    runner = runner or make_runner(settings, workers)
    if not wait and runner.mode == "local":
        raise ConfigError("not waiting needs a broker (DIGITIZE_BROKER): local pages run in this process")
    batch_id = batch_id_for(settings.agency, book, source_digest(source))
    report: dict[str, Any] = {
        "id": batch_id,
        "book": book,
        "agency": settings.agency,
        "source": {"path": str(source), "kind": _kind(source)},
        "doc_type": doc_type,
        "mode": runner.mode,
        "state": "splitting",
        "created_at": _now(),
        "updated_at": "",
        "pages": [],
    }
    waiting: dict[str, list[dict[str, Any]]] = {}  # task id -> page entries (a page can repeat in a book)
    by_sha: dict[str, str] = {}  # sha256 -> task id, or "" when already done
    finished: dict[str, Outcome] = {}  # sha256 -> outcome, pages finished in this run
    try:
        save_report(report, storage, policy)
        for number, page in enumerate(split_source(source, settings, storage), 1):
            entry: dict[str, Any] = {"number": number, "name": page.name}
            report["pages"].append(entry)
            events.split(len(report["pages"]))
            if page.error is not None:
                apply_outcome(entry, {"ok": False, "error": page.error})
                events.page(entry)
                continue
            key, sha = store_page(page, settings, storage, policy)
            entry.update(sha256=sha, key=key, status="pending")
            if sha in finished:
                apply_outcome(entry, finished[sha])
                events.page(entry)
                continue
            if sha in by_sha:
                entry["task"] = by_sha[sha]
                waiting[by_sha[sha]].append(entry)
                continue
            done = with_retries(lambda: stored_outcome(sha, index, storage), policy, f"look up {page.name}")
            if done is not None:
                finished[sha] = done
                apply_outcome(entry, done)
                events.page(entry)
                continue
            task_id = runner.submit(make_ref(key, sha, page.name, book, doc_type))
            by_sha[sha] = entry["task"] = task_id
            waiting[task_id] = [entry]
        report["state"] = "running"
        save_report(report, storage, policy)
        if not wait:
            return report
        for task_id, outcome in runner.outcomes():
            entries = waiting.pop(task_id, [])
            if entries:
                outcome = settled(outcome, entries[0]["sha256"], index, storage, policy)
            for entry in entries:
                apply_outcome(entry, outcome)
                events.page(entry)
        report["state"] = "done"
        save_report(report, storage, policy)
        return report
    except QueueUnavailable as exc:
        # The pages already queued go on in the workers; the report says where the book stands.
        with contextlib.suppress(DigitizeError):
            save_report(report, storage, policy)
        raise QueueUnavailable(
            f"{exc}; book {batch_id} goes on in the workers: digitize batch --status {batch_id}"
        ) from None
    finally:
        runner.close()
        index.close()


def settled(outcome: Outcome, sha256: str, index: Any, storage: Any, policy: RetryPolicy) -> Outcome:
    """A page's outcome as the archive has it: a task recorded as failed whose page is
    stored and indexed (its result was lost in a broker restart, say) is done; and a
    page this batch sent is not "reused", even when a second delivery found it done."""
    if not outcome.get("ok"):
        stored = with_retries(lambda: stored_outcome(sha256, index, storage), policy, "look up a failed page")
        if stored is None:
            return outcome
        outcome = stored
    return dict(outcome, reused=False)


def _kind(source: Path) -> str:
    if source.is_dir():
        return "folder"
    return {".pdf": "pdf", ".tif": "tiff", ".tiff": "tiff"}.get(source.suffix.lower(), "image")


def batch_status(batch_id: str, settings: Settings) -> dict[str, Any]:
    """The saved report with its pending pages looked up again: in the index (done),
    then, with a broker, in Celery's results (failed, or still queued/retrying)."""
    from .index import make_index
    from .storage import make_storage

    storage = make_storage(settings)
    report = load_report(batch_id, settings, storage)
    # Pending pages, and pages recorded as failed that have a stored page: the index
    # has the last word (a task recorded as failed may have stored its page).
    unsettled = [p for p in report.get("pages") or [] if p.get("sha256") and p.get("status") in ("pending", "failed")]
    pending = [p for p in unsettled if p.get("status") == "pending"]
    if unsettled:
        index = make_index(settings)
        try:
            for entry in unsettled:
                done = stored_outcome(entry["sha256"], index, storage)
                if done is not None:  # done by this book's tasks, not reused from before it
                    apply_outcome(entry, dict(done, reused=False))
        finally:
            index.close()
    still = [p for p in pending if p.get("status") == "pending" and p.get("task")]
    if still and settings.broker:
        states = distributed_queue().task_states(settings, sorted({p["task"] for p in still}))
        for entry in still:
            state, outcome = states.get(entry["task"], ("PENDING", None))
            if outcome is not None:
                apply_outcome(entry, outcome)
            else:
                entry["state"] = state
    summary = summarise(report)
    if report.get("state") != "splitting" and not summary["pending"]:
        report["state"] = "done"
    return report
