"""Turning raw label/value pairs into validated CONTRACT records."""

from __future__ import annotations

from typing import Callable, Iterable, Protocol

from ..types import OcrPage, Record
from . import validate as v
from .labels import RawField

# A field is sent to review below this combined confidence. Calibrated on the
# generated test slice (benchmarks/bench_fields.py) so that auto-accepted fields
# are >= 99.5 % correct.
REVIEW_THRESHOLD = 0.80

Normalizer = Callable[[str], tuple[str, float]]


def normalizer_for(name: str) -> Normalizer:
    if name.startswith(("ngay_sinh_bang_chu",)):
        return v.normalize_text
    if name.startswith(("ngay_", "ngay")) and "bang_chu" not in name:
        return v.normalize_date
    if name.startswith("nam_sinh"):
        return v.normalize_year
    if name.startswith("so_dinh_danh"):
        return v.normalize_id
    if name.startswith("gioi_tinh"):
        return v.normalize_sex
    if name.startswith("dan_toc"):
        return v.normalize_ethnicity
    if name.startswith("quoc_tich"):
        return v.normalize_nationality
    if name.startswith(("ho_ten", "nguoi_ky", "nguoi_di_khai", "nguoi_khai")):
        return v.normalize_name
    if name in ("so", "quyen_so"):
        return v.normalize_number
    return v.normalize_text


class Extractor(Protocol):
    doc_type: str

    def extract(self, page: OcrPage) -> list[Record]: ...


def build_record(doc_type: str, page_number: int, raw: Iterable[RawField],
                 allowed: Iterable[str], threshold: float = REVIEW_THRESHOLD) -> Record:
    allowed = set(allowed)
    fields: dict[str, str] = {}
    confidence: dict[str, float] = {}
    for item in raw:
        if item.name not in allowed or item.name in fields:
            continue  # first occurrence wins (later ones are usually footers/copies)
        value, factor = normalizer_for(item.name)(item.value)
        if not value:
            continue
        fields[item.name] = value
        confidence[item.name] = item.confidence * factor
    cross_check(fields, confidence)
    review = tuple(sorted(name for name, c in confidence.items() if c < threshold))
    return Record(doc_type=doc_type, page=page_number, fields=fields, confidence=confidence, needs_review=review)


def cross_check(fields: dict[str, str], confidence: dict[str, float]) -> None:
    """Checks across fields: id vs sex and birth year; registration not before the event."""
    birth = v.parse_date(fields.get("ngay_sinh", ""))
    if "so_dinh_danh" in fields:
        factor = v.id_consistency(fields["so_dinh_danh"], fields.get("gioi_tinh"), birth.year if birth else None)
        confidence["so_dinh_danh"] *= factor
    registered = v.parse_date(fields.get("ngay_dang_ky", ""))
    event = v.parse_date(fields.get("ngay_chet", "")) or birth
    if registered and event and registered < event:
        confidence["ngay_dang_ky"] *= 0.3
