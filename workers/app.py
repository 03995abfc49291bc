"""The Celery application: JSON messages, late acks, one page per task.

Reliability settings (why each is there):
- task_acks_late + task_reject_on_worker_lost: a page whose worker dies (kill -9,
  out of memory, lost machine) goes back on the queue instead of being lost;
- worker_prefetch_multiplier=1: a worker holds no more pages than it runs;
- broker visibility_timeout (Redis): a message not acked within this many
  seconds is given to another worker. It must be longer than the longest page
  (task_time_limit) plus the longest retry countdown, or a slow page would run
  twice; `configure` refuses settings that break this.

Environment (beyond digitize.config): DIGITIZE_PAGE_TIME_LIMIT (seconds, default
900; a page over it fails with "time limit"), DIGITIZE_VISIBILITY_TIMEOUT
(default 3600), DIGITIZE_RESULT_BACKEND (default: the broker URL),
DIGITIZE_RETRY_MAX / DIGITIZE_RETRY_BACKOFF_MAX (see digitize.batch.RetryPolicy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from celery import Celery

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
)


@dataclass(frozen=True)
class WorkerLimits:
    page_time_limit: int = 900
    visibility_timeout: int = 3600

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "WorkerLimits":
        env = dict(os.environ if env is None else env)
        try:
            limits = cls(page_time_limit=int(env.get("DIGITIZE_PAGE_TIME_LIMIT") or cls.page_time_limit),
                         visibility_timeout=int(env.get("DIGITIZE_VISIBILITY_TIMEOUT") or cls.visibility_timeout))
        except ValueError as exc:
            raise ConfigError(f"worker limits: {exc}") from None
        retry = RetryPolicy.from_env(env)
        if limits.page_time_limit < 2:
            raise ConfigError("DIGITIZE_PAGE_TIME_LIMIT must be at least 2 seconds")
        if limits.visibility_timeout <= limits.page_time_limit + retry.maximum:
            raise ConfigError(
                f"DIGITIZE_VISIBILITY_TIMEOUT ({limits.visibility_timeout}s) must be longer than the page time "
                f"limit ({limits.page_time_limit}s) plus the longest retry wait ({retry.maximum:g}s)")
        return limits


def configure(settings: Settings, env: dict[str, str] | None = None) -> Celery:
    """Point the app at the configured broker; validate the limits."""
    if not settings.broker:
        raise ConfigError("Celery needs a broker: set DIGITIZE_BROKER (e.g. redis://localhost:6379/0)")
    env = dict(os.environ if env is None else env)
    limits = WorkerLimits.from_env(env)
    vt = limits.visibility_timeout
    app.conf.update(
        broker_url=settings.broker,
        result_backend=env.get("DIGITIZE_RESULT_BACKEND") or settings.broker,
        broker_transport_options={
            "visibility_timeout": vt,
            # Look for messages of dead workers every few seconds (default: every 100 s).
            "unacked_restore_interval": max(1, min(10, vt // 10)),
            "unacked_restore_throttle": 1,
        },
        result_backend_transport_options={"visibility_timeout": vt},
        task_time_limit=limits.page_time_limit,
        task_soft_time_limit=max(1, limits.page_time_limit - max(1, limits.page_time_limit // 20)),
    )
    return app


if os.environ.get("DIGITIZE_BROKER"):  # `celery -A workers.app worker` configures from the environment
    configure(load_settings())
