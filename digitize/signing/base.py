"""Signer interface and the validation report.

A signer turns PDF bytes into PAdES-signed PDF bytes (ETSI.CAdES.detached,
SHA-256). Validation is a separate path (`digitize.signing.verify`)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from ..types import SignatureInfo
from ..clock import VN_TZ


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
    level: str = ""  # PAdES level reached: B-B, B-T, B-LT, B-LTA ("" when not valid)
    timestamped_at: str = ""  # signature timestamp (B-T and up), ISO 8601 +07:00
    archive_timestamped_at: str = ""  # the last document timestamp (B-LTA)
    # per certificate of the signer's and the timestamps' chains: subject, role (signer/tsa/ca/root),
    # sha256, revocation (good/revoked/unknown/no data/trust anchor), source (OCSP/CRL), checked_at
    certificates: tuple[dict[str, str], ...] = ()
    trust_anchor: str = ""  # common name of the trust root the signer's chain reached


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


def tst_time(signed_data: Any) -> datetime | None:
    """gen_time of an RFC 3161 token's TSTInfo (the token's SignedData), or None."""
    try:
        return signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    except Exception:  # noqa: BLE001 - not a timestamp token
        return None


def signature_timestamp_time(signed_data: Any) -> datetime | None:
    """Time of the signature timestamp (unsigned attribute) of a CMS signature, if any."""
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    try:
        for info in signed_data["signer_infos"]:
            for tst in extract_tst_data_iter(info, signed=False):
                return tst_time(tst)
    except Exception:  # noqa: BLE001
        return None
    return None
