"""Search index interface over CONTRACT result dicts.

One row per result and one per record; full-text over page text and field
values, with a tone-folded copy so that "nguyen van an" finds "Nguyễn Văn An"."""

from __future__ import annotations

from typing import Any, Protocol


class Index(Protocol):
    def upsert(self, result: dict[str, Any]) -> None:
        """Insert or replace a result (same id = same row; records replaced)."""
        ...

    def get(self, result_id: str) -> dict[str, Any] | None:
        """The stored result dict, or None."""
        ...

    def search(self, text: str | None = None, *, so_dinh_danh: str | None = None,
               doc_type: str | None = None, book: str | None = None, so: str | None = None,
               ho_ten: str | None = None, ngay_sinh: str | None = None,
               fold: bool = True, limit: int = 20) -> list[dict[str, Any]]:
        """Matching records as dicts: {result_id, page, record, doc_type, fields, score, ...};
        a result with no records matches as one hit with record = None."""
        ...

    def close(self) -> None: ...
