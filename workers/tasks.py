"""The page task: thin, it only calls `digitize.batch.process_page`.

Each worker process builds its runner (`digitize.runner`: the engines and the
pipeline on them) once, after the prefork fork, on first use. A transient
storage/index failure is retried with exponential backoff (a new message with a
countdown; the failed attempt is acked after the retry is queued). A short Redis
lease per page content keeps two workers from processing the same page at once
(the same book submitted twice at the same time, or a page redelivered while its
first worker still runs it); a thread keeps the lease alive while the page runs,
so a dead worker's lease lapses within `WorkerLimits.lease_ttl` seconds (half a
minute by default) instead of blocking the page for a whole time limit."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable, Iterator, TypeVar

from digitize.batch import RetryPolicy, check_ref, is_transient, process_page
from digitize.runner import PipelineRunner, process_runner

from .app import PAGE_TASK, WorkerLimits, app, configured_settings

log = logging.getLogger(__name__)
logging.getLogger("fontTools").setLevel(logging.WARNING)  # one INFO line per table per page otherwise

LEASE_WAIT = 3.0  # seconds between looks at a page another worker holds
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"
REDIS_PATIENCE = 120.0  # seconds a task rides through a Redis restart before giving the page back
T = TypeVar("T")

_redis: Any = None


def runner() -> PipelineRunner:
    """This worker process's runner, built on its first page."""
    return process_runner(configured_settings())


def _lease_client() -> Any:
    global _redis
    broker = str(app.conf.broker_url or "")
    if not broker.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(broker, socket_timeout=10, socket_connect_timeout=5)
    return _redis


def _patiently(call: Callable[[], T], what: str) -> T:
    """A Redis call that rides through a short broker restart (backoff up to
    REDIS_PATIENCE seconds), so a restart does not fail a page that is fine."""
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeout

    deadline, wait = time.monotonic() + REDIS_PATIENCE, 0.5
    while True:
        try:
            return call()
        except (RedisConnectionError, RedisTimeout) as exc:
            if time.monotonic() + wait > deadline:
                raise
            log.warning("%s: Redis unreachable (%s); again in %.1fs", what, " ".join(str(exc).split()), wait)
            time.sleep(wait)
            wait = min(wait * 2, 10.0)


class _LeaseKeeper(threading.Thread):
    """Renews a held lease every `every` seconds until stopped (or the lease is lost)."""

    def __init__(self, client: Any, key: str, token: str, ttl: int, every: float) -> None:
        super().__init__(name=f"lease {key[-12:]}", daemon=True)
        self.client, self.key, self.token, self.ttl, self.every = client, key, token, ttl, every
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                if not self.client.eval(_RENEW, 1, self.key, self.token, self.ttl):
                    # Lost (Redis restarted empty, or it lapsed): take it again if free.
                    self.client.set(self.key, self.token, nx=True, ex=self.ttl)
            except Exception as exc:  # noqa: BLE001 - Redis away for a moment: renew next time
                log.warning("lease %s: %s", self.key, " ".join(str(exc).split()))


@contextlib.contextmanager
def page_lease(sha256: str, limits: WorkerLimits) -> Iterator[bool]:
    client = _lease_client()
    if client is None:
        yield True
        return
    key = f"digitize:lease:{sha256}"
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    held = bool(_patiently(lambda: client.set(key, token, nx=True, ex=limits.lease_ttl), f"lease {sha256[:12]}"))
    keeper = _LeaseKeeper(client, key, token, limits.lease_ttl, limits.heartbeat) if held else None
    if keeper is not None:
        keeper.start()
    try:
        yield held
    finally:
        if keeper is not None:
            keeper.done.set()
            keeper.join(timeout=5)
            with contextlib.suppress(Exception):
                client.eval(_RELEASE, 1, key, token)


@app.task(name=PAGE_TASK, bind=True, max_retries=None)
def process_page_task(self, ref: dict[str, Any], failures: int = 0) -> dict[str, Any]:
    """One stored page -> its outcome (JSON)."""
    try:
        ref = check_ref(ref)
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    settings = configured_settings()
    limits = WorkerLimits.from_settings(settings)
    policy = RetryPolicy.from_settings(settings)
    with page_lease(ref["sha256"], limits) as held:
        if held:
            try:
                return process_page(ref, runner())
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
