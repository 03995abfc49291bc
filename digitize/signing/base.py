"""Signer interface and the validation report.

A signer turns PDF bytes into PAdES-signed PDF bytes (ETSI.CAdES.detached,
SHA-256). Validation is a separate path (`digitize.signing.verify`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

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


def common_name(cert: object) -> str:
    """Subject CN of an asn1crypto certificate (its whole subject if it has none)."""
    if cert is None:
        return ""
    subject = cert.subject  # type: ignore[attr-defined]
    cn = subject.native.get("common_name")
    if isinstance(cn, list):
        cn = cn[-1]
    return str(cn) if cn else subject.human_friendly


T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine (pyHanko's async API) from sync code, also when the
    caller is itself inside an event loop (a web handler): then it runs on a
    fresh loop in a worker thread instead of failing in asyncio.run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
