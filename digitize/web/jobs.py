"""Running the pipeline for the web app.

Tesseract runs one page at a time per process, so parallel work needs
processes: `Processor` keeps two pools of worker processes (spawned, each with
its own `runner.PipelineRunner`, recycled after `max_tasks` files): an interactive pool for
the one-page uploads made at the counter, and a batch pool for multi-page jobs,
so that a long book cannot hold up the counter. With `processes=0` the work
runs in a thread of this process instead (tests, small machines).

Only JSON-safe values cross the process boundary (name, bytes, agency, doc
type); the result comes back as the CONTRACT dict. Page progress comes back on
a queue and lands in the jobs table."""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from dataclasses import replace
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from ..config import Settings
from ..errors import DigitizeError, EngineError
from ..types import Result

log = logging.getLogger(__name__)

_progress_queue = None


PARENT_CHECK_S = 1.0


def _die_with_parent() -> None:
    """End this worker when the server process ends, however it ends (SIGKILL included), so an
    orphaned worker never goes on reading a long document for nobody.

    A thread watches the parent's pid. (Linux's PR_SET_PDEATHSIG is no use here: it fires when
    the *thread* that started the worker ends, and the pools are started from short-lived
    threads, the warm-up's or a request's, which killed every worker right after start-up.)"""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent:  # re-parented: the server is gone
                os._exit(0)

    if parent == 1:  # the parent was already gone before this worker started
        os._exit(0)
    threading.Thread(target=watch, name="digitize-parent-watch", daemon=True).start()


def _init_worker(settings: Settings, progress_queue: Any) -> None:
    global _progress_queue
    from ..runner import process_runner

    if mp.current_process().name != "MainProcess":  # a process pool's worker, not a thread
        _die_with_parent()

    process_runner(settings).warm_up()  # the counter's first upload waits for no first use
    _progress_queue = progress_queue


def _run(
    name: str,
    data: bytes,
    agency: str,
    doc_type: str,
    book: str | None,
    job_id: str | None,
    result_id: str | None = None,
) -> tuple[str, Any, str]:
    """('ok', result, '') or ('error', error class name, message); never raises a pipeline error."""
    from ..runner import current_runner

    def progress(stage: str, page: int, total: int) -> None:
        if job_id and _progress_queue is not None:
            done = page - 1 if stage == "ocr" else total
            try:
                _progress_queue.put_nowait((job_id, done, total, stage))
            except Exception:  # progress is best effort
                pass

    try:
        result = (
            current_runner()
            .for_agency(agency)
            .process(name, data, doc_type=doc_type, book=book, progress=progress, result_id=result_id)
        )
        return "ok", result, ""
    except DigitizeError as exc:
        return "error", type(exc).__name__, str(exc)
    except MemoryError:
        return "error", "TooLarge", "out of memory while processing this file"
    except Exception as exc:  # a bug: logged here, reported without internals
        log.exception("pipeline failed on %s", name)
        return "error", "InternalError", f"internal error ({type(exc).__name__})"


class Processor:
    def __init__(
        self,
        settings: Settings,
        *,
        processes: int = 0,
        batch_processes: int = 1,
        max_tasks: int = 200,
        on_progress: Callable[[str, int, int, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.processes = processes
        self.batch_processes = max(1, batch_processes)
        self.max_tasks = max_tasks
        self.on_progress = on_progress
        self._lock = threading.Lock()
        self._inflight: dict[str, Future] = {}
        self._interactive: Executor | None = None
        self._batch: Executor | None = None
        self._queue: Any = None
        self._listener: threading.Thread | None = None
        self._closed = False

    # pools -------------------------------------------------------------
    def _make_pool(self, size: int, line_threads: int = 1) -> Executor:
        settings = self.settings
        if not settings.ocr_line_threads:
            settings = replace(settings, ocr_line_threads=line_threads)
        if self.processes <= 0:
            return ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="digitize-page",
                initializer=_init_worker,
                initargs=(settings, self._queue),
            )
        ctx = mp.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=size,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(settings, self._queue),
            max_tasks_per_child=self.max_tasks,
        )

    def _pools(self) -> tuple[Executor, Executor]:
        with self._lock:
            if self._closed:
                raise EngineError("server is shutting down")
            if self._queue is None:
                self._queue = mp.get_context("spawn").Queue() if self.processes > 0 else queue.Queue()
                self._listener = threading.Thread(target=self._listen, name="digitize-progress", daemon=True)
                self._listener.start()
            if self._interactive is None:
                # a page at the counter reads its lines on every core (benchmarks/bench_web.py,
                # one upload after another: p50 1.31-1.46 -> 1.18-1.30 s in paired runs; 30 at
                # once no slower); a batch's pages already fill the cores one per process
                self._interactive = self._make_pool(self.processes or 1, line_threads=os.cpu_count() or 1)
                # In-process mode shares one thread: Tesseract is one engine per process anyway.
                self._batch = self._interactive if self.processes <= 0 else self._make_pool(self.batch_processes)
            return self._interactive, self._batch  # type: ignore[return-value]

    def _listen(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.on_progress is not None:
                try:
                    self.on_progress(*item)
                except Exception:
                    log.exception("progress callback failed")

    def warm_up(self) -> None:
        """Start the worker processes now rather than on the first upload."""
        interactive, batch = self._pools()
        for pool in {id(interactive): interactive, id(batch): batch}.values():
            pool.submit(os.getpid).result()

    # work --------------------------------------------------------------
    def submit(
        self,
        key: str,
        name: str,
        data: bytes,
        agency: str,
        *,
        doc_type: str = "auto",
        book: str | None = None,
        job_id: str | None = None,
        batch: bool = False,
        result_id: str | None = None,
    ) -> Future:
        """A future of `_run`'s tuple. The same `key` (result id) in flight twice runs once.
        `result_id`: an id other than the content's (see `pipeline.agency_result_id`)."""
        with self._lock:
            running = self._inflight.get(key)
            if running is not None and not running.done():
                return running
        interactive, batch_pool = self._pools()
        pool = batch_pool if batch else interactive
        try:
            future = pool.submit(_run, name, data, agency, doc_type, book, job_id, result_id)
        except BrokenProcessPool:
            self._reset()
            pool = self._pools()[1 if batch else 0]
            future = pool.submit(_run, name, data, agency, doc_type, book, job_id, result_id)
        with self._lock:
            self._inflight[key] = future
        future.add_done_callback(lambda f: self._forget(key, f))
        return future

    def _forget(self, key: str, future: Future) -> None:
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        exc = future.exception() if not future.cancelled() else None
        if isinstance(exc, BrokenProcessPool):
            self._reset()

    def _reset(self) -> None:
        with self._lock:
            pools = {id(p): p for p in (self._interactive, self._batch) if p is not None}
            self._interactive = self._batch = None
        for pool in pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools = {id(p): p for p in (self._interactive, self._batch) if p is not None}
            self._interactive = self._batch = None
        for pool in pools.values():
            # Queued jobs are cancelled; a running one is not waited for past a grace period
            # (a long document would hold the shutdown, then run on, orphaned).
            pool.shutdown(wait=False, cancel_futures=True)
            _end_workers(pool, grace=10.0)
        if self._queue is not None:
            self._queue.put(None)
            if self._listener is not None:
                self._listener.join(timeout=5)


def _end_workers(pool: Executor, grace: float) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


def outcome(value: tuple[str, Any, str]) -> Result:
    """The result of a finished `_run`, or raise the typed error it reported."""
    from .. import errors

    status, payload, message = value
    if status == "ok":
        return payload
    cls = getattr(errors, payload, None)
    if isinstance(cls, type) and issubclass(cls, DigitizeError):
        raise cls(message)
    raise _PipelineBug(message)


class _PipelineBug(Exception):
    pass
