"""Signer interface and the validation report.

A signer turns PDF bytes into PAdES-signed PDF bytes (ETSI.CAdES.detached,
SHA-256). Validation is a separate path (`digitize.signing.verify`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..types import SignatureInfo


class Signer(Protocol):
    @property
    def subject(self) -> str:
        """Common name of the signing certificate."""
        ...

    def sign(self, pdf: bytes, *, reason: str = "", location: str = "") -> tuple[bytes, SignatureInfo]: ...


@dataclass(frozen=True)
class VerifyReport:
    valid: bool  # cryptographically valid and the document unchanged since signing
    intact: bool
    covers_whole_file: bool
    signer: str
    signed_at: str
    trusted: bool  # chains to a configured trust root (the dev CA counts as such locally)
    problems: tuple[str, ...] = ()


# Asia/Ho_Chi_Minh: UTC+7 all year (no DST since 1975), so a fixed offset is exact
# and needs no tz database.
VN_TZ = timezone(timedelta(hours=7), "ICT")


def iso_vn(when: datetime) -> str:
    """ISO 8601 in Vietnam time, seconds precision: 2026-11-23T10:15:00+07:00.
    A naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(VN_TZ).replace(microsecond=0).isoformat()
