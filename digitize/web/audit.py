"""Append-only audit log: every read of personal data and every change.

Rows are only ever inserted: there is no code path that updates or deletes
them, and SQLite triggers abort any UPDATE or DELETE on the table. Each row
also carries `hash = sha256(prev_hash + row)`, a chain that shows whether a row
was altered or removed by going around the database engine (`verify_chain`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from .db import WebDB

GENESIS = "0" * 64
VN_TZ = timezone(timedelta(hours=7), "ICT")
COLUMNS = ("id", "at", "user", "role", "agency", "action", "result_id", "detail", "ip", "prev_hash", "hash")


def _row_hash(prev_hash: str, at: str, user: str, role: str, agency: str, action: str, result_id: str | None,
              detail: str, ip: str) -> str:
    payload = json.dumps([prev_hash, at, user, role, agency, action, result_id, detail, ip], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(VN_TZ).isoformat(timespec="milliseconds")


def record(db: WebDB, *, user: str, role: str, agency: str, action: str, result_id: str | None = None,
           detail: dict[str, Any] | None = None, ip: str = "") -> None:
    """Append one row (one transaction; the chain is extended under the write lock)."""
    record_many(db, [dict(user=user, role=role, agency=agency, action=action, result_id=result_id,
                          detail=detail, ip=ip)])


def record_many(db: WebDB, entries: Iterable[dict[str, Any]]) -> None:
    entries = list(entries)
    if not entries:
        return
    with db.connect(write=True) as conn:
        last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = last["hash"] if last else GENESIS
        for e in entries:
            at = now_iso()
            detail = json.dumps(e.get("detail") or {}, ensure_ascii=False, sort_keys=True)
            values = (at, e["user"], e["role"], e["agency"], e["action"], e.get("result_id"), detail, e.get("ip", ""))
            digest = _row_hash(prev, *values)
            conn.execute("INSERT INTO audit(at, user, role, agency, action, result_id, detail, ip, prev_hash, hash) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, prev, digest))
            prev = digest


def rows(db: WebDB, *, since: str | None = None, until: str | None = None, result_id: str | None = None,
         batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Audit rows in order, streamed in batches."""
    last_id = 0
    while True:
        where = ["id > ?"]
        params: list[Any] = [last_id]
        if since:
            where.append("at >= ?")
            params.append(since)
        if until:
            where.append("at < ?")
            params.append(until)
        if result_id:
            where.append("result_id = ?")
            params.append(result_id)
        chunk = db.all(f"SELECT {', '.join(COLUMNS)} FROM audit WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                       [*params, batch])
        if not chunk:
            return
        for row in chunk:
            out = dict(row)
            out["detail"] = json.loads(out["detail"] or "{}")
            yield out
        last_id = chunk[-1]["id"]


def verify_chain(db: WebDB) -> tuple[bool, int | None]:
    """(chain intact, id of the first bad row)."""
    prev = GENESIS
    for row in rows(db):
        detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        expected = _row_hash(prev, row["at"], row["user"], row["role"], row["agency"], row["action"],
                             row["result_id"], detail, row["ip"])
        if row["prev_hash"] != prev or row["hash"] != expected:
            return False, row["id"]
        prev = row["hash"]
    return True, None
