"""Admin routes: sharing all of an agency's results, the reuse report, the audit log
(export, chain check), users, and the Ministry of Justice export of a book."""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from ...config import Settings
from .. import audit
from ..app import ApiError, clean_message
from ..auth import AuthError, Principal, generate_password, is_system_admin
from ..services import Services
from .results import ShareIn


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    role: Literal["intake", "reviewer", "archivist", "external", "admin"]
    agency: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def add_admin_api(
    app: FastAPI, svc: Services, need: Callable[[str], Any], ip_of: Callable[[Request], str], *, settings: Settings
) -> None:
    def _agency_code(code: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", code):
            raise ApiError(422, "bad agency code", code="bad_agency")
        return code

    @app.post("/api/agencies/{owner}/share", tags=["admin"])
    def share_agency(
        request: Request, owner: str, body: ShareIn, who: Principal = Depends(need("admin"))
    ) -> dict[str, Any]:
        owner = _agency_code(owner)
        if owner != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the agency itself can share all its results", code="not_owner")
        try:
            svc.share(who, None, owner, body.agency, write=body.write)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="own_agency" if "own agency" in str(exc) else "unknown_agency") from None
        svc.audit(who, "share_agency", None, ip_of(request), owner=owner, grantee=body.agency, write=body.write)
        return {"owner": owner, "shared_with": body.agency, "access": "write" if body.write else "read"}

    @app.delete("/api/agencies/{owner}/share/{grantee}", tags=["admin"])
    def unshare_agency(
        request: Request, owner: str, grantee: str, who: Principal = Depends(need("admin"))
    ) -> dict[str, Any]:
        owner = _agency_code(owner)
        if owner != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the agency itself can revoke its shares", code="not_owner")
        if not svc.unshare(None, owner, grantee):
            raise ApiError(404, "no such share")
        svc.audit(who, "unshare_agency", None, ip_of(request), owner=owner, grantee=grantee)
        return {"owner": owner, "revoked": grantee}

    @app.get("/api/reports/reuse", tags=["admin"])
    def reuse_report(
        month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$"),
        agency: str | None = Query(None, max_length=64),
        who: Principal = Depends(need("admin")),
    ) -> dict[str, Any]:
        return {"rows": svc.reuse_report(month, agency)}

    @app.get(
        "/api/audit",
        tags=["admin"],
        response_class=Response,
        responses={200: {"content": {"application/x-ndjson": {}, "application/json": {}}}},
    )
    def audit_export(
        request: Request,
        format: Literal["jsonl", "json"] = "jsonl",
        since: str | None = Query(None, max_length=40),
        until: str | None = Query(None, max_length=40),
        result_id: str | None = Query(None, max_length=32),
        who: Principal = Depends(need("admin")),
    ):
        svc.audit(who, "audit_export", None, ip_of(request), since=since, until=until, for_result=result_id)
        rows = audit.rows(svc.db, since=since, until=until, result_id=result_id)
        if format == "json":
            return JSONResponse({"rows": list(rows)})
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        return StreamingResponse(
            lines,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
        )

    @app.get("/api/audit/verify", tags=["admin"])
    def audit_verify(request: Request, who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        """Walk the audit log's keyed chain: whether no row was altered or removed
        (rows cut off its end excepted: compare `rows` with an exported copy)."""
        try:
            check = audit.check_chain(svc.db)
        except audit.AuditKeyError as exc:
            raise ApiError(503, clean_message(str(exc)), code="unavailable") from None
        svc.audit(who, "audit_verify", None, ip_of(request), ok=check.ok, rows=check.rows, first_bad=check.bad_id)
        return {
            "ok": check.ok,
            "rows": check.rows,
            "first_bad": check.bad_id,
            "problem": check.problem or None,
            "unkeyed": check.unkeyed,
        }

    @app.get("/api/users", tags=["admin"])
    def list_users(who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        return {"users": svc.auth.users()}

    @app.post("/api/users", tags=["admin"], status_code=201)
    def add_user(request: Request, body: UserIn, who: Principal = Depends(need("admin"))) -> dict[str, Any]:
        if body.agency != who.agency and not is_system_admin(who, settings.agency):
            svc.audit(who, "refused_user_add", None, ip_of(request), name=body.name, role=body.role, agency=body.agency)
            raise ApiError(403, "an agency's admin adds users to its own agency only", code="not_owner")
        password = None if body.role == "external" else generate_password()
        try:
            user = svc.auth.add_user(body.name, body.role, body.agency, password=password)
        except AuthError as exc:
            raise ApiError(
                409 if "exists" in str(exc) else 422,
                str(exc),
                code="user_exists" if "exists" in str(exc) else "invalid",
            ) from None
        out: dict[str, Any] = dict(user)
        if body.role == "external":
            out["token"] = svc.auth.issue_token(body.name)
        else:
            out["password"] = password
        svc.audit(who, "user_add", None, ip_of(request), name=body.name, role=body.role, agency=body.agency)
        return out

    @app.get(
        "/api/export/moj",
        tags=["admin"],
        response_class=Response,
        responses={
            200: {
                "content": {"application/zip": {}},
                "description": "the book's package: one PDF per entry, an XLSX, manifest.json",
            }
        },
    )
    def export_moj(
        request: Request,
        book: str = Query(..., min_length=1, max_length=200, description="registry book id (process --book)"),
        agency: str | None = Query(None, max_length=64, description="(all-agency admins) whose book"),
        who: Principal = Depends(need("export")),
    ):
        from ...export import build_package, safe_name

        owner = agency if (agency and who.can("all_agencies")) else who.agency
        data, manifest = build_package(svc.review_engines(owner), book, agency=owner)
        svc.audit(
            who,
            "export_moj",
            None,
            ip_of(request),
            book=manifest["book"],
            agency=owner,
            entries=manifest["entries"],
            results=manifest["results"],
        )
        name = safe_name(book, "book")
        return Response(
            data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}.zip"'}
        )
