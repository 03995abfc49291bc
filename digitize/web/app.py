"""The HTTP API and web pages (FastAPI). A thin shell over the pipeline, the
review module and `Services`; OpenAPI at /openapi.json.

Errors are JSON `{"error": "...", "code": "..."}` with a 4xx status for what
the client can fix: `error` is an English sentence, `code` a stable name for
programs (the pages turn it into Vietnamese; see ERROR_CODES). Nothing internal
(paths, stack traces) is ever sent."""

from __future__ import annotations

import asyncio
import io
import ipaddress
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
from .auth import SESSION_COOKIE, AuthError, Principal, generate_password, is_system_admin
from ..pipeline import agency_result_id, result_id_for
from .jobs import outcome
from .keying import Keying, KeyingError
from .pages import not_found_page, wants_page
from .services import Services, entitled, public, versions

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
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, *,
                 code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code or STATUS_CODES.get(status, "error")
        self.details = details  # extra JSON keys (numbers for the message: "limit", "pages")


# The machine codes of error payloads. A code names what went wrong, not where:
# clients may rely on them; new ones may be added.
STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_type",
                422: "invalid", 429: "throttled", 500: "internal", 503: "unavailable"}
ERROR_CODES = sorted({*STATUS_CODES.values(), "invalid_token", "csrf", "cross_origin", "not_owner", "read_only",
                      "file_too_large", "too_many_pages", "page_too_large", "empty_file", "encrypted_pdf",
                      "corrupt_file", "stale_version", "user_exists", "unknown_agency",
                      "own_agency", "bad_dossier_code", "bad_agency", "bad_so_dinh_danh", "empty_book",
                      "not_located", "busy", "interrupted", "processing_failed"})

# Refinements of a class's code by its message, for errors raised deep in the
# pipeline that carry only a sentence (first match wins).
_MESSAGE_CODES = (
    (re.compile(r"pages? exceed the limit|\d+ pages exceed"), "too_many_pages"),
    (re.compile(r"pixels|decode to|inflates|refers to more than"), "page_too_large"),
    (re.compile(r"^file is \d+ bytes|file over the limit"), "file_too_large"),
    (re.compile(r"encrypted"), "encrypted_pdf"),
    (re.compile(r"^no records filed under book"), "empty_book"),
    (re.compile(r"not located"), "not_located"),
    (re.compile(r"interrupted by a server restart"), "interrupted"),
)


def message_code(message: str, default: str) -> str:
    for pattern, code in _MESSAGE_CODES:
        if pattern.search(message or ""):
            return code
    return default


def error_code(exc: errors.DigitizeError) -> str:
    if isinstance(exc, errors.EncryptedInput):
        return "encrypted_pdf"
    if isinstance(exc, errors.EmptyInput):
        return "empty_file"
    if isinstance(exc, errors.CorruptInput):
        return "corrupt_file"
    if isinstance(exc, StaleVersion):
        return "stale_version"
    if isinstance(exc, errors.Forbidden):
        return "read_only"
    default = STATUS_CODES.get(error_status(exc), "error")
    if isinstance(exc, (errors.TooLarge, errors.NotFound)):
        return message_code(str(exc), default)
    return default


def error_status(exc: errors.DigitizeError) -> int:
    if isinstance(exc, errors.NotFound):
        return 404
    if isinstance(exc, errors.Forbidden):
        return 403
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
    write: bool = Field(default=False, description="also let the agency make new versions (default: read only)")


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Literal["intake", "reviewer", "archivist", "external", "admin"]
    agency: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# ------------------------------------------------------------------ middleware

UPLOAD_PATHS = ("/api/upload", "/api/verify", "/api/dossiers")  # /api/dossiers: a dossier's upload (intake.py)
MAX_UPLOAD_BODIES_DEFAULT = 4


class _BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a body passes its limit; FastAPI lets an
    HTTPException from body parsing through as it is (others become a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit} bytes")


class BodyLimit:
    """Bodies are bounded, streamed and never read for a stranger.

    - A body over the limit is refused before it is read when its Content-Length
      says so, and cut off as soon as it passes the limit when sent chunked: bytes
      flow through to the parser (which spools file parts to disk) and are counted,
      never gathered here.
    - An upload's sender is authenticated from the request headers (token or
      session cookie) before one byte of its body is read: an anonymous upload
      costs nothing.
    - At most `max_bodies` upload bodies are being received at once; the others
      wait for a slot (holding only their socket) and get 503 with Retry-After
      after BODY_SLOT_WAIT seconds, so many large uploads cannot take the server's
      memory. A slot is freed when its body has arrived, not when the page is done."""

    def __init__(self, app, upload_limit: int, authenticate: Any = None,
                 max_bodies: int = MAX_UPLOAD_BODIES_DEFAULT) -> None:
        self.app = app
        self.upload_limit = upload_limit
        self.authenticate = authenticate
        self.max_bodies = max(1, max_bodies)
        self._slots: asyncio.Semaphore | None = None

    def limit_for(self, path: str) -> int:
        return self.upload_limit if path in UPLOAD_PATHS else MAX_JSON_BODY

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            return await self.app(scope, receive, send)
        path = scope["path"]
        limit = self.limit_for(path)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > limit:
                    return await _send_json(send, 413, {"error": f"request body over the limit of {limit} bytes",
                                                        "code": "file_too_large" if path in UPLOAD_PATHS
                                                        else "too_large", "limit": limit})
            except ValueError:
                return await _send_json(send, 400, {"error": "bad Content-Length", "code": "bad_request"})
        if path not in UPLOAD_PATHS:
            return await self.app(scope, _counted(receive, limit), send)
        if self.authenticate is not None and not await self.authenticate(headers):
            return await _send_json(send, 401, {"error": "authentication required", "code": "unauthenticated"})
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_bodies)
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=BODY_SLOT_WAIT)
        except asyncio.TimeoutError:
            return await _send_json(send, 503, {"error": "too many uploads at once; try again shortly",
                                                "code": "busy"},
                                    extra=[(b"retry-after", b"5")])
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                assert self._slots is not None
                self._slots.release()

        try:
            return await self.app(scope, _counted(receive, limit, on_end=release), send)
        finally:
            release()


BODY_SLOT_WAIT = 30.0


def _counted(receive, limit: int, on_end: Any = None):
    seen = 0

    async def counting():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge(limit)
            if not message.get("more_body") and on_end is not None:
                on_end()
        elif on_end is not None:  # the client went away
            on_end()
        return message

    return counting


async def _send_json(send, status: int, payload: dict, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")] + list(extra or [])})
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
               max_upload_bytes: int | None = None, max_pages: int | None = None,
               secure_cookies: bool | None = None, services: Services | None = None) -> FastAPI:
    """`secure_cookies`: Secure cookies and HSTS; by default on, unless the settings
    say insecure_cookies (DIGITIZE_INSECURE_COOKIES=1, plain-http development)."""
    settings = settings or load_settings()
    secure = (not settings.insecure_cookies) if secure_cookies is None else secure_cookies
    trusted_proxies = settings.trusted_proxy_networks
    if processes is None:
        processes = int(os.environ.get("DIGITIZE_WEB_PROCESSES", settings.workers or (os.cpu_count() or 1)))
    svc = services or Services(settings, processes=processes, batch_processes=batch_processes)
    audit.audit_key(svc.db)  # a bad DIGITIZE_AUDIT_KEY stops the start, not every request; makes the key file
    upload_limit = min(settings.max_bytes, max_upload_bytes or MAX_UPLOAD_DEFAULT)
    page_limit = min(settings.max_pages, max_pages or settings.max_pages)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if processes > 0:  # start the OCR workers now, not on the first citizen's page
            import threading

            threading.Thread(target=svc.processor.warm_up, name="digitize-warm-up", daemon=True).start()
        yield
        svc.close()

    # docs_url/redoc_url off: FastAPI's pages load Swagger UI from a CDN, which the
    # CSP refuses; /docs is our own page over /openapi.json (pages.py).
    app = FastAPI(title="digitize", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Vietnamese civil-status paper to signed, searchable data. "
                              "Authenticate with `Authorization: Bearer <token>` (see `digitize user add`).")
    app.state.services = svc

    async def authenticated(headers: dict[bytes, bytes]) -> bool:
        """Whether an upload's headers carry a valid token or session (the route checks
        the role and CSRF again; this only keeps strangers' bodies unread)."""
        value = headers.get(b"authorization", b"").decode("latin-1")
        if value[:7].lower() == "bearer ":
            return await run_in_threadpool(svc.auth.token_principal, value[7:].strip()) is not None
        cookies = headers.get(b"cookie", b"").decode("latin-1")
        for part in cookies.split(";"):
            name, _, cookie = part.strip().partition("=")
            if name == SESSION_COOKIE and cookie:
                return await run_in_threadpool(svc.auth.session_principal, cookie) is not None
        return False

    app.add_middleware(BodyLimit, upload_limit=upload_limit, authenticate=authenticated,
                       max_bodies=int(os.environ.get("DIGITIZE_WEB_MAX_UPLOADS") or MAX_UPLOAD_BODIES_DEFAULT))

    @app.middleware("http")
    async def headers(request: Request, call_next):
        address = audit.REQUEST_IP.set(ip_of(request))  # audit rows written for this request carry it
        try:
            response = await call_next(request)
        finally:
            audit.REQUEST_IP.reset(address)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.url.path.startswith("/api/") or request.url.path.startswith("/results"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # errors --------------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message, "code": exc.code, **exc.details}, status_code=exc.status,
                            headers=exc.headers)

    @app.exception_handler(KeyingError)
    async def _keying_error(request: Request, exc: KeyingError):
        return JSONResponse({"error": str(exc), "code": exc.code}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's HTTPException is a subclass
    async def _starlette_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404 and wants_page(request):
            return not_found_page(request)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        payload: dict[str, Any] = {"error": message, "code": STATUS_CODES.get(exc.status_code, "error")}
        if isinstance(exc, _BodyTooLarge):
            payload["code"] = "file_too_large" if request.url.path in UPLOAD_PATHS else "too_large"
        return JSONResponse(payload, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
                    for e in exc.errors()[:20]]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        return JSONResponse({"error": f"invalid request: {'.'.join(first['loc'])}: {first['msg']}",
                             "code": "invalid", "problems": problems}, status_code=422)

    @app.exception_handler(errors.DigitizeError)
    async def _digitize_error(request: Request, exc: errors.DigitizeError):
        status = error_status(exc)
        if status == 503:
            log.warning("service error on %s: %s", request.url.path, exc)
            return JSONResponse({"error": "the archive is temporarily unavailable; try again", "code": "unavailable"},
                                status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"error": clean_message(str(exc)), "code": error_code(exc)}, status_code=status)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error", "code": "internal"}, status_code=500)

    # auth ------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="API token from `digitize user add`")

    async def principal(request: Request,
                        creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if creds is not None:
            who = await run_in_threadpool(svc.auth.token_principal, creds.credentials)
            if who is None:
                raise ApiError(401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"}, code="invalid_token")
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
        return client_address(request.client.host if request.client else "",
                              request.headers.get("x-forwarded-for"), trusted_proxies)

    def prepare_upload(name: str, data: bytes):
        source = ingest.describe(name, data, settings)  # typed 4xx for empty/unsupported/too big
        pages = count_pages(source.media_type, data)
        if pages > page_limit:
            raise ApiError(413, f"{pages} pages exceed the limit of {page_limit}", code="too_many_pages",
                           pages=pages, limit=page_limit)
        return source, pages, svc.index.get(result_id_for(source))

    # Dossier intake (intake.py), before /api/dossiers/{ma_ho_so:path} below takes every path under it
    from .intake import add_intake_api

    add_intake_api(app, svc, need, ip_of, prepare_upload=prepare_upload, upload_limit=upload_limit)

    # ------------------------------------------------------------------ API
    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/api/me", tags=["service"])
    def me(who: Principal = Depends(principal)) -> dict[str, Any]:
        return {"name": who.name, "role": who.role, "agency": who.agency,
                "permissions": sorted(p for p in ("upload", "read", "view", "search_text", "search_id", "lookup",
                                                  "correct", "review", "dossier", "share", "export", "admin", "key",
                                                  "keying_manage")
                                      if who.can(p))}

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
            raise ApiError(413, f"file over the limit of {upload_limit} bytes", code="file_too_large",
                           limit=upload_limit)
        ma = None
        if ma_ho_so:
            try:
                ma = svc.check_ma(ma_ho_so)
            except ValueError as exc:
                raise ApiError(422, str(exc), code="bad_dossier_code") from None
        name = safe_name(file.filename)
        source, pages, existing = await run_in_threadpool(prepare_upload, name, data)
        rid, own_id = result_id_for(source), None
        if existing is not None and not await run_in_threadpool(svc.can_read, who, existing):
            # Another agency holds these bytes: this agency gets a result of its own, under its
            # own id, exactly as for a file nobody has (no answer may reveal the other archive).
            rid = own_id = agency_result_id(source, who.agency)
            existing = await run_in_threadpool(svc.index.get, rid)
        if existing is not None:
            await run_in_threadpool(svc.accepted, who, existing, ma, ip_of(request))
            return JSONResponse(public(existing), status_code=200)
        book_clean = " ".join(unicodedata.normalize("NFC", book).split()) if book else None
        if pages <= 1:
            future = svc.processor.submit(rid, name, data, who.agency, doc_type=doc_type, book=book_clean,
                                          result_id=own_id)
            result = outcome(await asyncio.wrap_future(future))
            await run_in_threadpool(svc.accepted, who, result, ma, ip_of(request))
            return JSONResponse(public(result), status_code=200, headers={"Location": f"/api/results/{result['id']}"})
        job_id = await run_in_threadpool(svc.new_job, who, name, pages, ma)
        future = svc.processor.submit(rid, name, data, who.agency, doc_type=doc_type, book=book_clean,
                                      job_id=job_id, batch=True, result_id=own_id)
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
            out["code"] = message_code(row["error"], "processing_failed")
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
        result = svc.result_for(who, result_id, write=True)
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
        result = svc.result_for(who, result_id, write=True)
        expected = body.version if body else None
        flagged = [Change(i, f, None) for i, rec in enumerate(result.get("records") or [])
                   for f in rec.get("needs_review") or [] if f in (rec.get("fields") or {})]
        if flagged:
            out = apply_review(request, who, result_id, flagged, expected, "approve")
        else:
            if expected is not None and expected != result.get("version", 1):
                raise ApiError(409, f"result is at version {result.get('version', 1)}, not {expected}",
                               code="stale_version")
            svc.audit(who, "approve", result_id, ip_of(request), version=result.get("version", 1))
            out = public(result)
        return out

    @app.post("/api/results/{result_id}/share", tags=["results"])
    def share(request: Request, result_id: str, body: ShareIn,
              who: Principal = Depends(need("share"))) -> dict[str, Any]:
        """Let another agency read this result (and, with `write`, correct it)."""
        result = svc.result_for(who, result_id)
        if result.get("agency") != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the owning agency can share a result", code="not_owner")
        try:
            svc.share(who, result, result.get("agency", ""), body.agency, write=body.write)
        except ValueError as exc:
            raise ApiError(422, str(exc),
                           code="own_agency" if "own agency" in str(exc) else "unknown_agency") from None
        svc.audit(who, "share", result_id, ip_of(request), grantee=body.agency, write=body.write)
        return {"id": result_id, "shared_with": body.agency, "access": "write" if body.write else "read"}

    @app.delete("/api/results/{result_id}/share/{grantee}", tags=["results"])
    def unshare(request: Request, result_id: str, grantee: str,
                who: Principal = Depends(need("share"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        if result.get("agency") != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the owning agency can revoke a share", code="not_owner")
        if not svc.unshare(result, result.get("agency", ""), grantee):
            raise ApiError(404, "no such share")
        svc.audit(who, "unshare", result_id, ip_of(request), grantee=grantee)
        return {"id": result_id, "revoked": grantee}

    @app.get("/api/shares", tags=["results"])
    def list_shares(agency: str | None = Query(None, max_length=64),
                    who: Principal = Depends(need("share"))) -> dict[str, Any]:
        owner = agency if (agency and who.can("all_agencies")) else who.agency
        return {"agency": owner, "shares": svc.shares(owner)}

    def _agency_code(code: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", code):
            raise ApiError(422, "bad agency code", code="bad_agency")
        return code

    @app.post("/api/agencies/{owner}/share", tags=["admin"])
    def share_agency(request: Request, owner: str, body: ShareIn,
                     who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        owner = _agency_code(owner)
        if owner != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the agency itself can share all its results", code="not_owner")
        try:
            svc.share(who, None, owner, body.agency, write=body.write)
        except ValueError as exc:
            raise ApiError(422, str(exc),
                           code="own_agency" if "own agency" in str(exc) else "unknown_agency") from None
        svc.audit(who, "share_agency", None, ip_of(request), owner=owner, grantee=body.agency, write=body.write)
        return {"owner": owner, "shared_with": body.agency, "access": "write" if body.write else "read"}

    @app.delete("/api/agencies/{owner}/share/{grantee}", tags=["admin"])
    def unshare_agency(request: Request, owner: str, grantee: str,
                       who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        owner = _agency_code(owner)
        if owner != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the agency itself can revoke its shares", code="not_owner")
        if not svc.unshare(None, owner, grantee):
            raise ApiError(404, "no such share")
        svc.audit(who, "unshare_agency", None, ip_of(request), owner=owner, grantee=grantee)
        return {"owner": owner, "revoked": grantee}

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
        hits = svc.describe_hits(who, svc.search(who, text=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type,
                                                 limit=limit))
        svc.audit_reads(who, "search", [h["result_id"] for h in hits], ip_of(request),
                        q=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type)
        if not hits:
            svc.audit(who, "search", None, ip_of(request), q=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type, hits=0)
        return {"hits": hits, "count": len(hits)}

    @app.get("/api/lookup/{so_dinh_danh}", tags=["search"])
    def lookup(request: Request, so_dinh_danh: str, who: Principal = Depends(need("lookup"))) -> dict[str, Any]:
        """The records naming this personal id, with their fields and signature facts
        (for other agencies' systems): no page text, no other person's entry."""
        digits = re.sub(r"[ .\-]", "", so_dinh_danh)
        if not re.fullmatch(r"\d{9}|\d{12}", digits):
            raise ApiError(422, "so_dinh_danh: 12 digits (or a 9-digit old ID number)", code="bad_so_dinh_danh")
        hits = svc.search(who, text=None, so_dinh_danh=digits, doc_type=None, limit=50)
        ids = list(dict.fromkeys(h["result_id"] for h in hits))
        results = [entitled(r, digits) for r in (svc.index.get(i) for i in ids) if r is not None]
        results = [r for r in results if r["records"]]
        svc.audit_reads(who, "lookup", [r["id"] for r in results], ip_of(request), so_dinh_danh=digits)
        if not results:
            svc.audit(who, "lookup", None, ip_of(request), so_dinh_danh=digits, hits=0)
        return {"so_dinh_danh": digits, "results": results, "count": len(results)}

    @app.get("/api/people", tags=["dossiers"])
    def people(request: Request, so_dinh_danh: str | None = Query(None, max_length=32),
               ho_ten: str | None = Query(None, max_length=120),
               ngay_sinh: str | None = Query(None, pattern=r"^\d{2}/\d{2}/\d{4}$"),
               limit: int = Query(20, ge=1, le=100),
               who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        """A person's archived records, to reuse at the counter before anything is scanned:
        by personal id, and by name with birth date; differences from the values given are listed."""
        digits = re.sub(r"[ .\-]", "", so_dinh_danh or "") or None
        if digits is not None and not re.fullmatch(r"\d{9}|\d{12}", digits):
            raise ApiError(422, "so_dinh_danh: 12 digits (or a 9-digit old ID number)", code="bad_id_number")
        name = " ".join(unicodedata.normalize("NFC", ho_ten or "").split()) or None
        if not digits and not (name and ngay_sinh):
            raise ApiError(422, "give so_dinh_danh, or ho_ten with ngay_sinh", code="bad_request")
        found = svc.person(who, so_dinh_danh=digits, ho_ten=name, ngay_sinh=ngay_sinh, limit=limit)
        svc.audit_reads(who, "read_person", [h["result_id"] for h in found], ip_of(request),
                        so_dinh_danh=digits, ho_ten=name, ngay_sinh=ngay_sinh)
        return {"results": found, "count": len(found)}

    @app.post("/api/verify", tags=["signatures"])
    def verify(request: Request, file: UploadFile = File(..., description="a signed PDF"),
               who: Principal = Depends(need("verify"))) -> dict[str, Any]:
        data = file.file.read(upload_limit + 1)
        if len(data) > upload_limit:
            raise ApiError(413, f"file over the limit of {upload_limit} bytes", code="file_too_large",
                           limit=upload_limit)
        if not data:
            raise ApiError(400, "empty file", code="empty_file")
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

    # `:path`: dossier codes hold slashes ("HS/2025/01"), sent encoded or not.
    @app.post("/api/dossiers/{ma_ho_so:path}/reuse", tags=["dossiers"])
    def reuse(request: Request, ma_ho_so: str, body: ReuseIn,
              who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="bad_dossier_code") from None
        svc.result_for(who, body.result_id)
        new = svc.attach(who, ma, body.result_id, "reused")
        svc.audit(who, "reuse", body.result_id, ip_of(request), dossier=ma, new=new)
        return svc.dossier(who.agency, ma)

    @app.get("/api/dossiers/{ma_ho_so:path}", tags=["dossiers"])
    def dossier(request: Request, ma_ho_so: str, agency: str | None = Query(None, max_length=64),
                who: Principal = Depends(need("dossier"))) -> dict[str, Any]:
        owner = agency if (agency and who.can("all_agencies")) else who.agency
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="bad_dossier_code") from None
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

    @app.get("/api/audit/verify", tags=["admin"])
    def audit_verify(request: Request, who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        """Walk the audit log's keyed chain: whether no row was altered or removed
        (rows cut off its end excepted: compare `rows` with an exported copy)."""
        try:
            check = audit.check_chain(svc.db)
        except audit.AuditKeyError as exc:
            raise ApiError(503, clean_message(str(exc)), code="unavailable") from None
        svc.audit(who, "audit_verify", None, ip_of(request), ok=check.ok, rows=check.rows, first_bad=check.bad_id)
        return {"ok": check.ok, "rows": check.rows, "first_bad": check.bad_id,
                "problem": check.problem or None, "unkeyed": check.unkeyed}

    @app.get("/api/users", tags=["admin"])
    def list_users(who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        return {"users": svc.auth.users()}

    @app.post("/api/users", tags=["admin"], status_code=201)
    def add_user(request: Request, body: UserIn, who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        if body.agency != who.agency and not is_system_admin(who, settings.agency):
            svc.audit(who, "refused_user_add", None, ip_of(request), name=body.name, role=body.role,
                      agency=body.agency)
            raise ApiError(403, "an agency's admin adds users to its own agency only", code="not_owner")
        password = None if body.role == "external" else generate_password()
        try:
            user = svc.auth.add_user(body.name, body.role, body.agency, password=password)
        except AuthError as exc:
            raise ApiError(409 if "exists" in str(exc) else 422, str(exc),
                           code="user_exists" if "exists" in str(exc) else "invalid") from None
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
                   agency: str | None = Query(None, max_length=64, description="(all-agency admins) whose book"),
                   who: Principal = Depends(need("export"))):
        from ..export import build_package, safe_name

        owner = agency if (agency and who.can("all_agencies")) else who.agency
        data, manifest = build_package(svc.review_engines(owner), book, agency=owner)
        svc.audit(who, "export_moj", None, ip_of(request), book=manifest["book"], agency=owner,
                  entries=manifest["entries"], results=manifest["results"])
        name = safe_name(book, "book")
        return Response(data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}.zip"'})

    # ------------------------------------------------------------------ keying
    from .keying_api import add_keying_api

    app.state.keying = Keying(svc)
    add_keying_api(app, app.state.keying, need, ip_of)

    # ------------------------------------------------------------------ pages
    from .pages import add_pages

    add_pages(app, svc, secure_cookies=secure, upload_limit=upload_limit, ip_of=ip_of)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app


async def check_csrf(request: Request, expected: str) -> None:
    import hmac

    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise ApiError(403, "cross-origin request refused", code="cross_origin")
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            token = value if isinstance(value, str) else None
    if not token or not expected or not hmac.compare_digest(token, expected):
        raise ApiError(403, "CSRF token missing or wrong", code="csrf")


def client_address(peer: str, forwarded_for: str | None,
                   trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> str:
    """The client's address: the TCP peer, unless the peer is a configured proxy;
    then the nearest X-Forwarded-For hop that is not itself a configured proxy
    (read from the right: hops left of it were written by the client and prove
    nothing). Anyone can send the header, so a peer not configured, loopback
    included, is never believed."""
    if not trusted or not forwarded_for or not _within(peer, trusted):
        return peer
    address = peer
    for hop in reversed(forwarded_for.split(",")):
        try:
            hop_ip = str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            return address  # garbage: the last address a trusted proxy vouched for
        address = hop_ip
        if not _within(address, trusted):
            return address
    return address


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


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
