"""What the web app needs besides HTTP: the archive and index, access rules,
dossiers and reuse, the review queue, page images and field crops.

Every function here takes the acting `Principal` where access matters; a
result the principal may not read is reported as not found (no hint that it
exists)."""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import Forbidden, NotFound
from ..review import load_version, load_words, locate_field, page_jpegs, union_box, version_key
from ..text import clean_spaces, nfc
from ..types import Record, Result
from . import audit
from .auth import Auth, Principal
from .db import WebDB
from .jobs import Processor

MA_HO_SO = re.compile(r"^[\w./-]{1,64}$")
RESULT_ID = re.compile(r"^[0-9a-f]{32}$")


class Services:
    def __init__(
        self, settings: Settings, *, processes: int = 0, batch_processes: int = 1, db_path: Path | None = None
    ) -> None:
        from ..index import make_index
        from ..storage import make_storage

        self.settings = settings
        self.db = WebDB(db_path or settings.home / "web.sqlite3", audit_key=settings.audit_key)
        self.db.init()
        self.auth = Auth(self.db)
        self.storage = make_storage(settings)
        self.index = make_index(settings)
        self._signer = None
        self._signer_lock = threading.Lock()
        self.processor = Processor(
            settings, processes=processes, batch_processes=batch_processes, on_progress=self.job_progress
        )
        self._images: OrderedDict[str, list[tuple[bytes, float]]] = OrderedDict()
        self._images_lock = threading.Lock()
        self._fail_interrupted_jobs()

    def close(self) -> None:
        self.processor.close()
        self.index.close()

    # engines for review (no OCR) --------------------------------------
    @property
    def signer(self):
        with self._signer_lock:
            if self._signer is None:
                from ..signing import make_signer

                self._signer = make_signer(self.settings)
            return self._signer

    def review_engines(self, agency: str):
        from ..pipeline import Engines

        # (review never runs OCR; Engines.ocr is typed as always set)
        return Engines(
            settings=replace(self.settings, agency=agency or self.settings.agency),
            ocr=None,  # type: ignore[arg-type]
            signer=self.signer,
            storage=self.storage,
            index=self.index,
        )

    # access ------------------------------------------------------------
    def shared_with(self, result: Result, agency: str, *, write: bool = False) -> bool:
        """Whether `agency` was granted the result (or all its owner's results);
        with `write`, a grant that also lets it make new versions."""
        return self._granted(result.agency, result.id, agency, write=write)

    def _granted(self, owner_agency: str, result_id: str, agency: str, *, write: bool = False) -> bool:
        row = self.db.one(
            "SELECT 1 FROM shares WHERE owner_agency = ? AND grantee_agency = ? "
            "AND result_id IN (?, '*')" + (" AND access = 'write'" if write else ""),
            (owner_agency, agency, result_id),
        )
        return row is not None

    def can_read(self, who: Principal, result: Result) -> bool:
        if who.can("all_agencies"):
            return True
        if result.agency == who.agency:
            return True
        return self.shared_with(result, who.agency)

    def can_write(self, who: Principal, result: Result) -> bool:
        """New versions of a result are made by its own agency; sharing grants reading
        only, unless the owner granted writing explicitly."""
        if who.can("all_agencies") or result.agency == who.agency:
            return True
        return self.shared_with(result, who.agency, write=True)

    def result_for(self, who: Principal, result_id: str, *, write: bool = False) -> Result:
        """The result `who` may read (NotFound otherwise, the same as no result); with
        `write`, one it may also change (Forbidden when it was shared read-only)."""
        if not RESULT_ID.match(result_id or ""):
            raise NotFound("no such result")
        result = self.index.get(result_id)
        if result is None or not self.can_read(who, result):
            if result is not None:
                self.audit(who, "refused_read", result_id)
            raise NotFound("no such result")
        if write and not self.can_write(who, result):
            self.audit(who, "refused_write", result_id)
            raise Forbidden("this result was shared read-only; only its agency can change it")
        return result

    def agency_exists(self, agency: str) -> bool:
        """An agency is one that has at least one user account here."""
        return self.db.one("SELECT 1 FROM users WHERE agency = ? LIMIT 1", (agency,)) is not None

    def version_of(self, result: Result, version: int | None) -> Result:
        if version is None:
            return result
        return load_version(self.storage, result, version)

    def shadowed(self, result_id: str) -> bool:
        """Whether a search leaves a result out: a dossier document that a corrected split
        replaced (`superseded`; still there by its id), or a dossier scan whose documents
        were filed as results of their own (those results are what a search finds)."""
        result = self.index.get(result_id)
        return result is not None and self.shadows(result)

    def shadows(self, result: Result) -> bool:
        """`shadowed`, for a result at hand."""
        if result.superseded is not None:
            return True
        if not result.documents:
            return False
        from .intake import document_result_id

        return self.index.get(document_result_id(result.id, result.documents[0].pages)) is not None

    def filter_hits(self, who: Principal, hits: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        out = []
        allowed: dict[tuple[str, str], bool] = {}
        for hit in hits:
            agency = hit.get("agency", "")
            key = (agency, hit["result_id"])
            if key not in allowed:
                allowed[key] = (
                    who.can("all_agencies")
                    or agency == who.agency
                    or self._granted(agency, hit["result_id"], who.agency)
                ) and not self.shadowed(hit["result_id"])
            if allowed[key]:
                out.append(hit)
            if len(out) >= limit:
                break
        return out

    def search(
        self, who: Principal, *, text: str | None, so_dinh_danh: str | None, doc_type: str | None, limit: int
    ) -> list[dict[str, Any]]:
        want = max(1, min(limit, 200))
        hits = self.index.search(
            text or None,
            so_dinh_danh=so_dinh_danh or None,
            doc_type=doc_type or None,
            fold=True,
            limit=min(2000, want * 10 + 20),
        )
        return self.filter_hits(who, hits, want)

    def describe_hits(self, who: Principal, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Search hits with what a list shows beside them: the file name, the result's
        current version and the dossiers of `who`'s agency that hold it."""
        if not hits:
            return hits
        ids = list(dict.fromkeys(h["result_id"] for h in hits))
        facts: dict[str, tuple[str, int]] = {}
        for rid in ids:
            result = self.index.get(rid)
            facts[rid] = (result.source.name, result.version) if result is not None else ("", 1)
        marks = ",".join("?" * len(ids))
        dossiers: dict[str, list[str]] = {}
        for row in self.db.all(
            f"SELECT result_id, ma_ho_so FROM dossier_items WHERE agency = ? AND result_id IN ({marks}) ORDER BY at",
            [who.agency, *ids],
        ):
            held = dossiers.setdefault(row["result_id"], [])
            if row["ma_ho_so"] not in held:
                held.append(row["ma_ho_so"])
        return [
            dict(
                h,
                source_name=facts[h["result_id"]][0],
                version=facts[h["result_id"]][1],
                dossiers=dossiers.get(h["result_id"], []),
            )
            for h in hits
        ]

    def share(
        self, who: Principal, result: Result | None, owner_agency: str, grantee: str, *, write: bool = False
    ) -> None:
        if grantee == owner_agency:
            raise ValueError("a result is already its own agency's")
        if not self.agency_exists(grantee):
            raise ValueError(f"no agency {grantee!r} here")
        self.db.run(
            "INSERT INTO shares(owner_agency, result_id, grantee_agency, granted_by, at, access) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(owner_agency, result_id, grantee_agency) "
            "DO UPDATE SET access = excluded.access, granted_by = excluded.granted_by, at = excluded.at",
            (
                owner_agency,
                result.id if result else "*",
                grantee,
                who.name,
                audit.now_iso(),
                "write" if write else "read",
            ),
        )

    def unshare(self, result: Result | None, owner_agency: str, grantee: str) -> bool:
        """Revoke a grant; True when there was one."""
        return (
            self.db.run(
                "DELETE FROM shares WHERE owner_agency = ? AND result_id = ? AND grantee_agency = ?",
                (owner_agency, result.id if result else "*", grantee),
            )
            > 0
        )

    def shares(self, owner_agency: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self.db.all(
                "SELECT owner_agency, result_id, grantee_agency, access, granted_by, at FROM shares "
                "WHERE owner_agency = ? ORDER BY at",
                (owner_agency,),
            )
        ]

    # audit -------------------------------------------------------------
    def audit(
        self, who: Principal | None, action: str, result_id: str | None = None, ip: str = "", **detail: Any
    ) -> None:
        audit.record(
            self.db,
            user=who.name if who else "-",
            role=who.role if who else "-",
            agency=who.agency if who else "-",
            action=action,
            result_id=result_id,
            detail=detail,
            ip=ip,
        )

    def audit_reads(self, who: Principal, action: str, result_ids: list[str], ip: str = "", **detail: Any) -> None:
        seen = list(dict.fromkeys(result_ids))
        audit.record_many(
            self.db,
            [
                dict(
                    user=who.name, role=who.role, agency=who.agency, action=action, result_id=rid, detail=detail, ip=ip
                )
                for rid in seen
            ],
        )

    # jobs --------------------------------------------------------------
    def new_job(self, who: Principal, name: str, pages: int, ma_ho_so: str | None) -> str:
        job_id = secrets.token_hex(16)
        now = audit.now_iso()
        self.db.run(
            "INSERT INTO jobs(id, user, agency, name, status, pages_total, ma_ho_so, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
            (job_id, who.name, who.agency, name, pages, ma_ho_so, now, now),
        )
        return job_id

    def job_progress(self, job_id: str, done: int, total: int, stage: str = "") -> None:
        self.db.run(
            "UPDATE jobs SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END, "
            "pages_done = max(pages_done, ?), pages_total = ?, stage = ?, updated_at = ? WHERE id = ? "
            "AND status IN ('queued', 'running')",
            (done, total, stage, audit.now_iso(), job_id),
        )

    def finish_job(self, job_id: str, *, result_id: str | None = None, error: str | None = None) -> None:
        if error is None:
            self.db.run(
                "UPDATE jobs SET status = 'done', pages_done = pages_total, result_id = ?, updated_at = ? WHERE id = ?",
                (result_id, audit.now_iso(), job_id),
            )
        else:
            self.db.run(
                "UPDATE jobs SET status = 'failed', error = ?, updated_at = ? WHERE id = ?",
                (error, audit.now_iso(), job_id),
            )

    def job_for(self, who: Principal, job_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM jobs WHERE id = ?", (job_id[:64],))
        if row is None or (row["agency"] != who.agency and not who.can("all_agencies")):
            raise NotFound("no such job")
        return dict(row)

    def _fail_interrupted_jobs(self) -> None:
        self.db.run(
            "UPDATE jobs SET status = 'failed', error = 'interrupted by a server restart; upload again', "
            "updated_at = ? WHERE status IN ('queued', 'running')",
            (audit.now_iso(),),
        )

    # after a result is stored -----------------------------------------
    def accepted(self, who: Principal, result: Result, ma_ho_so: str | None, ip: str = "") -> None:
        self.queue_update(result)
        if ma_ho_so:
            self.attach(who, ma_ho_so, result.id, "scanned")
        self.audit(
            who,
            "create",
            result.id,
            ip=ip,
            source=result.source.sha256,
            pages=len(result.pages),
            version=result.version,
            dossier=ma_ho_so,
        )

    # review queue ------------------------------------------------------
    @staticmethod
    def pending(result: Result) -> int:
        return sum(len(r.needs_review) for r in result.records)

    def queue_update(self, result: Result) -> None:
        now = audit.now_iso()
        self.db.run(
            "INSERT INTO review_queue(result_id, agency, pending, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(result_id) DO UPDATE SET pending = excluded.pending, "
            "updated_at = excluded.updated_at",
            (result.id, result.agency, self.pending(result), result.created_at or now, now),
        )

    def queue_sync(self, scan: int = 200) -> None:
        """Refresh the queue from the most recent results in the index, so that results
        processed or changed outside the web app (CLI, workers) show up too."""
        try:
            hits = self.index.search(None, limit=scan)
        except Exception:  # an index without browse support: the queue has what the web app stored
            return
        ids = list(dict.fromkeys(h["result_id"] for h in hits))
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        known = {
            r["result_id"]: r["pending"]
            for r in self.db.all(f"SELECT result_id, pending FROM review_queue WHERE result_id IN ({marks})", ids)
        }
        for rid in ids:
            result = self.index.get(rid)
            if result is not None and known.get(rid) != self.pending(result):
                self.queue_update(result)

    def queue(self, who: Principal, limit: int = 50) -> list[dict[str, Any]]:
        self.queue_sync()
        if who.can("all_agencies"):
            rows = self.db.all(
                "SELECT result_id FROM review_queue WHERE pending > 0 ORDER BY created_at, result_id LIMIT ?", (limit,)
            )
        else:
            rows = self.db.all(
                "SELECT result_id FROM review_queue WHERE pending > 0 AND agency = ? "
                "ORDER BY created_at, result_id LIMIT ?",
                (who.agency, limit),
            )
        items = []
        for row in rows:
            result = self.index.get(row["result_id"])
            if result is None or not self.can_read(who, result) or self.shadows(result):
                continue  # a dossier scan's fields are checked on its documents' results
            if self.pending(result) == 0:
                self.queue_update(result)
                continue
            records = result.records
            for i, rec in enumerate(records):
                fields = dict(rec.fields)
                for field in rec.needs_review:
                    # `so` (the entry's number in its book) and `fields` (the entry's row, for
                    # context: the other values of the same person) come with each item.
                    confidence = rec.confidence.get(field)
                    items.append(
                        {
                            "result_id": result.id,
                            "version": result.version,
                            "record": i,
                            "records": len(records),
                            "so": fields.get("so"),
                            "book": result.book,
                            "page": rec.page,
                            "pages": len(result.pages),
                            "doc_type": rec.doc_type,
                            "field": field,
                            "value": fields.get(field, ""),
                            "confidence": None if confidence is None else round(confidence, 4),
                            "source": result.source.name,
                            "fields": fields,
                        }
                    )
        return items

    # dossiers ----------------------------------------------------------
    @staticmethod
    def check_ma(ma_ho_so: str) -> str:
        ma = clean_spaces(nfc(ma_ho_so or ""))
        if not MA_HO_SO.match(ma):
            raise ValueError("mã hồ sơ: 1-64 letters, digits, . / _ -")
        return ma

    def attach(self, who: Principal, ma_ho_so: str, result_id: str, kind: str) -> bool:
        """Add a result to the principal's agency's dossier; True when it was new."""
        now = audit.now_iso()
        with self.db.connect(write=True) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO dossiers(agency, ma_ho_so, created_at, created_by) VALUES (?,?,?,?)",
                (who.agency, ma_ho_so, now, who.name),
            )
            cur = conn.execute(
                "INSERT OR IGNORE INTO dossier_items(agency, ma_ho_so, result_id, kind, at, by) VALUES (?,?,?,?,?,?)",
                (who.agency, ma_ho_so, result_id, kind, now, who.name),
            )
            return cur.rowcount == 1

    def refile_items(self, result_id: str, kind: str) -> None:
        """A scan's document result in every dossier that holds it: current ("document") or
        replaced by a corrected split ("superseded"); the row stays, its kind changes."""
        other = "superseded" if kind == "document" else "document"
        self.db.run(
            "UPDATE OR REPLACE dossier_items SET kind = ? WHERE result_id = ? AND kind = ?", (kind, result_id, other)
        )

    def open_dossier(self, who: Principal, ma_ho_so: str) -> bool:
        """The principal's agency's dossier, made now if it is new (a scan into it may take
        minutes; the dossier is there from its upload on); True when it was new."""
        return (
            self.db.run(
                "INSERT OR IGNORE INTO dossiers(agency, ma_ho_so, created_at, created_by) VALUES (?,?,?,?)",
                (who.agency, ma_ho_so, audit.now_iso(), who.name),
            )
            == 1
        )

    def dossier_jobs(self, agency: str, ma_ho_so: str) -> list[dict[str, Any]]:
        """Scans into a dossier not yet filed: queued, running or failed (newest last)."""
        return [
            dict(r)
            for r in self.db.all(
                "SELECT id, name, status, pages_done, pages_total, error, created_at FROM jobs WHERE agency = ? "
                "AND ma_ho_so = ? AND status IN ('queued', 'running', 'failed') ORDER BY created_at, id",
                (agency, ma_ho_so),
            )
        ]

    def dossier(self, agency: str, ma_ho_so: str) -> dict[str, Any]:
        head = self.db.one("SELECT * FROM dossiers WHERE agency = ? AND ma_ho_so = ?", (agency, ma_ho_so))
        if head is None:
            raise NotFound("no such dossier")
        items = [
            dict(r)
            for r in self.db.all(
                "SELECT result_id, kind, at, by FROM dossier_items WHERE agency = ? AND ma_ho_so = ? ORDER BY at",
                (agency, ma_ho_so),
            )
        ]
        return {
            "ma_ho_so": ma_ho_so,
            "agency": agency,
            "created_at": head["created_at"],
            "created_by": head["created_by"],
            "items": items,
            "reused": sum(1 for i in items if i["kind"] == "reused"),
        }

    def reuse_report(self, month: str | None = None, agency: str | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if month:
            where.append("substr(d.created_at, 1, 7) = ?")
            params.append(month)
        if agency:
            where.append("d.agency = ?")
            params.append(agency)
        sql = (
            "SELECT d.agency AS agency, substr(d.created_at, 1, 7) AS month, count(*) AS dossiers, "
            "sum(EXISTS (SELECT 1 FROM dossier_items i WHERE i.agency = d.agency AND i.ma_ho_so = d.ma_ho_so "
            "AND i.kind = 'reused')) AS reused FROM dossiers d"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " GROUP BY 1, 2 ORDER BY 2, 1"
        )
        return [
            {
                "agency": r["agency"],
                "month": r["month"],
                "dossiers": r["dossiers"],
                "reused": r["reused"],
                "reuse_rate": round(r["reused"] / r["dossiers"], 4) if r["dossiers"] else 0.0,
            }
            for r in self.db.all(sql, params)
        ]

    def matches(self, who: Principal, result: Result, limit: int = 20) -> list[dict[str, Any]]:
        """Archived results of the same person(s): any so_dinh_danh* field of this result."""
        ids = sorted({v for rec in result.records for k, v in rec.fields.items() if k.startswith("so_dinh_danh") and v})
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, int | None]] = set()
        for number in ids:
            hits = self.index.search(None, so_dinh_danh=number, limit=limit * 5 + 10)
            for hit in self.filter_hits(who, hits, limit * 5 + 10):
                key = (hit["result_id"], hit.get("record"))
                if hit["result_id"] == result.id or key in seen:
                    continue
                seen.add(key)
                out.append(dict(hit, matched_so_dinh_danh=number))
        return out[:limit]

    def person(
        self,
        who: Principal,
        *,
        so_dinh_danh: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: str | None = None,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Archived records of one person, before anything is scanned: by personal id (every
        record naming it), and by name with birth date. Each comes with its result's date,
        version and corrections, and where the archive's name or birth date differs from the
        one given, the difference (the officer decides, seeing both)."""
        hits: list[dict[str, Any]] = []
        if so_dinh_danh:
            found = self.index.search(None, so_dinh_danh=so_dinh_danh, limit=limit * 5 + 10)
            hits += [dict(h, matched_by="so_dinh_danh") for h in self.filter_hits(who, found, limit * 5 + 10)]
        if ho_ten and ngay_sinh:
            found = self.index.search(None, ho_ten=ho_ten, ngay_sinh=ngay_sinh, limit=limit * 5 + 10)
            hits += [dict(h, matched_by="ho_ten+ngay_sinh") for h in self.filter_hits(who, found, limit * 5 + 10)]
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, int | None]] = set()
        given = {"ho_ten": ho_ten, "ngay_sinh": ngay_sinh, "so_dinh_danh": so_dinh_danh}
        for hit in hits:
            key = (hit["result_id"], hit.get("record"))
            if key in seen:
                continue
            seen.add(key)
            result = self.index.get(hit["result_id"])
            fields = hit.get("fields") or {}
            # Case and spacing aside, every letter counts: "Hiển" is not "Hiền".
            differs = {
                name: {"archived": fields[name], "given": value}
                for name, value in given.items()
                if value and fields.get(name) and _same_key(fields[name]) != _same_key(value)
            }
            out.append(
                dict(
                    hit,
                    version=result.version if result else 1,
                    corrections=len(result.corrections) if result else 0,
                    differs=differs,
                )
            )
            if len(out) >= limit:
                break
        return out

    # images ------------------------------------------------------------
    def page_images(self, result: Result) -> list[tuple[bytes, float]]:
        key = result.keys["pdf"]
        with self._images_lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        images = page_jpegs(self.storage.get(key))
        with self._images_lock:
            self._images[key] = images
            while len(self._images) > 16:
                self._images.popitem(last=False)
        return images

    def words(self, result: Result) -> list[list[dict[str, Any]]]:
        return load_words(result, self.storage)

    def field_boxes(self, result: Result, page_words: list[dict[str, Any]], page: int) -> list[dict[str, Any]]:
        out = []
        for i, rec in enumerate(result.records):
            if rec.page != page:
                continue
            for field in rec.fields:
                box = union_box(page_words, locate_field(page_words, rec.fields, field))
                if box is not None:
                    out.append(
                        {"record": i, "field": field, "box": list(box), "needs_review": field in rec.needs_review}
                    )
        return out

    def crop(self, result: Result, record: int, field: str) -> bytes:
        from PIL import Image

        records = result.records
        if not 0 <= record < len(records) or field not in records[record].fields:
            raise NotFound("no such field")
        rec = records[record]
        page = rec.page or 1
        words = self.words(result)
        page_words = words[page - 1] if 0 < page <= len(words) else []
        box = union_box(page_words, locate_field(page_words, rec.fields, field))
        if box is None:
            raise NotFound("the value was not located on the page")
        jpeg, _ = self.page_images(result)[page - 1]
        with Image.open(io.BytesIO(jpeg)) as image:
            x0, y0, x1, y1 = box
            h = max(1, y1 - y0)
            pad_x, pad_y = max(2 * h, (x1 - x0) // 4), max(2, int(h * 0.6))
            area = (max(0, x0 - pad_x), max(0, y0 - pad_y), min(image.width, x1 + pad_x), min(image.height, y1 + pad_y))
            part = image.crop(area).convert("RGB")
            buf = io.BytesIO()
            part.save(buf, "JPEG", quality=88)
            return buf.getvalue()


def _same_key(value: str) -> str:
    return " ".join(nfc(value).split()).casefold()


def entitled(result: Result, so_dinh_danh: str) -> dict[str, Any]:
    """What a lookup by personal id gives: the records that name this id (a registry
    page holds other people's entries too), their fields and review state, and the
    facts of the signed result; never page text, words or storage keys."""

    def names_id(record: Record) -> bool:
        return any(re.sub(r"\D", "", str(v)) == so_dinh_danh for v in record.fields.values() if isinstance(v, str))

    records = [
        {k: d.get(k) for k in ("doc_type", "page", "fields", "needs_review", "confidence")}
        for d in (r.to_dict() for r in result.records if names_id(r))
    ]
    return {
        "id": result.id,
        "version": result.version,
        "agency": result.agency,
        "created_at": result.created_at,
        "pdf": result.pdf.to_dict() if result.pdf else None,
        "records": records,
    }


def public(result: Result) -> dict[str, Any]:
    """A result as the API shows it (its JSON): storage keys replaced by links."""
    out = {k: v for k, v in result.to_dict().items() if k != "keys"}
    if isinstance(out.get("dossier_scan"), dict):  # a dossier document's origin, less its storage key
        out["dossier_scan"] = {k: v for k, v in out["dossier_scan"].items() if k != "original"}
    rid, version = result.id, result.version
    out["links"] = {
        "self": f"/api/results/{rid}",
        "pdf": f"/api/results/{rid}/pdf?version={version}",
        "versions": f"/api/results/{rid}/versions",
    }
    return out


def versions(services: Services, result: Result) -> list[dict[str, Any]]:
    out = []
    current = result.version
    for n in range(1, current + 1):
        data: Result | None
        if n == current:
            data = result
        else:
            try:
                data = Result.from_dict(json.loads(services.storage.get(version_key(result, "json", n))))
            except Exception:
                data = None
        pdf = data.pdf if data is not None else None
        out.append(
            {
                "version": n,
                "signed_at": pdf.signed_at if pdf else None,
                "pdf_sha256": pdf.sha256 if pdf else None,
                "changes": [c.to_dict() for c in result.corrections if c.version == n],
                "pdf": f"/api/results/{result.id}/pdf?version={n}",
                "json": f"/api/results/{result.id}?version={n}",
            }
        )
    return out
