"""Trích lục khai tử / Giấy chứng tử (Thông tư 04/2020/TT-BTP and older layouts)."""

from __future__ import annotations

import re

from ..text import fold
from ..types import OcrPage, Record
from .base import FIELDS as ALL_FIELDS
from .base import build_record, collect
from .common import signer_name
from .labels import FormSpec, Label, RawField, read_form, form_rows

FIELDS = ALL_FIELDS["khai_tu"]
REQUIRED = ("so", "quyen_so", "ho_ten", "ngay_chet", "noi_chet", "ngay_dang_ky", "nguoi_ky")

SPEC = FormSpec(
    doc_type="khai_tu",
    labels=(
        Label("so", r"so(?=\s*[:;.]\s*\S)"),
        # "Số:" misread and glued to its figures ("Sấ29"), found as what stands before "Quyển số"
        Label("so", r"s[a-z](?=\W?\s*\d{1,4}\W?\s*quy)", by_place=True),
        Label("quyen_so", r"quyen so"),
        Label("nguoi_khai", r"(ho,? ?(chu dem,? ?)?(va )?ten )?nguoi (di )?khai tu"),
        Label("ho_ten", r"ho,? ?(chu dem,? ?)?(va )?ten(?! nguoi)( nguoi chet)?"),
        Label("ngay_sinh", r"ngay,? ?thang,? ?nam sinh"),
        Label("gioi_tinh", r"gioi tinh"),
        Label("dan_toc", r"dan toc"),
        Label("quoc_tich", r"quoc tich"),
        Label("so_dinh_danh", r"so dinh danh( ca nhan)?"),
        Label("noi_cu_tru", r"noi cu tru( cuoi cung)?", wraps=True),
        Label("thoi_diem_chet", r"(da )?chet vao (luc|hoi|[a-z]?uc(?=\s*:))"),  # "túc:" is a misread "lúc:"
        Label("ngay_chet", r"(?<=[,.] )ngay(?=\s*\d)"),
        Label("noi_chet", r"noi chet", wraps=True),
        Label("nguyen_nhan_chet", r"nguyen nhan( chet)?", wraps=True),
        Label("quan_he", r"quan he (voi nguoi (da )?chet|voi nguoi duoc khai tu)?"),
        Label("noi_dang_ky", r"noi dang ky( khai tu)?", wraps=True),
        Label("ngay_dang_ky", r"ngay,? ?thang,? ?nam dang ky"),
        Label("ghi_chu", r"ghi chu", wraps=True, blank_allowed=True),
    ),
)

# (a figure may be read as a look-alike letter: "2ð phút", "1O giờ")
_TIME = re.compile(r"\d[\dOoQðø]?\s*g\w{0,2}\s*[\dOoQðø]{1,2}\s*p\w{0,3}")
_DATE = re.compile(r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{4}")


def split_time_of_death(raw: list[RawField]) -> list[RawField]:
    """'21 giờ 30 phút, ngày 10/11/1993' -> gio_chet and ngay_chet."""
    out: list[RawField] = []
    for item in raw:
        if item.name != "thoi_diem_chet":
            out.append(item)
            continue
        folded = fold(item.value)
        t = _TIME.search(folded)
        if t:
            out.append(RawField("gio_chet", item.value[t.start() : t.end()], item.confidence, item.line))
        d = _DATE.search(folded)
        if d:
            out.append(RawField("ngay_chet", item.value[d.start() : d.end()], item.confidence, item.line))
    return out


class KhaiTuExtractor:
    doc_type = "khai_tu"

    def extract(self, page: OcrPage) -> list[Record]:
        page = form_rows(page, SPEC)
        form = read_form(page, SPEC)
        raw = split_time_of_death(form.fields)
        signer = signer_name(page, start=max((r.line for r in raw), default=0) + 1)
        if signer:
            raw.append(signer)
        values = collect(raw, FIELDS, page.number)
        required = REQUIRED + tuple(n for n in form.blank if n in FIELDS)
        return [build_record(self.doc_type, page, values, required=required)]
