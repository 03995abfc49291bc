"""Append-only audit log: every read of personal data and every change.

Rows are only ever inserted: there is no code path that updates or deletes
them, and SQLite triggers abort any UPDATE or DELETE on the table. Each row
also carries `hash = HMAC-SHA256(key, prev_hash + row)`, a chain that shows
whether a row was altered or removed by going around the database engine
(`check_chain`, `digitize audit verify`).

The key is not in the database, so whoever can write the database file cannot
recompute the chain: it is `DIGITIZE_AUDIT_KEY` (`Settings.audit_key`, which the
database is opened with: `WebDB(..., audit_key=...)`), or else `audit.key` next to
the database (32 random bytes in hex, mode 0600, made on first use). Keep a
copy of it with the backups: without it the chain cannot be checked. Rows
written before the chain was keyed (plain SHA-256) are accepted only as a
prefix followed by keyed rows: the first keyed row seals them.

What a chain cannot show is rows cut off its end; compare the row count with
an exported copy for that."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..config import MIN_AUDIT_KEY
from ..errors import ConfigError
from .db import WebDB
from ..clock import VN_TZ

GENESIS = "0" * 64
COLUMNS = ("id", "at", "user", "role", "agency", "action", "result_id", "detail", "ip", "prev_hash", "hash")
KEY_ENV = "DIGITIZE_AUDIT_KEY"  # read by the settings (config.py); named in messages
KEY_FILE = "audit.key"
MIN_ENV_KEY = MIN_AUDIT_KEY

# The client address of the request being served (set by the web app), so that
# entries written deep in the services carry it without passing it down.
REQUEST_IP: ContextVar[str] = ContextVar("digitize_audit_ip", default="")


class AuditKeyError(ConfigError):
    """The audit key is missing, unreadable or too short."""


_keys: dict[Path, bytes] = {}
_keys_lock = threading.Lock()


def key_path(db: WebDB) -> Path:
    return db.path.parent / KEY_FILE


def audit_key(db: WebDB, *, create: bool = True) -> bytes:
    """The chain's key: the configured one (DIGITIZE_AUDIT_KEY, which `db` was opened with),
    else the key file (made when `create`)."""
    configured = db.audit_key
    if configured:
        if len(configured) < MIN_ENV_KEY:
            raise AuditKeyError(f"{KEY_ENV} must be at least {MIN_ENV_KEY} characters")
        return configured.encode("utf-8")
    path = key_path(db).resolve()
    with _keys_lock:
        if path not in _keys:
            if not path.exists():
                if not create:
                    raise AuditKeyError(f"no audit key: set {KEY_ENV} or restore {KEY_FILE}")
                _create_key(path)
            _keys[path] = _read_key(path)
        return _keys[path]


def _create_key(path: Path) -> None:
    """Write a new key with mode 0600, atomically: when two processes race, the
    first link wins and both read that one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _read_key(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise AuditKeyError(f"cannot read the audit key {path.name}: {exc}") from None


def _payload(
    prev_hash: str, at: str, user: str, role: str, agency: str, action: str, result_id: str | None, detail: str, ip: str
) -> bytes:
    return json.dumps([prev_hash, at, user, role, agency, action, result_id, detail, ip], ensure_ascii=False).encode(
        "utf-8"
    )


def _row_mac(key: bytes, *fields: Any) -> str:
    return hmac.new(key, _payload(*fields), hashlib.sha256).hexdigest()


def _row_hash(*fields: Any) -> str:
    """The unkeyed chain of rows written before the key (only read, never written)."""
    return hashlib.sha256(_payload(*fields)).hexdigest()


def now_iso() -> str:
    return datetime.now(VN_TZ).isoformat(timespec="milliseconds")


def record(
    db: WebDB,
    *,
    user: str,
    role: str,
    agency: str,
    action: str,
    result_id: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Append one row (one transaction; the chain is extended under the write lock).
    Without `ip`, the address of the request being served, if any."""
    record_many(
        db, [dict(user=user, role=role, agency=agency, action=action, result_id=result_id, detail=detail, ip=ip)]
    )


def record_many(db: WebDB, entries: Iterable[dict[str, Any]]) -> None:
    entries = list(entries)
    if not entries:
        return
    key = audit_key(db)
    with db.connect(write=True) as conn:
        last = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        prev = last["hash"] if last else GENESIS
        for e in entries:
            at = now_iso()
            detail = json.dumps(e.get("detail") or {}, ensure_ascii=False, sort_keys=True)
            values = (
                at,
                e["user"],
                e["role"],
                e["agency"],
                e["action"],
                e.get("result_id"),
                detail,
                e.get("ip") or REQUEST_IP.get(),
            )
            digest = _row_mac(key, prev, *values)
            conn.execute(
                "INSERT INTO audit(at, user, role, agency, action, result_id, detail, ip, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, prev, digest),
            )
            prev = digest


def rows(
    db: WebDB, *, since: str | None = None, until: str | None = None, result_id: str | None = None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
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
        chunk = db.all(
            f"SELECT {', '.join(COLUMNS)} FROM audit WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", [*params, batch]
        )
        if not chunk:
            return
        for row in chunk:
            out = dict(row)
            out["detail"] = json.loads(out["detail"] or "{}")
            yield out
        last_id = chunk[-1]["id"]


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    rows: int  # rows checked
    bad_id: int | None = None  # first row that does not fit
    problem: str = ""
    unkeyed: int = 0  # rows from before the key, sealed by the first keyed row

    def line(self) -> str:
        if self.ok:
            sealed = f" ({self.unkeyed} from before the key, sealed)" if self.unkeyed else ""
            return f"audit log intact: {self.rows} rows{sealed}"
        where = f" at row {self.bad_id}" if self.bad_id is not None else ""
        return f"audit log NOT intact{where}: {self.problem}"


def check_chain(db: WebDB, key: bytes | None = None) -> ChainCheck:
    """Walk the chain from the first row. Never creates a key: a log with rows
    and no key cannot be checked."""
    prev = GENESIS
    count = unkeyed = 0
    keyed = False
    first_unkeyed: int | None = None
    for row in rows(db):
        if key is None:
            key = audit_key(db, create=False)
        count += 1
        detail = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
        fields = (
            prev,
            row["at"],
            row["user"],
            row["role"],
            row["agency"],
            row["action"],
            row["result_id"],
            detail,
            row["ip"],
        )
        if row["prev_hash"] != prev:
            return ChainCheck(False, count, row["id"], "does not follow the row before it (a row removed?)")
        if hmac.compare_digest(row["hash"], _row_mac(key, *fields)):
            keyed = True
        elif not keyed and row["hash"] == _row_hash(*fields):
            unkeyed += 1
            first_unkeyed = row["id"] if first_unkeyed is None else first_unkeyed
        else:
            return ChainCheck(False, count, row["id"], "altered (its MAC does not match)")
        prev = row["hash"]
    if unkeyed and not keyed:
        # Anyone can write an unkeyed chain; only a keyed row after it vouches for it.
        return ChainCheck(False, count, first_unkeyed, f"{unkeyed} rows without the key and no keyed row after them")
    return ChainCheck(True, count, unkeyed=unkeyed)


def verify_chain(db: WebDB) -> tuple[bool, int | None]:
    """(chain intact, id of the first bad row)."""
    result = check_chain(db)
    return result.ok, result.bad_id
