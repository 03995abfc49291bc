"""Search routes: text and id search, lookup by personal id (other agencies' systems),
a person's archived records, and checking a signed PDF."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Callable, Literal

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile

from ...config import Settings
from ..app import ApiError, clean_message
from ..auth import Principal
from ..services import Services, entitled


def add_search_api(
    app: FastAPI,
    svc: Services,
    need: Callable[[str], Any],
    ip_of: Callable[[Request], str],
    *,
    principal: Callable[..., Any],
    settings: Settings,
    upload_limit: int,
) -> None:
    @app.get("/api/search", tags=["search"])
    def search(
        request: Request,
        q: str | None = Query(None, max_length=200, description="text, tone-insensitive"),
        so_dinh_danh: str | None = Query(None, max_length=32),
        doc_type: Literal["khai_sinh", "ket_hon", "khai_tu", "so_ho_tich", "van_ban"] | None = None,
        limit: int = Query(20, ge=1, le=200),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        q = (q or "").strip() or None
        so_dinh_danh = (so_dinh_danh or "").strip() or None
        if q or doc_type:
            if not who.can("search_text"):
                raise ApiError(403, f"role {who.role} may only look up by so_dinh_danh")
        elif not so_dinh_danh:
            raise ApiError(422, "give q (text) or so_dinh_danh")
        if not who.can("search_id"):
            raise ApiError(403, f"role {who.role} may not search")
        hits = svc.describe_hits(
            who, svc.search(who, text=q, so_dinh_danh=so_dinh_danh, doc_type=doc_type, limit=limit)
        )
        svc.audit_reads(
            who,
            "search",
            [h["result_id"] for h in hits],
            ip_of(request),
            q=q,
            so_dinh_danh=so_dinh_danh,
            doc_type=doc_type,
        )
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
    def people(
        request: Request,
        so_dinh_danh: str | None = Query(None, max_length=32),
        ho_ten: str | None = Query(None, max_length=120),
        ngay_sinh: str | None = Query(None, pattern=r"^\d{2}/\d{2}/\d{4}$"),
        limit: int = Query(20, ge=1, le=100),
        who: Principal = Depends(need("dossier")),
    ) -> dict[str, Any]:
        """A person's archived records, to reuse at the counter before anything is scanned:
        by personal id, and by name with birth date; differences from the values given are listed."""
        digits = re.sub(r"[ .\-]", "", so_dinh_danh or "") or None
        if digits is not None and not re.fullmatch(r"\d{9}|\d{12}", digits):
            raise ApiError(422, "so_dinh_danh: 12 digits (or a 9-digit old ID number)", code="bad_id_number")
        name = " ".join(unicodedata.normalize("NFC", ho_ten or "").split()) or None
        if not digits and not (name and ngay_sinh):
            raise ApiError(422, "give so_dinh_danh, or ho_ten with ngay_sinh", code="bad_request")
        found = svc.person(who, so_dinh_danh=digits, ho_ten=name, ngay_sinh=ngay_sinh, limit=limit)
        svc.audit_reads(
            who,
            "read_person",
            [h["result_id"] for h in found],
            ip_of(request),
            so_dinh_danh=digits,
            ho_ten=name,
            ngay_sinh=ngay_sinh,
        )
        return {"results": found, "count": len(found)}

    @app.post("/api/verify", tags=["signatures"])
    def verify(
        request: Request,
        file: UploadFile = File(..., description="a signed PDF"),
        who: Principal = Depends(need("verify")),
    ) -> dict[str, Any]:
        data = file.file.read(upload_limit + 1)
        if len(data) > upload_limit:
            raise ApiError(
                413, f"file over the limit of {upload_limit} bytes", code="file_too_large", limit=upload_limit
            )
        if not data:
            raise ApiError(400, "empty file", code="empty_file")
        if b"%PDF-" not in data[:1024]:
            raise ApiError(415, "not a PDF")
        from ...signing import trust_roots
        from ...signing.verify import verify_pdf

        report = verify_pdf(data, trust_roots(settings))
        svc.audit(who, "verify", None, ip_of(request), valid=report.valid)
        return {
            "valid": report.valid,
            "intact": report.intact,
            "covers_whole_file": report.covers_whole_file,
            "signer": report.signer,
            "signed_at": report.signed_at,
            "trusted": report.trusted,
            "problems": [clean_message(p) for p in report.problems],
        }
