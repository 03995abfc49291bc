"""Dossier intake (issue #18): the JSON API other systems use, and the intake page.

    POST /api/dossiers                          upload a dossier (one PDF, TIFF or image, or several
                                                images): split into its documents, filed (202 + job)
    GET  /api/dossiers/{ma}/documents           its documents, their types, pages and records
    POST /api/dossiers/{ma}/split               a corrected split: the documents re-filed from the
                                                pages already read (no OCR again), one new version
    POST /api/dossiers/{ma}/reuse               (routes/dossiers.py) attach an archived result
    GET  /intake/dossier                        the page

A scan is processed once, as one signed result whose `documents` (CONTRACT) list its documents,
each read on its own pages; a dossier's documents are those of its scans, in page order, and
the archived results attached to it. Roles and agencies as the other dossier routes: the
"upload" permission to scan, "dossier" to read, correct the split and attach; a dossier is its
agency's (admins may read another's with ?agency=)."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .. import errors
from ..clock import VN_TZ
from ..pipeline import agency_result_id, result_id_for
from .auth import SESSION_COOKIE, Principal
from .jobs import outcome
from .services import Services, public

JOINABLE = ("image/png", "image/jpeg", "image/tiff", "application/pdf")


class SplitIn(BaseModel):
    result_id: str = Field(pattern=r"^[0-9a-f]{32}$", description="the scan whose split is corrected")
    starts: list[Annotated[int, Field(ge=1, le=100_000)]] = Field(
        min_length=1, max_length=1000, description="first page (1-based) of each document, in order")
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

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "result_id": self.result_id, "document": self.document,
                "doc_type": self.doc_type, "pages": list(self.pages), "kind": self.kind, "at": self.at,
                "by": self.by, "version": self.version, "source_name": self.source_name,
                "created_at": self.created_at, "records": list(self.records),
                "needs_review": sum(len(r.get("needs_review") or []) for r in self.records),
                "links": {"result": f"/api/results/{self.result_id}", "page": f"/results/{self.result_id}"}}


# ------------------------------------------------------------------ documents of a dossier

def _record_view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("doc_type", "page", "fields", "needs_review", "confidence", "document")
            if k in record}


def result_documents(result: dict[str, Any], item: dict[str, Any], start: int) -> list[DossierDocument]:
    """The documents one dossier item brings: each of a split scan's, else the result whole."""
    pages = result.get("pages") or []
    records = result.get("records") or []
    common = dict(result_id=result["id"], kind=item["kind"], at=item["at"], by=item["by"],
                  version=int(result.get("version") or 1), source_name=(result.get("source") or {}).get("name", ""),
                  created_at=result.get("created_at", ""))
    spans = result.get("documents") or []
    if not spans:
        kind = records[0].get("doc_type", "other") if records else "other"
        return [DossierDocument(index=start, document=None, doc_type=kind,
                                pages=tuple(p.get("number", i) for i, p in enumerate(pages, 1)),
                                records=tuple(_record_view(r) for r in records), **common)]
    return [DossierDocument(index=start + k, document=int(span["index"]), doc_type=span["doc_type"],
                            pages=tuple(span["pages"]),
                            records=tuple(_record_view(r) for r in records if r.get("document") == span["index"]),
                            **common)
            for k, span in enumerate(spans)]


def dossier_documents(svc: Services, who: Principal, agency: str, ma: str) -> dict[str, Any]:
    head = svc.dossier(agency, ma)  # NotFound for a dossier the agency does not have
    documents: list[DossierDocument] = []
    for item in head["items"]:
        result = svc.index.get(item["result_id"])
        if result is None or not svc.can_read(who, result):
            continue  # a share revoked since it was attached: not shown, as any result one may not read
        documents += result_documents(result, item, len(documents))
    pending = [{"job": j["id"], "name": j["name"], "status": j["status"], "pages_done": j["pages_done"],
                "pages_total": j["pages_total"], "error": j["error"], "status_url": f"/api/jobs/{j['id']}"}
               for j in svc.dossier_jobs(agency, ma)]
    return {"ma_ho_so": ma, "agency": agency, "created_at": head["created_at"], "created_by": head["created_by"],
            "documents": [d.to_dict() for d in documents], "pending": pending, "reused": head["reused"],
            "items": head["items"]}


# ------------------------------------------------------------------ a corrected split

def span_label(pages: list[int] | tuple[int, ...]) -> str:
    return f"{pages[0]}–{pages[-1]}" if len(pages) > 1 else str(pages[0]) if pages else ""


def resplit(svc: Services, who: Principal, result_id: str, starts: list[int], expected: int | None
            ) -> tuple[dict[str, Any], bool]:
    """Re-file a scan's documents at the given first pages, as one new signed version.

    Pages are not read again: the words stored with the result are the pages' OCR.
    Documents whose pages did not change keep their records (and the corrections made to
    them); the others are typed and read again from those words, each on its own pages.
    Returns (the result, whether it changed)."""
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
        version = int(current.get("version") or 1)
        if expected is not None and expected != version:
            raise StaleVersion(f"result is at version {version}, not {expected}; reload and retry")
        metas = current.get("pages") or []
        words = load_words(current, svc.storage)
        pages = [_ocr_page(m, w, int(m.get("width") or 0), int(m.get("height") or 0), float(m.get("dpi") or 200))
                 for m, w in zip(metas, words)]
        try:
            spans = split_at(pages, starts)
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        old = current.get("documents") or [{"index": 0, "doc_type": "", "pages": [p.number for p in pages]}]
        if [list(s.pages) for s in spans] == [list(d["pages"]) for d in old]:
            return current, False
        kept = {tuple(d["pages"]): d for d in old}
        by_number = {p.number: p for p in pages}
        records: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        for span in spans:
            same = kept.get(span.pages)
            if same is not None and current.get("documents"):
                doc_type = same["doc_type"]
                own = [dict(r) for r in current.get("records") or [] if r.get("document") == same["index"]]
            else:
                doc_type = span.doc_type
                own = [r.to_dict() for r in extract_pages([by_number[n] for n in span.pages], "auto")]
            for record in own:
                record["document"] = span.index
            records += own
            documents.append({"index": span.index, "doc_type": doc_type, "pages": list(span.pages)})
        when = datetime.now(VN_TZ).replace(microsecond=0)
        log = [{"version": version + 1, "record": None, "field": "documents",
                "old": " | ".join(span_label(d["pages"]) for d in old),
                "new": " | ".join(span_label(d["pages"]) for d in documents), "action": "resplit",
                "by": who.name, "at": when.isoformat()}]
        new = _new_version(svc.review_engines(current.get("agency", "")), dict(current, documents=documents),
                           records, words, when, log)
    svc.queue_update(new)
    return new, True


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

def add_intake_api(app: FastAPI, svc: Services, need: Callable[[str], Any], ip_of: Callable[[Request], str], *,
                   prepare_upload: Callable[[str, bytes], Any], upload_limit: int) -> None:
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

    @app.post("/api/dossiers", tags=["dossiers"], status_code=202, responses={
        200: {"description": "these bytes were processed before: filed at once, the dossier's documents"},
        202: {"description": "a job to poll at /api/jobs/{id}; then GET /api/dossiers/{ma}/documents"},
        413: {"description": "over the size, page or pixel limit"}, 415: {"description": "not an image or PDF"}})
    async def create_dossier(request: Request,
                             files: list[UploadFile] = File(..., description="one PDF/TIFF/image, or several "
                                                                             "images or PDFs in page order"),
                             ma_ho_so: str | None = Form(None, max_length=64,
                                                         description="the dossier's code; default: a new one"),
                             who: Principal = Depends(need("upload"))):
        """Upload a dossier scanned in one go: split into its documents (each read on its own
        pages), filed under the dossier as one signed result."""
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
                raise ApiError(413, f"file over the limit of {upload_limit} bytes", code="file_too_large",
                               limit=upload_limit)
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
            await run_in_threadpool(svc.accepted, who, existing, ma, ip)
            out = await run_in_threadpool(dossier_documents, svc, who, who.agency, ma)
            return JSONResponse(dict(out, result_id=existing["id"], job=None), status_code=200)
        job_id = await run_in_threadpool(svc.new_job, who, name, pages, ma)
        # doc_type "auto": the pipeline splits an input of several pages into its documents
        future = svc.processor.submit(rid, name, data, who.agency, doc_type="auto", job_id=job_id, batch=True,
                                      result_id=own_id)

        def done(f) -> None:
            try:
                result = outcome(f.result())
                svc.accepted(who, result, ma, ip)
                svc.finish_job(job_id, result_id=result["id"])
            except errors.DigitizeError as exc:
                svc.finish_job(job_id, error=clean_message(str(exc)))
            except Exception:  # worker crash or bug: the job says so, the server goes on
                svc.finish_job(job_id, error="internal error")

        future.add_done_callback(done)
        svc.audit(who, "dossier_upload", None, ip, dossier=ma, job=job_id, pages=pages, files=len(parts))
        return JSONResponse({"ma_ho_so": ma, "job": job_id, "status": "queued", "pages_total": pages,
                             "status_url": f"/api/jobs/{job_id}",
                             "documents_url": f"/api/dossiers/{ma}/documents"}, status_code=202,
                            headers={"Location": f"/api/jobs/{job_id}"})

    @app.get("/api/dossiers/{ma_ho_so:path}/documents", tags=["dossiers"])
    def documents(request: Request, ma_ho_so: str, agency: str | None = Query(None, max_length=64),
                  who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        """The dossier's documents in order (each scan's in page order, then attached archived
        results): type, pages, records; who filed each and when; scans still being processed."""
        ma, owner = dossier_code(ma_ho_so), owner_of(who, agency)
        out = dossier_documents(svc, who, owner, ma)
        svc.audit_reads(who, "read_dossier", [d["result_id"] for d in out["documents"]], ip_of(request),
                        dossier=ma, agency=owner)
        return out

    @app.post("/api/dossiers/{ma_ho_so:path}/split", tags=["dossiers"])
    def split(request: Request, ma_ho_so: str, body: SplitIn,
              who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        """Correct where a scan's documents begin (`starts`: each document's first page). The
        pages are not read again; documents whose pages changed are typed and read again from
        the stored reading; one new signed version of the scan (409 if `version` is stale)."""
        if not who.can("correct"):
            raise ApiError(403, f"role {who.role} may not do this")
        ma = dossier_code(ma_ho_so)
        head = svc.dossier(who.agency, ma)
        if not any(i["result_id"] == body.result_id and i["kind"] == "scanned" for i in head["items"]):
            raise ApiError(404, "no such scan in this dossier")
        new, changed = resplit(svc, who, body.result_id, list(body.starts), body.version)
        if changed:
            svc.audit(who, "resplit", body.result_id, ip_of(request), dossier=ma, version=new.get("version"),
                      documents=[d["pages"] for d in new.get("documents") or []])
        out = dossier_documents(svc, who, who.agency, ma)
        return dict(out, changed=changed, result=public(new))

    @app.get("/intake/dossier", include_in_schema=False)
    async def intake_page(request: Request):
        from .pages import NAV, ROLE_LABELS, TEMPLATES

        cookie = request.cookies.get(SESSION_COOKIE)
        who = await run_in_threadpool(svc.auth.session_principal, cookie) if cookie else None
        if who is None:
            return RedirectResponse("/login?next=/intake/dossier", status_code=303)
        allowed = who.can("upload") and who.can("dossier")
        nav = [(href, label) for permission, href, label in NAV if who.can(permission)] + [("/docs", "API")]
        context = {"who": who, "role_label": ROLE_LABELS.get(who.role, who.role), "nav": nav, "here": "/intake",
                   "roles": ROLE_LABELS, "csrf": who.csrf, "upload_limit": upload_limit,
                   "suggested": new_dossier_code()}
        if not allowed:
            context.update(title="Không có quyền", message="Vai trò của bạn không được dùng trang này.")
        return TEMPLATES.TemplateResponse(request, "intake_dossier.html" if allowed else "message.html", context,
                                          status_code=200 if allowed else 403)
