"""Dossier routes: attach an archived result to a dossier, and read a dossier. The
dossier's intake (upload, documents, split) is intake.py's, registered first:
GET /api/dossiers/{ma_ho_so:path} here takes every path under /api/dossiers/."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from ..app import ApiError
from ..auth import Principal
from ..services import Services


class ReuseIn(BaseModel):
    result_id: str = Field(pattern=r"^[0-9a-f]{32}$")


def add_dossiers_api(app: FastAPI, svc: Services, need: Callable[[str], Any], ip_of: Callable[[Request], str]) -> None:
    # `:path`: dossier codes hold slashes ("HS/2025/01"), sent encoded or not.
    @app.post("/api/dossiers/{ma_ho_so:path}/reuse", tags=["dossiers"])
    def reuse(
        request: Request, ma_ho_so: str, body: ReuseIn, who: Principal = Depends(need("dossier"))
    ) -> dict[str, Any]:
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="bad_dossier_code") from None
        svc.result_for(who, body.result_id)
        new = svc.attach(who, ma, body.result_id, "reused")
        svc.audit(who, "reuse", body.result_id, ip_of(request), dossier=ma, new=new)
        return svc.dossier(who.agency, ma)

    @app.get("/api/dossiers/{ma_ho_so:path}", tags=["dossiers"])
    def dossier(
        request: Request,
        ma_ho_so: str,
        agency: str | None = Query(None, max_length=64),
        who: Principal = Depends(need("dossier")),
    ) -> dict[str, Any]:
        owner = agency if (agency and who.can("all_agencies")) else who.agency
        try:
            ma = svc.check_ma(ma_ho_so)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="bad_dossier_code") from None
        out = svc.dossier(owner, ma)
        svc.audit(who, "read_dossier", None, ip_of(request), dossier=ma, agency=owner)
        return out
