"""Giấy khai sinh / Trích lục khai sinh (Thông tư 04/2020/TT-BTP forms, older layouts)."""

from __future__ import annotations

from ..types import OcrPage, Record
from .base import FIELDS as ALL_FIELDS
from .base import build_record, collect
from .common import signer_name
from .labels import FormSpec, Label, Section, read_form, form_rows

FIELDS = ALL_FIELDS["khai_sinh"]
REQUIRED = ("so", "quyen_so", "ho_ten", "ngay_sinh", "gioi_tinh", "noi_sinh", "ho_ten_me", "ngay_dang_ky", "nguoi_ky")

SPEC = FormSpec(
    doc_type="khai_sinh",
    labels=(
        Label("so", r"so(?=\s*[:;.]\s*\S)"),
        # "Số:" misread and glued to its figures ("Sấ29"), found as what stands before "Quyển số"
        Label("so", r"s[a-z](?=\W?\s*\d{1,4}\W?\s*quy)", by_place=True),
        Label("quyen_so", r"quyen so"),
        Label("ho_ten_me", r"ho,? ?(chu dem,? ?)?(va )?ten (nguoi )?me"),
        Label("ho_ten_cha", r"ho,? ?(chu dem,? ?)?(va )?ten (nguoi )?cha"),
        Label("nguoi_di_khai", r"(ho,? ?(chu dem,? ?)?(va )?ten )?nguoi di khai sinh"),
        Label("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten(?! (nguoi )?(me|cha|nguoi))"),
        Label("ngay_sinh", r"ngay,? ?thang,? ?nam sinh"),
        Label("ngay_sinh_bang_chu", r"(\()?ghi bang chu(\))?", wraps=True),
        Label("gioi_tinh", r"gioi tinh"),
        Label("dan_toc", r"dan toc", generic=True),
        Label("quoc_tich", r"quoc tich", generic=True),
        Label("noi_sinh", r"noi sinh", wraps=True),
        Label("que_quan", r"que quan", wraps=True),
        Label("so_dinh_danh", r"so dinh danh( ca nhan)?"),
        Label("nam_sinh", r"nam sinh", generic=True),
        Label("noi_cu_tru", r"noi cu tru", generic=True, wraps=True),
        Label("noi_dang_ky", r"noi dang ky( khai sinh)?", wraps=True),
        Label("ngay_dang_ky", r"ngay,? ?thang,? ?nam dang ky"),
        Label("ghi_chu", r"ghi chu", wraps=True, blank_allowed=True),
    ),
    sections=(
        Section("me", r"(thong tin )?(ve )?(nguoi )?me\s*:?$|^ho,? ?(chu dem,? ?)?(va )?ten (nguoi )?me", "_me"),
        Section("cha", r"(thong tin )?(ve )?(nguoi )?cha\s*:?$|^ho,? ?(chu dem,? ?)?(va )?ten (nguoi )?cha", "_cha"),
        Section("dang_ky", r"nguoi di khai sinh|noi dang ky", ""),
    ),
    label_sections={"ho_ten_me": "me", "ho_ten_cha": "cha", "nguoi_di_khai": "dang_ky", "noi_dang_ky": "dang_ky"},
)


class KhaiSinhExtractor:
    doc_type = "khai_sinh"

    def extract(self, page: OcrPage) -> list[Record]:
        page = form_rows(page, SPEC)
        form = read_form(page, SPEC)
        raw = form.fields
        signer = signer_name(page, start=max((r.line for r in raw), default=0) + 1)
        if signer:
            raw.append(signer)
        values = collect(raw, FIELDS, page.number)
        required = REQUIRED + tuple(n for n in form.blank if n in FIELDS)
        return [build_record(self.doc_type, page, values, required=required)]
