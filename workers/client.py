"""The submitting side: queue pages on the broker and collect their outcomes."""

from __future__ import annotations

import logging
import os
import time
import uuid
from typing import Any, Iterator

from digitize.batch import Outcome, PageRef
from digitize.config import Settings
from digitize.errors import QueueUnavailable

from .app import PAGE_TASK, QUEUE, configure

log = logging.getLogger(__name__)


def _outcome(meta: dict[str, Any]) -> Outcome | None:
    """A finished task's outcome from its result meta; None while it is not finished."""
    status = meta.get("status")
    result = meta.get("result")
    if status == "SUCCESS":
        return result if isinstance(result, dict) and "ok" in result else {"ok": False, "error": "bad task result"}
    if status in ("FAILURE", "REVOKED", "REJECTED"):
        if isinstance(result, BaseException):
            reason = f"{type(result).__name__}: {result}"
        elif isinstance(result, dict):
            reason = f"{result.get('exc_type', 'error')}: {result.get('exc_message', '')}"
        else:
            reason = str(result or status)
        return {"ok": False, "error": " ".join(f"task {status.lower()}: {reason}".split())[:300]}
    return None


def broker_errors() -> tuple[type[BaseException], ...]:
    """What a lost Redis connection raises, through redis-py, kombu or the socket."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout

    return (RedisConnectionError, RedisTimeout, OperationalError, ConnectionError, TimeoutError)


class CeleryRunner:
    """Pages as Celery tasks. Waiting rides through broker restarts: a lost
    connection is retried with backoff for up to `patience` seconds (then
    `QueueUnavailable`, one line), and after a reconnection every page the broker no
    longer knows is sent again under the same task id (a Redis that restarted
    without its data lost the messages; a page sent twice is done once: the page
    lease and the index see to that)."""

    mode = "celery"

    def __init__(self, settings: Settings, patience: float | None = None) -> None:
        self.app = configure(settings)
        self.patience = settings.broker_patience if patience is None else patience
        self._refs: dict[str, PageRef] = {}

    def submit(self, ref: PageRef) -> str:
        task_id = uuid.uuid4().hex
        self._patiently(lambda: self._send(task_id, ref), f"queue {ref.get('name')}")
        self._refs[task_id] = ref
        return task_id

    def _send(self, task_id: str, ref: PageRef) -> None:
        self.app.send_task(PAGE_TASK, args=[ref], task_id=task_id, queue=QUEUE)

    def outcomes(self) -> Iterator[tuple[str, Outcome]]:
        pending = set(self._refs)
        while pending:
            try:
                for task_id, meta in self.app.backend.get_many(set(pending), interval=0.5, no_ack=True):
                    outcome = _outcome(meta)
                    if outcome is not None and task_id in pending:
                        pending.discard(task_id)
                        yield task_id, outcome
            except broker_errors() as exc:
                self._patiently(self._ping, "wait for pages", first=exc)
                self._resend_unknown(pending)

    def _ping(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
        self.app.backend.get_task_meta(uuid.uuid4().hex)  # the result store answers too

    def _resend_unknown(self, pending: set[str]) -> None:
        for task_id in sorted(pending):
            if self.app.backend.get_task_meta(task_id).get("status") == "PENDING":
                self._patiently(lambda: self._send(task_id, self._refs[task_id]), "queue again")
                log.info("page %s sent again after the broker came back", self._refs[task_id].get("name"))

    def _patiently(self, call: Any, what: str, first: BaseException | None = None) -> None:
        deadline, wait = time.monotonic() + self.patience, 0.5
        error = first
        if error is not None:
            log.warning("%s: broker unreachable (%s); reconnecting", what, _one_line(error))
        while True:
            if error is None:
                try:
                    call()
                    return
                except broker_errors() as exc:
                    error = exc
                    log.warning("%s: broker unreachable (%s); reconnecting", what, _one_line(exc))
            if time.monotonic() + wait > deadline:
                raise QueueUnavailable(f"broker unreachable for {self.patience:.0f}s ({_one_line(error)})")
            time.sleep(wait)
            wait, error = min(wait * 2, 15.0), None

    def close(self) -> None:
        pass


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def task_states(settings: Settings, task_ids: list[str]) -> dict[str, tuple[str, Outcome | None]]:
    """{task id: (Celery state, outcome or None)} for `digitize batch --status`."""
    app = configure(settings)
    states: dict[str, tuple[str, Outcome | None]] = {}
    try:
        app.connection_for_write().ensure_connection(max_retries=2)
    except broker_errors() as exc:
        raise QueueUnavailable(f"broker unreachable ({_one_line(exc)})") from None
    for task_id in task_ids:
        result = app.AsyncResult(task_id)
        meta = {"status": result.state, "result": result.result}
        states[task_id] = (result.state, _outcome(meta))
    return states


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 0,
    loglevel: str = "INFO",
    hostname: str = "",
    pool: str = "prefork",
    max_tasks_per_child: int = 0,
) -> None:
    """Run a worker in this process (returns when it is stopped)."""

    app = configure(settings)
    argv = [
        "worker",
        f"--queues={QUEUE}",
        f"--loglevel={loglevel}",
        f"--pool={pool}",
        "--without-gossip",
        "--without-mingle",
        f"--hostname={hostname or f'digitize-{os.getpid()}@%h'}",
    ]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if max_tasks_per_child:
        argv.append(f"--max-tasks-per-child={max_tasks_per_child}")
    app.worker_main(argv)


class CeleryQueue:
    """The distributed queue digitize finds through its `digitize.queues` entry point
    (pyproject.toml): `digitize/` never imports `workers/`; installing the package
    registers this object under the name "celery"."""

    name = "celery"

    def runner(self, settings: Settings) -> CeleryRunner:
        return CeleryRunner(settings)

    def task_states(self, settings: Settings, task_ids: list[str]) -> dict[str, tuple[str, Outcome | None]]:
        return task_states(settings, task_ids)

    def run_worker(
        self,
        settings: Settings,
        *,
        concurrency: int = 0,
        loglevel: str = "INFO",
        hostname: str = "",
        pool: str = "prefork",
        max_tasks_per_child: int = 0,
    ) -> None:
        run_worker(
            settings,
            concurrency=concurrency,
            loglevel=loglevel,
            hostname=hostname,
            pool=pool,
            max_tasks_per_child=max_tasks_per_child,
        )


CELERY = CeleryQueue()
