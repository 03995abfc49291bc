"""The HTTP API and web pages (FastAPI). A thin shell over the pipeline, the
review module and `Services`; OpenAPI at /openapi.json.

Errors are JSON `{"error": "..."}` with a 4xx status for what the client can
fix; nothing internal (paths, stack traces) is ever sent."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import unicodedata
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, errors, ingest
from ..config import Settings, load_settings
from ..review import Change, ReviewError, StaleVersion, review_fields
from . import audit
from .auth import SESSION_COOKIE, AuthError, Principal, generate_password
from ..pipeline import result_id_for
from .jobs import outcome
from .services import Services, public, versions

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
DOC_TYPES = ("auto", "khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban")
MAX_UPLOAD_DEFAULT = 100 * 1024 * 1024
MAX_JSON_BODY = 1024 * 1024
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

_PATH = re.compile(r"(?<![\w/])/(?:[\w.\-]+/)+[\w.\-]*")


def clean_message(message: str) -> str:
    """One line, no file-system paths."""
    return " ".join(_PATH.sub("<path>", str(message)).split())[:300] or "error"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_status(exc: errors.DigitizeError) -> int:
    if isinstance(exc, errors.NotFound):
        return 404
    if isinstance(exc, errors.TooLarge):
        return 413
    if isinstance(exc, errors.UnsupportedInput):
        return 415
    if isinstance(exc, errors.EmptyInput):
        return 400
    if isinstance(exc, errors.InputError):
        return 422
    if isinstance(exc, StaleVersion):
        return 409
    if isinstance(exc, ReviewError):
        return 422
    return 503  # storage, index, signing, engine: the service, not the request


# ------------------------------------------------------------------ request models

class CorrectionIn(BaseModel):
    record: int = Field(ge=0, le=100_000)
    field: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    value: str = Field(max_length=2000)
    version: int | None = Field(default=None, ge=1, description="expected current version (409 if stale)")


class ChangeIn(BaseModel):
    record: int = Field(ge=0, le=100_000)
    field: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    value: str | None = Field(default=None, max_length=2000, description="new value; null = accept as read")


class ReviewIn(BaseModel):
    changes: list[ChangeIn] = Field(min_length=1, max_length=500)
    version: int | None = Field(default=None, ge=1)


class ApproveIn(BaseModel):
    version: int | None = Field(default=None, ge=1)


class ReuseIn(BaseModel):
    result_id: str = Field(pattern=r"^[0-9a-f]{32}$")


class ShareIn(BaseModel):
    agency: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Literal["intake", "reviewer", "archivist", "external", "admin"]
    agency: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# ------------------------------------------------------------------ middleware

class BodyLimit:
    """Refuse request bodies over the limit before they are read (413), and
    bound bodies sent without Content-Length."""

    def __init__(self, app, upload_limit: int) -> None:
        self.app = app
        self.upload_limit = upload_limit

    def limit_for(self, path: str) -> int:
        if path in ("/api/upload", "/api/verify"):
            return self.upload_limit
        return MAX_JSON_BODY

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                return await _send_json(send, 400, {"error": "bad Content-Length"})
            if too_big:
                return await _send_json(send, 413, {"error": f"request body over the limit of {limit} bytes"})
            return await self.app(scope, receive, send)
        # No length given (chunked): read it here, bounded, then replay.
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body.extend(message.get("body", b""))
            if len(body) > limit:
                return await _send_json(send, 413, {"error": f"request body over the limit of {limit} bytes"})
            if not message.get("more_body"):
                break
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}


# ------------------------------------------------------------------ the app

def create_app(settings: Settings | None = None, *, processes: int | None = None, batch_processes: int = 1,
               max_upload_bytes: int | None = None, max_pages: int | None = None, secure_cookies: bool = False,
               services: Services | None = None) -> FastAPI:
    settings = settings or load_settings()
    if processes is None:
        processes = int(os.environ.get("DIGITIZE_WEB_PROCESSES", settings.workers or (os.cpu_count() or 1)))
    svc = services or Services(settings, processes=processes, batch_processes=batch_processes)
    upload_limit = min(settings.max_bytes, max_upload_bytes or MAX_UPLOAD_DEFAULT)
    page_limit = min(settings.max_pages, max_pages or settings.max_pages)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if processes > 0:  # start the OCR workers now, not on the first citizen's page
            import threading

            threading.Thread(target=svc.processor.warm_up, name="digitize-warm-up", daemon=True).start()
        yield
        svc.close()

    app = FastAPI(title="digitize", version=__version__, lifespan=lifespan,
                  description="Vietnamese civil-status paper to signed, searchable data. "
                              "Authenticate with `Authorization: Bearer <token>` (see `digitize user add`).")
    app.state.services = svc
    app.add_middleware(BodyLimit, upload_limit=upload_limit)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith("/api/") or request.url.path.startswith("/results"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # errors --------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException is a subclass
    async def _starlette_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
                    for e in exc.errors()[:20]]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        return JSONResponse({"error": f"invalid request: {'.'.join(first['loc'])}: {first['msg']}",
                             "problems": problems}, status_code=422)

    @app.exception_handler(errors.DigitizeError)
    async def _digitize_error(request: Request, exc: errors.DigitizeError):
        status = error_status(exc)
        if status == 503:
            log.warning("service error on %s: %s", request.url.path, exc)
            return JSONResponse({"error": "the archive is temporarily unavailable; try again"}, status_code=503,
                                headers={"Retry-After": "5"})
        return JSONResponse({"error": clean_message(str(exc))}, status_code=status)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error"}, status_code=500)

    # auth ------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="API token from `digitize user add`")

    async def principal(request: Request,
                        creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if creds is not None:
            who = await run_in_threadpool(svc.auth.token_principal, creds.credentials)
            if who is None:
                raise ApiError(401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"})
            return who
        cookie = request.cookies.get(SESSION_COOKIE)
        who = await run_in_threadpool(svc.auth.session_principal, cookie) if cookie else None
        if who is None:
            raise ApiError(401, "authentication required", {"WWW-Authenticate": "Bearer"})
        if request.method in UNSAFE:
            await check_csrf(request, who.csrf)
        return who

    def need(permission: str):
        async def dependency(who: Principal = Depends(principal)) -> Principal:
            if not who.can(permission):
                raise ApiError(403, f"role {who.role} may not do this")
            return who
        return dependency

    def ip_of(request: Request) -> str:
        return request.client.host if request.client else ""

    def prepare_upload(name: str, data: bytes):
        source = ingest.describe(name, data, settings)  # typed 4xx for empty/unsupported/too big
        pages = count_pages(source.media_type, data)
        if pages > page_limit:
            raise ApiError(413, f"{pages} pages exceed the limit of {page_limit}")
        return source, pages, svc.index.get(result_id_for(source))

    # ------------------------------------------------------------------ API
    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/me", tags=["service"])
    def me(who: Principal = Depends(principal)) -> dict[str, Any]:
        return {"name": who.name, "role": who.role, "agency": who.agency,
                "permissions": sorted(p for p in ("upload", "read", "view", "search_text", "search_id", "correct",
                                                  "review", "dossier", "share", "admin") if who.can(p))}

    @app.post("/api/upload", tags=["results"], responses={
        200: {"description": "one page: the JSON result"},
        202: {"description": "more than one page: a job to poll at /api/jobs/{id}"},
        413: {"description": "over the size, page or pixel limit"},
        415: {"description": "not an image or PDF"}})
    async def upload(request: Request, file: UploadFile = File(..., description="PNG, JPEG, TIFF or PDF"),
                     doc_type: Literal["auto", "khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban"] = Form(
                         "auto"),
                     ma_ho_so: str | None = Form(None, max_length=64, description="dossier this scan belongs to"),
                     book: str | None = Form(None, max_length=128),
                     who: Principal = Depends(need("upload"))):
        data = await file.read(upload_limit + 1)
        await file.close()
        if len(data) > upload_limit:
            raise ApiError(413, f"file over the limit of {upload_limit} bytes")
        ma = None
        if ma_ho_so:
            try:
                ma = svc.check_ma(ma_ho_so)
            except ValueError as exc:
                raise ApiError(422, str(exc)) from None
        name = safe_name(file.filename)
        source, pages, existing = await run_in_threadpool(prepare_upload, name, data)
        rid = result_id_for(source)
        if existing is not None:
            if not await run_in_threadpool(svc.can_read, who, existing):
                raise ApiError(409, "this exact file is already archived by another agency; ask it to share the result")
            await run_in_threadpool(svc.accepted, who, existing, ma, ip_of(request))
            return JSONResponse(public(existing), status_code=200)
        book_clean = " ".join(unicodedata.normalize("NFC", book).split()) if book else None
        if pages <= 1:
            future = svc.processor.submit(rid, name, data, who.agency, doc_type=doc_type, book=book_clean)
            result = outcome(await asyncio.wrap_future(future))
            await run_in_threadpool(svc.accepted, who, result, ma, ip_of(request))
            return JSONResponse(public(result), status_code=200, headers={"Location": f"/api/results/{result['id']}"})
        job_id = await run_in_threadpool(svc.new_job, who, name, pages, ma)
        future = svc.processor.submit(rid, name, data, who.agency, doc_type=doc_type, book=book_clean,
                                      job_id=job_id, batch=True)
        ip = ip_of(request)

        def done(f) -> None:
            try:
                result = outcome(f.result())
            except errors.DigitizeError as exc:
                svc.finish_job(job_id, error=clean_message(str(exc)))
                return
            except Exception as exc:  # worker crash or bug
                log.warning("job %s failed: %s", job_id, type(exc).__name__)
                svc.finish_job(job_id, error="internal error")
                return
            try:
                svc.accepted(who, result, ma, ip)
                svc.finish_job(job_id, result_id=result["id"])
            except Exception:
                log.exception("job %s: could not record the result", job_id)
                svc.finish_job(job_id, error="internal error")

        future.add_done_callback(done)
        return JSONResponse({"job": job_id, "status": "queued", "pages_total": pages,
                             "status_url": f"/api/jobs/{job_id}"}, status_code=202,
                            headers={"Location": f"/api/jobs/{job_id}"})

    @app.get("/api/jobs/{job_id}", tags=["results"])
    def job(job_id: str, who: Principal = Depends(principal)) -> dict[str, Any]:
        row = svc.job_for(who, job_id)
        out = {"job": row["id"], "status": row["status"], "pages_done": row["pages_done"],
               "pages_total": row["pages_total"], "name": row["name"], "created_at": row["created_at"],
               "updated_at": row["updated_at"]}
        if row["result_id"]:
            out["result_id"] = row["result_id"]
            out["result_url"] = f"/api/results/{row['result_id']}"
        if row["error"]:
            out["error"] = row["error"]
        return out

    @app.get("/api/results/{result_id}", tags=["results"])
    def get_result(request: Request, result_id: str, version: int | None = Query(None, ge=1, le=100_000),
                   who: Principal = Depends(need("read"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        shown = svc.version_of(result, version)
        svc.audit(who, "read", result_id, ip_of(request), version=shown.get("version", 1))
        return public(shown)

    @app.get("/api/results/{result_id}/pdf", tags=["results"], response_class=Response,
             responses={200: {"content": {"application/pdf": {}}, "description": "the signed PDF"}})
    def get_pdf(request: Request, result_id: str, version: int | None = Query(None, ge=1, le=100_000),
                who: Principal = Depends(need("read"))):
        result = svc.version_of(svc.result_for(who, result_id), version)
        data = svc.storage.get(result["keys"]["pdf"])
        n = result.get("version", 1)
        svc.audit(who, "read_pdf", result_id, ip_of(request), version=n)
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{result_id}-v{n}.pdf"'})

    @app.get("/api/results/{result_id}/versions", tags=["results"])
    def get_versions(request: Request, result_id: str, who: Principal = Depends(need("read"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        svc.audit(who, "read_versions", result_id, ip_of(request))
        return {"id": result_id, "current": result.get("version", 1), "versions": versions(svc, result)}

    @app.get("/api/results/{result_id}/pages/{page}/image", tags=["results"], response_class=Response,
             responses={200: {"content": {"image/jpeg": {}}}})
    def page_image(request: Request, result_id: str, page: int, version: int | None = Query(None, ge=1, le=100_000),
                   who: Principal = Depends(need("view"))):
        result = svc.version_of(svc.result_for(who, result_id), version)
        images = svc.page_images(result)
        if not 1 <= page <= len(images):
            raise ApiError(404, "no such page")
        svc.audit(who, "read_image", result_id, ip_of(request), page=page, version=result.get("version", 1))
        return Response(images[page - 1][0], media_type="image/jpeg")

    @app.get("/api/results/{result_id}/pages/{page}/words", tags=["results"])
    def page_words(request: Request, result_id: str, page: int, version: int | None = Query(None, ge=1, le=100_000),
                   who: Principal = Depends(need("view"))) -> dict[str, Any]:
        result = svc.version_of(svc.result_for(who, result_id), version)
        words = svc.words(result)
        if not 1 <= page <= len(result.get("pages") or []):
            raise ApiError(404, "no such page")
        page_words = words[page - 1] if page <= len(words) else []
        meta = result["pages"][page - 1]
        svc.audit(who, "read_words", result_id, ip_of(request), page=page)
        return {"page": page, "width": meta.get("width"), "height": meta.get("height"), "words": page_words,
                "fields": svc.field_boxes(result, page_words, page)}

    @app.get("/api/results/{result_id}/records/{record}/fields/{field}/crop", tags=["review"],
             response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
    def field_crop(request: Request, result_id: str, record: int, field: str,
                   who: Principal = Depends(need("view"))):
        result = svc.result_for(who, result_id)
        data = svc.crop(result, record, field)
        svc.audit(who, "read_crop", result_id, ip_of(request), record=record, field=field)
        return Response(data, media_type="image/jpeg")

    @app.get("/api/results/{result_id}/matches", tags=["dossiers"])
    def matches(request: Request, result_id: str, who: Principal = Depends(need("search_id"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        found = svc.matches(who, result)
        svc.audit_reads(who, "read_match", [h["result_id"] for h in found], ip_of(request), for_result=result_id)
        return {"id": result_id, "matches": found}

    def apply_review(request: Request, who: Principal, result_id: str, changes: list[Change],
                     expected: int | None, action: str) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        engines = svc.review_engines(result.get("agency", ""))
        new = review_fields(engines, result_id, changes, who.name, expected_version=expected)
        svc.queue_update(new)
        log_rows = [c for c in new.get("corrections") or [] if c.get("version") == new.get("version")]
        audit.record_many(svc.db, [dict(user=who.name, role=who.role, agency=who.agency, action=action,
                                        result_id=result_id, ip=ip_of(request),
                                        detail={"record": c["record"], "field": c["field"], "old": c["old"],
                                                "new": c["new"], "change": c["action"], "version": c["version"]})
                                   for c in log_rows])
        return public(new)

    @app.post("/api/results/{result_id}/corrections", tags=["review"])
    def correct(request: Request, result_id: str, body: CorrectionIn,
                who: Principal = Depends(need("correct"))) -> dict[str, Any]:
        return apply_review(request, who, result_id, [Change(body.record, body.field, body.value)], body.version,
                            "correct")

    @app.post("/api/results/{result_id}/review", tags=["review"])
    def review(request: Request, result_id: str, body: ReviewIn,
               who: Principal = Depends(need("correct"))) -> dict[str, Any]:
        return apply_review(request, who, result_id, [Change(c.record, c.field, c.value) for c in body.changes],
                            body.version, "review")

    @app.post("/api/results/{result_id}/approve", tags=["review"])
    def approve(request: Request, result_id: str, body: ApproveIn | None = None,
                who: Principal = Depends(need("correct"))) -> dict[str, Any]:
        """Accept every field still flagged (one new version) and return the result to hand back."""
        result = svc.result_for(who, result_id)
        expected = body.version if body else None
        flagged = [Change(i, f, None) for i, rec in enumerate(result.get("records") or [])
                   for f in rec.get("needs_review") or [] if f in (rec.get("fields") or {})]
        if flagged:
            out = apply_review(request, who, result_id, flagged, expected, "approve")
        else:
            if expected is not None and expected != result.get("version", 1):
                raise ApiError(409, f"result is at version {result.get('version', 1)}, not {expected}")
            svc.audit(who, "approve", result_id, ip_of(request), version=result.get("version", 1))
            out = public(result)
        return out

    @app.post("/api/results/{result_id}/share", tags=["results"])
    def share(request: Request, result_id: str, body: ShareIn,
              who: Principal = Depends(need("share"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        if result.get("agency") != who.agency and not who.can("admin"):
            raise ApiError(403, "only the owning agency can share a result")
        svc.share(who, result, result.get("agency", ""), body.agency)
        svc.audit(who, "share", result_id, ip_of(request), grantee=body.agency)
        return {"id": result_id, "shared_with": body.agency}

    @app.post("/api/agencies/{owner}/share", tags=["admin"])
    def share_agency(request: Request, owner: str, body: ShareIn,
                     who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", owner):
            raise ApiError(422, "bad agency code")
        svc.share(who, None, owner, body.agency)
        svc.audit(who, "share_agency", None, ip_of(request), owner=owner, grantee=body.agency)
        return {"owner": owner, "shared_with": body.agency}

    @app.get("/api/search", tags=["search"])
    def search(request: Request, q: str | None = Query(None, max_length=200, description="text, tone-insensitive"),
               so_dinh_danh: str | None = Query(None, max_length=32),
               doc_type: Literal["khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban"] | None = None,
               limit: int = Query(20, ge=1, le=200), who: Principal = Depends(principal)) -> dict[str, Any]:
        q = (q or "").strip() or None
        so_dinh_danh = (so_dinh_danh or "").strip() or None
        if q or doc_type:
            if not who.can("search_text"):
                raise ApiError(403, f"role {who.role} may only look up by so_dinh_danh")
        elif not so_dinh_danh:
            raise ApiError(422, "give q (text) or so_dinh_danh")
        if not who.can("search_id"):
            raise ApiError(403, f"role {who.role} may not search")
        hits = svc.search(who, text=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type, limit=limit)
        svc.audit_reads(who, "search", [h["result_id"] for h in hits], ip_of(request),
                        q=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type)
        if not hits:
            svc.audit(who, "search", None, ip_of(request), q=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type, hits=0)
        return {"hits": hits, "count": len(hits)}

    @app.get("/api/lookup/{so_dinh_danh}", tags=["search"])
    def lookup(request: Request, so_dinh_danh: str, who: Principal = Depends(need("search_id"))) -> dict[str, Any]:
        """Results naming this personal id, in full (for other agencies' systems)."""
        if not re.fullmatch(r"[0-9 .\-]{6,32}", so_dinh_danh):
            raise ApiError(422, "so_dinh_danh: 12 digits")
        hits = svc.search(who, text=None, so_dinh_danh=so_dinh_danh, doc_type=None, limit=50)
        ids = list(dict.fromkeys(h["result_id"] for h in hits))
        results = [public(r) for r in (svc.index.get(i) for i in ids) if r is not None]
        svc.audit_reads(who, "lookup", ids, ip_of(request), so_dinh_danh=so_dinh_danh)
        if not ids:
            svc.audit(who, "lookup", None, ip_of(request), so_dinh_danh=so_dinh_danh, hits=0)
        return {"so_dinh_danh": so_dinh_danh, "results": results, "count": len(results)}

    @app.post("/api/verify", tags=["signatures"])
    def verify(request: Request, file: UploadFile = File(..., description="a signed PDF"),
               who: Principal = Depends(need("verify"))) -> dict[str, Any]:
        data = file.file.read(upload_limit + 1)
        if len(data) > upload_limit:
            raise ApiError(413, f"file over the limit of {upload_limit} bytes")
        if not data:
            raise ApiError(400, "empty file")
        if b"%PDF-" not in data[:1024]:
            raise ApiError(415, "not a PDF")
        from ..signing import trust_roots
        from ..signing.verify import verify_pdf

        report = verify_pdf(data, trust_roots(settings))
        svc.audit(who, "verify", None, ip_of(request), valid=report.valid)
        return {"valid": report.valid, "intact": report.intact, "covers_whole_file": report.covers_whole_file,
                "signer": report.signer, "signed_at": report.signed_at, "trusted": report.trusted,
                "problems": [clean_message(p) for p in report.problems]}

    @app.get("/api/review/queue", tags=["review"])
    def review_queue(request: Request, limit: int = Query(50, ge=1, le=500),
                     who: Principal = Depends(need("review"))) -> dict[str, Any]:
        items = svc.queue(who, limit=limit)
        svc.audit_reads(who, "read_queue", [i["result_id"] for i in items], ip_of(request))
        return {"items": items, "count": len(items)}

    @app.post("/api/dossiers/{ma_ho_so}/reuse", tags=["dossiers"])
    def reuse(request: Request, ma_ho_so: str, body: ReuseIn,
              who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        svc.result_for(who, body.result_id)
        new = svc.attach(who, ma, body.result_id, "reused")
        svc.audit(who, "reuse", body.result_id, ip_of(request), dossier=ma, new=new)
        return svc.dossier(who.agency, ma)

    @app.get("/api/dossiers/{ma_ho_so}", tags=["dossiers"])
    def dossier(request: Request, ma_ho_so: str, agency: str | None = Query(None, max_length=64),
                who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        owner = agency if (agency and who.can("all_agencies")) else who.agency
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from None
        out = svc.dossier(owner, ma)
        svc.audit(who, "read_dossier", None, ip_of(request), dossier=ma, agency=owner)
        return out

    @app.get("/api/reports/reuse", tags=["admin"])
    def reuse_report(month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
                     agency: str | None = Query(None, max_length=64),
                     who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        return {"rows": svc.reuse_report(month, agency)}

    @app.get("/api/audit", tags=["admin"], response_class=Response,
             responses={200: {"content": {"application/x-ndjson": {}, "application/json": {}}}})
    def audit_export(request: Request, format: Literal["jsonl", "json"] = "jsonl",
                     since: str | None = Query(None, max_length=40), until: str | None = Query(None, max_length=40),
                     result_id: str | None = Query(None, max_length=32),
                     who: Principal = Depends(need("admin"))):
        svc.audit(who, "audit_export", None, ip_of(request), since=since, until=until, for_result=result_id)
        rows = audit.rows(svc.db, since=since, until=until, result_id=result_id)
        if format == "json":
            return JSONResponse({"rows": list(rows)})
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return StreamingResponse(lines, media_type="application/x-ndjson",
                                 headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'})

    @app.get("/api/users", tags=["admin"])
    def list_users(who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        return {"users": svc.auth.users()}

    @app.post("/api/users", tags=["admin"], status_code=201)
    def add_user(request: Request, body: UserIn, who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        password = None if body.role == "external" else generate_password()
        try:
            user = svc.auth.add_user(body.name, body.role, body.agency, password=password)
        except AuthError as exc:
            raise ApiError(409 if "exists" in str(exc) else 422, str(exc)) from None
        out: dict[str, Any] = dict(user)
        if body.role == "external":
            out["token"] = svc.auth.issue_token(body.name)
        else:
            out["password"] = password
        svc.audit(who, "user_add", None, ip_of(request), name=body.name, role=body.role, agency=body.agency)
        return out

    @app.get("/api/export/moj", tags=["admin"], response_class=Response,
             responses={200: {"content": {"application/zip": {}},
                              "description": "the book's package: one PDF per entry, an XLSX, manifest.json"}})
    def export_moj(request: Request, book: str = Query(..., min_length=1, max_length=200,
                                                        description="registry book id (process --book)"),
                   who: Principal = Depends(need("admin"))):
        from ..export import build_package, safe_name

        data, manifest = build_package(svc.review_engines(who.agency), book)
        svc.audit(who, "export_moj", None, ip_of(request), book=manifest["book"], entries=manifest["entries"],
                  results=len(manifest["results"]))
        name = safe_name(book, "book")
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})

    # ------------------------------------------------------------------ pages
    from .pages import add_pages

    add_pages(app, svc, secure_cookies=secure_cookies, upload_limit=upload_limit)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


async def check_csrf(request: Request, expected: str) -> None:
    import hmac

    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise ApiError(403, "cross-origin request refused")
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not token or not expected or not hmac.compare_digest(token, expected):
        raise ApiError(403, "CSRF token missing or wrong")


def safe_name(filename: str | None) -> str:
    """The uploaded file's name as metadata only (never a path): last component,
    no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return name[:200] or "upload"


def count_pages(media_type: str, data: bytes) -> int:
    """Pages in an input without decoding pixels (PDF page tree, image frames)."""
    if media_type == "application/pdf":
        import pikepdf

        try:
            with pikepdf.open(io.BytesIO(data)) as pdf:
                return len(pdf.pages)
        except pikepdf.PasswordError:
            raise errors.EncryptedInput("PDF is encrypted (password required)") from None
        except Exception:
            raise errors.CorruptInput("cannot read PDF") from None
    if media_type in ("image/tiff", "image/gif", "image/webp"):
        import warnings

        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(io.BytesIO(data)) as image:
                    return int(getattr(image, "n_frames", 1) or 1)
        except Exception:
            raise errors.CorruptInput("cannot decode image") from None
    return 1
