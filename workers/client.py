"""The submitting side: queue pages on the broker and collect their outcomes."""

from __future__ import annotations

import uuid
from typing import Any, Iterator

from digitize.batch import Outcome, PageRef
from digitize.config import Settings

from .app import PAGE_TASK, QUEUE, configure


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


class CeleryRunner:
    mode = "celery"

    def __init__(self, settings: Settings) -> None:
        self.app = configure(settings)
        self._ids: list[str] = []

    def submit(self, ref: PageRef) -> str:
        task_id = uuid.uuid4().hex
        self.app.send_task(PAGE_TASK, args=[ref], task_id=task_id, queue=QUEUE)
        self._ids.append(task_id)
        return task_id

    def outcomes(self) -> Iterator[tuple[str, Outcome]]:
        if not self._ids:
            return
        for task_id, meta in self.app.backend.get_many(set(self._ids), interval=0.5):
            outcome = _outcome(meta)
            if outcome is not None:
                yield task_id, outcome

    def close(self) -> None:
        pass


def task_states(settings: Settings, task_ids: list[str]) -> dict[str, tuple[str, Outcome | None]]:
    """{task id: (Celery state, outcome or None)} for `digitize batch --status`."""
    app = configure(settings)
    states: dict[str, tuple[str, Outcome | None]] = {}
    for task_id in task_ids:
        result = app.AsyncResult(task_id)
        meta = {"status": result.state, "result": result.result}
        states[task_id] = (result.state, _outcome(meta))
    return states


def run_worker(settings: Settings, *, concurrency: int = 0, loglevel: str = "INFO", hostname: str = "",
               pool: str = "prefork", max_tasks_per_child: int = 0) -> None:
    """Run a worker in this process (returns when it is stopped)."""
    import os

    app = configure(settings)
    argv = ["worker", f"--queues={QUEUE}", f"--loglevel={loglevel}", f"--pool={pool}",
            "--without-gossip", "--without-mingle",
            f"--hostname={hostname or f'digitize-{os.getpid()}@%h'}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if max_tasks_per_child:
        argv.append(f"--max-tasks-per-child={max_tasks_per_child}")
    app.worker_main(argv)
