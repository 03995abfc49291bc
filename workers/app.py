"""The Celery application: JSON messages, late acks, one page per task.

Reliability settings (why each is there):
- task_acks_late + task_reject_on_worker_lost: a page whose worker dies (kill -9,
  out of memory, lost machine) goes back on the queue instead of being lost;
- worker_prefetch_multiplier=1: a worker holds no more pages than it runs;
- a short broker visibility timeout (Redis) kept alive by a heartbeat: every
  worker re-stamps the messages it holds (running, or waiting for a retry
  countdown) every `heartbeat` seconds (`UnackedHeartbeat`). A live worker keeps
  its pages however long they take; a dead worker's stamps stop, and its pages go
  back on the queue after `visibility_timeout` seconds (a minute by default, where
  Redis's own default leaves them for an hour). The per-page lease (workers.tasks)
  is kept alive the same way, so it never outlives its worker by more than
  `lease_ttl` seconds;
- result_backend_always_retry: a result written while Redis restarts is written
  once it is back, so a page stored and indexed is never recorded as failed.

Settings (digitize.config): page_time_limit (a page over it fails with "time
limit"), visibility_timeout, result_backend, retry_max / retry_backoff_max (see
digitize.batch.RetryPolicy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from celery import Celery, bootsteps

from digitize.batch import RetryPolicy
from digitize.config import Settings, load_settings
from digitize.errors import ConfigError

QUEUE = "digitize"
PAGE_TASK = "digitize.page"

app = Celery("digitize", include=["workers.tasks"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_acks_on_failure_or_timeout=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    task_track_started=True,
    result_expires=7 * 24 * 3600,
    broker_connection_retry_on_startup=True,
    worker_max_tasks_per_child=500,  # recycle page processes: memory does not creep up
    worker_send_task_events=False,
    enable_utc=True,
    timezone="Asia/Ho_Chi_Minh",
    result_backend_always_retry=True,
    result_backend_max_retries=60,
    result_backend_max_sleep_between_retries_ms=5000,
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerLimits:
    """Time limits that must agree with each other (checked in `from_env`)."""

    page_time_limit: int = 300
    visibility_timeout: int = 60

    @property
    def heartbeat(self) -> float:
        """Seconds between re-stamps of held messages and leases: several per timeout."""
        return max(1.0, self.visibility_timeout / 6)

    @property
    def lease_ttl(self) -> int:
        """A page lease outlives its last heartbeat by this much."""
        return max(3, int(self.heartbeat * 3))

    @classmethod
    def from_settings(cls, settings: Settings) -> "WorkerLimits":
        limits = cls(page_time_limit=settings.page_time_limit, visibility_timeout=settings.visibility_timeout)
        RetryPolicy.from_settings(settings)
        if limits.page_time_limit < 2:
            raise ConfigError("DIGITIZE_PAGE_TIME_LIMIT must be at least 2 seconds")
        if limits.visibility_timeout < 6:
            # The heartbeat re-stamps held messages every timeout/6 seconds; below
            # this a busy Redis round trip could let a live worker's page be redelivered.
            raise ConfigError(f"DIGITIZE_VISIBILITY_TIMEOUT ({limits.visibility_timeout}s) must be at least 6 seconds")
        return limits

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "WorkerLimits":
        return cls.from_settings(load_settings(env=env))


class UnackedHeartbeat(bootsteps.StartStopStep):
    """Re-stamp, every `heartbeat` seconds, the Redis unacked-index score of every
    message this worker holds, so that a live worker keeps its pages while a dead
    worker's pages come back after one visibility timeout.

    Kombu's Redis transport gives a message back to the queue when its score (the
    time it was delivered) is older than the visibility timeout; it has no
    heartbeat of its own, so the timeout had to exceed the longest page plus the
    longest retry countdown (an hour by default) and a killed worker stalled its
    book that long. The stamps go through the transport's own QoS pipeline, on the
    consumer's event loop, as kombu's own bookkeeping does."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        interval = WorkerLimits.from_settings(configured_settings()).heartbeat
        self.tref = parent.timer.call_repeatedly(interval, restamp_held_messages, (parent,), priority=10)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    shutdown = stop


def restamp_held_messages(consumer: Any) -> int:
    """Stamp the messages `consumer` holds as delivered now; returns how many."""
    channel = getattr(getattr(consumer, "task_consumer", None), "channel", None)
    qos = getattr(channel, "qos", None)
    if qos is None or not hasattr(qos, "unacked_index_key"):
        return 0  # not the Redis transport: nothing to keep alive
    dirty: set[str] = getattr(qos, "_dirty", set())
    tags = [tag for tag in list(getattr(qos, "_delivered", {})) if tag not in dirty]
    if not tags:
        return 0
    now = time.time()
    try:
        with qos.pipe_or_acquire() as pipe:
            # XX: only messages still unacked; an acked one must not come back.
            pipe.zadd(qos.unacked_index_key, {tag: now for tag in tags}, xx=True).execute()
    except Exception as exc:  # noqa: BLE001 - Redis away: the consumer reconnects; stamp next time
        log.warning("could not re-stamp %d held messages: %s", len(tags), " ".join(str(exc).split()))
        return 0
    return len(tags)


app.steps["consumer"].add(UnackedHeartbeat)


def configure(settings: Settings) -> Celery:
    """Point the app at the configured broker; validate the limits."""
    global _settings
    if not settings.broker:
        raise ConfigError("Celery needs a broker: set DIGITIZE_BROKER (e.g. redis://localhost:6379/0)")
    limits = WorkerLimits.from_settings(settings)
    _settings = settings
    vt = limits.visibility_timeout
    app.conf.update(
        broker_url=settings.broker,
        result_backend=settings.result_backend or settings.broker,
        broker_transport_options={
            "visibility_timeout": vt,
            # Look for messages of dead workers every few seconds (default: every 100 s).
            "unacked_restore_interval": max(1, min(10, vt // 6)),
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": vt},
        task_time_limit=limits.page_time_limit,
        task_soft_time_limit=max(1, limits.page_time_limit - max(1, limits.page_time_limit // 20)),
    )
    return app


_settings: Settings | None = None


def configured_settings() -> Settings:
    """The settings the app was configured with (a worker's, from its environment)."""
    global _settings
    if _settings is None:
        _settings = load_settings()
    return _settings


def _configure_from_settings() -> None:
    """`celery -A workers.app worker` configures the app at import, from this process's
    settings (the environment and DIGITIZE_CONFIG), when they name a broker."""
    settings = load_settings()
    if settings.broker:
        configure(settings)


_configure_from_settings()
