"""Dossier intake (issue #18): the JSON API other systems use, and the intake page.

    POST /api/dossiers                          upload a dossier (one PDF, TIFF or image, or several
                                                images): split into its documents, filed (202 + job)
    GET  /api/dossiers/{ma}/documents           its documents, their types, pages and records
    POST /api/dossiers/{ma}/split               a corrected split: the documents re-filed from the
                                                pages already read (no OCR again)
    POST /api/dossiers/{ma}/reuse               (routes/dossiers.py) attach an archived result
    GET  /intake/dossier                        the page

A scan is read once (OCR), as one signed result whose `documents` (CONTRACT) list its
documents; then each document is filed as a result of its own, from the pages already read
(no OCR again): its own id, its own signed PDF of its pages, its records, indexed on its own,
with the dossier's code (`ma_ho_so`) and where it came from (`dossier_scan`: the scan, its
pages there, the scan's original). The scan keeps the original upload, byte for byte. A
dossier lists, for each scan, the current document results in page order (a scan of one
document is its own document), then the archived results attached to it. A corrected split
re-files: unchanged documents keep their results; the others are new results, and those
they replace are marked superseded (kept, never deleted). Roles and agencies as the other
dossier routes: the "upload" permission to scan, "dossier" to read, correct the split and
attach; a dossier is its agency's (admins may read another's with ?agency=)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Annotated, Any, TYPE_CHECKING

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .. import errors
from ..clock import VN_TZ
from ..pipeline import agency_result_id, result_id_for
from ..types import CleanPage, Correction, Document, DossierScan, Record, Result, Superseded
from .auth import SESSION_COOKIE, Principal
from .jobs import outcome
from .services import Services, public

if TYPE_CHECKING:
    from ..pipeline import Engines

log = logging.getLogger(__name__)

JOINABLE = ("image/png", "image/jpeg", "image/tiff", "application/pdf")


class SplitIn(BaseModel):
    result_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the scan whose split is corrected")
    starts: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(
        min_length=1, max_length=1000, description="first page (1-based) of each document, in order"
    )
    version: int | None = Field(default=None, ge=1, description="expected current version (409 if stale)")


@dataclass(frozen=True)
class DossierDocument:
    """One document of a dossier: a document of a scan, or an archived result attached whole."""

    index: int
    result_id: str
    document: int | None  # its index in the scan's `documents`; None: the whole result
    doc_type: str
    pages: tuple[int, ...]
    kind: str  # "scanned" or "reused"
    at: str
    by: str
    version: int
    source_name: str
    created_at: str
    records: tuple[dict[str, Any], ...] = field(default=())
    scan: str | None = None  # the scan it was split from (its result id); None: an archived result
    scan_version: int | None = None  # that scan's current version (what a corrected split expects)

    def to_dict(self) -> dict[str, Any]:
        links = {"result": f"/api/results/{self.result_id}", "page": f"/results/{self.result_id}"}
        if self.scan:
            links["scan"] = f"/api/results/{self.scan}"
        return {
            "index": self.index,
            "result_id": self.result_id,
            "document": self.document,
            "doc_type": self.doc_type,
            "pages": list(self.pages),
            "kind": self.kind,
            "at": self.at,
            "by": self.by,
            "version": self.version,
            "source_name": self.source_name,
            "created_at": self.created_at,
            "records": list(self.records),
            "needs_review": sum(len(r.get("needs_review") or []) for r in self.records),
            "scan": self.scan,
            "scan_version": self.scan_version,
            "links": links,
        }


# ------------------------------------------------------------------ documents of a dossier


def _record_view(record: Record) -> dict[str, Any]:
    data = record.to_dict()
    return {k: data[k] for k in ("doc_type", "page", "fields", "needs_review", "confidence", "document") if k in data}


def result_documents(result: Result, item: dict[str, Any], start: int) -> list[DossierDocument]:
    """The documents one dossier item brings, read from the item's result: each of a split
    scan's whose documents were not filed as results of their own (scans filed before
    documents were), else the result whole."""
    records = result.records
    version = result.version
    scanned = item["kind"] == "scanned"
    common = dict(
        result_id=result.id,
        kind=item["kind"],
        at=item["at"],
        by=item["by"],
        version=version,
        source_name=result.source.name,
        created_at=result.created_at,
        scan=result.id if scanned else None,
        scan_version=version if scanned else None,
    )
    if not result.documents:
        kind = records[0].doc_type if records else "other"
        return [
            DossierDocument(
                index=start,
                document=None,
                doc_type=kind,
                pages=tuple(p.number for p in result.pages),
                records=tuple(_record_view(r) for r in records),
                **common,
            )
        ]
    return [
        DossierDocument(
            index=start + k,
            document=span.index,
            doc_type=span.doc_type,
            pages=span.pages,
            records=tuple(_record_view(r) for r in records if r.document == span.index),
            **common,
        )
        for k, span in enumerate(result.documents)
    ]


def filed_documents(svc: Services, scan: Result, item: dict[str, Any], start: int) -> list[DossierDocument] | None:
    """A scan's documents as the results they were filed as, in page order; None when the
    scan has no documents (one document: the scan is its own) or they are not all filed."""
    if not scan.documents:
        return None
    out: list[DossierDocument] = []
    for k, span in enumerate(scan.documents):
        doc = svc.index.get(document_result_id(scan.id, span.pages))
        if doc is None:
            return None
        records = doc.records
        out.append(
            DossierDocument(
                index=start + k,
                result_id=doc.id,
                document=span.index,
                doc_type=span.doc_type or (records[0].doc_type if records else "other"),
                pages=span.pages,
                kind=item["kind"],
                at=item["at"],
                by=item["by"],
                version=doc.version,
                source_name=scan.source.name,
                created_at=doc.created_at,
                records=tuple(_record_view(r) for r in records),
                scan=scan.id,
                scan_version=scan.version,
            )
        )
    return out


def dossier_documents(svc: Services, who: Principal, agency: str, ma: str) -> dict[str, Any]:
    head = svc.dossier(agency, ma)  # NotFound for a dossier the agency does not have
    documents: list[DossierDocument] = []
    for item in head["items"]:
        if item["kind"] not in ("scanned", "reused"):
            continue  # a scan's documents ("document", "superseded"): listed through their scan
        result = svc.index.get(item["result_id"])
        if result is None or not svc.can_read(who, result):
            continue  # a share revoked since it was attached: not shown, as any result one may not read
        filed = filed_documents(svc, result, item, len(documents)) if item["kind"] == "scanned" else None
        documents += filed if filed is not None else result_documents(result, item, len(documents))
    pending = [
        {
            "job": j["id"],
            "name": j["name"],
            "status": j["status"],
            "pages_done": j["pages_done"],
            "pages_total": j["pages_total"],
            "error": j["error"],
            "status_url": f"/api/jobs/{j['id']}",
        }
        for j in svc.dossier_jobs(agency, ma)
    ]
    return {
        "ma_ho_so": ma,
        "agency": agency,
        "created_at": head["created_at"],
        "created_by": head["created_by"],
        "documents": [d.to_dict() for d in documents],
        "pending": pending,
        "reused": head["reused"],
        "items": head["items"],
    }


# ------------------------------------------------------------------ each document a result of its own


def document_result_id(scan_id: str, pages: list[int] | tuple[int, ...]) -> str:
    """The id of the result a scan's document is filed as: from the scan's id (its bytes'
    SHA-256, or the agency's own id for them) and the document's pages. The same document
    of the same scan always has the same id, so filing again (the same upload twice, a
    job retried, a split moved back) finds the result already signed, or the run a crash
    stopped (its commit note), instead of signing a second copy; a document whose pages
    a corrected split did not change keeps its result, corrections and all; one whose pages
    changed is another document, with another id. Derived from the scan's id rather than
    its bytes alone, so one agency's documents never share ids with another's copy."""
    seed = f"dossier-document\0{scan_id}\0{','.join(str(int(n)) for n in pages)}"
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def _document_title(records: list[Record], fallback: str) -> str:
    if records and records[0].doc_type != "van_ban":
        fields = records[0].fields
        return f"{records[0].doc_type} {fields.get('ho_ten') or fields.get('ho_ten_chong') or ''}".strip()
    return fallback


def _new_document_result(
    engines: "Engines",
    scan: Result,
    span: Document,
    result_id: str,
    pictures: list[tuple[bytes, float]],
    words: list[list[dict[str, Any]]],
    ma: str,
) -> Result:
    """Sign, store and index one document of a scan as a result of its own: its pages' images
    from the scan's signed PDF, their words and records as the scan read them (renumbered
    from 1), the scan's original as its original. Nothing is read again."""
    import numpy as np

    from ..pipeline import _storage_place, record_intent, sign_pdf, to_json_bytes
    from ..render import render_pdf
    from ..review import _ocr_page, decode_jpeg

    at = {(m.number or i): i for i, m in enumerate(scan.pages, 1)}
    numbers = [int(n) for n in span.pages]
    renumber = {n: k for k, n in enumerate(numbers, 1)}
    pages, page_metas, page_words = [], [], []
    for k, n in enumerate(numbers, 1):
        i = at[n] - 1
        jpeg, dpi = pictures[i]
        display = decode_jpeg(jpeg)
        grey = display if display.ndim == 2 else display.mean(axis=2).astype(np.uint8)
        meta = replace(scan.pages[i], number=k)
        ocr = _ocr_page(meta, words[i], display.shape[1], display.shape[0], dpi)
        pages.append(
            (
                CleanPage(
                    number=k,
                    display=display,
                    ocr_input=grey,
                    dpi=dpi,
                    ocr_scale=1.0,
                    rotation=ocr.rotation,
                    skew=ocr.skew,
                    stages=("from-signed-pdf",),
                ),
                ocr,
            )
        )
        page_metas.append(meta)
        page_words.append(words[i])
    records = [
        replace(r, document=None, page=renumber[r.page])
        for r in scan.records
        if r.document == span.index and r.page in renumber
    ]
    source = scan.source
    now = datetime.now(VN_TZ).replace(microsecond=0)
    agency = scan.agency or engines.settings.agency
    stub = Result(id=result_id, source=source, pages=(), records=(), created_at=now.isoformat(), agency=agency)
    prefix, stub = _storage_place(stub, now, engines)
    record_intent(stub, prefix, engines)
    pdf = render_pdf(
        pages,
        title=_document_title(records, source.name.rsplit(".", 1)[0]),
        source_sha256=source.sha256,
        created=now,
        extra_meta={"DigitizeResultId": result_id, "DigitizeScanId": scan.id},
    )
    signed, signature = sign_pdf(pdf, engines)
    version_prefix = f"{prefix}/v{stub.version}"
    keys = {
        "original": scan.keys.get("original", ""),
        "pdf": f"{version_prefix}/document.pdf",
        "json": f"{version_prefix}/result.json",
        "words": f"{version_prefix}/words.json",
    }
    out = replace(
        stub,
        pages=tuple(page_metas),
        records=tuple(records),
        pdf=signature,
        keys=keys,
        ma_ho_so=ma,
        dossier_scan=DossierScan(
            result_id=scan.id,
            version=scan.version,
            document=span.index,
            doc_type=span.doc_type,
            pages=tuple(numbers),
            original=keys["original"],
        ),
    )
    storage = engines.storage
    # as store_artefacts: the signed PDF last (retained), the index, the commit point, after
    storage.put(keys["words"], json.dumps(page_words, ensure_ascii=False).encode(), content_type="application/json")
    storage.put(keys["json"], to_json_bytes(out), content_type="application/json")
    storage.put(keys["pdf"], signed, content_type="application/pdf", retain=True)
    engines.index.upsert(out)
    return out


def file_documents(svc: Services, scan: Result, ma: str) -> tuple[list[Result], list[Result]]:
    """Each document of a scan as a result of its own (`_new_document_result`), in page order;
    idempotent: a document already filed is that result (taken back from superseded where a
    corrected split made it current again), and a stored one a crash left unindexed is taken
    over. Returns (the scan's document results, those filed or made current now). A scan of one
    document (no `documents`) is its own result: ([], [])."""
    from ..pipeline import _artefacts_present, uncommitted_result
    from ..review import _lock_for, load_words, page_jpegs

    if not scan.documents:
        return [], []
    engines = svc.review_engines(scan.agency)
    pictures: list[tuple[bytes, float]] | None = None
    words: list[list[dict[str, Any]]] = []
    current: list[Result] = []
    now_current: list[Result] = []
    for span in scan.documents:
        rid = document_result_id(scan.id, span.pages)
        with _lock_for(rid):
            existing = svc.index.get(rid)
            if existing is not None and _artefacts_present(existing, engines):
                if existing.superseded is not None:
                    existing = replace(existing, superseded=None)
                    svc.index.upsert(existing)
                    now_current.append(existing)
                current.append(existing)
                continue
            stored = uncommitted_result(rid, engines, existing.version if existing else 0)
            if stored is None:
                if pictures is None:
                    pictures = page_jpegs(svc.storage.get(scan.keys["pdf"]))
                    words = load_words(scan, svc.storage)
                stored = _new_document_result(engines, scan, span, rid, pictures, words, ma)
            else:
                svc.index.upsert(stored)
            current.append(stored)
            now_current.append(stored)
    return current, now_current


def _scan_pages(result: Result) -> set[int]:
    return set(result.dossier_scan.pages) if result.dossier_scan else set()


def supersede(svc: Services, who: Principal, old_ids: list[str], current: list[Result], scan: Result) -> list[str]:
    """Mark the document results a corrected split replaced: kept (signed, indexed, readable),
    with `superseded` saying when, by whom and by which results; the dossiers list them no
    more. Returns the ids marked."""
    keep = {d.id for d in current}
    when = datetime.now(VN_TZ).replace(microsecond=0).isoformat()
    marked = []
    for rid in dict.fromkeys(old_ids):
        if rid in keep:
            continue
        old = svc.index.get(rid)
        if old is None or old.superseded is not None:
            continue
        pages = _scan_pages(old)
        by = tuple(d.id for d in current if pages & _scan_pages(d))
        svc.index.upsert(
            replace(old, superseded=Superseded(at=when, by=who.name, scan_version=scan.version, results=by))
        )
        svc.refile_items(rid, "superseded")
        marked.append(rid)
    return marked


def file_scan(svc: Services, who: Principal, scan: Result, ma: str, ip: str) -> list[Result]:
    """A scan into a dossier, after it was read: its documents filed as results of their own,
    then the scan and they attached to the dossier (the scan last listed once all are there)."""
    current, made = file_documents(svc, scan, ma)
    for doc in current:
        svc.queue_update(doc)
    svc.accepted(who, scan, ma, ip)
    for doc in current:
        svc.attach(who, ma, doc.id, "document")
        svc.refile_items(doc.id, "document")
    for doc in made:
        svc.audit(
            who,
            "create",
            doc.id,
            ip=ip,
            dossier=ma,
            scan=scan.id,
            pages=list(doc.dossier_scan.pages) if doc.dossier_scan else None,
            version=doc.version,
        )
    return current


# ------------------------------------------------------------------ a corrected split


def span_label(pages: list[int] | tuple[int, ...]) -> str:
    return f"{pages[0]}–{pages[-1]}" if len(pages) > 1 else str(pages[0]) if pages else ""


def resplit(
    svc: Services, who: Principal, result_id: str, starts: list[int], expected: int | None, ma: str = ""
) -> tuple[Result, bool, list[str]]:
    """Re-file a scan's documents at the given first pages: one new signed version of the
    scan (its `documents`, the split's record), then its documents re-filed as results.

    Pages are not read again: the words stored with the result are the pages' OCR.
    Documents whose pages did not change keep their records and their results (and the
    corrections made to them); the others are typed and read again from those words, each
    on its own pages, and filed as new results; the results they replace are marked
    superseded. Returns (the scan, whether it changed, the ids superseded)."""
    # review's private helpers make the new version exactly as a correction does (one
    # re-rendered, re-signed PDF under the result's lock), rather than a second copy of that code.
    from ..dossier import split_at
    from ..extract import extract_pages
    from ..review import ReviewError, StaleVersion, _lock_for, _new_version, _ocr_page, load_words

    svc.result_for(who, result_id, write=True)
    with _lock_for(result_id):
        current = svc.index.get(result_id)
        if current is None:
            raise errors.NotFound("no such result")
        version = current.version
        if expected is not None and expected != version:
            raise StaleVersion(f"result is at version {version}, not {expected}; reload and retry")
        words = load_words(current, svc.storage)
        pages = [_ocr_page(m, w, m.width, m.height, m.dpi or 200.0) for m, w in zip(current.pages, words)]
        try:
            spans = split_at(pages, starts)
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        old = current.documents or (Document(index=0, doc_type="", pages=tuple(p.number for p in pages)),)
        if [list(s.pages) for s in spans] == [list(d.pages) for d in old]:
            return current, False, []
        old_ids = [document_result_id(result_id, d.pages) for d in current.documents]
        kept = {tuple(d.pages): d for d in old}
        by_number = {p.number: p for p in pages}
        records: list[Record] = []
        documents: list[Document] = []
        for span in spans:
            same = kept.get(span.pages)
            if same is not None and current.documents:
                doc_type = same.doc_type
                own = [r for r in current.records if r.document == same.index]
            else:
                doc_type = span.doc_type
                own = extract_pages([by_number[n] for n in span.pages], "auto")
            records += [replace(r, document=span.index) for r in own]
            documents.append(Document(index=span.index, doc_type=doc_type, pages=tuple(span.pages)))
        when = datetime.now(VN_TZ).replace(microsecond=0)
        log = [
            Correction(
                version=version + 1,
                record=None,
                field="documents",
                old=" | ".join(span_label(d.pages) for d in old),
                new=" | ".join(span_label(d.pages) for d in documents),
                action="resplit",
                by=who.name,
                at=when.isoformat(),
            )
        ]
        new = _new_version(
            svc.review_engines(current.agency), replace(current, documents=tuple(documents)), records, words, when, log
        )
        filed, _ = file_documents(svc, new, ma)
        superseded = supersede(svc, who, old_ids, filed, new)
    svc.queue_update(new)
    for doc in filed:
        svc.queue_update(doc)
        if ma:
            svc.attach(who, ma, doc.id, "document")
        svc.refile_items(doc.id, "document")
    return new, True, superseded


# ------------------------------------------------------------------ an upload of several files


def join_scans(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    """One input from the files of one dossier: a single file as it is; several (images,
    PDFs) as one PDF in their order, images embedded as they are (img2pdf: a JPEG is not
    decoded and encoded again), so the archived original holds what was scanned."""
    if len(files) == 1:
        return files[0]
    import img2pdf
    import pikepdf

    from .. import ingest
    from ..config import load_settings

    joined = pikepdf.new()
    settings = load_settings()
    for name, data in files:
        kind = ingest.describe(name, data, settings).media_type  # typed 4xx: empty, unsupported, too big
        if kind not in JOINABLE:
            raise errors.UnsupportedInput(f"{name}: only PNG, JPEG, TIFF or PDF files are joined into a dossier")
        try:
            pdf_bytes = data if kind == "application/pdf" else img2pdf.convert(data)
            part = pikepdf.open(io.BytesIO(pdf_bytes))
        except pikepdf.PasswordError:
            raise errors.EncryptedInput("PDF is encrypted (password required)") from None
        except Exception:
            raise errors.CorruptInput(f"cannot read {name}") from None
        joined.pages.extend(part.pages)
    out = io.BytesIO()
    joined.save(out, deterministic_id=True)  # the same files, the same bytes: the same result id
    return f"{files[0][0].rsplit('.', 1)[0]}+{len(files) - 1}.pdf", out.getvalue()


def new_dossier_code(now: datetime | None = None) -> str:
    when = now or datetime.now(VN_TZ)
    return f"HS-{when:%Y%m%d}-{secrets.token_hex(3).upper()}"


# ------------------------------------------------------------------ routes


def add_intake_api(
    app: FastAPI,
    svc: Services,
    need: Callable[[str], Any],
    ip_of: Callable[[Request], str],
    *,
    prepare_upload: Callable[[str, bytes], Any],
    upload_limit: int,
) -> None:
    """Registered before routes/dossiers.py's /api/dossiers/{ma_ho_so:path}: that route takes any path,
    so these, which end in a suffix, must be matched first."""
    from .app import ApiError, clean_message, safe_name

    def dossier_code(value: str) -> str:
        try:
            return svc.check_ma(value)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="bad_dossier_code") from None

    def owner_of(who: Principal, agency: str | None) -> str:
        return agency if (agency and who.can("all_agencies")) else who.agency

    @app.post(
        "/api/dossiers",
        tags=["dossiers"],
        status_code=202,
        responses={
            200: {"description": "these bytes were processed before: filed at once, the dossier's documents"},
            202: {"description": "a job to poll at /api/jobs/{id}; then GET /api/dossiers/{ma}/documents"},
            413: {"description": "over the size, page or pixel limit"},
            415: {"description": "not an image or PDF"},
        },
    )
    async def create_dossier(
        request: Request,
        files: list[UploadFile] = File(..., description="one PDF/TIFF/image, or several images or PDFs in page order"),
        ma_ho_so: str | None = Form(None, max_length=64, description="the dossier's code; default: a new one"),
        who: Principal = Depends(need("upload")),
    ):
        """Upload a dossier scanned in one go: read once, split into its documents (each read
        on its own pages), each filed under the dossier as a signed result of its own; the
        scan's result keeps the upload. The job is done once every document is filed."""
        if not who.can("dossier"):
            raise ApiError(403, f"role {who.role} may not do this")
        if len(files) > 200:
            raise ApiError(422, "at most 200 files", code="invalid")
        parts, total = [], 0
        for upload in files:
            data = await upload.read(upload_limit + 1)
            await upload.close()
            total += len(data)
            if total > upload_limit:
                raise ApiError(
                    413, f"file over the limit of {upload_limit} bytes", code="file_too_large", limit=upload_limit
                )
            parts.append((safe_name(upload.filename), data))
        ma = dossier_code(ma_ho_so) if ma_ho_so else new_dossier_code()
        name, data = await run_in_threadpool(join_scans, parts)
        source, pages, existing = await run_in_threadpool(prepare_upload, name, data)
        rid, own_id = result_id_for(source), None
        if existing is not None and not await run_in_threadpool(svc.can_read, who, existing):
            # Another agency holds these bytes: a result of this agency's own (as /api/upload does)
            rid = own_id = agency_result_id(source, who.agency)
            existing = await run_in_threadpool(svc.index.get, rid)
        ip = ip_of(request)
        await run_in_threadpool(svc.open_dossier, who, ma)
        if existing is not None:
            await run_in_threadpool(file_scan, svc, who, existing, ma, ip)
            out = await run_in_threadpool(dossier_documents, svc, who, who.agency, ma)
            return JSONResponse(dict(out, result_id=existing.id, job=None), status_code=200)
        job_id = await run_in_threadpool(svc.new_job, who, name, pages, ma)
        # doc_type "auto": the pipeline splits an input of several pages into its documents
        future = svc.processor.submit(
            rid, name, data, who.agency, doc_type="auto", job_id=job_id, batch=True, result_id=own_id
        )

        def file_it(f) -> None:
            try:
                result = outcome(f.result())
                file_scan(svc, who, result, ma, ip)  # no OCR: each document signed from the pages read
                svc.finish_job(job_id, result_id=result.id)
            except errors.DigitizeError as exc:
                svc.finish_job(job_id, error=clean_message(str(exc)))
            except Exception:  # worker crash or bug: the job says so, the server goes on
                log.exception("dossier scan %s not filed", job_id)
                svc.finish_job(job_id, error="internal error")

        def done(f) -> None:
            # Signing the documents takes seconds: not on the thread that completes the pool's futures.
            threading.Thread(target=file_it, args=(f,), name=f"dossier-{job_id[:8]}", daemon=True).start()

        future.add_done_callback(done)
        svc.audit(who, "dossier_upload", None, ip, dossier=ma, job=job_id, pages=pages, files=len(parts))
        return JSONResponse(
            {
                "ma_ho_so": ma,
                "job": job_id,
                "status": "queued",
                "pages_total": pages,
                "status_url": f"/api/jobs/{job_id}",
                "documents_url": f"/api/dossiers/{ma}/documents",
            },
            status_code=202,
            headers={"Location": f"/api/jobs/{job_id}"},
        )

    @app.get("/api/dossiers/{ma_ho_so:path}/documents", tags=["dossiers"])
    def documents(
        request: Request,
        ma_ho_so: str,
        agency: str | None = Query(None, max_length=64),
        who: Principal = Depends(need("dossier")),
    ) -> dict[str, Any]:
        """The dossier's documents in order (each scan's current documents in page order, each
        its own result, then attached archived results): type, pages (in the scan), records;
        who filed each and when; scans still being processed."""
        ma, owner = dossier_code(ma_ho_so), owner_of(who, agency)
        out = dossier_documents(svc, who, owner, ma)
        svc.audit_reads(
            who, "read_dossier", [d["result_id"] for d in out["documents"]], ip_of(request), dossier=ma, agency=owner
        )
        return out

    @app.post("/api/dossiers/{ma_ho_so:path}/split", tags=["dossiers"])
    def split(
        request: Request, ma_ho_so: str, body: SplitIn, who: Principal = Depends(need("dossier"))
    ) -> dict[str, Any]:
        """Correct where a scan's documents begin (`result_id`: the scan, `starts`: each
        document's first page, `version`: the scan's). The pages are not read again: one new
        signed version of the scan (409 if `version` is stale); documents whose pages did not
        change keep their results; the others are typed and read again from the stored reading
        and filed as new results, and the results they replace are marked superseded
        (`superseded`: their ids; kept, readable by id)."""
        if not who.can("correct"):
            raise ApiError(403, f"role {who.role} may not do this")
        ma = dossier_code(ma_ho_so)
        head = svc.dossier(who.agency, ma)
        if not any(i["result_id"] == body.result_id and i["kind"] == "scanned" for i in head["items"]):
            raise ApiError(404, "no such scan in this dossier")
        new, changed, superseded = resplit(svc, who, body.result_id, list(body.starts), body.version, ma)
        if changed:
            svc.audit(
                who,
                "resplit",
                body.result_id,
                ip_of(request),
                dossier=ma,
                version=new.version,
                documents=[list(d.pages) for d in new.documents],
                superseded=superseded,
            )
        out = dossier_documents(svc, who, who.agency, ma)
        return dict(out, changed=changed, result=public(new), superseded=superseded)

    @app.get("/intake/dossier", include_in_schema=False)
    async def intake_page(request: Request):
        from .pages import NAV, ROLE_LABELS, TEMPLATES

        cookie = request.cookies.get(SESSION_COOKIE)
        who = await run_in_threadpool(svc.auth.session_principal, cookie) if cookie else None
        if who is None:
            return RedirectResponse("/login?next=/intake/dossier", status_code=303)
        allowed = who.can("upload") and who.can("dossier")
        nav = [(href, label) for permission, href, label in NAV if who.can(permission)] + [("/docs", "API")]
        context = {
            "who": who,
            "role_label": ROLE_LABELS.get(who.role, who.role),
            "nav": nav,
            "here": "/intake",
            "roles": ROLE_LABELS,
            "csrf": who.csrf,
            "upload_limit": upload_limit,
            "suggested": new_dossier_code(),
        }
        if not allowed:
            context.update(title="Không có quyền", message="Vai trò của bạn không được dùng trang này.")
        return TEMPLATES.TemplateResponse(
            request, "intake_dossier.html" if allowed else "message.html", context, status_code=200 if allowed else 403
        )
