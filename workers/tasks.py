"""The page task: thin, it only calls `digitize.batch.process_page`.

Engines are built once per worker process (after the prefork fork, on first
use). A transient storage/index failure is retried with exponential backoff
(a new message with a countdown; the failed attempt is acked after the retry
is queued). A short Redis lease per page content keeps two workers from
processing the same page at once (the same book submitted twice at the same
time); the lease expires with the page time limit, so a dead worker's lease
never blocks the page for longer than that."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from typing import Any, Iterator

from digitize.batch import RetryPolicy, check_ref, is_transient, process_page
from digitize.config import load_settings

from .app import PAGE_TASK, WorkerLimits, app

log = logging.getLogger(__name__)
logging.getLogger("fontTools").setLevel(logging.WARNING)  # one INFO line per table per page otherwise

LEASE_WAIT = 3.0  # seconds between looks at a page another worker holds
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

_engines: Any = None
_engines_pid = 0
_redis: Any = None


def engines() -> Any:
    global _engines, _engines_pid
    if _engines is None or _engines_pid != os.getpid():
        from digitize.pipeline import Engines

        _engines, _engines_pid = Engines.from_settings(load_settings()), os.getpid()
    return _engines


def _lease_client() -> Any:
    global _redis
    broker = str(app.conf.broker_url or "")
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(broker, socket_timeout=10, socket_connect_timeout=5)
    return _redis


@contextlib.contextmanager
def page_lease(sha256: str, ttl: int) -> Iterator[bool]:
    client = _lease_client()
    if client is None:
        yield True
        return
    key = f"digitize:lease:{sha256}"
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    held = bool(client.set(key, token, nx=True, ex=ttl))
    try:
        yield held
    finally:
        if held:
            with contextlib.suppress(Exception):
                client.eval(_RELEASE, 1, key, token)


@app.task(name=PAGE_TASK, bind=True, max_retries=None)
def process_page_task(self, ref: dict[str, Any], failures: int = 0) -> dict[str, Any]:
    """One stored page -> its outcome (JSON)."""
    try:
        ref = check_ref(ref)
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    limits = WorkerLimits.from_env()
    policy = RetryPolicy.from_env()
    with page_lease(ref["sha256"], limits.page_time_limit + 5) as held:
        if held:
            try:
                return process_page(ref, engines())
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if failures >= policy.max_retries:
                    return {"ok": False, "error": f"gave up after {failures + 1} attempts: {exc}"}
                wait = policy.delay(failures)
                log.warning("page %s: %s; retry %d in %.1fs", ref["name"], exc, failures + 1, wait)
                retry_exc = exc
                countdown, failures = wait, failures + 1
        else:
            retry_exc, countdown = None, LEASE_WAIT  # another worker has this page: look again soon
    raise self.retry(args=[ref], kwargs={"failures": failures}, countdown=countdown, exc=retry_exc)
