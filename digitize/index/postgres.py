"""The distributed index: PostgreSQL through psycopg 3.

Same tables as the SQLite index (see sqlite.py), with the text in the records
table and two generated tsvector columns using the `simple` configuration:
`tsv` over text folded in Python with text.fold (no unaccent extension
needed) and `tsv_exact` over the NFC text lower-cased in Python. GIN indexes
on both; btree on people(so_dinh_danh), people(ho_ten_folded, ngay_sinh),
records(book, so_key). The schema is created on first use under an advisory
lock. A broken connection is reopened once per call; every call is one
transaction, so a retried upsert is safe.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any, Callable, Iterable, TypeVar, cast

import psycopg

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

T = TypeVar("T")
_WORD = re.compile(r"\w+")

SCHEMA_LOCK = 0x6469676974  # "digit": advisory lock id for schema creation

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS results(
      id text PRIMARY KEY, json text NOT NULL, agency text, book text, created_at text,
      doc_types text, text text)""",
    """CREATE TABLE IF NOT EXISTS records(
      rid bigserial PRIMARY KEY, result_id text NOT NULL REFERENCES results(id) ON DELETE CASCADE,
      idx integer, kind text NOT NULL, browse boolean NOT NULL, doc_type text, page integer,
      so_dinh_danh text, ho_ten text, ho_ten_folded text, ngay_sinh text, book text, so text, so_key text,
      so_num bigint, name text, created_at text, fields text NOT NULL, original text NOT NULL,
      folded text NOT NULL, exact text NOT NULL,
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, folded)) STORED,
      tsv_exact tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, exact)) STORED)""",
    "CREATE INDEX IF NOT EXISTS records_result ON records(result_id)",
    "CREATE INDEX IF NOT EXISTS records_book_so ON records(book, so_key)",
    "CREATE INDEX IF NOT EXISTS records_browse ON records(browse, created_at)",
    "CREATE INDEX IF NOT EXISTS records_tsv ON records USING gin(tsv)",
    "CREATE INDEX IF NOT EXISTS records_tsv_exact ON records USING gin(tsv_exact)",
    """CREATE TABLE IF NOT EXISTS people(
      rid bigint NOT NULL REFERENCES records(rid) ON DELETE CASCADE, role text NOT NULL,
      so_dinh_danh text, ho_ten_key text, ho_ten_folded text, ngay_sinh text)""",
    "CREATE INDEX IF NOT EXISTS people_rid ON people(rid)",
    "CREATE INDEX IF NOT EXISTS people_so_dinh_danh ON people(so_dinh_danh)",
    "CREATE INDEX IF NOT EXISTS people_name_folded ON people(ho_ten_folded, ngay_sinh)",
    "CREATE INDEX IF NOT EXISTS people_name_exact ON people(ho_ten_key, ngay_sinh)",
]

_RECORD_INSERT = (
    "INSERT INTO records(rid, result_id, idx, kind, browse, doc_type, page, so_dinh_danh, ho_ten, ho_ten_folded, "
    "ngay_sinh, book, so, so_key, so_num, name, created_at, fields, original, folded, exact) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PEOPLE_INSERT = (
    "INSERT INTO people(rid, role, so_dinh_danh, ho_ten_key, ho_ten_folded, ngay_sinh) VALUES (%s, %s, %s, %s, %s, %s)"
)
_HIT_COLUMNS = (
    "r.rid, r.result_id, r.idx, r.page, r.doc_type, r.fields, r.name, r.created_at, r.book, r.so, "
    "res.agency, r.original"
)


def _words(text: str) -> str:
    """Only the \\w words, space-separated: the text-search parser then sees
    plain words (no dates taken as paths, no e-mail or URL tokens), exactly
    like the words of a query."""
    return " ".join(_WORD.findall(text))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or exc.__class__.__name__


class PostgresIndex:
    def __init__(self, url: str, *, connect_timeout: int = 5) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection | None = None
        self._pid = 0
        self._schema_ready = False
        self._lock = threading.RLock()
        self._abandoned: list[Any] = []  # connections inherited over fork: never touched again

    def __repr__(self) -> str:
        return "PostgresIndex(<url>)"  # the URL may hold a password

    # -- connection -----------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        if self._conn is not None and self._pid == os.getpid() and not self._conn.closed:
            return self._conn
        if self._conn is not None and self._pid != os.getpid():
            self._abandoned.append(self._conn)
        self._conn = None
        try:
            conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=self.connect_timeout, application_name="digitize"
            )
        except psycopg.Error as exc:
            raise IndexError_(f"cannot connect to PostgreSQL index: {_one_line(exc)}") from None
        self._conn, self._pid = conn, os.getpid()
        if not self._schema_ready:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for statement in SCHEMA:
                    conn.execute(statement)
            self._schema_ready = True
        return conn

    def _run(self, fn: Callable[[psycopg.Connection], T], *, write: bool = False) -> T:
        """Run fn(conn) in one transaction; reopen a broken connection and retry once."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._connect()
                    with conn.transaction():
                        return fn(conn)
                except IndexError_:
                    raise
                except psycopg.OperationalError as exc:
                    broken = self._conn is None or self._conn.closed or self._conn.broken
                    if broken and self._conn is not None:
                        try:
                            self._conn.close()
                        except psycopg.Error:
                            pass
                        self._conn = None
                    if attempt == 2 or not broken:
                        raise IndexError_(f"PostgreSQL index unavailable: {_one_line(exc)}") from None
                except psycopg.Error as exc:
                    raise IndexError_(
                        f"PostgreSQL index {'write' if write else 'read'} failed: {_one_line(exc)}"
                    ) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                try:
                    self._conn.close()
                except psycopg.Error:
                    pass
            self._conn = None

    # -- writing --------------------------------------------------------------

    @staticmethod
    def _prepare(result: Result) -> Prepared:
        try:
            return prepare(result)
        except (ValueError, TypeError) as exc:
            raise IndexError_(f"cannot index result: {_one_line(exc)}") from None

    def upsert(self, result: Result) -> None:
        prepared = self._prepare(result)
        self._run(lambda conn: self._upsert(conn, [prepared]), write=True)

    def upsert_many(self, results: Iterable[Result]) -> None:
        """Several results in one transaction (bulk loads, reindexing)."""
        prepared = [self._prepare(r) for r in results]
        if prepared:
            self._run(lambda conn: self._upsert(conn, prepared), write=True)

    @staticmethod
    def _upsert(conn: psycopg.Connection, items: list[Prepared]) -> None:
        # Last one wins when a batch holds the same id twice.
        items = list({p.id: p for p in items}.values())
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO results(id, json, agency, book, created_at, doc_types, text) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET json = EXCLUDED.json, agency = EXCLUDED.agency, "
                "book = EXCLUDED.book, created_at = EXCLUDED.created_at, doc_types = EXCLUDED.doc_types, "
                "text = EXCLUDED.text WHERE results.json IS DISTINCT FROM EXCLUDED.json RETURNING id",
                [(p.id, p.json, p.agency, p.book, p.created_at, p.doc_types, p.text) for p in items],
                returning=True,
            )
            changed: set[str] = set()
            while True:
                changed.update(row[0] for row in cur.fetchall())
                if not cur.nextset():
                    break
            items = [p for p in items if p.id in changed]
            if not items:
                return
            cur.execute("DELETE FROM records WHERE result_id = ANY(%s)", ([p.id for p in items],))
            n = sum(len(p.rows) for p in items)
            cur.execute("SELECT nextval(pg_get_serial_sequence('records', 'rid')) FROM generate_series(1, %s)", (n,))
            rids = iter([r[0] for r in cur.fetchall()])
            records: list[tuple[Any, ...]] = []
            people: list[tuple[Any, ...]] = []
            for p in items:
                for row in p.rows:
                    rid = next(rids)
                    records.append(
                        (
                            rid,
                            p.id,
                            row.idx,
                            row.kind,
                            row.browse,
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
                            row.original,
                            _words(row.folded),
                            _words(row.exact),
                        )
                    )
                    people.extend(
                        (rid, x.role, x.so_dinh_danh, x.ho_ten_key, x.ho_ten_folded, x.ngay_sinh) for x in row.people
                    )
            cur.executemany(_RECORD_INSERT, records)
            if people:
                cur.executemany(_PEOPLE_INSERT, people)

    def delete(self, result_id: str) -> None:
        self._run(lambda conn: conn.execute("DELETE FROM results WHERE id = %s", (result_id,)), write=True)

    # -- reading --------------------------------------------------------------

    def get(self, result_id: str) -> Result | None:
        row = self._run(lambda c: c.execute("SELECT json FROM results WHERE id = %s", (result_id,)).fetchone())
        return stored_result(row[0]) if row else None

    def count(self) -> int:
        # (count(*) always returns its one row)
        return self._run(lambda c: cast(tuple[int], c.execute("SELECT count(*) FROM results").fetchone())[0])

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
            "%s",
            so_dinh_danh=so_dinh_danh,
            doc_type=doc_type,
            book=book,
            so=so,
            ho_ten=ho_ten,
            ngay_sinh=ngay_sinh,
            fold_accents=fold,
        )
        if has_record_filter(so_dinh_danh=so_dinh_danh, so=so, ho_ten=ho_ten, ngay_sinh=ngay_sinh):
            where.append("r.kind = 'record'")
        return self._run(lambda conn: self._search(conn, terms, fold, where, params, limit))

    def _search(
        self, conn: psycopg.Connection, terms: list[str], fold: bool, where: list[str], params: list[Any], limit: int
    ) -> list[dict[str, Any]]:
        column = "tsv" if fold else "tsv_exact"
        extra = "".join(f" AND {w}" for w in where)
        if terms:
            query = " ".join(terms)  # \w words only; the *to_tsquery functions parse no syntax anyway
            want = limit * 2 + 10
            scored: dict[int, float] = {}
            functions = ["phraseto_tsquery"] + (["plainto_tsquery"] if len(terms) > 1 else [])
            for function in functions:
                sql = (
                    f"SELECT r.rid, ts_rank_cd(r.{column}, q) AS score "
                    f"FROM records r, {function}('simple'::regconfig, %s) q "
                    f"WHERE r.{column} @@ q{extra} ORDER BY score DESC, r.rid LIMIT %s"
                )
                for rid, score in conn.execute(sql, [query, *params, want + len(scored)]):
                    scored.setdefault(rid, score)
                if len(scored) >= want:
                    break
            order = list(scored)
            rows = self._details(conn, order)
            pages = {(r[1], r[3]) for r in rows.values() if r[2] is None}
            if pages:
                matched = set(
                    conn.execute(
                        f"SELECT r.result_id, r.page FROM records r, plainto_tsquery('simple'::regconfig, %s) q "
                        f"WHERE r.{column} @@ q AND r.kind = 'record' AND r.result_id = ANY(%s)",
                        [query, sorted({p[0] for p in pages})],
                    ).fetchall()
                )
                order = [rid for rid in order if not (rows[rid][2] is None and (rows[rid][1], rows[rid][3]) in matched)]
            return [
                self._hit(rows[rid], scored[rid], snippet(rows[rid][11] or "", terms, fold)) for rid in order[:limit]
            ]
        sql = (
            f"SELECT r.rid FROM records r WHERE r.browse{extra} ORDER BY r.created_at DESC, r.result_id, r.idx LIMIT %s"
        )
        order = [row[0] for row in conn.execute(sql, [*params, limit])]
        rows = self._details(conn, order)
        return [self._hit(rows[rid], None, "") for rid in order]

    @staticmethod
    def _details(conn: psycopg.Connection, rids: list[int]) -> dict[int, tuple]:
        if not rids:
            return {}
        return {
            row[0]: row
            for row in conn.execute(
                f"SELECT {_HIT_COLUMNS} FROM records r JOIN results res ON res.id = r.result_id WHERE r.rid = ANY(%s)",
                (rids,),
            )
        }

    @staticmethod
    def _hit(row: tuple, score: float | None, snippet_text: str) -> dict[str, Any]:
        _, result_id, idx, page, doc_type, fields, name, created_at, book, so, agency, _original = row
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

        def run(conn: psycopg.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT result_id, idx, page, doc_type, fields, name, created_at, book, so FROM records "
                "WHERE book = %s AND kind = 'record' "
                'ORDER BY so_num NULLS LAST, so COLLATE "C", created_at, result_id, idx',
                (no_nul(clean_spaces(nfc(book))),),
            ).fetchall()
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

        return self._run(run)
