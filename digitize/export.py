"""The Ministry of Justice package of one registry book.

    digitize export --book ID [--out FILE.zip]

A zip with, for each entry of the book (in number order):
  pdf/<số>.pdf      the signed searchable PDF of the result the entry comes from
                    (a registry page with several entries gives the same page PDF
                    under each entry's number)
  <book>.xlsx       one row per entry, one column per field, Vietnamese headers
  manifest.json     the book, the time, the entries and the SHA-256 of every file

The zip is written to a temporary file next to the target and renamed into
place, so a reader never sees half a package."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any, TYPE_CHECKING

from .errors import InputError, NotFound
from .extract.base import FIELDS
from .clock import VN_TZ
from .types import Result

if TYPE_CHECKING:
    from .pipeline import Engines


HEADERS: dict[str, str] = {
    "so": "Số",
    "quyen_so": "Quyển số",
    "ho_ten": "Họ, chữ đệm, tên",
    "ngay_sinh": "Ngày, tháng, năm sinh",
    "ngay_sinh_bang_chu": "Ngày sinh bằng chữ",
    "gioi_tinh": "Giới tính",
    "dan_toc": "Dân tộc",
    "quoc_tich": "Quốc tịch",
    "noi_sinh": "Nơi sinh",
    "que_quan": "Quê quán",
    "so_dinh_danh": "Số định danh cá nhân",
    "ho_ten_me": "Họ, chữ đệm, tên người mẹ",
    "nam_sinh_me": "Năm sinh của mẹ",
    "dan_toc_me": "Dân tộc của mẹ",
    "quoc_tich_me": "Quốc tịch của mẹ",
    "noi_cu_tru_me": "Nơi cư trú của mẹ",
    "ho_ten_cha": "Họ, chữ đệm, tên người cha",
    "nam_sinh_cha": "Năm sinh của cha",
    "dan_toc_cha": "Dân tộc của cha",
    "quoc_tich_cha": "Quốc tịch của cha",
    "noi_cu_tru_cha": "Nơi cư trú của cha",
    "noi_cu_tru": "Nơi cư trú",
    "nguoi_di_khai": "Họ, chữ đệm, tên người đi khai sinh",
    "noi_dang_ky": "Nơi đăng ký",
    "ngay_dang_ky": "Ngày, tháng, năm đăng ký",
    "nguoi_ky": "Người ký",
    "ghi_chu": "Ghi chú",
    "ho_ten_chong": "Họ, chữ đệm, tên chồng",
    "ngay_sinh_chong": "Ngày sinh của chồng",
    "dan_toc_chong": "Dân tộc của chồng",
    "quoc_tich_chong": "Quốc tịch của chồng",
    "noi_cu_tru_chong": "Nơi cư trú của chồng",
    "so_dinh_danh_chong": "Số định danh cá nhân của chồng",
    "ho_chieu_chong": "Số hộ chiếu của chồng",
    "ho_ten_vo": "Họ, chữ đệm, tên vợ",
    "ngay_sinh_vo": "Ngày sinh của vợ",
    "dan_toc_vo": "Dân tộc của vợ",
    "quoc_tich_vo": "Quốc tịch của vợ",
    "noi_cu_tru_vo": "Nơi cư trú của vợ",
    "so_dinh_danh_vo": "Số định danh cá nhân của vợ",
    "ho_chieu_vo": "Số hộ chiếu của vợ",
    "gio_chet": "Giờ chết",
    "ngay_chet": "Ngày, tháng, năm chết",
    "noi_chet": "Nơi chết",
    "nguyen_nhan_chet": "Nguyên nhân chết",
    "nguoi_khai": "Họ, chữ đệm, tên người đi khai tử",
    "quan_he": "Quan hệ với người chết",
    "co_quan_ban_hanh": "Cơ quan ban hành",
    "so_ky_hieu": "Số, ký hiệu",
    "dia_danh": "Địa danh",
    "ngay_ban_hanh": "Ngày ban hành",
    "loai_van_ban": "Loại văn bản",
    "trich_yeu": "Trích yếu",
    "noi_nhan": "Nơi nhận",
    "chuc_vu_nguoi_ky": "Chức vụ người ký",
}
DOC_TYPE_NAMES = {"khai_sinh": "Khai sinh", "ket_hon": "Kết hôn", "khai_tu": "Khai tử", "van_ban": "Văn bản"}
EXTRA_COLUMNS = (
    ("doc_type", "Loại việc"),
    ("pdf", "Tệp PDF"),
    ("needs_review", "Trường cần kiểm tra"),
    ("result_id", "Mã kết quả"),
    ("version", "Phiên bản"),
    ("page", "Trang"),
)


def safe_name(text: str, fallback: str) -> str:
    """A file-name part from an entry number or book id ('12/2024' -> '12-2024')."""
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    text = re.sub(r"[\\/:*?\"<>|\s]+", "-", text)
    text = re.sub(r"[^\w.\-]", "", text).strip(".-")
    return text[:80] or fallback


def columns_for(doc_types: list[str]) -> list[str]:
    """Field columns in CONTRACT order, for the kinds of record in the book."""
    seen: list[str] = []
    for doc_type in doc_types:
        for name in FIELDS.get(doc_type, ()):
            if name not in seen:
                seen.append(name)
    return seen


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_package(
    engines: "Engines", book: str, *, now: datetime | None = None, agency: str | None = None
) -> tuple[bytes, dict[str, Any]]:
    """The zip bytes and its manifest for one book. Raises NotFound for an empty book.
    `agency`: only that agency's results (two agencies may file books under the same id)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = (book or "").strip()
    if not book:
        raise InputError("a book id is needed")
    entries = engines.index.records_for_book(book)
    if agency is not None:
        owners: dict[str, str | None] = {}
        for entry in entries:
            rid = entry["result_id"]
            if rid not in owners:
                found = engines.index.get(rid)
                owners[rid] = found.agency if found else None
        entries = [e for e in entries if owners[e["result_id"]] == agency]
    if not entries:
        raise NotFound(f"no records filed under book {book!r}")
    now = (now or datetime.now(VN_TZ)).replace(microsecond=0)
    results: dict[str, Result] = {}
    pdfs: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    rows: list[dict[str, Any]] = []
    used_names: set[str] = set()
    for i, entry in enumerate(entries, 1):
        rid = entry["result_id"]
        if rid not in results:
            result = engines.index.get(rid)
            if result is None:
                raise NotFound(f"result {rid} of book {book!r} is missing from the index")
            results[rid] = result
            pdfs[rid] = engines.storage.get(result.keys["pdf"])
        result = results[rid]
        record_index = entry.get("record")
        record = (
            result.records[record_index]
            if isinstance(record_index, int) and 0 <= record_index < len(result.records)
            else None
        )
        fields = (record.fields if record else None) or entry.get("fields") or {}
        base = safe_name(fields.get("so") or entry.get("so") or "", f"entry-{i:04d}")
        name = f"pdf/{base}.pdf"
        n = 2
        while name in used_names:
            name = f"pdf/{base}-{n}.pdf"
            n += 1
        used_names.add(name)
        files[name] = pdfs[rid]
        rows.append(
            {
                "fields": fields,
                "doc_type": (record.doc_type if record else "") or entry.get("doc_type") or "",
                "pdf": name,
                "needs_review": ", ".join(record.needs_review if record else ()),
                "result_id": rid,
                "version": result.version,
                "page": entry.get("page"),
            }
        )

    doc_types = sorted({r["doc_type"] for r in rows}, key=lambda t: list(FIELDS).index(t) if t in FIELDS else 99)
    columns = columns_for(doc_types)
    wb = Workbook()
    ws = wb.active
    ws.title = "Sổ " + safe_name(book, "book")[:25]
    ws.append([HEADERS.get(c, c) for c in columns] + [label for _, label in EXTRA_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        values = [row["fields"].get(c, "") for c in columns]
        extra = [
            DOC_TYPE_NAMES.get(row["doc_type"], row["doc_type"]) if key == "doc_type" else row[key]
            for key, _ in EXTRA_COLUMNS
        ]
        ws.append(values + extra)
    for cell in ws[1]:  # dates and numbers stay text: "05/03/1998", "001099012345"
        column = ws.column_dimensions[cell.column_letter]
        column.width = min(40, max(10, len(str(cell.value)) + 2))
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            cell.number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    sheet_name = f"{safe_name(book, 'book')}.xlsx"
    files[sheet_name] = buf.getvalue()

    manifest = {
        "book": book,
        "created_at": now.isoformat(),
        "entries": len(rows),
        "results": sorted(results),
        "files": [{"path": path, "sha256": _sha256(data), "size": len(data)} for path, data in sorted(files.items())],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=now.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED if path.endswith(".pdf") else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        info = zipfile.ZipInfo("manifest.json", date_time=now.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return out.getvalue(), manifest


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def export_book(engines: "Engines", book: str, out: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Write the package of `book` to `out` (default ./<book>.zip); returns the path and manifest."""
    data, manifest = build_package(engines, book)
    path = out or Path(f"{safe_name(book, 'book')}.zip")
    write_atomic(path, data)
    return path, manifest
