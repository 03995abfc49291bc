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
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, errors, ingest
from ..config import Settings, load_settings
from ..review import ReviewError, StaleVersion
from . import audit
from .auth import SESSION_COOKIE, Principal
from ..pipeline import result_id_for
from .keying import Keying, KeyingError
from .pages import not_found_page, wants_page
from .services import Services

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
    def __init__(
        self,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code or STATUS_CODES.get(status, "error")
        self.details = details  # extra JSON keys (numbers for the message: "limit", "pages")


# The machine codes of error payloads. A code names what went wrong, not where:
# clients may rely on them; new ones may be added.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid",
    429: "throttled",
    500: "internal",
    503: "unavailable",
}
ERROR_CODES = sorted(
    {
        *STATUS_CODES.values(),
        "invalid_token",
        "csrf",
        "cross_origin",
        "not_owner",
        "read_only",
        "file_too_large",
        "too_many_pages",
        "page_too_large",
        "empty_file",
        "encrypted_pdf",
        "corrupt_file",
        "stale_version",
        "user_exists",
        "unknown_agency",
        "own_agency",
        "bad_dossier_code",
        "bad_agency",
        "bad_so_dinh_danh",
        "empty_book",
        "not_located",
        "busy",
        "interrupted",
        "processing_failed",
    }
)

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

    def __init__(
        self, app, upload_limit: int, authenticate: Any = None, max_bodies: int = MAX_UPLOAD_BODIES_DEFAULT
    ) -> None:
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
                    return await _send_json(
                        send,
                        413,
                        {
                            "error": f"request body over the limit of {limit} bytes",
                            "code": "file_too_large" if path in UPLOAD_PATHS else "too_large",
                            "limit": limit,
                        },
                    )
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
            return await _send_json(
                send,
                503,
                {"error": "too many uploads at once; try again shortly", "code": "busy"},
                extra=[(b"retry-after", b"5")],
            )
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
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            + list(extra or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}


# ------------------------------------------------------------------ the app


def create_app(
    settings: Settings | None = None,
    *,
    processes: int | None = None,
    batch_processes: int = 1,
    max_upload_bytes: int | None = None,
    max_pages: int | None = None,
    secure_cookies: bool | None = None,
    services: Services | None = None,
) -> FastAPI:
    """`secure_cookies`: Secure cookies and HSTS; by default on, unless the settings
    say insecure_cookies (DIGITIZE_INSECURE_COOKIES=1, plain-http development)."""
    settings = settings or load_settings()
    secure = (not settings.insecure_cookies) if secure_cookies is None else secure_cookies
    trusted_proxies = settings.trusted_proxy_networks
    if processes is None:
        processes = settings.web_processes or settings.workers or (os.cpu_count() or 1)
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
    app = FastAPI(
        title="digitize",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Vietnamese civil-status paper to signed, searchable data. "
        "Authenticate with `Authorization: Bearer <token>` (see `digitize user add`).",
    )
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

    app.add_middleware(
        BodyLimit, upload_limit=upload_limit, authenticate=authenticated, max_bodies=settings.web_max_uploads
    )

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
        return JSONResponse(
            {"error": exc.message, "code": exc.code, **exc.details}, status_code=exc.status, headers=exc.headers
        )

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
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]} for e in exc.errors()[:20]
        ]
        first = problems[0] if problems else {"loc": [], "msg": "invalid"}
        return JSONResponse(
            {
                "error": f"invalid request: {'.'.join(first['loc'])}: {first['msg']}",
                "code": "invalid",
                "problems": problems,
            },
            status_code=422,
        )

    @app.exception_handler(errors.DigitizeError)
    async def _digitize_error(request: Request, exc: errors.DigitizeError):
        status = error_status(exc)
        if status == 503:
            log.warning("service error on %s: %s", request.url.path, exc)
            return JSONResponse(
                {"error": "the archive is temporarily unavailable; try again", "code": "unavailable"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"error": clean_message(str(exc)), "code": error_code(exc)}, status_code=status)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"error": "internal error", "code": "internal"}, status_code=500)

    # auth ------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="API token from `digitize user add`")

    async def principal(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
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
        return client_address(
            request.client.host if request.client else "", request.headers.get("x-forwarded-for"), trusted_proxies
        )

    def prepare_upload(name: str, data: bytes):
        source = ingest.describe(name, data, settings)  # typed 4xx for empty/unsupported/too big
        pages = count_pages(source.media_type, data)
        if pages > page_limit:
            raise ApiError(
                413,
                f"{pages} pages exceed the limit of {page_limit}",
                code="too_many_pages",
                pages=pages,
                limit=page_limit,
            )
        return source, pages, svc.index.get(result_id_for(source))

    # Dossier intake (intake.py), before routes/dossiers.py's /api/dossiers/{ma_ho_so:path}, which takes every
    # path under it
    from .intake import add_intake_api

    add_intake_api(app, svc, need, ip_of, prepare_upload=prepare_upload, upload_limit=upload_limit)

    # ------------------------------------------------------------------ API, per area (routes/)
    # In this order: intake's dossier routes above come before dossiers.py's catch-all,
    # and the areas keep /openapi.json's operations (and /docs's sections) in their order.
    from .routes.admin import add_admin_api
    from .routes.dossiers import add_dossiers_api
    from .routes.results import add_results_api
    from .routes.review import add_review_api
    from .routes.search import add_search_api
    from .routes.service import add_service_api

    add_service_api(app, principal)
    add_results_api(
        app, svc, need, ip_of, principal=principal, prepare_upload=prepare_upload, upload_limit=upload_limit
    )
    add_review_api(app, svc, need, ip_of)
    add_admin_api(app, svc, need, ip_of, settings=settings)
    add_search_api(app, svc, need, ip_of, principal=principal, settings=settings, upload_limit=upload_limit)
    add_dossiers_api(app, svc, need, ip_of)

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


def client_address(
    peer: str, forwarded_for: str | None, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> str:
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
