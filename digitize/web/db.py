"""The web app's own SQLite database (`<home>/web.sqlite3`): users, API tokens,
sessions, the audit log, dossiers and reuse, shares, the review queue, jobs.

One short-lived connection per operation (WAL, 30 s busy timeout), so the
database is safe to use from any thread of the server."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    agency TEXT NOT NULL,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- login_failures: no longer written (login_throttle took its place); kept so that
-- databases of earlier versions open unchanged.
CREATE TABLE IF NOT EXISTS login_failures (name TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures(name, at);
-- Failed logins per key ('pair:<name> <addr>', 'addr:<addr>', 'acct:<name>'), see auth.Backoff.
CREATE TABLE IF NOT EXISTS login_throttle (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last REAL NOT NULL);
CREATE INDEX IF NOT EXISTS login_throttle_last ON login_throttle(last);
-- Addresses an account has logged in from: exempt from the account-wide throttle.
CREATE TABLE IF NOT EXISTS login_known (name TEXT NOT NULL, addr TEXT NOT NULL, at REAL NOT NULL,
                                        PRIMARY KEY (name, addr));

CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    agency TEXT NOT NULL,
    action TEXT NOT NULL,
    result_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    ip TEXT NOT NULL DEFAULT '',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_result ON audit(result_id);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE IF NOT EXISTS dossiers (
    agency TEXT NOT NULL,
    ma_ho_so TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (agency, ma_ho_so)
);
CREATE TABLE IF NOT EXISTS dossier_items (
    agency TEXT NOT NULL,
    ma_ho_so TEXT NOT NULL,
    result_id TEXT NOT NULL,
    kind TEXT NOT NULL,          -- 'scanned' (new at the counter) or 'reused' (from the archive)
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    PRIMARY KEY (agency, ma_ho_so, result_id, kind)
);
CREATE TABLE IF NOT EXISTS shares (
    owner_agency TEXT NOT NULL,
    result_id TEXT NOT NULL,     -- '*' = every result of owner_agency
    grantee_agency TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    at TEXT NOT NULL,
    access TEXT NOT NULL DEFAULT 'read',  -- 'read', or 'write' (may make new versions)
    PRIMARY KEY (owner_agency, result_id, grantee_agency)
);
CREATE TABLE IF NOT EXISTS review_queue (
    result_id TEXT PRIMARY KEY,
    agency TEXT NOT NULL,
    pending INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_queue_pending ON review_queue(agency, pending, created_at);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    agency TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,        -- queued, running, done, failed
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_total INTEGER NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',  -- pipeline.STAGES, while running
    result_id TEXT,
    error TEXT,
    ma_ho_so TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Double keying (keying.py): one entry per record of a result sent to keying; each
-- entry is keyed by two different users (drafts kept per user), compared, and the
-- differing fields arbitrated by a third; accepted values make a new signed version.
CREATE TABLE IF NOT EXISTS keying_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    result_id TEXT NOT NULL,
    agency TEXT NOT NULL,
    book TEXT NOT NULL DEFAULT '',
    page INTEGER NOT NULL,
    record INTEGER NOT NULL,       -- -1: a grid row nothing was read from (until accepted)
    row INTEGER NOT NULL DEFAULT -1,  -- that row's number on the page (-1: an entry of a record)
    row_box TEXT,                  -- JSON [x0, y0, x1, y1] of that row (display pixels)
    doc_type TEXT NOT NULL,
    fields TEXT NOT NULL,          -- JSON list of the field names to key
    blind INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,          -- keying, arbitration, done, failed
    assigned_to TEXT,              -- NULL: anyone of the agency
    disputed TEXT NOT NULL DEFAULT '[]',  -- JSON list of the fields the two keyings differ on
    accepted TEXT,                 -- JSON {field: value} once done
    version INTEGER,               -- the result version that holds the accepted values
    error TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (result_id, page, row, record)
);
CREATE INDEX IF NOT EXISTS keying_entries_status ON keying_entries(agency, status, id);
CREATE TABLE IF NOT EXISTS keyings (
    entry_id INTEGER NOT NULL REFERENCES keying_entries(id),
    user TEXT NOT NULL,
    agency TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'key',   -- key, or arbitrate
    "values" TEXT NOT NULL DEFAULT '{}',
    submitted INTEGER NOT NULL DEFAULT 0,  -- 0: a draft
    keystrokes INTEGER,
    opened_at TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    submitted_at TEXT,
    seconds REAL,
    PRIMARY KEY (entry_id, user)
);
CREATE INDEX IF NOT EXISTS keyings_user ON keyings(user, submitted);
"""


class WebDB:
    """`audit_key`: the key of the audit log's chain (`Settings.audit_key`); "" = the key
    file next to the database (see audit.py)."""

    def __init__(self, path: Path | str, *, audit_key: str = "") -> None:
        self.path = Path(path)
        self.audit_key = audit_key
        self._init_lock = threading.Lock()
        self._ready = False

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def init(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _owner_only(self.path)
            conn = self._open()
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(SCHEMA):
                    conn.execute(statement)
                _add_missing_columns(conn)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            finally:
                conn.close()
            self._ready = True

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; with `write`, inside one BEGIN IMMEDIATE transaction."""
        if not self._ready:
            self.init()
        conn = self._open()
        try:
            if write:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                yield conn
        finally:
            conn.close()

    def one(self, sql: str, params: tuple | list = ()) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()

    def run(self, sql: str, params: tuple | list = ()) -> int:
        with self.connect(write=True) as conn:
            return conn.execute(sql, params).rowcount

    def meta(self, key: str, default_factory=None) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        if row is not None or default_factory is None:
            return row["value"] if row else None
        with self.connect(write=True) as conn:
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, default_factory()))
            return conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()["value"]


def _owner_only(path: Path) -> None:
    """Make the database file (and its WAL and shared-memory files) readable by the
    service's user only: it holds password hashes and the key that signs session
    cookies. Created 0600 before SQLite opens it; SQLite gives the -wal and -shm
    files the mode of the database file. Files of an older installation are
    tightened too."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if name.exists() and name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError as exc:  # not ours to change: say so, keep serving
            log.warning("cannot make %s private: %s", name.name, exc)


def _statements(script: str) -> Iterator[str]:
    """Complete SQL statements of a script (sqlite3 knows trigger bodies)."""
    buf = ""
    for line in script.splitlines():
        if line.strip().startswith("--") or not line.strip():
            continue
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""


def rows(items: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(r) for r in items]


# Columns added after a table was first created: (table, column, declaration).
_ADDED_COLUMNS = (("shares", "access", "TEXT NOT NULL DEFAULT 'read'"), ("jobs", "stage", "TEXT NOT NULL DEFAULT ''"))


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to the schema (SQLite has no
    ADD COLUMN IF NOT EXISTS)."""
    for table, column, declaration in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
