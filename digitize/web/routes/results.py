"""Results routes: upload, jobs, a result, its signed PDF, versions, page images and
words, field crops, matching records, and sharing a result with another agency."""

from __future__ import annotations

import asyncio
import unicodedata
from typing import Any, Callable, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ... import errors
from ...pipeline import agency_result_id, result_id_for
from ..app import ApiError, clean_message, log, message_code, safe_name
from ..auth import Principal
from ..jobs import outcome
from ..services import Services, public, versions


class ShareIn(BaseModel):
    agency: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    write: bool = Field(default=False, description="also let the agency make new versions (default: read only)")


def add_results_api(
    app: FastAPI,
    svc: Services,
    need: Callable[[str], Any],
    ip_of: Callable[[Request], str],
    *,
    principal: Callable[..., Any],
    prepare_upload: Callable[[str, bytes], Any],
    upload_limit: int,
) -> None:
    @app.post(
        "/api/upload",
        tags=["results"],
        responses={
            200: {"description": "one page: the JSON result"},
            202: {"description": "more than one page: a job to poll at /api/jobs/{id}"},
            413: {"description": "over the size, page or pixel limit"},
            415: {"description": "not an image or PDF"},
        },
    )
    async def upload(
        request: Request,
        file: UploadFile = File(..., description="PNG, JPEG, TIFF or PDF"),
        doc_type: Literal["auto", "khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban"] = Form("auto"),
        ma_ho_so: str | None = Form(None, max_length=64, description="dossier this scan belongs to"),
        book: str | None = Form(None, max_length=128),
        who: Principal = Depends(need("upload")),
    ):
        data = await file.read(upload_limit + 1)
        await file.close()
        if len(data) > upload_limit:
            raise ApiError(
                413, f"file over the limit of {upload_limit} bytes", code="file_too_large", limit=upload_limit
            )
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
            future = svc.processor.submit(
                rid, name, data, who.agency, doc_type=doc_type, book=book_clean, result_id=own_id
            )
            result = outcome(await asyncio.wrap_future(future))
            await run_in_threadpool(svc.accepted, who, result, ma, ip_of(request))
            return JSONResponse(public(result), status_code=200, headers={"Location": f"/api/results/{result.id}"})
        job_id = await run_in_threadpool(svc.new_job, who, name, pages, ma)
        future = svc.processor.submit(
            rid, name, data, who.agency, doc_type=doc_type, book=book_clean, job_id=job_id, batch=True, result_id=own_id
        )
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
                svc.finish_job(job_id, result_id=result.id)
            except Exception:
                log.exception("job %s: could not record the result", job_id)
                svc.finish_job(job_id, error="internal error")

        future.add_done_callback(done)
        return JSONResponse(
            {"job": job_id, "status": "queued", "pages_total": pages, "status_url": f"/api/jobs/{job_id}"},
            status_code=202,
            headers={"Location": f"/api/jobs/{job_id}"},
        )

    @app.get("/api/jobs/{job_id}", tags=["results"])
    def job(job_id: str, who: Principal = Depends(principal)) -> dict[str, Any]:
        row = svc.job_for(who, job_id)
        out = {
            "job": row["id"],
            "status": row["status"],
            "pages_done": row["pages_done"],
            "pages_total": row["pages_total"],
            "name": row["name"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }
        if row["status"] == "running" and row["stage"]:
            out["stage"] = row["stage"]  # pipeline.STAGES: ocr, fields, pdf, sign, store, index
        if row["result_id"]:
            out["result_id"] = row["result_id"]
            out["result_url"] = f"/api/results/{row['result_id']}"
        if row["error"]:
            out["error"] = row["error"]
            out["code"] = message_code(row["error"], "processing_failed")
        return out

    @app.get("/api/results/{result_id}", tags=["results"])
    def get_result(
        request: Request,
        result_id: str,
        version: int | None = Query(None, ge=1, le=100_000),
        who: Principal = Depends(need("read")),
    ) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        shown = svc.version_of(result, version)
        svc.audit(who, "read", result_id, ip_of(request), version=shown.version)
        return public(shown)

    @app.get(
        "/api/results/{result_id}/pdf",
        tags=["results"],
        response_class=Response,
        responses={200: {"content": {"application/pdf": {}}, "description": "the signed PDF"}},
    )
    def get_pdf(
        request: Request,
        result_id: str,
        version: int | None = Query(None, ge=1, le=100_000),
        who: Principal = Depends(need("read")),
    ):
        result = svc.version_of(svc.result_for(who, result_id), version)
        data = svc.storage.get(result.keys["pdf"])
        n = result.version
        svc.audit(who, "read_pdf", result_id, ip_of(request), version=n)
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{result_id}-v{n}.pdf"'},
        )

    @app.get("/api/results/{result_id}/versions", tags=["results"])
    def get_versions(request: Request, result_id: str, who: Principal = Depends(need("read"))) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        svc.audit(who, "read_versions", result_id, ip_of(request))
        return {"id": result_id, "current": result.version, "versions": versions(svc, result)}

    @app.get(
        "/api/results/{result_id}/pages/{page}/image",
        tags=["results"],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}},
    )
    def page_image(
        request: Request,
        result_id: str,
        page: int,
        version: int | None = Query(None, ge=1, le=100_000),
        who: Principal = Depends(need("view")),
    ):
        result = svc.version_of(svc.result_for(who, result_id), version)
        images = svc.page_images(result)
        if not 1 <= page <= len(images):
            raise ApiError(404, "no such page")
        svc.audit(who, "read_image", result_id, ip_of(request), page=page, version=result.version)
        return Response(images[page - 1][0], media_type="image/jpeg")

    @app.get("/api/results/{result_id}/pages/{page}/words", tags=["results"])
    def page_words(
        request: Request,
        result_id: str,
        page: int,
        version: int | None = Query(None, ge=1, le=100_000),
        who: Principal = Depends(need("view")),
    ) -> dict[str, Any]:
        result = svc.version_of(svc.result_for(who, result_id), version)
        words = svc.words(result)
        if not 1 <= page <= len(result.pages):
            raise ApiError(404, "no such page")
        page_words = words[page - 1] if page <= len(words) else []
        meta = result.pages[page - 1]
        svc.audit(who, "read_words", result_id, ip_of(request), page=page)
        return {
            "page": page,
            "width": meta.width,
            "height": meta.height,
            "words": page_words,
            "fields": svc.field_boxes(result, page_words, page),
        }

    @app.get(
        "/api/results/{result_id}/records/{record}/fields/{field}/crop",
        tags=["review"],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}},
    )
    def field_crop(request: Request, result_id: str, record: int, field: str, who: Principal = Depends(need("view"))):
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

    @app.post("/api/results/{result_id}/share", tags=["results"])
    def share(
        request: Request, result_id: str, body: ShareIn, who: Principal = Depends(need("share"))
    ) -> dict[str, Any]:
        """Let another agency read this result (and, with `write`, correct it)."""
        result = svc.result_for(who, result_id)
        if result.agency != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the owning agency can share a result", code="not_owner")
        try:
            svc.share(who, result, result.agency, body.agency, write=body.write)
        except ValueError as exc:
            raise ApiError(422, str(exc), code="own_agency" if "own agency" in str(exc) else "unknown_agency") from None
        svc.audit(who, "share", result_id, ip_of(request), grantee=body.agency, write=body.write)
        return {"id": result_id, "shared_with": body.agency, "access": "write" if body.write else "read"}

    @app.delete("/api/results/{result_id}/share/{grantee}", tags=["results"])
    def unshare(
        request: Request, result_id: str, grantee: str, who: Principal = Depends(need("share"))
    ) -> dict[str, Any]:
        result = svc.result_for(who, result_id)
        if result.agency != who.agency and not who.can("all_agencies"):
            raise ApiError(403, "only the owning agency can revoke a share", code="not_owner")
        if not svc.unshare(result, result.agency, grantee):
            raise ApiError(404, "no such share")
        svc.audit(who, "unshare", result_id, ip_of(request), grantee=grantee)
        return {"id": result_id, "revoked": grantee}

    @app.get("/api/shares", tags=["results"])
    def list_shares(
        agency: str | None = Query(None, max_length=64), who: Principal = Depends(need("share"))
    ) -> dict[str, Any]:
        owner = agency if (agency and who.can("all_agencies")) else who.agency
        return {"agency": owner, "shares": svc.shares(owner)}
