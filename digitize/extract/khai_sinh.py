"""Giấy khai sinh / Trích lục khai sinh (Thông tư 04/2020/TT-BTP forms, older layouts)."""

from __future__ import annotations

from ..types import OcrPage, Record
from .base import build_record
from .labels import FormSpec, Label, Section, find_fields

FIELDS = ("so", "quyen_so", "ho_ten", "ngay_sinh", "ngay_sinh_bang_chu", "gioi_tinh", "dan_toc", "quoc_tich",
          "noi_sinh", "que_quan", "so_dinh_danh", "ho_ten_me", "nam_sinh_me", "dan_toc_me", "quoc_tich_me",
          "noi_cu_tru_me", "ho_ten_cha", "nam_sinh_cha", "dan_toc_cha", "quoc_tich_cha", "noi_cu_tru_cha",
          "noi_cu_tru", "nguoi_di_khai", "noi_dang_ky", "ngay_dang_ky", "nguoi_ky", "ghi_chu")

SPEC = FormSpec(
    doc_type="khai_sinh",
    labels=(
        Label("so", r"so(?=\s*:)"),
        Label("quyen_so", r"quyen so"),
        Label("ho_ten_me", r"ho,? (chu dem,? )?(va )?ten (nguoi )?me"),
        Label("ho_ten_cha", r"ho,? (chu dem,? )?(va )?ten (nguoi )?cha"),
        Label("ho_ten", r"ho,? (chu dem,? )?(va )?ten(?! (nguoi )?(me|cha))"),
        Label("ngay_sinh", r"ngay,? thang,? nam sinh"),
        Label("ngay_sinh_bang_chu", r"(\()?ghi bang chu(\))?"),
        Label("gioi_tinh", r"gioi tinh"),
        Label("dan_toc", r"dan toc", generic=True),
        Label("quoc_tich", r"quoc tich", generic=True),
        Label("noi_sinh", r"noi sinh"),
        Label("que_quan", r"que quan"),
        Label("so_dinh_danh", r"so dinh danh ca nhan"),
        Label("nam_sinh", r"nam sinh", generic=True),
        Label("noi_cu_tru", r"noi cu tru", generic=True),
        Label("nguoi_di_khai", r"(ho,? (chu dem,? )?ten )?nguoi di khai sinh"),
        Label("noi_dang_ky", r"noi dang ky( khai sinh)?"),
        Label("ngay_dang_ky", r"ngay,? thang,? nam dang ky"),
        Label("ghi_chu", r"ghi chu"),
    ),
    sections=(
        Section("me", r"(thong tin )?(ve )?(nguoi )?me\s*:?$|^ho,? (chu dem,? )?(va )?ten (nguoi )?me", "_me"),
        Section("cha", r"(thong tin )?(ve )?(nguoi )?cha\s*:?$|^ho,? (chu dem,? )?(va )?ten (nguoi )?cha", "_cha"),
        Section("dang_ky", r"nguoi di khai sinh|noi dang ky", ""),
    ),
    label_sections={"ho_ten_me": "me", "ho_ten_cha": "cha", "nguoi_di_khai": "dang_ky", "noi_dang_ky": "dang_ky"},
)


class KhaiSinhExtractor:
    doc_type = "khai_sinh"

    def extract(self, page: OcrPage) -> list[Record]:
        raw = find_fields(page, SPEC)
        return [build_record(self.doc_type, page.number, raw, FIELDS)]
