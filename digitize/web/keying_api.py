"""JSON API of double keying (keying.py): send a result's pages to keying, the next
entry to key, drafts, submission, the arbitration queue and arbitration, progress.

Permissions: "keying_manage" (archivist, admin) sends and assigns and sees progress;
"key" (intake, reviewer, archivist, admin) keys; "review" arbitrates. Entries are
scoped to the user's agency (admins: all)."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from .auth import Principal
from .keying import Keying

EntryId = Annotated[int, Path(ge=1, le=10**12, description="keying entry id")]
_Id = Annotated[int, Field(ge=1, le=10**12)]


class BookPlaceIn(BaseModel):
    commune: str | None = Field(
        default=None, max_length=80, description='the book\'s commune or ward, without its unit word ("Nghi Phú")'
    )
    district: str | None = Field(default=None, max_length=80, description="its district (before 01/07/2025)")
    province: str | None = Field(default=None, max_length=80, description="its province")
    year: int | None = Field(default=None, ge=1850, le=2100, description="the year the book registers")


class SendIn(BaseModel):
    records: list[Annotated[int, Field(ge=0, le=100_000)]] | None = Field(
        default=None, max_length=1000, description="record indexes to send; default: those that need people"
    )
    all: bool = Field(default=False, description="send every record of the result (a handwritten page)")
    floor: float | None = Field(
        default=None, ge=0.0, le=1.0, description="OCR confidence below which a record is sent (default 0.8)"
    )
    assigned_to: str | None = Field(default=None, max_length=64, description="only this keyer may key them")
    rows: bool = Field(
        default=False,
        description="also one entry per row of the ruled grid of each page "
        "nothing was read from (a handwritten book page)",
    )
    doc_type: Literal["khai_sinh", "ket_hon", "khai_tu"] | None = Field(
        default=None, description="with rows: the book's kind, when no record of the result says it"
    )
    header_rows: int = Field(default=1, ge=0, le=5, description="with rows: ruled rows of column titles to skip")
    book_place: BookPlaceIn | None = Field(
        default=None,
        description="what the book says of every entry (its "
        "commune, year), kept per book; default: read off each page's heading",
    )


class ValuesIn(BaseModel):
    values: dict[str, str | None] = Field(
        max_length=200, description="field name: value as on the paper (empty: absent from the paper)"
    )
    keystrokes: int | None = Field(default=None, ge=0, le=1_000_000)


class AssignIn(BaseModel):
    entries: list[_Id] = Field(min_length=1, max_length=1000)
    user: str | None = Field(default=None, max_length=64, description="null: anyone of the agency")


def add_keying_api(app: FastAPI, keying: Keying, need: Callable[[str], Any], ip_of: Callable[[Request], str]) -> None:
    @app.post("/api/keying/results/{result_id}/send", tags=["keying"])
    def keying_send(
        request: Request, result_id: str, body: SendIn, who: Principal = Depends(need("keying_manage"))
    ) -> dict[str, Any]:
        """Send a result's records to double keying: those with handwritten fields or a
        confidence below `floor`, or the listed ones, or all."""
        return keying.send(
            who,
            result_id,
            floor=body.floor,
            records=body.records,
            everything=body.all,
            assigned_to=body.assigned_to,
            rows=body.rows,
            doc_type=body.doc_type,
            header_rows=body.header_rows,
            book_place=body.book_place.model_dump(exclude_none=True) if body.book_place else None,
            ip=ip_of(request),
        )

    @app.post("/api/keying/assign", tags=["keying"])
    def keying_assign(
        request: Request, body: AssignIn, who: Principal = Depends(need("keying_manage"))
    ) -> dict[str, Any]:
        return {"assigned": keying.assign(who, body.entries, body.user, ip=ip_of(request))}

    @app.get("/api/keying/next", tags=["keying"])
    def keying_next(request: Request, who: Principal = Depends(need("key"))) -> dict[str, Any]:
        """The user's next entry to key (their open draft first); `task` null when none."""
        return {"task": keying.next_task(who, ip=ip_of(request))}

    @app.get("/api/keying/complete", tags=["keying"])
    def keying_complete(
        field: str = Query(
            ...,
            min_length=1,
            max_length=64,
            pattern=r"^[a-z][a-z0-9_]*$",
            description="the field being typed (ho_ten, noi_sinh, dan_toc, ...)",
        ),
        q: str = Query("", max_length=200, description="what is typed so far"),
        entry: int | None = Query(
            None, ge=1, le=10**12, description="the entry: completes in its book's province and period"
        ),
        province: str | None = Query(None, max_length=80, description="the book's province"),
        year: int | None = Query(
            None, ge=1850, le=2100, description="the book's year: units before or after 01/07/2025"
        ),
        limit: int = Query(8, ge=1, le=20),
        who: Principal = Depends(need("key")),
    ) -> dict[str, Any]:
        """Completions as you type, tone-insensitive prefix match, NFC: place names from the
        gazetteer of the book's period (its commune and district first), known surnames and
        given names, the 54 ethnic groups, Nam/Nữ. Each suggestion is the whole new value."""
        return keying.complete(who, field, q, entry_id=entry, province=province, year=year, limit=limit)

    @app.get("/api/keying/entries/{entry_id}", tags=["keying"])
    def keying_task(request: Request, entry_id: EntryId, who: Principal = Depends(need("key"))) -> dict[str, Any]:
        """An entry to key: its fields with the user's draft, else the OCR prefill (none
        on a blind entry), and each field's crop."""
        return keying.task(who, entry_id, ip=ip_of(request))

    @app.get(
        "/api/keying/entries/{entry_id}/row",
        tags=["keying"],
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}, "description": "the entry's band of the page"}},
    )
    def keying_row(request: Request, entry_id: EntryId, who: Principal = Depends(need("view"))):
        data = keying.row_image(who, entry_id)
        keying.svc.audit(who, "read_crop", keying.entry(who, entry_id)["result_id"], ip_of(request), entry=entry_id)
        return Response(data, media_type="image/jpeg")

    @app.put("/api/keying/entries/{entry_id}/draft", tags=["keying"])
    def keying_draft(entry_id: EntryId, body: ValuesIn, who: Principal = Depends(need("key"))) -> dict[str, Any]:
        return keying.save_draft(who, entry_id, body.values, body.keystrokes)

    @app.post("/api/keying/entries/{entry_id}/submit", tags=["keying"])
    def keying_submit(
        request: Request, entry_id: EntryId, body: ValuesIn, who: Principal = Depends(need("key"))
    ) -> dict[str, Any]:
        """Submit one keying. The second keying is compared with the first: all equal
        makes a new signed version at once; otherwise the entry goes to arbitration."""
        return keying.submit(who, entry_id, body.values, body.keystrokes, ip=ip_of(request))

    @app.get("/api/keying/arbitration", tags=["keying"])
    def keying_arbitration_queue(
        limit: int = Query(50, ge=1, le=500), who: Principal = Depends(need("review"))
    ) -> dict[str, Any]:
        """Entries whose two keyings differ, that the user did not key."""
        items = keying.arbitration_queue(who, limit=limit)
        return {"items": items, "count": len(items)}

    @app.get("/api/keying/entries/{entry_id}/arbitration", tags=["keying"])
    def keying_arbitration_task(entry_id: EntryId, who: Principal = Depends(need("review"))) -> dict[str, Any]:
        """Both keyings of each field (keyers unnamed), the disputed fields, the crops."""
        return keying.arbitration_task(who, entry_id)

    @app.post("/api/keying/entries/{entry_id}/arbitrate", tags=["keying"])
    def keying_arbitrate(
        request: Request, entry_id: EntryId, body: ValuesIn, who: Principal = Depends(need("review"))
    ) -> dict[str, Any]:
        """Decide the disputed fields; makes the new signed version."""
        return keying.arbitrate(who, entry_id, body.values, ip=ip_of(request))

    @app.post("/api/keying/entries/{entry_id}/retry", tags=["keying"])
    def keying_retry(
        request: Request, entry_id: EntryId, who: Principal = Depends(need("keying_manage"))
    ) -> dict[str, Any]:
        return keying.retry(who, entry_id, ip=ip_of(request))

    @app.get("/api/keying/progress", tags=["keying"])
    def keying_progress(who: Principal = Depends(need("keying_manage"))) -> dict[str, Any]:
        """Per book: entries not started, keyed once, twice, in arbitration, done; per
        keyer: entries, median seconds per entry, agreement with the accepted values;
        the share of fields reaching arbitration, prefilled vs blind."""
        return keying.progress(who)
