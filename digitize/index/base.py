"""Search index interface over results (`digitize.types.Result`).

One row per result and one per record; full-text over page text and field
values, with a tone-folded copy so that "nguyen van an" finds "Nguyễn Văn An"."""

from __future__ import annotations

from typing import Any, Protocol

from ..types import Result


class Index(Protocol):
    def upsert(self, result: Result) -> None:
        """Insert or replace a result (same id = same row; records replaced)."""
        ...

    def get(self, result_id: str) -> Result | None:
        """The stored result, or None."""
        ...

    def search(
        self,
        text: str | None = None,
        *,
        so_dinh_danh: str | None = None,
        doc_type: str | None = None,
        book: str | None = None,
        so: str | None = None,
        ho_ten: str | None = None,
        ngay_sinh: str | None = None,
        fold: bool = True,
        limit: int = 20,
    ) -> list[dict[str, Any]]:
        """Matching records as dicts: {result_id, page, record, doc_type, fields, score, ...};
        a result with no records matches as one hit with record = None."""
        ...

    def records_for_book(self, book: str) -> list[dict[str, Any]]:
        """Every record of a registry book, in entry-number order (2 before 10)."""
        ...

    def close(self) -> None: ...
