"""Review routes: a correction, a review (several changes, one version), approval,
and the review queue."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from ...review import Change, review_fields
from .. import audit
from ..app import ApiError
from ..auth import Principal
from ..services import Services, public


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


def add_review_api(app: FastAPI, svc: Services, need: Callable[[str], Any], ip_of: Callable[[Request], str]) -> None:
    def apply_review(
        request: Request, who: Principal, result_id: str, changes: list[Change], expected: int | None, action: str
    ) -> dict[str, Any]:
        result = svc.result_for(who, result_id, write=True)
        engines = svc.review_engines(result.agency)
        new = review_fields(engines, result_id, changes, who.name, expected_version=expected)
        svc.queue_update(new)
        log_rows = [c for c in new.corrections if c.version == new.version]
        audit.record_many(
            svc.db,
            [
                dict(
                    user=who.name,
                    role=who.role,
                    agency=who.agency,
                    action=action,
                    result_id=result_id,
                    ip=ip_of(request),
                    detail={
                        "record": c.record,
                        "field": c.field,
                        "old": c.old,
                        "new": c.new,
                        "change": c.action,
                        "version": c.version,
                    },
                )
                for c in log_rows
            ],
        )
        return public(new)

    @app.post("/api/results/{result_id}/corrections", tags=["review"])
    def correct(
        request: Request, result_id: str, body: CorrectionIn, who: Principal = Depends(need("correct"))
    ) -> dict[str, Any]:
        return apply_review(
            request, who, result_id, [Change(body.record, body.field, body.value)], body.version, "correct"
        )

    @app.post("/api/results/{result_id}/review", tags=["review"])
    def review(
        request: Request, result_id: str, body: ReviewIn, who: Principal = Depends(need("correct"))
    ) -> dict[str, Any]:
        return apply_review(
            request, who, result_id, [Change(c.record, c.field, c.value) for c in body.changes], body.version, "review"
        )

    @app.post("/api/results/{result_id}/approve", tags=["review"])
    def approve(
        request: Request, result_id: str, body: ApproveIn | None = None, who: Principal = Depends(need("correct"))
    ) -> dict[str, Any]:
        """Accept every field still flagged (one new version) and return the result to hand back."""
        result = svc.result_for(who, result_id, write=True)
        expected = body.version if body else None
        flagged = [
            Change(i, f, None) for i, rec in enumerate(result.records) for f in rec.needs_review if f in rec.fields
        ]
        if flagged:
            out = apply_review(request, who, result_id, flagged, expected, "approve")
        else:
            if expected is not None and expected != result.version:
                raise ApiError(409, f"result is at version {result.version}, not {expected}", code="stale_version")
            svc.audit(who, "approve", result_id, ip_of(request), version=result.version)
            out = public(result)
        return out

    @app.get("/api/review/queue", tags=["review"])
    def review_queue(
        request: Request, limit: int = Query(50, ge=1, le=500), who: Principal = Depends(need("review"))
    ) -> dict[str, Any]:
        items = svc.queue(who, limit=limit)
        svc.audit_reads(who, "read_queue", [i["result_id"] for i in items], ip_of(request))
        return {"items": items, "count": len(items)}
