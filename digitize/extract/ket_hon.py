"""Giấy chứng nhận kết hôn: husband and wife in two blocks of labels, or in a
3-column table "Thông tin | Chồng | Vợ" whose cells are split by word x positions."""

from __future__ import annotations

import re

from ..types import Line, OcrPage, Record
from .base import FIELDS as ALL_FIELDS
from .base import build_record, collect
from .common import min_conf, signer_name, words_text
from .labels import FormSpec, Label, RawField, Section, read_form, fold_aligned, form_rows
from .table import Column, edges_between, find_header, split_row

FIELDS = ALL_FIELDS["ket_hon"]
REQUIRED = ("so", "quyen_so", "ho_ten_chong", "ho_ten_vo", "ngay_dang_ky", "nguoi_ky")

SPEC = FormSpec(
    doc_type="ket_hon",
    labels=(
        Label("so", r"so(?=\s*[:;.]\s*\S)"),
        # "Số:" misread and glued to its figures ("Sấ29"), found as what stands before "Quyển số"
        Label("so", r"s[a-z](?=\W?\s*\d{1,4}\W?\s*quy)", by_place=True),
        Label("quyen_so", r"quyen so"),
        Label("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten (ben )?(chong|vo)", generic=True),
        Label("ngay_sinh", r"ngay,? ?thang,? ?nam sinh", generic=True),
        Label("dan_toc", r"dan toc", generic=True),
        Label("quoc_tich", r"quoc tich", generic=True),
        Label("noi_cu_tru", r"noi cu tru", generic=True, wraps=True),
        Label("so_dinh_danh", r"so dinh danh( ca nhan)?", generic=True),
        Label("ho_chieu", r"(so )?ho chieu", generic=True),
        Label("noi_dang_ky", r"noi dang ky( ket hon)?", wraps=True),
        Label("ngay_dang_ky", r"ngay,? ?thang,? ?nam dang ky"),
        Label("ghi_chu", r"ghi chu", wraps=True, blank_allowed=True),
    ),
    sections=(
        Section(
            "chong", r"^(thong tin (ve )?)?(ben )?chong\s*:?$|^ho,? ?(chu dem,? ?)?(va )?ten (ben )?chong", "_chong"
        ),
        Section("vo", r"^(thong tin (ve )?)?(ben )?vo\s*:?$|^ho,? ?(chu dem,? ?)?(va )?ten (ben )?vo", "_vo"),
        Section("dang_ky", r"noi dang ky", ""),
    ),
)

# Row labels of the table layout (first column), folded.
ROWS = (
    ("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten"),
    ("ngay_sinh", r"ngay,? ?thang,? ?nam"),
    ("dan_toc", r"dan toc"),
    ("quoc_tich", r"quoc tich"),
    ("noi_cu_tru", r"noi cu tru|noi thuong tru"),
    ("so_dinh_danh", r"so dinh danh|giay to tuy than|so cmnd|so cccd"),
    ("ho_chieu", r"ho chieu"),
)
_HEADER = [("label", r"thong tin"), ("chong", r"(ben )?chong"), ("vo", r"(ben )?vo")]


def table_fields(page: OcrPage) -> tuple[list[RawField], int] | None:
    """Fields of the 'Thông tin | Chồng | Vợ' table and the index of its last line."""
    lines = page.lines
    for h, line in enumerate(lines[:20]):
        cols = find_header(line, _HEADER)
        if [c.key for c in cols][-2:] == ["chong", "vo"] and len(line.words) <= 6:
            break
    else:
        return None
    body: list[Line] = []
    for line in lines[h + 1 :]:
        folded = fold_aligned(line.text)
        if re.match(r"\s*(noi dang ky|ngay,? ?thang,? ?nam dang ky|nguoi ky)", folded):
            break
        body.append(line)
        if len(body) > 14:
            break
    if not body:
        return None
    if cols[0].key != "label":
        left = min(w.box[0] for row in body for w in row.words)
        cols = [Column("label", left, left + 1)] + cols
    # the label column ends where the row labels end; the data start after it
    label_ends = []
    for row in body:
        m = next((re.match(p, fold_aligned(row.text)) for _, p in ROWS if re.match(p, fold_aligned(row.text))), None)
        if m:
            n = len(row.text[: m.end()].split())
            label_ends.append(row.words[min(n, len(row.words)) - 1].box[2])
    if label_ends:
        cols[0] = Column("label", cols[0].x0, max(max(label_ends), cols[0].x1))
    edges = edges_between(cols, body)
    fields: list[RawField] = []
    current: str | None = None
    cells_by_key: dict[str, list[list]] = {}
    for i, row in enumerate(body):
        cells = split_row(row, edges)
        label = fold_aligned(words_text(cells[0]))
        key = next((k for k, p in ROWS if re.match(p, label)), None)
        if key is None and current is not None and not label.strip():
            key = current  # a wrapped cell carried onto its own line
        elif key is None:
            continue
        current = key
        parts = cells_by_key.setdefault(key, [[], []])
        parts[0].extend(cells[1])
        parts[1].extend(cells[2])
    for key, (chong, vo) in cells_by_key.items():
        for suffix, words in (("_chong", chong), ("_vo", vo)):
            if words:
                fields.append(
                    RawField(key + suffix, words_text(words), min_conf(words), h, boxes=tuple(w.box for w in words))
                )
    return fields, h + len(body)


class KetHonExtractor:
    doc_type = "ket_hon"

    def extract(self, page: OcrPage) -> list[Record]:
        page = form_rows(page, SPEC)
        form = read_form(page, SPEC)
        raw = form.fields
        table = table_fields(page)
        if table:
            fields, _ = table
            taken = {r.name for r in fields}
            raw = [r for r in raw if r.name not in taken] + fields
        signer = signer_name(page, start=max((r.line for r in raw), default=0) + 1)
        if signer:
            raw.append(signer)
        values = collect(raw, FIELDS, page.number)
        required = REQUIRED + tuple(n for n in form.blank if n in FIELDS)
        return [build_record(self.doc_type, page, values, required=required)]
