"""Server-rendered pages: login, intake, review queue, search, result view; for
archivists and admins sharing, the MoJ export, the reuse report, users and the
audit log; /docs, the API reference (our own page over /openapi.json: Swagger
UI's CDN scripts are refused by the CSP).

Pages use the session cookie; the small scripts in static/app.js call the JSON
API with the session's CSRF token (from <meta name="csrf-token">)."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from .auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_HOURS, LoginBusy, LoginThrottled, Principal
from .services import RESULT_ID, Services

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

ROLE_LABELS = {
    "intake": "Cán bộ một cửa",
    "reviewer": "Người kiểm tra",
    "archivist": "Lưu trữ viên",
    "external": "Hệ thống ngoài",
    "admin": "Quản trị",
}

# (permission, path, label): the navigation, in order; a link shows when the role has the permission.
NAV = (
    ("upload", "/intake", "Tiếp nhận"),
    ("review", "/review", "Kiểm tra"),
    ("key", "/keying", "Nhập liệu"),
    ("review", "/arbitrate", "Đối chiếu"),
    ("search_text", "/search", "Tra cứu"),
    ("share", "/shares", "Chia sẻ"),
    ("export", "/export", "Xuất sổ"),
    ("keying_manage", "/keying/progress", "Tiến độ nhập"),
    ("admin", "/reports", "Báo cáo"),
    ("admin", "/users", "Người dùng"),
    ("admin", "/audit", "Nhật ký"),
)


def not_found_page(request: Request):
    """A browser's navigation to a path that is no page: Vietnamese HTML, not the API's JSON."""
    return TEMPLATES.TemplateResponse(
        request,
        "message.html",
        {
            "who": None,
            "role_label": "",
            "nav": [],
            "here": request.url.path,
            "roles": ROLE_LABELS,
            "csrf": "",
            "title": "Không tìm thấy",
            "message": "Không có trang này.",
        },
        status_code=404,
    )


def wants_page(request: Request) -> bool:
    """A browser navigating (not a script calling the API or loading an asset)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith(("/api/", "/static/"))
        and "text/html" in request.headers.get("accept", "")
    )


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def add_pages(
    app: FastAPI, svc: Services, *, secure_cookies: bool, upload_limit: int, ip_of: Callable[[Request], str]
) -> None:
    async def session_user(request: Request) -> Principal | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(svc.auth.session_principal, cookie) if cookie else None

    def render(request: Request, template: str, who: Principal | None, status: int = 200, **context: Any):
        nav = [(href, label) for permission, href, label in NAV if who is not None and who.can(permission)]
        if who is not None:
            nav.append(("/docs", "API"))
        return TEMPLATES.TemplateResponse(
            request,
            template,
            {
                "who": who,
                "role_label": ROLE_LABELS.get(who.role, who.role) if who else "",
                "nav": nav,
                "here": request.url.path,
                "roles": ROLE_LABELS,
                "csrf": who.csrf if who else "",
                "upload_limit": upload_limit,
                **context,
            },
            status_code=status,
        )

    async def page(request: Request, permission: str, template: str, **context: Any):
        who = await session_user(request)
        if who is None:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if not who.can(permission):
            return render(
                request,
                "message.html",
                who,
                status=403,
                title="Không có quyền",
                message="Vai trò của bạn không được dùng trang này.",
            )
        return render(request, template, who, **context)

    @app.get("/", include_in_schema=False)
    async def home(request: Request):
        who = await session_user(request)
        if who is None:
            return RedirectResponse("/login", status_code=303)
        for permission, target in (("upload", "/intake"), ("review", "/review"), ("search_text", "/search")):
            if who.can(permission):
                return RedirectResponse(target, status_code=303)
        return render(
            request,
            "message.html",
            who,
            title="Chỉ dùng API",
            message="Tài khoản này chỉ dùng API (tra cứu theo số định danh).",
        )

    @app.get("/login", include_in_schema=False)
    async def login_form(request: Request, next: str | None = None):
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = render(request, "login.html", None, login_csrf=token, next=_safe_next(next), error=None)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
            max_age=3600,
            path="/login",
        )
        return response

    @app.post("/login", include_in_schema=False)
    async def login(
        request: Request,
        name: str = Form("", max_length=64),
        password: str = Form("", max_length=256),
        csrf_token: str = Form("", max_length=100),
        next: str = Form("/", max_length=500),
    ):
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
        target = _safe_next(next)

        def again(message: str, status: int, retry_after: int | None = None):
            token = cookie or secrets.token_urlsafe(24)
            response = render(request, "login.html", None, login_csrf=token, next=target, error=message, status=status)
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            response.set_cookie(
                LOGIN_CSRF_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=secure_cookies,
                max_age=3600,
                path="/login",
            )
            return response

        if not cookie or not csrf_token or not hmac.compare_digest(cookie, csrf_token):
            return again("Phiên đăng nhập đã hết hạn, hãy thử lại.", 403)
        ip = ip_of(request)
        try:
            user = await svc.auth.login(name, password, ip)
        except LoginThrottled as exc:  # not audited: a flood must not turn into a flood of writes
            return again(
                f"Sai mật khẩu nhiều lần; hãy thử lại sau {exc.retry_after} giây.", exc.status, exc.retry_after
            )
        except LoginBusy as exc:
            return again("Máy chủ đang bận, hãy thử lại sau giây lát.", exc.status, exc.retry_after)
        if user is None:
            await run_in_threadpool(lambda: svc.audit(None, "login_failed", None, ip, name=name[:64]))
            return again("Tên đăng nhập hoặc mật khẩu không đúng.", 401)
        cookie_value, _ = await run_in_threadpool(svc.auth.create_session, user["id"])
        who = Principal(id=user["id"], name=user["name"], role=user["role"], agency=user["agency"], via="session")
        await run_in_threadpool(lambda: svc.audit(who, "login", None, ip))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            cookie_value,
            httponly=True,
            samesite="lax",
            secure=secure_cookies,
            max_age=SESSION_HOURS * 3600,
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, csrf_token: str = Form("", max_length=100)):
        who = await session_user(request)
        if who is not None:
            if not csrf_token or not hmac.compare_digest(csrf_token, who.csrf):
                return render(
                    request,
                    "message.html",
                    who,
                    status=403,
                    title="Yêu cầu bị từ chối",
                    message="Thiếu mã chống giả mạo (CSRF).",
                )
            await run_in_threadpool(svc.auth.end_session, who.sid)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/intake", include_in_schema=False)
    async def intake(request: Request):
        return await page(request, "upload", "intake.html")

    @app.get("/review", include_in_schema=False)
    async def review(request: Request):
        return await page(request, "review", "review.html")

    @app.get("/keying", include_in_schema=False)
    async def keying_page(request: Request):
        return await page(request, "key", "keying.html")

    @app.get("/arbitrate", include_in_schema=False)
    async def arbitrate_page(request: Request):
        return await page(request, "review", "arbitrate.html")

    @app.get("/keying/progress", include_in_schema=False)
    async def keying_progress_page(request: Request):
        return await page(request, "keying_manage", "keying_progress.html")

    @app.get("/search", include_in_schema=False)
    async def search(request: Request):
        return await page(request, "search_text", "search.html")

    @app.get("/results/{result_id}", include_in_schema=False)
    async def result(request: Request, result_id: str):
        if not RESULT_ID.match(result_id):
            who = await session_user(request)
            return render(
                request, "message.html", who, status=404, title="Không tìm thấy", message="Không có kết quả này."
            )
        return await page(request, "view", "result.html", result_id=result_id)

    @app.get("/shares", include_in_schema=False)
    async def shares(request: Request):
        return await page(request, "share", "shares.html")

    @app.get("/export", include_in_schema=False)
    async def export(request: Request):
        return await page(request, "export", "export.html")

    @app.get("/reports", include_in_schema=False)
    async def reports(request: Request):
        return await page(request, "admin", "reports.html")

    @app.get("/users", include_in_schema=False)
    async def users(request: Request):
        return await page(request, "admin", "users.html")

    @app.get("/audit", include_in_schema=False)
    async def audit_log(request: Request):
        return await page(request, "admin", "audit.html")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request):
        """The API reference, for anyone (as /openapi.json is)."""
        return render(request, "docs.html", await session_user(request))
