"""The embedded index: one SQLite file (WAL, FTS5).

Tables
  results(id PK, json, agency, book, created_at, doc_types, text)
  records(rid PK, result_id, idx, kind, browse, doc_type, page, so_dinh_danh, ho_ten, ho_ten_folded,
          ngay_sinh, book, so, so_key, so_num, name, created_at, fields)   -- one row per hit unit
  people(rid, role, so_dinh_danh, ho_ten_key, ho_ten_folded, ngay_sinh)  -- everyone a record names
  fts_folded(folded)   FTS5, unicode61 remove_diacritics 2, text folded with text.fold
  fts_exact(original)  FTS5, unicode61 remove_diacritics 0 (accents matter, case does not)
The FTS rowid is records.rid. Several processes may write: WAL, a 30 s busy
timeout, and BEGIN IMMEDIATE for every write transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from ..errors import IndexError_
from ..text import clean_spaces, nfc
from ..types import Result
from .common import (
    Prepared,
    has_record_filter,
    make_hit,
    no_nul,
    prepare,
    query_terms,
    record_dict,
    stored_result,
    record_filters,
    snippet,
)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS results(
  id TEXT PRIMARY KEY, json TEXT NOT NULL, agency TEXT, book TEXT, created_at TEXT,
  doc_types TEXT, text TEXT);
CREATE TABLE IF NOT EXISTS records(
  rid INTEGER PRIMARY KEY, result_id TEXT NOT NULL, idx INTEGER, kind TEXT NOT NULL,
  browse INTEGER NOT NULL, doc_type TEXT, page INTEGER, so_dinh_danh TEXT, ho_ten TEXT,
  ho_ten_folded TEXT, ngay_sinh TEXT, book TEXT, so TEXT, so_key TEXT, so_num INTEGER, name TEXT,
  created_at TEXT, fields TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_result ON records(result_id);
CREATE INDEX IF NOT EXISTS records_book_so ON records(book, so_key);
CREATE INDEX IF NOT EXISTS records_browse ON records(browse, created_at);
CREATE TABLE IF NOT EXISTS people(
  rid INTEGER NOT NULL, role TEXT NOT NULL, so_dinh_danh TEXT, ho_ten_key TEXT, ho_ten_folded TEXT,
  ngay_sinh TEXT);
CREATE INDEX IF NOT EXISTS people_rid ON people(rid);
CREATE INDEX IF NOT EXISTS people_so_dinh_danh ON people(so_dinh_danh);
CREATE INDEX IF NOT EXISTS people_name_folded ON people(ho_ten_folded, ngay_sinh);
CREATE INDEX IF NOT EXISTS people_name_exact ON people(ho_ten_key, ngay_sinh);
CREATE VIRTUAL TABLE IF NOT EXISTS fts_folded USING fts5(folded, tokenize='unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS fts_exact USING fts5(original, tokenize='unicode61 remove_diacritics 0');
"""

_HIT_COLUMNS = "r.rid, r.result_id, r.idx, r.page, r.doc_type, r.fields, r.name, r.created_at, r.book, r.so, res.agency"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__


class SqliteIndex:
    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"SqliteIndex({str(self.path)!r})"

    # -- connection -----------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # A connection must not cross fork(): a child process opens its own and
        # leaves the parent's alone.
        # Switching a new database to WAL takes an exclusive lock that SQLite's busy
        # handler does not wait for: two workers opening a fresh index at once get
        # "database is locked" at once. Measured (a page lost in a pooled run), so
        # opening is retried until the busy timeout.
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                conn = self._open()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise IndexError_(f"cannot open index {self.path}: {_one_line(exc)}") from None
                time.sleep(0.05)
            except (sqlite3.Error, OSError) as exc:
                raise IndexError_(f"cannot open index {self.path}: {_one_line(exc)}") from None
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                # another process may have created it while this one waited for the lock
                if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                try:
                    self._conn.execute("PRAGMA optimize")
                except sqlite3.Error:
                    pass
                self._conn.close()
            self._conn = None

    def _write(self, fn, *args):
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(conn, *args)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                return out
            except sqlite3.Error as exc:
                raise IndexError_(f"index write failed: {_one_line(exc)}") from None

    def _read(self, fn, *args):
        with self._lock:
            conn = self._connection()
            try:
                return fn(conn, *args)
            except sqlite3.Error as exc:
                raise IndexError_(f"index read failed: {_one_line(exc)}") from None

    # -- writing --------------------------------------------------------------

    def upsert(self, result: Result) -> None:
        prepared = self._prepare(result)
        self._write(self._upsert_one, prepared)

    def upsert_many(self, results: Iterable[Result]) -> None:
        """Several results in one transaction (bulk loads, reindexing)."""
        prepared = [self._prepare(r) for r in results]

        def run(conn: sqlite3.Connection) -> None:
            for p in prepared:
                self._upsert_one(conn, p)

        self._write(run)

    @staticmethod
    def _prepare(result: Result) -> Prepared:
        try:
            return prepare(result)
        except (ValueError, TypeError) as exc:
            raise IndexError_(f"cannot index result: {_one_line(exc)}") from None

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, result_id: str) -> None:
        rids = [row[0] for row in conn.execute("SELECT rid FROM records WHERE result_id = ?", (result_id,))]
        if rids:
            marks = ",".join("?" * len(rids))
            conn.execute(f"DELETE FROM fts_folded WHERE rowid IN ({marks})", rids)
            conn.execute(f"DELETE FROM fts_exact WHERE rowid IN ({marks})", rids)
            conn.execute(f"DELETE FROM people WHERE rid IN ({marks})", rids)
            conn.execute("DELETE FROM records WHERE result_id = ?", (result_id,))

    def _upsert_one(self, conn: sqlite3.Connection, p: Prepared) -> None:
        old = conn.execute("SELECT json FROM results WHERE id = ?", (p.id,)).fetchone()
        if old is not None and old[0] == p.json:
            return  # unchanged: nothing to do
        self._delete_rows(conn, p.id)
        conn.execute(
            "INSERT OR REPLACE INTO results(id, json, agency, book, created_at, doc_types, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (p.id, p.json, p.agency, p.book, p.created_at, p.doc_types, p.text),
        )
        for row in p.rows:
            cur = conn.execute(
                "INSERT INTO records(result_id, idx, kind, browse, doc_type, page, so_dinh_danh, ho_ten, "
                "ho_ten_folded, ngay_sinh, book, so, so_key, so_num, name, created_at, fields) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    p.id,
                    row.idx,
                    row.kind,
                    int(row.browse),
                    row.doc_type,
                    row.page,
                    row.so_dinh_danh,
                    row.ho_ten,
                    row.ho_ten_folded,
                    row.ngay_sinh,
                    p.book,
                    row.so,
                    row.so_key,
                    row.so_num,
                    row.name,
                    p.created_at,
                    json.dumps(row.fields, ensure_ascii=False),
                ),
            )
            rid = cur.lastrowid
            conn.execute("INSERT INTO fts_folded(rowid, folded) VALUES (?, ?)", (rid, row.folded))
            conn.execute("INSERT INTO fts_exact(rowid, original) VALUES (?, ?)", (rid, row.original))
            if row.people:
                conn.executemany(
                    "INSERT INTO people(rid, role, so_dinh_danh, ho_ten_key, ho_ten_folded, ngay_sinh) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(rid, x.role, x.so_dinh_danh, x.ho_ten_key, x.ho_ten_folded, x.ngay_sinh) for x in row.people],
                )

    def delete(self, result_id: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._delete_rows(conn, result_id)
            conn.execute("DELETE FROM results WHERE id = ?", (result_id,))

        self._write(run)

    # -- reading --------------------------------------------------------------

    def get(self, result_id: str) -> Result | None:
        row = self._read(lambda c: c.execute("SELECT json FROM results WHERE id = ?", (result_id,)).fetchone())
        return stored_result(row[0]) if row else None

    def count(self) -> int:
        return self._read(lambda c: c.execute("SELECT count(*) FROM results").fetchone()[0])

    def search(
        self,
        text: str | None = None,
        *,
        so_dinh_danh: str | None = None,
        doc_type: str | None = None,
        book: str | None = None,
        so: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: str | None = None,
        fold: bool = True,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        limit = max(0, min(int(limit), 10_000))
        if limit == 0:
            return []
        terms = query_terms(text, fold)
        if text is not None and text.strip() and not terms:
            return []  # text with no word in it (only punctuation): nothing can match
        where, params = record_filters(
            "?",
            so_dinh_danh=so_dinh_danh,
            doc_type=doc_type,
            book=book,
            so=so,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            fold_accents=fold,
        )
        return self._read(
            self._search,
            terms,
            fold,
            where,
            params,
            limit,
            has_record_filter(so_dinh_danh=so_dinh_danh, so=so, ho_ten=ho_ten, ngay_sinh=ngay_sinh),
        )

    def _search(
        self,
        conn: sqlite3.Connection,
        terms: list[str],
        fold: bool,
        where: list[str],
        params: list[Any],
        limit: int,
        record_only: bool,
    ) -> list[dict[str, Any]]:
        table = "fts_folded" if fold else "fts_exact"
        if record_only:
            where = [*where, "r.kind = 'record'"]
        if terms:
            scored: dict[int, float] = {}
            expressions = ['"' + " ".join(terms) + '"']
            if len(terms) > 1:
                expressions.append(" AND ".join(f'"{t}"' for t in terms))
            want = limit * 2 + 10
            for expr in expressions:
                sql = (
                    f"SELECT r.rid, bm25({table}) FROM {table} JOIN records r ON r.rid = {table}.rowid "
                    f"WHERE {table} MATCH ?" + "".join(f" AND {w}" for w in where) + f" ORDER BY bm25({table}) LIMIT ?"
                )
                for rid, score in conn.execute(sql, [expr, *params, want + len(scored)]):
                    if rid not in scored:
                        scored[rid] = -score  # bm25: lower is better; report higher = better
                if len(scored) >= want:
                    break
            order = list(scored)
            rows = self._details(conn, order)
            # A page row is dropped when a record on the same page matches too.
            pages = {(r[1], r[3]) for r in rows.values() if r[2] is None}
            if pages:
                result_ids = sorted({p[0] for p in pages})
                marks = ",".join("?" * len(result_ids))
                matched = set(
                    conn.execute(
                        f"SELECT r.result_id, r.page FROM {table} JOIN records r ON r.rid = {table}.rowid "
                        f"WHERE {table} MATCH ? AND r.kind = 'record' AND r.result_id IN ({marks})",
                        [" AND ".join(f'"{t}"' for t in terms), *result_ids],
                    )
                )
                order = [rid for rid in order if not (rows[rid][2] is None and (rows[rid][1], rows[rid][3]) in matched)]
            order = order[:limit]
            texts = (
                dict(
                    conn.execute(
                        f"SELECT rowid, original FROM fts_exact WHERE rowid IN ({','.join('?' * len(order))})", order
                    )
                )
                if order
                else {}
            )
            return [self._hit(rows[rid], scored[rid], snippet(texts.get(rid, ""), terms, fold)) for rid in order]
        sql = (
            "SELECT r.rid FROM records r WHERE "
            + " AND ".join(["r.browse = 1", *where])
            + " ORDER BY r.created_at DESC, r.result_id, r.idx LIMIT ?"
        )
        order = [row[0] for row in conn.execute(sql, [*params, limit])]
        rows = self._details(conn, order)
        return [self._hit(rows[rid], None, "") for rid in order]

    @staticmethod
    def _details(conn: sqlite3.Connection, rids: list[int]) -> dict[int, tuple]:
        out: dict[int, tuple] = {}
        for start in range(0, len(rids), 500):
            chunk = rids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in conn.execute(
                f"SELECT {_HIT_COLUMNS} FROM records r JOIN results res ON res.id = r.result_id "
                f"WHERE r.rid IN ({marks})",
                chunk,
            ):
                out[row[0]] = row
        return out

    @staticmethod
    def _hit(row: tuple, score: float | None, snippet_text: str) -> dict[str, Any]:
        _, result_id, idx, page, doc_type, fields, name, created_at, book, so, agency = row
        return make_hit(
            result_id=result_id,
            idx=idx,
            page=page,
            doc_type=doc_type,
            fields=fields,
            name=name,
            created_at=created_at,
            book=book,
            so=so,
            agency=agency,
            score=score,
            snippet_text=snippet_text,
        )

    def records_for_book(self, book: str) -> list[dict[str, Any]]:
        """Every record of a book, in number order (so = 2 before so = 10)."""

        def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT result_id, idx, page, doc_type, fields, name, created_at, book, so FROM records "
                "WHERE book = ? AND kind = 'record' "
                "ORDER BY so_num IS NULL, so_num, so, created_at, result_id, idx",
                (no_nul(clean_spaces(nfc(book))),),
            )
            return [
                record_dict(
                    result_id=r[0],
                    idx=r[1],
                    page=r[2],
                    doc_type=r[3],
                    fields=r[4],
                    name=r[5],
                    created_at=r[6],
                    book=r[7],
                    so=r[8],
                )
                for r in rows
            ]

        return self._read(run)
